"""A lead for small real-valued tables (issue 27): a latent class, marginalised exactly.

A Gaussian mixture with 2 full-covariance components beats made's held-out likelihood on
iris: the data is clusters. This study gives a MADE a latent class ``z`` with K values as
its first dimension and trains and scores the exact marginal
``log p(x) = logsumexp_k log p(z = k, x)`` (K forward passes a batch), against the same MADE
without ``z``, everything else equal: one hidden layer of 64, a mixture of 4 Gaussians per
column, Adam at 1e-3, batches of 16, a fifth of the training rows held out for early stopping
(patience 30), the table standardised with the training rows' statistics, each training
batch dequantised within the columns' recording grids (0.1 for iris's lengths) as made
does, split 70/30 per seed. Held-out log-likelihood per row in the table's own units (higher
is better). It is a study, not made's pipeline (one model of one layer, not the fold
mixture of two layers of 512 with averaged weights): its plain MADE scores well below
``MADEDensity`` (iris -3.5 against -2.1), so only the difference between its columns is
the lead, to be measured again inside the estimator.

    python benchmarks/latent.py --json benchmarks/results/latent.json   # about a minute
    python benchmarks/latent.py --estimator --classes 0,5 --json benchmarks/results/latent.json
    python benchmarks/latent.py --quick                                  # a smoke run

``--estimator`` measures the class inside ``MADEDensity`` itself (``LatentMADE`` in
``MADE``'s place: the fold mixture, averaged weights and the rest of its pipeline), which
is the figure that counts.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json  # noqa: E402

from made import MADE  # noqa: E402
from made.data.integers import decimal_grid, grid_step  # noqa: E402

TABLES = ("iris", "wine")
HIDDEN = [64]


def load_table(name: str) -> np.ndarray:
    from sklearn import datasets

    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine,
              "breast-cancer": datasets.load_breast_cancer}[name]  # fmt: skip
    return loader().data.astype(np.float64)


class LatentMADE(MADE):
    """A MADE over ``(z, x)`` that scores ``x`` with its latent class ``z`` (``CLASSES``
    values, its first dimension) summed out: put in ``made.sklearn`` in ``MADE``'s place,
    ``MADEDensity`` trains and scores it with everything else of its own (the fold mixture,
    averaged weights, dequantised batches, early stopping). Scoring only: not a sampler."""

    CLASSES = 5

    def __init__(self, num_dims: int, num_categories: Any = None, missing: Any = (),
                 fixed: Any = (), **settings: Any) -> None:  # fmt: skip
        cats = [self.CLASSES, *num_categories]
        if settings.get("ordering") == "random":  # a fold model's: z first, then the columns
            # in a random order of their own
            g = torch.Generator().manual_seed(int(settings.get("seed") or 0))
            settings["ordering"] = [0, *(torch.randperm(num_dims, generator=g) + 1).tolist()]
        super().__init__(num_dims + 1, num_categories=cats, missing=[d + 1 for d in missing],
                         fixed=[(d + 1, v) for d, v in fixed], **settings)  # fmt: skip

    def validate(self, x: Any, context: Any = None, *args: Any, **kwargs: Any) -> Any:
        return x, context  # rows of x alone: z is never given

    def log_prob(self, x: torch.Tensor, context: Any = None, validate: bool = True,
                 **kwargs: Any) -> torch.Tensor:  # fmt: skip
        n, k = x.shape[0], self.CLASSES
        z = torch.arange(k, dtype=x.dtype, device=x.device).repeat_interleave(n)[:, None]
        joint = super().log_prob(torch.cat([z, x.repeat(k, 1)], 1), context, validate=False,
                                 **kwargs)  # fmt: skip
        return torch.logsumexp(joint.view(k, n), 0)

    def nll_sum(self, x: torch.Tensor, context: Any = None, *, fast: Any = False) -> torch.Tensor:
        return -self.log_prob(x, context, validate=False, fast=fast).sum()


def estimator_loglik(train: np.ndarray, test: np.ndarray, classes: int, seed: int) -> float:
    """``MADEDensity(random_state=seed)``'s held-out log-likelihood a row, with a latent
    class of ``classes`` values (0: made as it is)."""
    import made.sklearn as estimator
    import made.train as training

    plain, start = estimator.MADE, training._start_from_data

    def start_with_class(model: MADE, rows: torch.Tensor) -> None:
        # fit starts outputs at the training rows' statistics; z is not in the rows, so it
        # starts at a uniform draw of classes (its marginal under a uniform prior)
        if isinstance(model, LatentMADE):
            g = torch.Generator().manual_seed(seed)
            z = torch.randint(classes, (rows.shape[0], 1), generator=g).to(rows.dtype)
            rows = torch.cat([z, rows.reshape(rows.shape[0], -1)], 1)
        start(model, rows)

    LatentMADE.CLASSES = classes
    estimator.MADE = LatentMADE if classes else plain
    training._start_from_data = start_with_class
    try:
        # calibrated on held-out rows of x alone, a model over (z, x) cannot be: off for both
        density = estimator.MADEDensity(random_state=seed, calibrate=False)
        scores = density.fit(train).score_samples(test)
    finally:
        estimator.MADE, training._start_from_data = plain, start
    return float(np.mean(scores))


def log_density(model: MADE, x: torch.Tensor, classes: int) -> torch.Tensor:
    """``log p(x)`` per row: the model's own, or with a latent class as its first
    dimension, summed out exactly (every class in one batch)."""
    if classes == 0:
        return model.log_prob(x)
    n = x.shape[0]
    z = torch.arange(classes, dtype=x.dtype).repeat_interleave(n)[:, None]
    joint = model.log_prob(torch.cat([z, x.repeat(classes, 1)], 1))
    return torch.logsumexp(joint.view(classes, n), 0)


def grid_steps(table: np.ndarray) -> np.ndarray:
    """Each column's recording grid (0.1 for a length measured to a tenth, 1 for counts),
    as made finds it; 0 for a column measured on a continuum."""
    steps = []
    for column in table.T:
        distinct = np.unique(column)
        if np.all(distinct == np.round(distinct)):
            steps.append(grid_step(distinct))
        else:
            grid = decimal_grid(distinct)
            steps.append(grid[1] if grid is not None else 0.0)
    return np.array(steps)


def fit(train: np.ndarray, classes: int, seed: int, max_epochs: int, width: np.ndarray) -> MADE:
    """A MADE fitted to ``train`` (standardised rows), each batch dequantised: a uniform draw
    within each value's grid interval (``width``, in standardised units), as made does."""
    g = torch.Generator().manual_seed(seed)
    x = torch.tensor(train, dtype=torch.float32)
    spread = torch.tensor(width, dtype=torch.float32)
    perm = torch.randperm(len(x), generator=g)
    held = max(len(x) // 5, 1)
    valid, rest = x[perm[:held]], x[perm[held:]]
    cats = ([classes] if classes else []) + [0] * x.shape[1]
    model = MADE((len(cats),), HIDDEN, num_categories=cats, num_components=4, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best, bad, state = math.inf, 0, copy.deepcopy(model.state_dict())
    for _ in range(max_epochs):
        order = torch.randperm(len(rest), generator=g)
        for i in range(0, len(rest), 16):
            batch = rest[order[i : i + 16]]
            batch = batch + (torch.rand(batch.shape, generator=g) - 0.5) * spread
            loss = -log_density(model, batch, classes).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            nll = -log_density(model, valid, classes).mean().item()
        if nll < best - 1e-4:
            best, bad, state = nll, 0, copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if bad >= 30:
                break
    model.load_state_dict(state)
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--classes", default="0,2,3,5", help="0: no latent class")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="iris, 0 and 2, 1 seed, 3 epochs")
    parser.add_argument(
        "--estimator",
        action="store_true",
        help="inside MADEDensity (its own pipeline) instead of the plain loop",
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    tables, seeds, max_epochs = args.tables.split(","), args.seeds, 2000
    classes = [int(k) for k in args.classes.split(",")]
    if args.quick:
        tables, classes, seeds, max_epochs = ["iris"], [0, 2], 1, 3
    print(f"machine: {machine()['cpu']}, {torch.get_num_threads()} threads")
    results: dict = {}
    for name in tables:
        table = load_table(name)
        cells: dict[int, list[float]] = {k: [] for k in classes}
        seconds: dict[int, float] = {k: 0.0 for k in classes}
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            idx = rng.permutation(len(table))
            cut = int(0.7 * len(table))
            train, test = table[idx[:cut]], table[idx[cut:]]
            mean, std = train.mean(0), train.std(0)
            width = grid_steps(table) / std
            x_test = torch.tensor((test - mean) / std, dtype=torch.float32)
            for k in classes:
                start = time.perf_counter()
                if args.estimator:
                    ll = estimator_loglik(train, test, k, seed)
                else:
                    model = fit((train - mean) / std, k, seed, max_epochs, width)
                    with torch.no_grad():  # in the table's units: the standardisation's
                        jacobian = float(np.log(std).sum())
                        ll = log_density(model, x_test, k).mean().item() - jacobian
                seconds[k] += time.perf_counter() - start
                cells[k].append(ll)
        results[name] = {
            str(k): {"loglik": statistics.mean(v), "per_seed": v, "seconds": seconds[k] / seeds}
            for k, v in cells.items()
        }
        row = "  ".join(f"K={k}: {statistics.mean(v):7.3f}" for k, v in cells.items())
        print(f"{name:14s} held-out log-likelihood a row, mean of {seeds} seeds: {row}")
    if args.json is not None:
        key = "latent-estimator" if args.estimator else "latent"
        merge_json(args.json, key, {"machine": machine(), "tables": results})


if __name__ == "__main__":
    main()
