"""Mask ensembles on small data: does a mixture of masks beat one mask of the same width?

The MADE paper trains one network over many masks (connectivity-agnostic, and with orderings
resampled too, order-agnostic) and averages their probabilities at test time; its one-layer
MNIST model gains 0.36 nats from 32 masks. Each setting here trains one model on a subset of
binarized MNIST (``--rows`` training rows, 1,000 validation rows, ``--test`` test rows,
drawn at random from the fixed splits of ``../shared/data/binarized_mnist.npz``) with made's
own loop, picks its epoch on validation (the mixture of ``eval_ensemble`` masks), and
scores the test rows once per ensemble size (the mixture of masks 0..K-1, as
probabilities). The settings differ in one thing at a time from ``single`` (one layer of
500, direct connections, Adam 1e-3, weight decay 1e-4, batch 100, plateau halving,
patience 15).

    python benchmarks/ensembles.py --json benchmarks/results/ensembles.json
    python benchmarks/ensembles.py --settings single,conn32 --rows 1000 --epochs 5  # smoke

``--degrees`` changes how masks 1.. of a multi-mask setting differ from mask 0, to measure
whether that is what holds the mixture back: ``made`` (its own draws: each mask's degrees
sorted, so a unit keeps about the same quantile in every mask), ``fresh`` (each unit's
degree drawn afresh for every mask, as the authors' code does) or ``halfway`` (midway
between mask 0's degrees and made's draws). Results go under ``mnist-ROWS-DEGREES``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json  # noqa: E402

from made import MADE, TrainConfig, evaluate_nll  # noqa: E402
from made.masks import make_generator  # noqa: E402
from made.train import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "binarized_mnist.npz"

_NET: dict[str, Any] = {"hidden_sizes": [500], "direct_connections": True, "ordering": "natural"}
_TRAIN: dict[str, Any] = {"batch_size": 100, "lr": 1e-3, "weight_decay": 1e-4,
                          "schedule": "plateau", "plateau_patience": 5, "patience": 15}  # fmt: skip
# name: (model settings, training settings, test ensembles)
SETTINGS: dict[str, tuple[dict[str, Any], dict[str, Any], tuple[int, ...]]] = {
    "single": (_NET, _TRAIN, (1,)),
    "conn8": ({**_NET, "num_masks": 8}, {**_TRAIN, "eval_ensemble": 8}, (1, 8)),
    "conn32": ({**_NET, "num_masks": 32}, {**_TRAIN, "eval_ensemble": 8}, (1, 8, 32)),
    "conn32-every10": (
        {**_NET, "num_masks": 32},
        {**_TRAIN, "eval_ensemble": 8, "mask_every": 10},
        (1, 8, 32),
    ),
    "conn32-lr3e-4": (
        {**_NET, "num_masks": 32},
        {**_TRAIN, "eval_ensemble": 8, "lr": 3e-4},
        (1, 8, 32),
    ),
    "conn32-nodecay": (
        {**_NET, "num_masks": 32},
        {**_TRAIN, "eval_ensemble": 8, "weight_decay": 0.0},
        (1, 8, 32),
    ),
    "single-avg": (_NET, {**_TRAIN, "average_weights": True}, (1,)),
    "conn32-avg": (
        {**_NET, "num_masks": 32},
        {**_TRAIN, "eval_ensemble": 8, "average_weights": True},
        (1, 8, 32),
    ),
    "agnostic32": (
        {**_NET, "num_masks": 32, "order_agnostic": True},
        {**_TRAIN, "eval_ensemble": 8},
        (1, 8, 32),
    ),
}


def subsets(rows: int, test: int) -> dict[str, torch.Tensor]:
    data = np.load(MNIST)
    rng = np.random.default_rng(0)  # random rows of each split: a split's order may be sorted

    def some(split: str, n: int) -> torch.Tensor:
        x = data[split]
        return torch.from_numpy(x[rng.permutation(len(x))[:n]]).long()

    return {"train": some("train_data", rows), "valid": some("valid_data", 1000),
            "test": some("test_data", test)}  # fmt: skip


@torch.no_grad()
def redraw_degrees(model: MADE, how: str, seed: int) -> None:
    """Masks 1.. of a one-hidden-layer ``model`` given ``fresh`` or ``halfway`` degrees (see
    the module's docstring), its weights drawn again and the unused ones zeroed, as a new
    model's are. Fresh degrees are unsorted: the fast path's plan then runs each product
    whole (no staircase to cut into row blocks)."""
    g = torch.Generator().manual_seed(seed + 1234)
    degrees = model.hidden_degrees_0
    for k in range(1, model.num_masks):
        if how == "fresh":
            degrees[k] = degrees[k][torch.randperm(degrees.shape[1], generator=g)]
        else:
            degrees[k] = ((degrees[k] + degrees[0]).double() / 2).round().long()
    model.set_extra_state({"mask_index": 0})  # as a loaded state with other degrees: drops
    init = make_generator(seed, 99)  # the cached masks and plans, and makes mask 0 current
    for layer in model.net.layers():
        layer.reset_parameters(init)
    model.zero_unused_weights()


def run(
    name: str,
    data: dict[str, torch.Tensor],
    epochs: int,
    seed: int,
    degrees: str = "made",
    activation: str | None = None,
) -> dict[str, Any]:
    model_kw, train_kw, ensembles = SETTINGS[name]
    if activation is not None:
        model_kw = {**model_kw, "activation": activation}
    masks = model_kw.get("num_masks", 1)
    model = MADE(data["train"].shape[1], **model_kw, seed=seed)
    if degrees != "made" and masks > 1:
        redraw_degrees(model, degrees, seed)
    evaluate_over = min(train_kw.get("eval_ensemble", 1), masks)
    config = TrainConfig(**{**train_kw, "eval_ensemble": evaluate_over, "epochs": epochs,
                            "seed": seed})  # fmt: skip
    start = time.perf_counter()
    result = fit(model, data["train"], data["valid"], config)
    seconds = time.perf_counter() - start
    test = {str(k): evaluate_nll(model, data["test"], ensemble=k).nll for k in ensembles
            if k <= masks}  # fmt: skip
    return {"test_nll": test, "best_epoch": result.best_epoch,
            "epochs": len(result.history), "valid_nll": result.best_valid_nll,
            "train_loss": result.history[result.best_epoch - 1]["train_loss"],
            "seconds": seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=200, help="at most this many")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--degrees", choices=["made", "fresh", "halfway"], default="made",
                        help="how masks 1.. differ from mask 0 (see the docstring)")  # fmt: skip
    parser.add_argument("--activation", default=None,
                        help="every setting's hidden activation, e.g. softplus")  # fmt: skip
    args = parser.parse_args()
    if not MNIST.is_file():
        raise SystemExit(f"{MNIST.name} is not in ../shared/data: nothing to measure")
    info = machine()
    print(f"machine: {info}", flush=True)
    data = subsets(args.rows, args.test)
    key = f"mnist-{args.rows}" + ("" if args.degrees == "made" else f"-{args.degrees}")
    key += "" if args.activation is None else f"-{args.activation}"
    results: dict[str, Any] = {}
    print(f"\nbinarized MNIST, {args.rows} training rows: test NLL (nats) per ensemble size")
    for name in args.settings.split(","):
        results[name] = r = run(name, data, args.epochs, args.seed, args.degrees,
                                args.activation)  # fmt: skip
        cells = ", ".join(f"{k} mask{'s' if k != '1' else ''} {v:.2f}"
                          for k, v in r["test_nll"].items())  # fmt: skip
        print(f"  {name:16s} {cells}; best epoch {r['best_epoch']} of {r['epochs']}, "
              f"train loss {r['train_loss']:.2f}, {r['seconds']:.0f} s", flush=True)  # fmt: skip
        if args.json:
            merge_json(args.json, key, {**results, "machine": info,
                                        "date": time.strftime("%Y-%m-%d")})  # fmt: skip


if __name__ == "__main__":
    main()
