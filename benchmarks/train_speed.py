"""Training speed of made against a straightforward MADE, side by side in one process.

On the reference configuration (Shapes: 400 binary dimensions, hidden [512, 512], batch 128,
Adam lr 1e-3) it measures:

1. throughput: training examples per second, whole epochs, alternating the two
   implementations, median and spread over repeats;
2. time to quality: the straightforward implementation trains for --epochs epochs; made then
   trains with its own recipe until its test NLL reaches that final figure, and the two
   training times (evaluation excluded) are compared;
3. the denormal trap: epoch times over several epochs of training with weight decay, for both
   implementations (made's must stay flat).

    python benchmarks/train_speed.py            # the full run (a few minutes on 2 cores)
    python benchmarks/train_speed.py --quick    # the version `make bench` runs

Prints a table and, with --json PATH, writes the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    NumpyDataset,
    StraightMADE,
    machine,
    straight_epoch,
    straight_nll,
)
from speed import train_throughput  # noqa: E402

from made import MADE, TrainConfig, evaluate_nll  # noqa: E402
from made.data import load_data  # noqa: E402
from made.train import fit  # noqa: E402

HIDDEN = [512, 512]
BATCH = 128


def straight_setup(train: np.ndarray, weight_decay: float = 0.0, seed: int = 0):
    model = StraightMADE(train.shape[1], HIDDEN, seed=seed)
    loader = torch.utils.data.DataLoader(NumpyDataset(train), batch_size=BATCH, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    return model, loader, opt


def time_to_quality(data, epochs: int, recipe: dict) -> dict:
    """Straightforward for ``epochs`` epochs; made until it matches that test NLL."""
    train_np = data.splits["train"].reshape(len(data.splits["train"]), -1)
    test_np = data.splits["test"].reshape(len(data.splits["test"]), -1)
    model, loader, opt = straight_setup(train_np)
    s_time, s_curve = 0.0, []
    for _ in range(epochs):
        start = time.perf_counter()
        straight_epoch(model, loader, opt)
        s_time += time.perf_counter() - start
        s_curve.append((s_time, straight_nll(model, test_np)))
    target = s_curve[-1][1]

    test = data.tensor("test")
    ours = MADE(data.shape, recipe["hidden"], seed=0)
    m_curve: list[tuple[float, float]] = []
    clock = [0.0]

    class Reached(Exception):
        pass

    def on_epoch(record: dict) -> None:
        clock[0] += record["seconds"]
        nll = evaluate_nll(ours, test).nll
        m_curve.append((clock[0], nll))
        if nll <= target:
            raise Reached

    cfg = TrainConfig(epochs=recipe["max_epochs"], batch_size=recipe["batch_size"],
                      lr=recipe["lr"], eval_batch_size=4096)  # fmt: skip
    try:
        fit(ours, data.tensor("train"), data.tensor("valid"), cfg, on_epoch=on_epoch)
    except Reached:
        pass
    reached = m_curve[-1][1] <= target
    return {
        "target_test_nll": target,
        "straightforward_seconds": s_time,
        "straightforward_curve": s_curve,
        "made_recipe": recipe,
        "made_seconds": m_curve[-1][0] if reached else None,
        "made_curve": m_curve,
        "made_reached": reached,
        "time_ratio": (m_curve[-1][0] / s_time) if reached else None,
    }


def denormal_trap(train_np: np.ndarray, train_t: torch.Tensor, valid_t: torch.Tensor,
                  epochs: int) -> dict:  # fmt: skip
    """Epoch times with weight decay: made's must stay flat."""
    model, loader, opt = straight_setup(train_np, weight_decay=1e-4)
    s_times = []
    for _ in range(epochs):
        start = time.perf_counter()
        straight_epoch(model, loader, opt)
        s_times.append(time.perf_counter() - start)
    ours = MADE(train_t.shape[1:], HIDDEN, seed=0)
    cfg = TrainConfig(epochs=epochs, batch_size=BATCH, lr=1e-3, weight_decay=1e-4,
                      eval_batch_size=4096)  # fmt: skip
    m_times = [h["seconds"] for h in fit(ours, train_t, valid_t[:10], cfg).history]
    tiny = torch.finfo(torch.float32).tiny
    denormals = sum(int(((p != 0) & (p.abs() < tiny)).sum()) for p in ours.parameters())
    return {
        "straightforward_epoch_seconds": s_times,
        "made_epoch_seconds": m_times,
        "made_last_over_first": m_times[-1] / m_times[0],
        "made_max_over_min": max(m_times) / min(m_times),
        "made_denormal_weights": denormals,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    parser.add_argument("--epochs", type=int, default=20, help="straightforward epochs")
    parser.add_argument("--repeats", type=int, default=3, help="throughput epochs per side")
    parser.add_argument("--trap-epochs", type=int, default=8, help="epochs with weight decay")
    parser.add_argument("--data", default="shapes", help="another named set (tests use a tiny one)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    epochs = min(5, args.epochs) if args.quick else args.epochs
    repeats = min(2, args.repeats) if args.quick else args.repeats
    trap_epochs = min(4, args.trap_epochs) if args.quick else args.trap_epochs
    # made's own recipe for Shapes: one wide layer and a higher rate converge far sooner
    recipe = {"hidden": [1024], "batch_size": 128, "lr": 1e-2, "max_epochs": epochs}

    data = load_data(args.data)
    train_t, valid_t = data.tensor("train"), data.tensor("valid")
    train_np = data.splits["train"].reshape(len(train_t), -1)
    info = machine()
    print(f"machine: {info}")
    print(f"reference: {data.name} {tuple(data.shape)}, hidden {HIDDEN}, batch {BATCH}, lr 1e-3")

    tp = train_throughput(train_np, HIDDEN, repeats)
    s, m = tp["straightforward_examples_per_second"], tp["made_examples_per_second"]
    print(f"\n1. training throughput (examples/s, median [min, max] of {repeats} epochs)")
    print(f"   straightforward {s['median']:9.0f} [{s['min']:.0f}, {s['max']:.0f}]")
    print(f"   made            {m['median']:9.0f} [{m['min']:.0f}, {m['max']:.0f}]")
    print(f"   ratio           {tp['ratio']:9.2f}x   (target >= 2x)")

    tq = time_to_quality(data, epochs, recipe)
    print(
        f"\n2. time to the straightforward {epochs}-epoch test NLL "
        f"({tq['target_test_nll']:.3f} nats)"
    )
    print(f"   straightforward {tq['straightforward_seconds']:9.1f} s")
    if tq["made_reached"]:
        print(
            f"   made            {tq['made_seconds']:9.1f} s  (hidden {recipe['hidden']}, "
            f"batch {recipe['batch_size']}, "
            f"lr {recipe['lr']}, {len(tq['made_curve'])} epochs)"
        )
        print(f"   ratio           {tq['time_ratio']:9.2f}    (target <= 0.2)")
    else:
        print(
            f"   made did not reach it in {recipe['max_epochs']} epochs "
            f"(best {min(v for _, v in tq['made_curve']):.3f})"
        )

    tr = denormal_trap(train_np, train_t, valid_t, trap_epochs)
    fmt = " ".join
    print(f"\n3. epoch seconds with weight decay 1e-4 ({trap_epochs} epochs)")
    print(f"   straightforward {fmt(f'{t:.2f}' for t in tr['straightforward_epoch_seconds'])}")
    print(
        f"   made            {fmt(f'{t:.2f}' for t in tr['made_epoch_seconds'])}"
        f"   (max/min {tr['made_max_over_min']:.2f}, denormal weights "
        f"{tr['made_denormal_weights']})"
    )

    if args.json:
        results = {"machine": info, "quick": args.quick, "throughput": tp,
                   "time_to_quality": tq, "denormal_trap": tr}  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    ok = tp["ratio"] >= 2 and tq["made_reached"] and tq["time_ratio"] <= 0.2
    print("\nall targets met" if ok else "\nsome targets NOT met")


if __name__ == "__main__":
    main()
