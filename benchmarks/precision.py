"""Where bfloat16 steps pay: made's training step in float32 and in bfloat16, side by side,
over model sizes and batch sizes, and what ``--precision auto`` chooses for each.

A bfloat16 matrix product pays a fixed cost per call (oneDNN's set-up: about 50 us on a 2-core
Xeon with AMX, where a small float32 product takes 4 us), so bfloat16 wins only once a step's
products are large. ``made.train.training_dtype`` takes bfloat16 (on a CPU that multiplies it
natively) only when the step's largest product, batch rows x the largest weight matrix, reaches
``made.train.BFLOAT16_MIN_PRODUCT`` multiply-adds. This script measures, for each size, a
step (forward, backward, fused Adam, the weights' moving average) in both dtypes, interleaved
over rounds (the median), and reports the ratio, the rule's choice and what the choice costs
against the faster of the two.

    python benchmarks/precision.py --json benchmarks/results/precision.json   # about 4 minutes
    python benchmarks/precision.py --quick                                     # a smoke run
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, save_json  # noqa: E402

from made import MADE, TrainConfig  # noqa: E402
from made.fastpath import Fast  # noqa: E402
from made.train import (  # noqa: E402
    BFLOAT16_MIN_PRODUCT,
    _native_bfloat16,
    _Objective,
    _update_average,
    largest_product,
    make_optimizer,
    training_dtype,
)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


class Step:
    """One model's training step in ``dtype``: the path ``fit`` runs (premasked kernel,
    fused Adam, moving average), on a fixed batch."""

    def __init__(self, d: int, hidden: list[int], batch: int, dtype: torch.dtype) -> None:
        real = d < 50  # a table: real columns with 4-component mixtures; else binary pixels
        kw = {"num_categories": [0] * d, "num_components": 4} if real else {}
        self.model = MADE((d,), hidden, seed=0, **kw)
        self.model.zero_unused_weights()
        self.objective = _Objective(self.model, Fast(premasked=True, dtype=dtype))
        self.opt = make_optimizer(self.model, TrainConfig(lr=1e-3))
        self.average = [p.detach().clone() for p in self.model.parameters()]
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(batch, d, generator=g) if real else torch.randint(0, 2, (batch, d))
        self.steps = 0

    def __call__(self) -> None:
        loss = self.objective(self.x, None) / len(self.x)
        float(loss.detach())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.steps += 1
        _update_average(self.average, self.model, self.steps)

    def time(self, seconds: float) -> float:
        """Milliseconds a step, over at least ``seconds`` and 3 steps."""
        start, n = time.perf_counter(), 0
        while n < 3 or time.perf_counter() - start < seconds:
            self()
            n += 1
        return (time.perf_counter() - start) / n * 1e3


def measure(d: int, hidden: list[int], batch: int, rounds: int, seconds: float) -> dict:
    steps = {name: Step(d, hidden, batch, dtype) for name, dtype in DTYPES.items()}
    for step in steps.values():  # warm-up: allocations, first calls
        step.time(0.0)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name].append(step.time(seconds))
    ms = {name: statistics.median(v) for name, v in times.items()}
    model = steps["float32"].model
    chosen = str(training_dtype("auto", model, batch)).removeprefix("torch.")
    return {
        "dims": d, "hidden": hidden, "batch": batch,
        "largest_product": largest_product(model, batch),
        "step_ms": ms, "bfloat16_over_float32": ms["bfloat16"] / ms["float32"],
        "auto": chosen, "auto_over_fastest": ms[chosen] / min(ms.values()),
        "bfloat16_over_fastest": ms["bfloat16"] / min(ms.values()),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two sizes, one round: a smoke run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=0.15, help="per dtype, per round")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        grid = [(14, [32], 16), (400, [512, 512], 128)]
        args.rounds, args.seconds = 1, 0.05
    else:
        sizes = itertools.product([14, 400, 784], [32, 128, 512, 1024], [16, 64, 128, 512])
        grid = [(d, [h, h], b) for d, h, b in sizes if d > 14 or h <= 512]
    native = _native_bfloat16(torch.device("cpu"))
    print(f"machine: {machine()['cpu']}, {torch.get_num_threads()} threads; native bfloat16: "
          f"{native}; bfloat16 from {BFLOAT16_MIN_PRODUCT:,} multiply-adds in the largest "
          "product")  # fmt: skip
    print(f"{'dims':>5} {'hidden':>12} {'batch':>5} {'largest':>13} {'float32':>9} "
          f"{'bfloat16':>9} {'bf16/f32':>8} {'auto':>9} {'auto/best':>9}")  # fmt: skip
    cases = []
    for d, hidden, batch in grid:
        case = measure(d, hidden, batch, args.rounds, args.seconds)
        cases.append(case)
        ms = case["step_ms"]
        print(f"{d:>5} {str(hidden):>12} {batch:>5} {case['largest_product']:>13,} "
              f"{ms['float32']:>7.2f}ms {ms['bfloat16']:>7.2f}ms "
              f"{case['bfloat16_over_float32']:>8.2f} {case['auto']:>9} "
              f"{case['auto_over_fastest']:>9.2f}", flush=True)  # fmt: skip
    for name, key in (("auto", "auto_over_fastest"), ("bfloat16 always", "bfloat16_over_fastest")):
        lost = [c[key] for c in cases]
        print(
            f"{name}: a step {statistics.median(lost):.2f}x the faster dtype's (median), "
            f"{max(lost):.2f}x at worst, over {len(cases)} sizes"
        )
    if args.json is not None:
        save_json(args.json, {"machine": machine(), "native_bfloat16": native,
                              "threshold": BFLOAT16_MIN_PRODUCT, "cases": cases})  # fmt: skip


if __name__ == "__main__":
    main()
