"""Per-example scores: the exact negative log-likelihood of each row, in nats and bits per
dimension, with each column's term where it helps explain a score, written as CSV.

``made score`` and ``MADEDensity`` score rows here: whole rows (``log_prob``), the marginal
of an observed part (``log_marginal``), or, for one mask, the terms ``-log p(x_d | x_<d)``
that sum to a row's score and say which columns make it unlikely.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from .data import TableSchema
from .evaluate import batches, bits_per_dim, evaluating, log_probs_in_batches
from .fileio import atomic_write
from .model import MADE

__all__ = ["BATCH", "Scores", "score_rows", "table_text", "write_scores"]

BATCH = 1024  # rows scored at once


@dataclass(frozen=True)
class Scores:
    """``nll`` ``(N,)`` float64 nats per row (higher: less likely), ``bits_per_dim`` the same
    per scored dimension in bits, ``terms`` ``(N, D)`` each dimension's term (None unless
    asked for) and ``dims`` how many dimensions each score covers."""

    nll: torch.Tensor
    bits_per_dim: torch.Tensor
    terms: torch.Tensor | None
    dims: int

    def in_data_units(self, schema: TableSchema | None) -> Scores:
        """The scores of a table's rows in its own units: its real columns as they are, not
        standardised (the standardisation's log-Jacobian, ``log std`` per real column, added
        to each row's score), as ``made eval`` and ``MADEDensity`` report them. The columns'
        terms stay standardised, so that they compare across columns of any scale (which
        makes a row unlikely, not which column has the widest range). Data that is not a
        table has no other unit."""
        if schema is None or not schema.has_real:
            return self
        nll = self.nll + schema.log_scale
        return Scores(nll, bits_per_dim(nll, self.dims), self.terms, self.dims)

    def impossible(self, cells: Iterable[tuple[int, int]]) -> Scores:
        """The scores with each row holding one of ``cells`` (``(row, dimension)``: a
        category the model never saw, so of probability zero) at an infinite NLL, and those
        cells' terms infinite, as ``MADEDensity`` scores them."""
        cells = list(cells)
        if not cells:
            return self
        rows = torch.tensor(sorted({i for i, _ in cells}), dtype=torch.long)
        nll = self.nll.clone()
        nll[rows] = math.inf
        terms = self.terms
        if terms is not None:
            terms = terms.clone()
            terms[tuple(torch.tensor(cells, dtype=torch.long).t())] = math.inf
        return Scores(nll, bits_per_dim(nll, self.dims), terms, self.dims)

    def most_anomalous(self, k: int = 5) -> list[int]:
        """The ``k`` rows with the highest scores, highest first."""
        return torch.argsort(self.nll, descending=True)[:k].tolist()


@torch.no_grad()
def score_rows(
    model: MADE,
    x: torch.Tensor,
    context: torch.Tensor | None = None,
    *,
    ensemble: int | None = None,
    observed: torch.Tensor | None = None,
    terms: bool = False,
    batch_size: int = BATCH,
) -> Scores:
    """The score of every row of ``x`` (checked once, then scored ``batch_size`` rows at a
    time, in evaluation mode).

    ``ensemble=K``: the mixture of masks ``0..K-1``. ``observed`` (boolean, the shape of one
    example): score the exact marginal of the observed dimensions only (see
    ``MADE.log_marginal``). ``terms=True`` (one mask, whole rows): keep each dimension's
    term of the score as well.
    """
    if terms and (ensemble is not None or observed is not None):
        raise ValueError("terms are a single mask's, of whole rows: not with ensemble or observed")
    x, context = model.validate(x, context, ensemble)
    keep = None if observed is None else observed.reshape(model.num_dims).to(x.device)
    dims = model.num_dims if keep is None else int(keep.sum())
    if dims == 0:
        raise ValueError("observed leaves nothing to score")
    with evaluating(model):
        if terms:
            parts = [-model.conditional_log_probs(xb, cb, fast=True).reshape(len(xb), -1)
                     for xb, cb in batches(x, context, batch_size)]  # fmt: skip
        elif keep is None:
            parts = [-lp for lp in log_probs_in_batches(model, x, context, ensemble, batch_size)]
        else:
            parts = [-model.log_marginal(xb, keep, cb, ensemble=ensemble)
                     for xb, cb in batches(x, context, batch_size)]  # fmt: skip
    scored = torch.cat(parts).double().cpu() if parts else torch.zeros(0, dtype=torch.float64)
    per_dim = scored if terms else None
    nll = scored.sum(dim=1) if terms else scored
    return Scores(nll, bits_per_dim(nll, dims), per_dim, dims)


def table_text(
    schema: TableSchema, rows: Any, cells: Mapping[tuple[int, int], str] | None = None
) -> list[list[str]]:
    """A table's encoded ``rows`` as text, with ``cells`` (``{(row, column): text}``: a
    category the model never saw, whose code is a placeholder) shown as the file has them."""
    decoded = schema.decode(rows)
    for (i, j), text in (cells or {}).items():
        decoded[i][j] = text
    return decoded


def write_scores(
    path: str | os.PathLike[str],
    scores: Scores,
    schema: TableSchema | None = None,
    rows: Any = None,
    cells: Mapping[tuple[int, int], str] | None = None,
) -> None:
    """``scores`` as a CSV, atomically: ``index``, the NLL and ``bits_per_dim`` per row; for
    a table (``schema`` and its encoded ``rows``), the column with the largest term (when the
    scores have terms) and the row itself in the table's own units (``cells``: text shown
    instead of a cell's decoded value, ``{(row, column): text}``: a category the model never
    saw, whose code is a placeholder). The NLL's column is ``nll_nats``, or
    ``nll_nats_data_units`` for a table with real columns, whose scores should be
    ``Scores.in_data_units``."""
    units = schema is not None and schema.has_real
    header = ["index", "nll_nats_data_units" if units else "nll_nats", "bits_per_dim"]
    largest = None
    if schema is not None:
        if scores.terms is not None:
            header.append("largest_term")
            largest = [schema.names[j] for j in scores.terms.argmax(dim=1).tolist()]
        header += list(schema.names)
    decoded = table_text(schema, rows, cells) if schema is not None else None

    def write(f: Any) -> None:
        text = io.TextIOWrapper(f, newline="", encoding="utf-8")
        w = csv.writer(text, lineterminator="\n")
        w.writerow(header)
        values = zip(scores.nll.tolist(), scores.bits_per_dim.tolist(), strict=True)
        for i, (nll, bits) in enumerate(values):
            row = [i, f"{nll:.6f}", f"{bits:.6f}"]
            if largest is not None:
                row.append(largest[i])
            if decoded is not None:
                row += decoded[i]
            w.writerow(row)
        text.flush()
        text.detach()

    atomic_write(path, write)
