"""The auto recipe's candidates on small binary stand-ins: which wins, and what auto picks.

On few rows per dimension the auto recipe lets the validation split choose among
``made.recipes.AUTO_CANDIDATES`` (``made.selection``). Here every candidate trains to the
end on each stand-in (the auto recipe's settings with the candidate's, the same seed), is
scored on validation and on test rows, and the pick that ``successive_halving`` makes over
the recipe's rungs is read from those same runs: a trial of B epochs is the first B epochs
of the full run (same seed, constant rate), so the rungs need no training of their own.
Stand-ins (public, generated from ``../shared/data/binarized_mnist.npz`` and
scikit-learn's digits, random rows of each split):

- ``mnist14-1400``: 1,400 training rows of MNIST pooled to 14 x 14 (196 dimensions, 7 rows
  per dimension), 600 validation rows, 2,000 test rows: the shape of the 180-dimension set
  of 1,400 training rows that issue 28 names;
- ``mnist-1000``: 1,000 training rows of 784 dimensions (1.3 per dimension), 500 / 2,000;
- ``mnist-5000``: 5,000 rows (6.4 per dimension), 1,000 / 2,000 (above the million training
  cells where auto chooses: for the record);
- ``digits``: scikit-learn's 8 x 8 digits thresholded at 8, 1,200 / 300 / 297 rows.

    python benchmarks/choosing.py --json benchmarks/results/choosing.json
    python benchmarks/choosing.py --sets digits --candidates "early stopping alone" --quick
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

from made import MADE, evaluate_nll  # noqa: E402
from made.recipes import AUTO_CANDIDATES, AUTO_CHOOSE_BUDGETS  # noqa: E402
from made.selection import successive_halving  # noqa: E402
from made.settings import resolve  # noqa: E402
from made.train import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "binarized_mnist.npz"
SETS = ("mnist14-1400", "mnist-1000", "mnist-5000", "digits")


def stand_in(name: str) -> list[torch.Tensor]:
    """Training, validation and test rows of stand-in ``name``."""
    rng = np.random.default_rng(0)

    def pick(x: np.ndarray, n: int) -> np.ndarray:
        return x[rng.permutation(len(x))[:n]]

    if name == "digits":
        from sklearn.datasets import load_digits

        d = (load_digits().data >= 8).astype(np.int64)
        d = d[rng.permutation(len(d))]
        parts = [d[:1200], d[1200:1500], d[1500:]]
    else:
        mn = np.load(MNIST)
        rows, valid = {"mnist14-1400": (1400, 600), "mnist-1000": (1000, 500),
                       "mnist-5000": (5000, 1000)}[name]  # fmt: skip
        parts = [pick(mn["train_data"], rows), pick(mn["valid_data"], valid),
                 pick(mn["test_data"], 2000)]  # fmt: skip
        if name.startswith("mnist14"):  # 28 x 28 -> 14 x 14: a pixel on if any of its 4 is
            parts = [p.reshape(-1, 14, 2, 14, 2).max(axis=(2, 4)).reshape(len(p), -1)
                     for p in parts]  # fmt: skip
    return [torch.from_numpy(np.asarray(p)).long() for p in parts]


def run_candidate(name: str, data: list[torch.Tensor], max_epochs: int | None) -> dict[str, Any]:
    """Train the auto recipe with candidate ``name`` to the end; its curve and scores."""
    train, valid, test = data
    given = {**AUTO_CANDIDATES[name], "seed": 0}
    if max_epochs is not None:
        given["epochs"] = max_epochs
    chosen = resolve("auto", given, len(train), train.shape[1])
    model = MADE(train.shape[1], **chosen.model)
    start = time.perf_counter()
    result = fit(model, train, valid, chosen.train)
    seconds = time.perf_counter() - start
    ensemble = chosen.train.eval_ensemble
    return {
        "valid_nll": result.best_valid_nll,
        "test_nll": evaluate_nll(model, test, ensemble=ensemble).nll,
        "best_epoch": result.best_epoch,
        "epochs": len(result.history),
        "seconds": seconds,
        "curve": [h["valid_nll"] for h in result.history],
    }


def auto_pick(runs: dict[str, dict[str, Any]], order: list[str]) -> str:
    """What the auto recipe picks (``successive_halving`` over ``AUTO_CHOOSE_BUDGETS``),
    read from full runs: a trial of B epochs is the first B epochs of its run (its best
    validation NLL there, stopping where the run did)."""

    def train_for(name: str, budget: int) -> tuple[float, int]:
        curve = runs[name]["curve"][:budget]
        return min(curve), len(curve)

    return successive_halving(order, train_for, AUTO_CHOOSE_BUDGETS).winner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--candidates", default=";".join(AUTO_CANDIDATES))
    parser.add_argument("--quick", action="store_true", help="5 epochs a run: a smoke run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    names = [c for c in args.candidates.split(";") if c]
    results: dict[str, Any] = {}
    for set_name in args.sets.split(","):
        if set_name != "digits" and not MNIST.is_file():
            print(f"{set_name}: skipped ({MNIST.name} is not in ../shared/data)")
            continue
        data = stand_in(set_name)
        rows, dims = data[0].shape
        runs = {}
        for name in names:
            runs[name] = run_candidate(name, data, 5 if args.quick else None)
            r = runs[name]
            print(f"{set_name:13s} ({rows} x {dims}) {name:32s} valid {r['valid_nll']:8.2f} "
                  f"test {r['test_nll']:8.2f}  best epoch {r['best_epoch']:4d}  "
                  f"{r['seconds']:5.0f} s", flush=True)  # fmt: skip
        own = next(iter(resolve("auto", {}, rows, dims).candidates), None)
        order = sorted(names, key=lambda n: n != own)  # the size rule's own first, as auto
        pick = auto_pick(runs, order)
        print(f"{set_name}: auto picks {pick!r} (test {runs[pick]['test_nll']:.2f})")
        results[set_name] = {"rows": rows, "dims": dims, "size_rule": own, "pick": pick,
                             "candidates": runs}  # fmt: skip
    if args.json is not None and not args.quick:
        merge_json(args.json, "stand-ins", {**results, "machine": machine(torch.device("cpu")),
                                            "date": time.strftime("%Y-%m-%d")})  # fmt: skip


if __name__ == "__main__":
    main()
