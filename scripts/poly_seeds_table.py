#!/usr/bin/env python3
"""Gathers polyphonic benchmark runs made as separate processes (one `bench_polyphonic --seed S
--json FILE` per seed) into one table per data set: each seed's figures, then the median and the best
test NLL of the seeds and the test NLL of the seed with the best validation NLL. Test NLLs are given
in both conventions: each piece's first frame skipped (the benchmark's figure) and every frame
scored (`test_nll_every_frame`, Boulanger-Lewandowski et al. 2012; `–` for runs written before it).

Usage: scripts/poly_seeds_table.py RUNS.json...
"""
import json
import statistics
import sys


def main(paths):
    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            runs.extend(json.load(f))
    by_set = {}
    for run in runs:
        by_set.setdefault(run["result"]["dataset"], []).append(run["result"])
    def every(r):
        value = r.get("test_nll_every_frame")
        return "–" if value is None or value != value else f"{value:.3f}"

    print("| data set | seed | best valid | test NLL, first frames skipped | test NLL, every frame | epochs (best) | CPU min | wall min |")
    print("|---|---|---|---|---|---|---|---|")
    for name, results in by_set.items():
        results.sort(key=lambda r: r["seed"])
        for r in results:
            print(f"| {name} | {r['seed']} | {r['best_valid_nll']:.3f} | {r['test_nll']:.3f} | {every(r)} | "
                  f"{r['epochs']} ({r['best_epoch']}) | {r.get('cpu_seconds', float('nan')) / 60:.1f} | "
                  f"{r['seconds'] / 60:.1f} |")
    print()
    print("| data set | seeds | convention | test NLL median | best | test of the best-valid seed | parameters |")
    print("|---|---|---|---|---|---|---|")
    for name, results in by_set.items():
        chosen = min(results, key=lambda r: r["best_valid_nll"])
        for label, key in [("first frames skipped", "test_nll"), ("every frame", "test_nll_every_frame")]:
            tests = [r.get(key, float("nan")) for r in results]
            if any(t is None or t != t for t in tests):
                continue
            print(f"| {name} | {', '.join(str(r['seed']) for r in results)} | {label} | "
                  f"**{statistics.median(tests):.2f}** | {min(tests):.2f} | {chosen[key]:.2f} | {results[0]['parameters']} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
