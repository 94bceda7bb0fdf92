"""How much does the layout of LSTM weights cost? tunesmith's LstmLm calls libtorch's `at::lstm` (through
tch's `Tensor::lstm`) with a list of separate weight tensors; PyTorch's nn.LSTM keeps its weights in one
flat buffer (`flatten_parameters`) that cuDNN uses in place. On CUDA, separate weights make cuDNN copy
them into a flat buffer at every call. This script times a training step (forward + backward) of the
notebook-01 LSTM both ways from Python on the same device, so the difference is the layout alone.

Usage: python scripts/bench_lstm_weights.py --device cuda --steps 50
Prints one JSON line.
"""
import json

import torch
from torch import nn

from lstm_bench_common import notebook01_arguments, seconds_per_step


def main():
    a = notebook01_arguments(steps=50).parse_args()
    torch.manual_seed(0)
    device = torch.device(a.device)
    lstm = nn.LSTM(a.embed, a.hidden, a.layers, dropout=0.1, batch_first=True).to(device)
    x = torch.randn(a.batch, a.seq, a.embed, device=device)
    h0 = torch.zeros(a.layers, a.batch, a.hidden, device=device)
    # Separate copies of the weights, as tch passes them (each its own allocation).
    separate = [w.detach().clone().requires_grad_(True) for w in lstm._flat_weights]

    def flat_step():
        out, _ = lstm(x, (h0, h0))
        out.sum().backward()

    def separate_step():
        out, _, _ = torch._VF.lstm(x, (h0, h0), separate, True, a.layers, 0.1, True, False, True)
        out.sum().backward()

    def timed(step):
        return seconds_per_step(step, a.steps, 3, device)

    result = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "hidden": a.hidden, "batch": a.batch, "seq": a.seq}
    for round_ in (1, 2):
        result[f"flat_step_seconds_{round_}"] = timed(flat_step)
        result[f"separate_step_seconds_{round_}"] = timed(separate_step)
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(0)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
