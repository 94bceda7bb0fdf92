#!/usr/bin/env python3
"""How low a multi-resolution STFT distance can go without the reference's own phases.

For each `test_NN_soundfont.wav` that `bench_audio --out DIR` wrote, this builds a rendering with
the reference's short-time magnitudes and random phases (an STFT of FFT size N, Hann window, hop
N/4, phases drawn uniformly, overlap-added back), and measures it against the reference with the
distance of `scripts/mrstft_parts.py` (the crate's `model::spectral::mr_stft_loss`: FFT sizes
2048..64, linear plus log term). Beside it, the same for the neural and built-in renderings in the
folder. A synthesizer that gets every magnitude right at one resolution but draws its own fine
structure (noise, partials whose phases drift from the sample's) sits near the first rows; only
the reference's own waveform goes below them.

Usage: python scripts/mrstft_floor.py runs/piano_stretched [N ...]   (default N: 1024 256)
"""
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mrstft_parts import SIZES, magnitudes, read  # noqa: E402


def random_phases(x, n, rng):
    """`x` with its STFT magnitudes at FFT size `n` kept and its phases drawn at random."""
    hop = n // 4
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    padded = np.concatenate([np.zeros(n), x, np.zeros(n)])
    starts = range(0, len(padded) - n + 1, hop)
    out = np.zeros(len(padded))
    norm = np.zeros(len(padded))
    for s in starts:
        spectrum = np.fft.rfft(padded[s:s + n] * window)
        phases = np.exp(2j * np.pi * rng.random(spectrum.shape))
        out[s:s + n] += np.fft.irfft(np.abs(spectrum) * phases, n) * window
        norm[s:s + n] += window ** 2
    return (out / np.maximum(norm, 1e-8))[n:n + len(x)]


def distance(rendered, target):
    """The crate's MR-STFT distance (linear plus log term, summed over the FFT sizes)."""
    total = 0.0
    for n in SIZES:
        a, b = magnitudes(rendered, n), magnitudes(target, n)
        total += np.abs(a - b).mean() + np.abs(np.log(a + 1e-5) - np.log(b + 1e-5)).mean()
    return total


def main():
    folder = sys.argv[1]
    sizes = [int(n) for n in sys.argv[2:]] or [1024, 256]
    references = sorted(glob.glob(os.path.join(folder, "test_*_soundfont.wav")))
    if not references:
        sys.exit(f"no test_*_soundfont.wav in {folder}")
    rng = np.random.default_rng(1)
    rows = {}
    for reference in references:
        target, _ = read(reference)
        for n in sizes:
            name = f"the reference's magnitudes at FFT size {n}, random phases"
            rows.setdefault(name, []).append(distance(random_phases(target, n, rng), target))
        for which in ["neural", "builtin"]:
            path = reference.replace("_soundfont.wav", f"_{which}.wav")
            if os.path.exists(path):
                rendered, _ = read(path)
                m = min(len(rendered), len(target))
                rows.setdefault(which, []).append(distance(rendered[:m], target[:m]))
    print(f"MR-STFT distance to the SoundFont, mean of {len(references)} pieces (16-bit WAV files)")
    print("| rendering | MR-STFT |\n|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {np.mean(values):.3f} |")


if __name__ == "__main__":
    main()
