"""Which network the auto recipe should give a large set: candidates on binarized MNIST.

Each candidate is the auto recipe's optimiser (Adam, output layer at 3x, averaged weights,
patience 10) with its own width, dropout, rate and schedule, trained until validation stops
improving or the per-candidate time limit; validation chooses, the test split is reported.
Written for a GPU, where the whole sweep takes minutes; it runs anywhere:

    python benchmarks/mnist_auto.py --device cuda --json benchmarks/results/mnist_auto.json
    python benchmarks/mnist_auto.py --device cpu --rows 512 --epochs 2    # a smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, pick_device, save_json  # noqa: E402

from made import MADE, TrainConfig, evaluate_nll  # noqa: E402
from made.data import load_data  # noqa: E402
from made.recipes import recipe  # noqa: E402
from made.train import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES: list[dict[str, Any]] = [
    {"hidden": [4000], "dropout": 0.3, "lr": 1e-3},  # the auto recipe's choice
    {"hidden": [4000], "dropout": 0.5, "lr": 1e-3},
    {"hidden": [1024, 1024], "dropout": 0.3, "lr": 1e-3},
    {"hidden": [1024, 1024], "dropout": 0.3, "lr": 3e-3},
    {"hidden": [1024, 1024], "dropout": 0.5, "lr": 3e-3},
    {"hidden": [2048, 2048], "dropout": 0.5, "lr": 3e-3},
    {"hidden": [2048], "dropout": 0.5, "lr": 3e-3},
    {"hidden": [512, 512], "dropout": 0.3, "lr": 3e-3},
    {"hidden": [1024, 1024], "dropout": 0.3, "lr": 3e-3, "schedule": "plateau"},
    {"hidden": [2048], "dropout": 0.5, "lr": 3e-3, "schedule": "plateau"},
    {"hidden": [1024, 1024], "dropout": 0.5, "lr": 1e-3, "schedule": "plateau"},
    {"hidden": [2048, 2048], "dropout": 0.5, "lr": 3e-3, "schedule": "plateau"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/binarized_mnist.npz"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--time-limit", type=float, default=75.0, help="seconds per candidate")
    parser.add_argument("--epochs", type=int, default=300, help="epochs per candidate at most")
    parser.add_argument("--rows", type=int, default=None, help="keep this many training rows")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    device = pick_device(args.device)
    data = load_data(args.data)
    train, valid, test = (data.tensor(s, device) for s in ("train", "valid", "test"))
    if args.rows:
        train, valid, test = train[: args.rows], valid[: args.rows // 2], test[: args.rows // 2]
    base = recipe("auto", len(train), train[0].numel()).train
    info = machine(device)
    print(f"machine: {info}", flush=True)
    entries = []
    for cand in CANDIDATES:
        model = MADE(data.shape, cand["hidden"], activation="gelu", direct_connections=True,
                     dropout=cand["dropout"], seed=0).to(device)  # fmt: skip
        cfg = TrainConfig(**{**base, "lr": cand["lr"], "epochs": args.epochs,
                             "time_limit": args.time_limit,
                             "schedule": cand.get("schedule", "constant"),
                             "plateau_patience": 3})  # fmt: skip
        result = fit(model, train, valid, cfg)
        entry = {**cand, "valid_nll": result.best_valid_nll,
                 "test_nll": evaluate_nll(model, test).nll, "best_epoch": result.best_epoch,
                 "epochs": len(result.history), "stop_reason": result.stop_reason,
                 "train_seconds": result.train_seconds,
                 "epoch_seconds": result.train_seconds / len(result.history)}  # fmt: skip
        entries.append(entry)
        print(json.dumps(entry), flush=True)
    best = min(entries, key=lambda e: e["valid_nll"])
    print(f"chosen on validation: {best}")
    if args.json:
        save_json(args.json, {"machine": info, "date": time.strftime("%Y-%m-%d"),
                               "candidates": entries})  # fmt: skip


if __name__ == "__main__":
    main()
