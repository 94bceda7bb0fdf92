"""PyTorch twin of the crate's polyphonic benchmark (src/model/frame_lstm.rs, src/bench/polyphonic.rs),
used to search settings quickly on a GPU before confirming them with the crate on the CPU.

usage: python scripts/poly_sweep_torch.py ../shared/data/bl2012/JSB_Chorales.json NAME key=value ...
keys: hidden layers dropout in_drop out_drop proj skip lr wd clip batch epochs seed patience
      decay_patience chunk (training windows, like the example's --window) device (cuda|cpu)
Prints a JSON line every few epochs and a final line with the test NLL of the best-validation epoch."""
import json, sys, time, math, random
import torch, torch.nn as nn, torch.nn.functional as F

args = dict(a.split("=") for a in sys.argv[3:])
def g(k, d, t=float):
    return t(args.get(k, d))
hidden, layers = g("hidden", 256, int), g("layers", 2, int)
dropout, in_drop, out_drop = g("dropout", 0.0), g("in_drop", 0.0), g("out_drop", -1.0)
if out_drop < 0: out_drop = dropout
proj = g("proj", 0, int)
skip = g("skip", 0, int)
lr, wd, clip = g("lr", 1e-3), g("wd", 0.0), g("clip", 5.0)
batch, epochs, seed = g("batch", 8, int), g("epochs", 100, int), g("seed", 1, int)
patience = g("patience", 1000, int)
decay_at = g("decay_patience", 0, int)  # reduce lr by 10 when valid has not improved for this many epochs (0 = off)
device = args.get("device", "cuda")
torch.manual_seed(seed); random.seed(seed)
torch.set_num_threads(1)

data = json.load(open(sys.argv[1]))
def roll(piece):
    x = torch.zeros(len(piece), 88)
    for t, fr in enumerate(piece):
        for p in fr: x[t, p - 21] = 1
    return x
sets = {k: [roll(p) for p in v if len(p) > 1] for k, v in data.items()}
chunk = g("chunk", 0, int)
if chunk:
    sets["train"] = [p[i:i + chunk + 1] for p in sets["train"] for i in range(0, len(p) - 1, chunk)]
    sets["train"] = [p for p in sets["train"] if len(p) > 1]

class M(nn.Module):
    def __init__(s):
        super().__init__()
        inp = 88
        if proj: s.proj = nn.Linear(88, proj); inp = proj
        s.lstm = nn.LSTM(inp, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0)
        s.head = nn.Linear(hidden, 88)
        if skip: s.skip = nn.Linear(88, 88)
    def forward(s, x):
        h = F.dropout(x, in_drop, s.training)
        if proj: h = torch.tanh(s.proj(h))
        h, _ = s.lstm(h)
        y = s.head(F.dropout(h, out_drop, s.training))
        if skip: y = y + s.skip(x)
        return y

def batches(pieces, bs, shuffle):
    idx = list(range(len(pieces)))
    if shuffle: random.shuffle(idx)
    for i in range(0, len(idx), bs):
        ps = [pieces[j] for j in idx[i:i + bs]]
        T = max(len(p) for p in ps) - 1
        x = torch.zeros(len(ps), T, 88); y = torch.zeros(len(ps), T, 88); m = torch.zeros(len(ps), T)
        for k, p in enumerate(ps):
            n = len(p) - 1
            x[k, :n] = p[:-1]; y[k, :n] = p[1:]; m[k, :n] = 1
        yield x.to(device), y.to(device), m.to(device)

def loss_sum(model, x, y, m):
    l = F.binary_cross_entropy_with_logits(model(x), y, reduction="none").sum(-1)
    return (l * m).sum(), m.sum()

model = M().to(device)
nparams = sum(p.numel() for p in model.parameters())
opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
def evaluate(split):
    model.eval(); s = n = 0.0
    with torch.no_grad():
        for x, y, m in batches(sets[split], 32, False):
            a, b = loss_sum(model, x, y, m); s += a.item(); n += b.item()
    return s / n
best, best_ep, best_test, since, since_decay = 1e9, 0, None, 0, 0
t0 = time.time()
for ep in range(1, epochs + 1):
    model.train(); tl = tn = 0.0
    for x, y, m in batches(sets["train"], batch, True):
        a, b = loss_sum(model, x, y, m)
        opt.zero_grad(); (a / b).backward()
        if clip > 0: nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step(); tl += a.item(); tn += b.item()
    v = evaluate("valid")
    if v < best:
        best, best_ep, since, since_decay = v, ep, 0, 0
        best_test = evaluate("test")
    else:
        since += 1; since_decay += 1
    if decay_at and since_decay >= decay_at:
        for gr in opt.param_groups: gr["lr"] *= 0.1
        since_decay = 0
    if ep % 5 == 0 or ep <= 3:
        print(json.dumps({"name": sys.argv[2], "ep": ep, "train": tl / tn, "valid": v, "best": best, "best_ep": best_ep, "test": best_test, "s": round(time.time() - t0)}), flush=True)
    if since >= patience: break
print(json.dumps({"final": sys.argv[2], "params": nparams, "best_valid": best, "best_ep": best_ep, "test": best_test, "epochs": ep, "s": round(time.time() - t0), "args": args}), flush=True)
