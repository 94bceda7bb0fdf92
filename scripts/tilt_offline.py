#!/usr/bin/env python3
"""A tilt of the choice among candidates tried offline (docs/benchmarks.md, issue 20).

Reads the files `cargo run --release --example dump_candidates -- CHECKPOINT 400 SEED DIR` writes
for the fit seeds (1000000) and the benchmark seeds (0), fits the tilt's weights for each set of
features so that the kept tunes' means are the training tunes', draws the kept tunes of the
benchmark seeds 10 times, and asks a logistic regression (a numpy copy of the crate's
`distinguishability`: standardised features, 400 steps of gradient descent at 0.5, L2 1e-3, 5
folds, balanced random subsamples) to tell them from the held-out tunes.

Usage: python scripts/tilt_offline.py DIR [valid|test] [--short]
(--short tries no tilt and the tonic ending with the entropy only.)
"""
import sys
import numpy as np

FEATURES = ["length in bars", "share of full interior bars", "short interior bars", "parts",
            "regular form", "share of parts repeated", "share of bars that repeat an earlier bar",
            "notes per quarter", "pitch range", "pitch-class entropy",
            "share of notes shorter than a quarter", "mean absolute interval", "ends on the tonic",
            "part > 16 bars"]
TONIC, ENTROPY = 12, 9


def read(path):
    return np.genfromtxt(path, delimiter=",", skip_header=1)


def with_long_part(features, longest):
    return np.column_stack([features, (longest > 16).astype(float)])


def candidates(folder, seed):
    a = read(f"{folder}/candidates_{seed}_8.csv")
    return a[:, 0].astype(int), a[:, 2], with_long_part(a[:, 3:16], a[:, 16])


def tunes(folder, name):
    a = read(f"{folder}/{name}.csv")
    return with_long_part(a[:, :13], a[:, 13])


def kept_means(piece, log_weight, x, lam):
    """Mean features of the kept tunes and the mean covariance, under tilt `lam`."""
    s = log_weight + x @ lam
    mean, cov, pieces = np.zeros(x.shape[1]), np.zeros((x.shape[1],) * 2), 0
    for p in np.unique(piece):
        i = piece == p
        w = np.exp(s[i] - s[i].max())
        w /= w.sum()
        mu = w @ x[i]
        d = x[i] - mu
        mean += mu
        cov += (d * w[:, None]).T @ d
        pieces += 1
    return mean / pieces, cov / pieces


def fit(piece, log_weight, x, target):
    lam = np.zeros(x.shape[1])
    for _ in range(50):
        mean, cov = kept_means(piece, log_weight, x, lam)
        if np.abs(target - mean).max() < 1e-6:
            break
        lam += np.clip(np.linalg.solve(cov + 1e-9 * np.eye(len(lam)), target - mean), -5, 5)
    return lam


def draw(piece, log_weight, x, lam, rng):
    s = log_weight + x @ lam
    kept = []
    for p in np.unique(piece):
        i = np.where(piece == p)[0]
        w = np.exp(s[i] - s[i].max())
        kept.append(i[rng.choice(len(i), p=w / w.sum())])
    return np.array(kept)


def accuracy(a, b, rng, folds=5):
    n = min(len(a), len(b))
    a, b = a[rng.permutation(len(a))[:n]], b[rng.permutation(len(b))[:n]]
    x, y = np.vstack([a, b]), np.r_[np.zeros(n), np.ones(n)]
    ia, ib = rng.permutation(n), rng.permutation(n) + n
    right = 0
    for f in range(folds):
        test = np.r_[ia[f::folds], ib[f::folds]]
        train = np.setdiff1d(np.arange(2 * n), test)
        mu, sd = x[train].mean(0), x[train].std(0)
        sd[sd < 1e-6] = 1
        xt, xe = (x[train] - mu) / sd, (x[test] - mu) / sd
        w, b0 = np.zeros(x.shape[1]), 0.0
        for _ in range(400):
            e = 1 / (1 + np.exp(-(xt @ w + b0))) - y[train]
            w -= 0.5 * (xt.T @ e / len(train) + 2e-3 * w)
            b0 -= 0.5 * e.mean()
        right += ((xe @ w + b0 > 0) == (y[test] > 0.5)).sum()
    return right / (2 * n)


def main():
    folder = sys.argv[1]
    against = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else "valid"
    train, held = tunes(folder, "train"), tunes(folder, against)
    fit_piece, fit_weight, fit_x = candidates(folder, 1000000)
    piece, weight, x = candidates(folder, 0)
    sets = {"none": [], "tonic, entropy": [TONIC, ENTROPY]}
    if "--short" not in sys.argv:
        for extra in [2, 1, 3, 6, 5, 0, 7, 10, 8, 11, 13]:
            sets["tonic, entropy, " + FEATURES[extra]] = [TONIC, ENTROPY, extra]
    for name, chosen in sets.items():
        lam = np.zeros(x.shape[1])
        if chosen:
            lam[chosen] = fit(fit_piece, fit_weight, fit_x[:, chosen], train[:, chosen].mean(0))
        scores = []
        for r in range(10):
            kept = draw(piece, weight, x, lam, np.random.default_rng(r))
            scores.append(np.mean([accuracy(x[kept, :13], held[:, :13],
                                            np.random.default_rng(100 * r + j))
                                   for j in range(3)]))
        print(f"{name:55s} weights {np.round(lam[chosen], 2)} "
              f"accuracy {np.mean(scores):.3f} ± {np.std(scores):.3f}", flush=True)


if __name__ == "__main__":
    main()
