"""The masked network's two ways of computing the same thing, side by side: dense (weights
times masks, ``F.linear``) against the staircase kernel (row blocks over column prefixes).

One training step (forward, backward, fused Adam) of the reference configuration (400 binary
dimensions, hidden [512, 512], batch 128), both paths in one process, interleaved rounds,
median milliseconds per step. The default path is the staircase one only while it wins here.

    python benchmarks/network_paths.py [--rounds 7] [--steps 50] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from made import MADE, TrainConfig
from made.fileio import atomic_write_bytes
from made.train import make_optimizer


def _step_time(model: MADE, staircase: bool, x: torch.Tensor, steps: int) -> float:
    """Mean seconds per step over ``steps`` steps of one path."""
    opt = make_optimizer(model, TrainConfig(lr=1e-3))
    start = time.perf_counter()
    for i in range(steps):
        xb = x[i * 128 : (i + 1) * 128]
        loss = -model.log_prob(xb, validate=False, fast=staircase).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 2, (128 * args.steps, 400), generator=g)
    models = {"dense": MADE(400, [512, 512], seed=0), "staircase": MADE(400, [512, 512], seed=0)}
    times: dict[str, list[float]] = {k: [] for k in models}
    for name, model in models.items():  # warm-up
        _step_time(model, name == "staircase", x, 5)
    for _ in range(args.rounds):
        for name, model in models.items():
            times[name].append(_step_time(model, name == "staircase", x, args.steps))
    median = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    machine = f"{_cpu_name()}, {torch.get_num_threads()} threads"
    print(
        f"one training step, 400 dims, hidden [512, 512], batch 128 ({machine}; "
        f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()})"
    )
    for name, ms in median.items():
        print(f"  {name:10s} {ms:6.2f} ms/step  {128 / ms * 1e3:8.0f} examples/s")
    ratio = median["dense"] / median["staircase"]
    print(f"  staircase speed-up over dense: {ratio:.2f}x")
    if args.json:
        record = {"command": "python benchmarks/network_paths.py", "ms_per_step": median,
                  "staircase_speedup": ratio, "machine": machine, "torch": torch.__version__,
                  "rounds": args.rounds, "steps": args.steps}  # fmt: skip
        atomic_write_bytes(args.json, (json.dumps(record, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
