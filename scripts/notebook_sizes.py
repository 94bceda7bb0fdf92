"""Sizes of executed notebooks, and what they would weigh with the old WAV players.

    python scripts/notebook_sizes.py out/executed/*.ipynb

For each executed notebook: its size, the bytes its inline players (Ogg Vorbis data URLs) and its
engraved sheet music take, and the size it would have had with the players as they were before
(16-bit PCM WAV of the same audio: length, rate and channels read from each Ogg Vorbis stream) and
without sheet music. Prints a Markdown table.
"""
import base64
import json
import math
import re
import struct
import sys
from pathlib import Path

OGG_URL = re.compile(rb"data:audio/ogg;base64,([A-Za-z0-9+/=]+)")
SHEET = re.compile(r'<div class="tunesmith-sheet">.*?</svg>\s*</div>', re.S)


def ogg_audio(b64):
    """(frames, channels, sample rate) of an Ogg Vorbis stream."""
    data = base64.b64decode(b64)
    # The identification header: the first page's packet starts with b"\x01vorbis".
    i = data.find(b"\x01vorbis")
    channels = data[i + 11]
    rate = struct.unpack_from("<I", data, i + 12)[0]
    # The last page's granule position is the stream's length in frames.
    last = data.rfind(b"OggS")
    frames = struct.unpack_from("<q", data, last + 6)[0]
    return frames, channels, rate


def wav_b64_len(frames, channels):
    return 4 * math.ceil((44 + frames * channels * 2) / 3)


def main(paths):
    print("| notebook | size | players (Ogg) | sheet music | with WAV players, no sheet music |")
    print("|---|---:|---:|---:|---:|")
    for p in map(Path, paths):
        raw = p.read_bytes()
        ogg = [m.group(1) for m in OGG_URL.finditer(raw)]
        ogg_bytes = sum(len(b) for b in ogg)
        wav_bytes = sum(wav_b64_len(f, c) for f, c, _ in map(ogg_audio, ogg))
        html = [o.get("data", {}).get("text/html", "")
                for c in json.loads(raw)["cells"] for o in c.get("outputs", [])]
        html = ["".join(h) if isinstance(h, list) else h for h in html]
        # As stored: JSON-escaped, as nbformat writes it (one string per line).
        sheet_bytes = sum(len(json.dumps(m.group(0), ensure_ascii=False).encode()) + m.group(0).count("\n") * 7
                          for h in html for m in SHEET.finditer(h))
        before = len(raw) - ogg_bytes + wav_bytes - sheet_bytes
        mb = lambda n: f"{n / 1e6:.2f} MB"
        print(f"| {p.name} | {mb(len(raw))} | {len(ogg)}: {mb(ogg_bytes)} | {mb(sheet_bytes)} | {mb(before)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
