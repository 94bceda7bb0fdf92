"""What the PyTorch timings of the notebook-01 LSTM share (`bench_train_torch.py`,
`bench_lstm_weights.py`): its sizes on the command line and a timer of training steps."""
import argparse
import time

import torch


def notebook01_arguments(steps):
    """A parser of the notebook-01 LSTM's sizes and the device: --device, --embed, --hidden,
    --layers, --batch, --seq, and --steps (default `steps`)."""
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--embed", type=int, default=48)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--steps", type=int, default=steps)
    return p


def seconds_per_step(step, steps, warmup, device):
    """The mean seconds of `step()` over `steps` calls after `warmup` untimed ones, waiting for
    the GPU to finish where `device` is CUDA."""
    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps
