"""Warms the tunesmith kernel: runs a tutorial's first cell once, so the next kernel's first cell takes seconds.

    source scripts/env.sh && python scripts/warm_kernel.py [--timeout 3600]

`make setup` runs this last (TUNESMITH_WARM_KERNEL=0 skips it). A kernel started from notebooks/, as
JupyterLab and the notebook tests start them, runs `:cache 2000` + `:dep tunesmith = { path = ".." }`
and `use tunesmith::prelude::*;`: evcxr compiles tch's C++ wrapper, every crate and tunesmith itself
into its cache (`~/.cache/evcxr`) and into the kernel's kept work folder (kernel/evcxr-kernel.sh).
On a fresh machine that is the three minutes a person would otherwise wait in the first cell of
`make lab`; when the cache is already warm it takes seconds.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_notebook_latency import FIRST_CELL, CellFailed, cell, start_kernel  # noqa: E402


def warm(env=None, timeout=3600):
    """Runs the first cell and the prelude in a new kernel; returns the seconds the first cell took."""
    km, kc, _ = start_kernel(env)
    try:
        first = cell(kc, FIRST_CELL, timeout)
        cell(kc, "use tunesmith::prelude::*;", timeout)
        return first
    finally:
        km.shutdown_kernel(now=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", type=int, default=3600, help="seconds the first cell may take")
    args = ap.parse_args()
    t0 = time.perf_counter()
    try:
        first = warm(timeout=args.timeout)
    except (CellFailed, TimeoutError, RuntimeError) as e:
        sys.exit(f"warm_kernel: {e}")
    print(f"setup: kernel warmed (first cell {first:.0f} s, {time.perf_counter() - t0:.0f} s in all): "
          "a new kernel's first cell now takes seconds")


if __name__ == "__main__":
    main()
