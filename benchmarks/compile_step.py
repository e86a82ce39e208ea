"""Does ``torch.compile`` pay for made's training step? Eager against compiled, side by side.

One process, one configuration at a time: two identical single-mask models (made's own
training path: premasked weights, the precision ``TrainConfig.precision`` gives, made's
optimiser), one stepped eagerly and one through ``torch.compile`` of its loss (forward and
backward; the optimiser's fused step is left as it is), on the same batches. Rounds of steps
alternate the two; each prints the milliseconds per step and their ratio (above 1: compiled
faster). The compile's own seconds (the first steps) are reported apart: a run pays them once
a process, and again for every other mask or batch shape.

    python benchmarks/compile_step.py                      # the reference configuration
    python benchmarks/compile_step.py --configs "128 auto;1024 auto;128 float32;16 float32" \
        --json benchmarks/results/compile_step.json       # ~6 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json  # noqa: E402

from made import MADE, TrainConfig  # noqa: E402
from made.train import make_optimizer, training_path  # noqa: E402

DIMS, HIDDEN = 400, [512, 512]  # the reference configuration's network (binary data)


def _setup(batch: int, precision: str) -> tuple[Any, torch.optim.Optimizer, str]:
    """A model, its optimiser and the loss of a batch by made's training path."""
    model = MADE(DIMS, HIDDEN, activation="gelu", direct_connections=True, seed=0)
    model.zero_unused_weights()
    model.plan()  # built once, outside any compiled region
    optimiser = make_optimizer(model, TrainConfig(lr=3e-3, output_lr_scale=3.0, batch_size=batch))
    fast = training_path(model, precision, batch)

    def loss(x: torch.Tensor) -> torch.Tensor:
        return model.nll_sum(x, None, fast=fast) / x.shape[0]

    return loss, optimiser, str(fast.dtype).removeprefix("torch.")


def _steps(loss: Any, optimiser: torch.optim.Optimizer, data: torch.Tensor, batch: int,
           steps: int) -> float:  # fmt: skip
    """Milliseconds per training step over ``steps`` steps."""
    start = time.perf_counter()
    for i in range(steps):
        x = data[(i * batch) % len(data) :][:batch]
        value = loss(x)
        optimiser.zero_grad(set_to_none=True)
        value.backward()
        optimiser.step()
    return (time.perf_counter() - start) / steps * 1e3


def measure(batch: int, precision: str, rounds: int, steps: int) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    data = (torch.rand(max(batch * 8, 1024), DIMS, generator=g) < 0.3).long()
    eager, eager_opt, dtype = _setup(batch, precision)
    compiled, compiled_opt, _ = _setup(batch, precision)
    compiled = torch.compile(compiled)
    start = time.perf_counter()
    _steps(compiled, compiled_opt, data, batch, 3)
    compile_seconds = time.perf_counter() - start
    _steps(eager, eager_opt, data, batch, 3)
    ratios, times = [], {"eager": [], "compiled": []}
    for r in range(rounds):
        pair = [("eager", eager, eager_opt), ("compiled", compiled, compiled_opt)]
        for name, loss, opt in pair if r % 2 == 0 else pair[::-1]:
            times[name].append(_steps(loss, opt, data, batch, steps))
        ratios.append(times["eager"][-1] / times["compiled"][-1])
        print(f"  batch {batch:5d} {dtype:9s} eager {times['eager'][-1]:7.2f} ms  compiled "
              f"{times['compiled'][-1]:7.2f} ms  ratio {ratios[-1]:.2f}", flush=True)  # fmt: skip
    return {"batch": batch, "precision": precision, "dtype": dtype,
            "compile_seconds": compile_seconds, "eager_ms": times["eager"],
            "compiled_ms": times["compiled"], "ratios": ratios,
            "median_ratio": statistics.median(ratios)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        default="128 auto",
        help='"BATCH PRECISION;..." (precision: auto, float32, bfloat16)',
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=30, help="steps a round")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    info = machine()
    print(f"machine: {info}", flush=True)
    results = []
    for config in args.configs.split(";"):
        batch, precision = config.split()
        result = measure(int(batch), precision, args.rounds, args.steps)
        print(
            f"batch {batch} {result['dtype']}: compiled/eager speed {result['median_ratio']:.2f}x "
            f"(median of {args.rounds}), compile {result['compile_seconds']:.0f} s",
            flush=True,
        )
        results.append(result)
    if args.json:
        merge_json(args.json, "reference", {"machine": info, "date": time.strftime("%Y-%m-%d"),
                                            "configs": results})  # fmt: skip


if __name__ == "__main__":
    main()
