"""The notebook loop's latency through the real `tunesmith` kernel (a benchmark, not a test).

    source scripts/env.sh && python scripts/bench_notebook_latency.py [--runs 5] [--markdown docs/notebook_latency.md]

Measures, from the notebooks/ folder as a tutorial runs:
  1. a kernel's start (until it answers);
  2. the first cell (`:cache 2000` + `:dep tunesmith = { path = ".." }`) on a COLD evcxr cache (an
     empty cache folder: every crate compiled, tch's C++ wrapper included);
  3. the same first cell in a new kernel on the now WARM cache and work folder (what a person sees
     in `make lab` on a fresh machine, since `make setup` runs step 2 once with scripts/warm_kernel.py;
     kernel/evcxr-kernel.sh gives each kernel a work folder kept between kernels);
  4. `use tunesmith::prelude::*;` and a trivial cell (`1 + 1`, the median of --runs), with the
     linker evcxr picks (mold when installed) and, when mold is installed, with `:linker system`;
  5. the first cell in a kernel with the warm evcxr cache but a fresh work folder (what `:cache` alone
     gives, as before the kept work folders).

The cold cache is a fresh XDG_CACHE_HOME for the kernels (evcxr keeps its :cache there) and a fresh
TUNESMITH_EVCXR_WORK (the kept work folders); the person's own are not touched. Results print as a table and go into --markdown (the numbers
section between the markers) when given.
"""
import argparse
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent
FIRST_CELL = ':cache 2000\n:dep tunesmith = { path = ".." }'
BEGIN, END = "<!-- latency:begin -->", "<!-- latency:end -->"


def run(kc, code, timeout):
    """Executes one cell; returns (seconds, text output, error or None)."""
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    text, error = [], None
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"cell did not finish in {timeout} s: {code!r}")
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            text.append(content["text"])
        elif kind == "error":
            error = f"{content['ename']}: {content['evalue']}"
        elif kind == "status" and content["execution_state"] == "idle":
            break
    return time.perf_counter() - t0, "".join(text), error


def start_kernel(env=None):
    t0 = time.perf_counter()
    km = KernelManager(kernel_name="tunesmith")
    km.start_kernel(cwd=str(ROOT / "notebooks"), env=dict(os.environ) if env is None else env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    return km, kc, time.perf_counter() - t0


class CellFailed(Exception):
    pass


def cell(kc, code, timeout=3600):
    seconds, text, error = run(kc, code, timeout)
    if error:
        raise CellFailed(f"bench: the cell {code!r} failed: {error}\n{text}")
    return seconds


def trivial(kc, runs):
    return statistics.median(cell(kc, "1 + 1") for _ in range(runs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="trivial cells per measurement (median)")
    ap.add_argument("--markdown", type=Path, help="write the results into this file between the markers")
    args = ap.parse_args()
    cache_home = Path(tempfile.mkdtemp(prefix="tunesmith-evcxr-cold-"))
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home), TUNESMITH_EVCXR_WORK=str(cache_home / "work"))
    mold = shutil.which("mold") is not None
    rows = []
    kernels = []

    def new_kernel(env):
        km, kc, seconds = start_kernel(env)
        kernels.append(km)
        return km, kc, seconds

    try:
        km, kc, start_s = new_kernel(env)
        rows.append(("kernel start (until it answers)", start_s))
        print(f"bench: kernel started in {start_s:.1f} s; first cell on a cold cache (minutes)...", flush=True)
        rows.append(("first cell `:dep`, cold cache (what `make setup` now does once: scripts/warm_kernel.py)", cell(kc, FIRST_CELL)))
        rows.append(("`use tunesmith::prelude::*;`", cell(kc, "use tunesmith::prelude::*;")))
        rows.append((f"trivial cell `1 + 1` (median of {args.runs})", trivial(kc, args.runs)))
        km.shutdown_kernel(now=True)
        print("bench: cold done; a new kernel on the warm cache...", flush=True)
        km, kc, start_s = new_kernel(env)
        rows.append(("first cell `:dep`, warm cache and work folder (a new kernel: the first cell after `make setup`)", cell(kc, FIRST_CELL)))
        rows.append(("`use tunesmith::prelude::*;`, warm", cell(kc, "use tunesmith::prelude::*;")))
        linker = "mold" if mold else "system"
        rows.append((f"trivial cell `1 + 1`, linker {linker} (median of {args.runs})", trivial(kc, args.runs)))
        if mold:
            cell(kc, ":linker system")
            rows.append((f"trivial cell `1 + 1`, linker system (median of {args.runs})", trivial(kc, args.runs)))
        km.shutdown_kernel(now=True)
        print("bench: a new kernel on the warm cache with a fresh work folder (`:cache` alone)...", flush=True)
        km, kc, _ = new_kernel(dict(env, TUNESMITH_EVCXR_WORK=str(cache_home / "work2")))
        rows.append(("first cell `:dep`, warm cache, fresh work folder (`:cache` alone)", cell(kc, FIRST_CELL)))
        km.shutdown_kernel(now=True)
    except CellFailed as e:
        sys.exit(str(e))
    finally:
        for km in kernels:  # a failed cell leaves its kernel running otherwise
            if km.is_alive():
                km.shutdown_kernel(now=True)
        shutil.rmtree(cache_home, ignore_errors=True)
    cpus = os.cpu_count()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {cpus} cores, {rustc}, "
              f"evcxr {os.environ.get('EVCXR_VERSION', '?')}, mold {'installed' if mold else 'not installed'}.")
    table = ["| step | seconds |", "|---|---:|"] + [f"| {name} | {s:.1f} |" for name, s in rows]
    text = "\n".join([header, "", *table])
    print(text)
    if args.markdown:
        doc = args.markdown.read_text() if args.markdown.exists() else f"{BEGIN}\n{END}\n"
        if BEGIN not in doc or END not in doc:
            sys.exit(f"bench: {args.markdown} has no {BEGIN} … {END} markers")
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        args.markdown.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
        print(f"bench: wrote {args.markdown}")


if __name__ == "__main__":
    main()
