"""Training speed of the notebook-01 LSTM in PyTorch from Python, for comparison with tunesmith.

The same model (embedding -> 2-layer LSTM -> dropout -> linear), the same batch and sequence length,
the same Adam and gradient clipping, on random token ids (speed does not depend on the data).
Prints one JSON line: {"tokens_per_second": ..., "step_seconds": ..., "device": ...}.

Usage: python scripts/bench_train_torch.py --device cpu --steps 30 --warmup 3
"""
import json

import torch
from torch import nn

from lstm_bench_common import notebook01_arguments, seconds_per_step


class LstmLm(nn.Module):
    def __init__(self, vocab, embed, hidden, layers, dropout):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, dropout=dropout, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids):
        out, _ = self.lstm(self.embed(ids))
        return self.head(self.drop(out))


def main():
    p = notebook01_arguments(steps=30)
    p.add_argument("--vocab", type=int, default=83)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = torch.device(a.device)
    model = LstmLm(a.vocab, a.embed, a.hidden, a.layers, a.dropout).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randint(0, a.vocab, (a.batch, a.seq), device=device)
    y = torch.randint(0, a.vocab, (a.batch, a.seq), device=device)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x).reshape(-1, a.vocab), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    seconds = seconds_per_step(step, a.steps, a.warmup, device)
    print(json.dumps({"tokens_per_second": a.batch * a.seq / seconds, "step_seconds": seconds,
                      "device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
