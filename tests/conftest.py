"""Shared helpers for the test suite."""

from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path

import pytest
import torch

import made.fastpath
from made import MADE

# What the library runs: products below this many multiply-adds are whole, not in blocks.
DEFAULT_BLOCKS_MIN_PRODUCT = made.fastpath.BLOCKS_MIN_PRODUCT


@pytest.fixture(autouse=True)
def every_product_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's models are small, so every product would run whole
    (``made.fastpath.BLOCKS_MIN_PRODUCT``): here they run in blocks, the kernel large
    products take, so that every test of the fast path tests it. The size rule's own test
    sets the library's bound back (``DEFAULT_BLOCKS_MIN_PRODUCT``)."""
    monkeypatch.setattr(made.fastpath, "BLOCKS_MIN_PRODUCT", 0)


# Under pytest-xdist the workers share the cores: each (and each process a test starts) gets
# its share of threads, so two workers on two cores do not fight over four.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _THREADS = max(1, (os.cpu_count() or 1) // _WORKERS)
    torch.set_num_threads(_THREADS)
    os.environ.setdefault("OMP_NUM_THREADS", str(_THREADS))


def all_configurations(model: MADE) -> torch.Tensor:
    """Every possible x of a small model, shape (prod(cardinalities), D)."""
    return torch.tensor(list(itertools.product(*(range(k) for k in model.cardinalities))))


def random_data(model: MADE, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` valid examples ``(n, D)`` for ``model``: uniform categories, standard normal values
    in real-valued dimensions (then the whole tensor is in the model's dtype)."""
    columns = [
        torch.randn(n, generator=generator, dtype=torch.float64)
        if k == 0
        else torch.randint(0, k, (n,), generator=generator)
        for k in model.cardinalities
    ]
    if model.has_real:
        return torch.stack([c.double() for c in columns], 1).to(model.output.weight.dtype)
    return torch.stack(columns, 1)


def chi_square_pvalue(counts: torch.Tensor, probs: torch.Tensor) -> float:
    """Pearson chi-square goodness-of-fit p-value (df = bins - 1), via the regularised
    upper incomplete gamma function: P(chi2_df > stat) = Q(df / 2, stat / 2)."""
    counts = counts.double()
    expected = probs.double() * counts.sum()
    stat = ((counts - expected) ** 2 / expected).sum()
    df = torch.tensor(counts.numel() - 1, dtype=torch.float64)
    return float(torch.special.gammaincc(df / 2, stat / 2))


def sharpen(model: MADE, scale: float = 3.0) -> MADE:
    """Scale every parameter so the model's conditionals are far from uniform: properties
    that hold only for near-uniform distributions would then fail."""
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model


def whole_and_resumed(make_model, train, valid, config, folder):
    """Train ``make_model()`` once without a break and once killed after epoch 2 then resumed
    (run directories under ``folder``); returns ``(whole, its FitResult, resumed, its
    FitResult)``: an exact resume gives the same history and weights."""
    from made.train import fit

    whole = make_model()
    full = fit(whole, train, valid, config, run_dir=folder / "whole")

    class Killed(Exception):
        pass

    def kill_after_two(record):
        if record["epoch"] == 2:
            raise Killed

    try:
        fit(make_model(), train, valid, config, run_dir=folder / "cut", on_epoch=kill_after_two)
    except Killed:
        pass
    else:
        raise AssertionError("the run was not killed")
    resumed = make_model()
    part = fit(resumed, train, valid, config, run_dir=folder / "cut", resume=True)
    return whole, full, resumed, part


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """A CSV file of ``header`` and ``rows``, as a user's table would be."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path
