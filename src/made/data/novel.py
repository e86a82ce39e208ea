"""Values a column never held in training (a category, a number held discrete, a gap): how
likely one is, and how the columns after it read it.

A categorical column's MADE outputs are a distribution over the values the training rows
held, so a value they never held (a species first seen in the test rows, a count of nodes past
the largest seen) had probability zero: its row scored ``-inf``, which ranks nothing, and a
mean over rows (``score``, the criterion of ``GridSearchCV``) with it is ``-inf`` too. Each
such column instead keeps a share ``novel`` of its probability for a value it never saw:

- ``novel`` is the leave-one-out share of new values, the Good-Turing estimate: a value held
  by one training row only would have been new had that row been left out, so with ``n1``
  such values among ``N`` rows, ``n1 / N``, with ``PRIOR`` of a count added, which keeps a
  share for a column where none is held once: ``(n1 + PRIOR) / (N + 2 PRIOR)``. Measured on
  R's tables split 70/30 (``benchmarks/real_tables.py --held-out``'s 82 tables, 284
  categorical columns), the estimate holds where values are held once (185 new values
  expected in the held-out rows, 168 found), and a column with none held once almost never
  meets a new one (3 of 51,292 held-out cells, where ``PRIOR`` expects 5): Laplace's rule,
  ``(n1 + 1) / (N + 2)``, expects 99, and scores the new-or-not events 92 nats worse; the
  held-out likelihood is flat from 0.02 to 0.1 of a count. Every value the column did hold
  keeps ``1 - novel`` of the model's probability (a constant per column, so
  ``TableSchema.nll_offset`` carries it: ``log_kept``), and the gap outcome too;
- a new **whole number** in a column of whole numbers (the counts and codes ``integers``
  holds discrete) takes ``novel`` but ``OFF_WHOLE`` of it, spread over the whole numbers the
  column never held, as a normal of the training values' mean and standard deviation (at
  least 1) gives them, each the normal's mass on its unit interval: a count just past the
  largest seen is more likely than one far out. A value that is not a whole number there
  (a probability of 0.6 among whole percentages, a price of 168.48 among whole ones) is one
  outcome, "off the whole numbers", of the ``OFF_WHOLE`` rest: it had probability zero, and
  its row scored ``-inf``;
- a new value of any other column (text, numbers off the whole numbers) is one outcome,
  "a value the column never held", of probability ``novel`` (as scikit-learn's encoders read
  an unknown category as one "infrequent" category);
- the columns after it read it as the value the column held that is nearest to it (a
  number), or its most frequent one (text), ``Column.common``: each conditional given that is
  a distribution, so the whole stays one (``tests/test_novel.py`` sums it by enumeration);
- a **gap** in a column whose training rows had none (real or categorical; a column with
  gaps has them as an outcome of the model) is new too: such a column keeps ``novel_gap``,
  ``PRIOR / (N + 2 PRIOR)`` (no gap among ``N`` rows), for one, and the columns after it
  read its mean (a real column) or most frequent value (the 524 such columns of the tables
  above held 3 gaps in 100,945 held-out cells; the share expects 11). A new value is then
  "not a gap, and new": ``(1 - novel_gap) novel``. Images keep no shares: a pixel has a
  value;
- a value at or below 0 in a column on a **log scale** (``made.data.scales``: chosen on
  training values that were all positive), which the log cannot hold, is new too: such a
  column keeps ``novel``, ``below_share``, for one (one outcome, as a new category is),
  every positive value keeps ``1 - novel`` of its density, and the columns after it read
  the log's mean. Without it a held-out 0 scored some 250,000 nats below its neighbours.

Samples are the model's draws given that no value is new (a new text value could not be
written), as they are given that the data's rules hold.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch

from .integers import normal_mass

__all__ = [
    "OFF_WHOLE",
    "PRIOR",
    "below_share",
    "category_numbers",
    "gap_share",
    "log_kept",
    "novel_cell",
    "novel_code",
    "novel_nll",
    "novel_statistics",
    "whole_numbers",
]

PRIOR = 0.05  # counts of a new value added to the Good-Turing estimate (module docstring)
# Of a whole-number column's share for a new value, the part kept for one off the whole
# numbers (module docstring). Such values are rare: of the 110 new values held out in these
# columns of 255 of R's tables split 70/30 (benchmarks/README.md, "Values the fitted rows
# never held"), none was, as its column reads it (one, a price of 168.48, was read on its
# column's coarser grid); one new whole number then gives up 0.01 nats.
OFF_WHOLE = 0.01


class Column(Protocol):
    """What is read of a ``made.data.table.Column`` (which imports this module)."""

    kind: str
    values: tuple[str, ...]
    numeric: bool
    missing: bool
    boolean: bool
    mean: float
    std: float
    novel: float
    novel_gap: float
    common: int

    def snapped(self, values: np.ndarray) -> np.ndarray: ...


def novel_statistics(col: Column, codes: np.ndarray) -> dict[str, Any]:
    """A categorical column's share for new values, most frequent code and, for whole numbers,
    the training values' mean and standard deviation, from its training rows' ``codes``
    (``Column`` fields: ``novel``, ``common``, ``mean``, ``std``). A boolean column has no new
    value (true and false are all there is)."""
    codes = np.asarray(codes, dtype=np.float64)
    gap = len(col.values) - 1 if col.missing else -1
    held = codes[(codes != gap) & ~np.isnan(codes)].astype(np.int64)
    counts = np.bincount(held, minlength=len(col.values))
    out: dict[str, Any] = {"common": int(np.argmax(counts)) if len(held) else 0}
    if col.boolean:
        return {**out, "novel": 0.0}
    out["novel"] = _share(int((counts == 1).sum()), len(codes))
    numbers = whole_numbers(col)
    if numbers is not None and len(held):
        values = numbers[held]
        out["mean"], out["std"] = float(values.mean()), float(values.std())
    return out


def gap_share(rows: int) -> float:
    """``novel_gap`` of a column whose ``rows`` training rows held no gap: the estimate
    ``novel`` is, with no gap held once (module docstring)."""
    return _share(0, rows)


def below_share(values: int) -> float:
    """``novel`` of a column on a log scale whose ``values`` training values were all
    positive: its share for a value at or below 0, with none held (as ``gap_share``)."""
    return _share(0, values)


def _share(once: int, rows: int) -> float:
    """The share kept for something new, of ``rows`` training rows of which ``once`` held a
    value no other row held: ``(once + PRIOR) / (rows + 2 PRIOR)`` (module docstring)."""
    return (once + PRIOR) / (rows + 2 * PRIOR)


def log_kept(col: Column) -> float:
    """The log of the probability a column keeps for the values it held (and its gap, where
    it had gaps): ``log((1 - novel_gap) (1 - novel))``, each of its cells' share, which
    ``TableSchema.nll_offset`` carries."""
    return math.log1p(-col.novel_gap) + math.log1p(-col.novel)


def novel_nll(columns: Sequence[Column], log_p: np.ndarray) -> np.ndarray:
    """Per row, what its new cells add to its NLL once their model terms are left out
    (``score_rows(leave_out=~isnan(log_p))``): ``log_kept - log p`` for each cell ``log_p``
    holds (``(N, D)``, ``novel_cell``'s log-probabilities, NaN elsewhere), in place of the
    share ``TableSchema.nll_offset`` counts for it; ``inf`` for a value of probability zero.
    The one rule of ``made score``, ``made eval`` and ``MADEDensity``. A real column's
    ``log std`` (the standardisation's Jacobian, in ``nll_offset`` too) is taken back with
    its term: the new cell has a probability, not a density."""
    kept = np.array([log_kept(c) - (math.log(c.std) if c.kind == "real" else 0.0)
                     for c in columns])  # fmt: skip
    new = ~np.isnan(log_p)
    return np.where(new, kept - np.where(new, log_p, 0.0), 0.0).sum(axis=1)


def novel_cell(col: Column, cell: Any, gap: bool = False) -> tuple[float, float]:
    """``(log p, code)`` of a value ``cell`` (text or a number) that column ``col`` never held,
    or of a gap (``gap``) where it held none: its log-probability under the model's shares
    (module docstring; ``-inf`` where the column keeps none, as a model saved before the
    shares did), and what the columns after it read instead (``novel_code``). Its term
    replaces the cell's model term and ``log_kept``."""
    code = novel_code(col, cell, gap)
    if gap:
        return (math.log(col.novel_gap) if col.novel_gap > 0 else -math.inf), code
    if col.novel <= 0:
        return -math.inf, code
    log_novel = math.log1p(-col.novel_gap) + math.log(col.novel)  # not a gap, and new
    if whole_numbers(col) is None:
        return log_novel, code
    number = _number(cell, col)
    if number is None or number != round(number):  # off the whole numbers: one outcome
        return log_novel + math.log(OFF_WHOLE), code
    return log_novel + math.log1p(-OFF_WHOLE) + _log_new_whole(col, number), code


def novel_code(col: Column, cell: Any, gap: bool = False) -> float:
    """What the columns after a value ``cell`` that ``col`` never held (or a gap, ``gap``,
    where it held none) read instead: the nearest value it held (a number), its most
    frequent one (text, or a gap in a categorical column), or its standardised mean, 0 (a
    gap in a real column, or a value at or below 0 in one on a log scale)."""
    if gap or col.kind == "real":
        return col.common if col.kind == "categorical" else 0.0
    number = _number(cell, col) if col.numeric else None
    if number is not None and len(known := _known(col)):
        return int(known[np.argmin(np.abs(category_numbers(col)[known] - number))])
    return col.common


def _log_new_whole(col: Column, value: float) -> float:
    """``log q(value)``: the normal's mass on ``value``'s unit interval over its mass on the
    unit intervals of every whole number the column did not hold."""
    sd = max(col.std, 1.0)
    z = (value - 0.5 - col.mean) / sd, (value + 0.5 - col.mean) / sd
    lo, hi = torch.tensor(z, dtype=torch.float64)  # (float32 would lose the tails)
    own = float(normal_mass(lo, hi))
    total = _unheld_mass(col.values, col.numeric, col.mean, sd)
    if own <= 0 or total <= 0:
        return -math.inf
    return math.log(own) - math.log(total)


@functools.lru_cache(maxsize=64)
def _unheld_mass(values: tuple[str, ...], numeric: bool, mean: float, sd: float) -> float:
    """The normal's mass on the unit intervals of the whole numbers a column did not hold
    (``_log_new_whole``'s denominator), once per column."""
    numbers = _parsed(values, numeric)
    held = np.unique(numbers[~np.isnan(numbers)])

    def mass(lo: np.ndarray | float, hi: np.ndarray | float) -> torch.Tensor:
        lo_, hi_ = (torch.as_tensor(np.asarray(v, dtype=np.float64)) for v in (lo, hi))
        return normal_mass((lo_ - mean) / sd, (hi_ - mean) / sd)

    lo, hi = float(held.min()) - 0.5, float(held.max()) + 0.5
    tails = float(mass(-math.inf, lo) + mass(hi, math.inf))
    inside = float(mass(lo, hi)) - float(mass(held - 0.5, held + 0.5).sum())
    return tails + max(inside, 0.0)


def category_numbers(col: Column) -> np.ndarray:
    """Each code's value as a number (NaN for the gap and any text), read once per column
    (``_parsed``); read-only."""
    return _parsed(col.values, col.numeric)


@functools.lru_cache(maxsize=64)
def _parsed(values: tuple[str, ...], numeric: bool) -> np.ndarray:
    """``category_numbers``, read once per column, not once per cell scored (a column may hold 1,000
    categories, and a file thousands of new values); read-only, being shared."""
    out = np.array([_number(v) if numeric else None for v in values], dtype=np.float64)
    out.flags.writeable = False
    return out


def _known(col: Column) -> np.ndarray:
    """The codes that stand for a number."""
    return np.flatnonzero(~np.isnan(category_numbers(col)))


def whole_numbers(col: Column) -> np.ndarray | None:
    """Each code's value where the column's values are all whole numbers, else None."""
    if not col.numeric or col.boolean:
        return None
    values = category_numbers(col)
    known = values[~np.isnan(values)]
    if not len(known) or not np.all(known == np.round(known)):
        return None
    return values


def _number(cell: Any, col: Column | None = None) -> float | None:
    """A cell as a finite number (at its column's grid point where ``col`` reads its values
    on one: ``Column.snap``), else None."""
    try:
        number = float(cell)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return number if col is None else float(col.snapped(np.array([number]))[0])
