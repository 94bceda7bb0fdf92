#!/usr/bin/env python3
"""Where a multi-resolution STFT distance comes from, for the renderings `bench_audio --out DIR`
writes (test_NN_soundfont.wav beside test_NN_neural.wav and test_NN_builtin.wav).

The distance is the crate's (`model::spectral::mr_stft_loss`): for each FFT size 2048..64, Hann
window, hop of a quarter, no centring, mean |S - S'| + mean |ln(S + 1e-5) - ln(S' + 1e-5)|, summed.
This prints, averaged over the pieces, each size's linear and log terms, and the share of the log
term in each frequency band. The WAV files are 16-bit, so magnitudes below about 2e-4 (a 1,024
window) are the quantisation floor: the figures differ a little from the benchmark's, which are
taken on the float audio.

Usage: python scripts/mrstft_parts.py runs/piano_synth [neural|builtin]
"""
import glob
import os
import sys
import wave

import numpy as np

SIZES = [2048, 1024, 512, 256, 128, 64]
BANDS = [(0, 500), (500, 2000), (2000, 5000), (5000, 8000), (8000, 1e9)]


def read(path):
    with wave.open(path) as w:
        raw, channels, width, rate = w.readframes(w.getnframes()), w.getnchannels(), w.getsampwidth(), w.getframerate()
    x = np.frombuffer(raw, dtype=np.int16).astype(np.float64) / 32768 if width == 2 else np.frombuffer(raw, dtype=np.float32)
    return x.reshape(-1, channels).mean(1), rate


def magnitudes(x, n):
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    frames = np.array([x[i:i + n] * window for i in range(0, len(x) - n + 1, n // 4)])
    return np.abs(np.fft.rfft(frames, axis=1))


def main():
    folder = sys.argv[1]
    which = sys.argv[2] if len(sys.argv) > 2 else "neural"
    references = sorted(glob.glob(os.path.join(folder, "test_*_soundfont.wav")))
    if not references:
        sys.exit(f"no test_*_soundfont.wav in {folder}")
    rows = {n: np.zeros(2) for n in SIZES}
    bands = np.zeros(len(BANDS))
    for reference in references:
        target, rate = read(reference)
        rendered, _ = read(reference.replace("_soundfont.wav", f"_{which}.wav"))
        m = min(len(target), len(rendered))
        target, rendered = target[:m], rendered[:m]
        for n in SIZES:
            a, b = magnitudes(rendered, n), magnitudes(target, n)
            log = np.abs(np.log(a + 1e-5) - np.log(b + 1e-5))
            rows[n] += [np.abs(a - b).mean(), log.mean()]
            freqs = np.fft.rfftfreq(n, 1 / rate)
            for i, (low, high) in enumerate(BANDS):
                bands[i] += log[:, (freqs >= low) & (freqs < high)].sum() / log.size
    count = len(references)
    print(f"{which} against the SoundFont, {count} pieces")
    print("| FFT size | linear term | log term |\n|---|---|---|")
    for n in SIZES:
        linear, log = rows[n] / count
        print(f"| {n} | {linear:.3f} | {log:.3f} |")
    total = sum(r.sum() for r in rows.values()) / count
    print(f"| all | | {total:.3f} (sum of both terms) |")
    print("\n| band | share of the log term |\n|---|---|")
    for (low, high), share in zip(BANDS, bands / bands.sum()):
        label = f"{low:.0f}–{high:.0f} Hz" if high < 1e9 else f"above {low:.0f} Hz"
        print(f"| {label} | {share:.0%} |")


if __name__ == "__main__":
    main()
