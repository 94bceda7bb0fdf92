#!/usr/bin/env python3
"""Gathers polyphonic benchmark runs made as separate processes (one `bench_polyphonic --seed S
--json FILE` per seed) into one table per data set: each seed's figures, then the median and the best
test NLL of the seeds and the test NLL of the seed with the best validation NLL.

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
    print("| data set | seed | best valid | test NLL | epochs (best) | CPU min | wall min |")
    print("|---|---|---|---|---|---|---|")
    for name, results in by_set.items():
        results.sort(key=lambda r: r["seed"])
        for r in results:
            print(f"| {name} | {r['seed']} | {r['best_valid_nll']:.3f} | {r['test_nll']:.3f} | "
                  f"{r['epochs']} ({r['best_epoch']}) | {r.get('cpu_seconds', float('nan')) / 60:.1f} | "
                  f"{r['seconds'] / 60:.1f} |")
    print()
    print("| data set | seeds | test NLL median | best | test of the best-valid seed | parameters |")
    print("|---|---|---|---|---|---|")
    for name, results in by_set.items():
        tests = [r["test_nll"] for r in results]
        chosen = min(results, key=lambda r: r["best_valid_nll"])
        print(f"| {name} | {', '.join(str(r['seed']) for r in results)} | **{statistics.median(tests):.2f}** | "
              f"{min(tests):.2f} | {chosen['test_nll']:.2f} | {results[0]['parameters']} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
