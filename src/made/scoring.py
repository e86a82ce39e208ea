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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .data import TableSchema
from .data.novel import novel_nll
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

    def in_data_units(
        self,
        schema: TableSchema | None,
        rows: np.ndarray | None,
        leave_out: np.ndarray | None = None,
    ) -> Scores:
        """The scores of a table's ``rows`` (encoded, as scored) in its own units: its real
        columns as they are, not standardised (the standardisation's log-Jacobian, ``log std``
        per real column, and a column on a log scale's ``log value``, added to each row's
        score), and each categorical column's share kept for values never seen
        (``TableSchema.nll_offsets``; ``leave_out``: cells scored by that share instead), as
        ``made eval`` and ``MADEDensity`` report them.
        The columns' terms stay standardised, so that they compare across columns of any
        scale (which makes a row unlikely, not which column has the widest range). Data that
        is not a table has no other unit."""
        if schema is None or not schema.in_own_units:
            return self
        nll = self.nll + torch.from_numpy(schema.nll_offsets(rows, leave_out)).to(self.nll)
        return Scores(nll, bits_per_dim(nll, self.dims), self.terms, self.dims)

    def over_bits(self, log_other: np.ndarray, num_bits: int) -> Scores:
        """The scores of binary rows read as one-hot groups (``made.data.groups``) over their
        ``num_bits`` bits: each row's ``log_other`` (its groups' "other" patterns) added, and
        bits per dimension per bit."""
        nll = self.nll + torch.from_numpy(log_other).to(self.nll)
        return Scores(nll, bits_per_dim(nll, num_bits), self.terms, num_bits)

    def with_novel(self, schema: TableSchema, log_p: np.ndarray | None) -> Scores:
        """The scores of rows holding values their column never saw (``log_p``: ``(N, D)``,
        each such cell's log-probability, ``made.data.novel.novel_cell``, NaN elsewhere;
        None: no such cell), scored with those cells' terms left out
        (``score_rows(leave_out=~isnan(log_p))``): each cell's own term becomes ``-log p``
        (``inf`` for a value of probability zero), in place of the share its column keeps for
        the values it saw (``made.data.novel.novel_nll``)."""
        if log_p is None:
            return self
        nll = self.nll + torch.from_numpy(novel_nll(schema.columns, log_p))
        terms = self.terms
        if terms is not None:
            new = torch.from_numpy(~np.isnan(log_p))
            terms = torch.where(new, -torch.from_numpy(log_p), terms)
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
    leave_out: torch.Tensor | None = None,
    batch_size: int = BATCH,
) -> Scores:
    """The score of every row of ``x`` (checked once, then scored ``batch_size`` rows at a
    time, in evaluation mode).

    ``ensemble=K``: the mixture of masks ``0..K-1``. ``observed`` (boolean, the shape of one
    example): score the exact marginal of the observed dimensions only (see
    ``MADE.log_marginal``). ``terms=True`` (one mask, whole rows): keep each dimension's
    term of the score as well. ``leave_out`` (``(N, D)`` booleans, whole rows): each row's
    score without those cells' terms (in each mask's product, before the mixture), the
    dimensions after them conditioned on them as ``x`` holds them: for a value a table's
    column never saw (``Scores.with_novel``).
    """
    if terms and (ensemble is not None or observed is not None):
        raise ValueError("terms are a single mask's, of whole rows: not with ensemble or observed")
    if leave_out is not None and observed is not None:
        raise ValueError("leave_out applies to whole rows: not with observed")
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
    drop = None if leave_out is None else leave_out.reshape(len(x), -1).cpu()
    if terms:
        nll = scored.sum(dim=1) if drop is None else scored.masked_fill(drop, 0).sum(dim=1)
    else:
        nll = scored
        if drop is not None and bool(drop.any()):
            rows = torch.nonzero(drop.any(dim=1)).flatten()
            nll = nll.clone()
            nll[rows] = _left_out(model, x, context, ensemble, rows, drop[rows], batch_size)
    return Scores(nll, bits_per_dim(nll, dims), per_dim, dims)


def _left_out(
    model: MADE, x: torch.Tensor, context: torch.Tensor | None, ensemble: int | None,
    rows: torch.Tensor, drop: torch.Tensor, batch_size: int,
) -> torch.Tensor:  # fmt: skip
    """The NLL of ``x[rows]`` without the terms ``drop`` marks, mask by mask, then mixed."""
    at = rows.to(x.device)
    xs, cs = x[at], None if context is None else context[at]
    each = []
    with evaluating(model):
        for k in [None] if ensemble is None else range(ensemble):
            terms = torch.cat([model.conditional_log_probs(xb, cb, fast=True, mask=k)
                               .reshape(len(xb), -1).double().cpu()
                               for xb, cb in batches(xs, cs, batch_size)])  # fmt: skip
            each.append(terms.masked_fill(drop, 0).sum(dim=1))
    if ensemble is None:
        return -each[0]
    return -(torch.logsumexp(torch.stack(each), dim=0) - math.log(ensemble))


def table_text(
    schema: TableSchema, rows: Any, cells: Mapping[tuple[int, int], str] | None = None
) -> list[list[str]]:
    """A table's encoded ``rows`` as text, with ``cells`` (``{(row, column): text}``: a
    category the model never saw, encoded as the one the columns after it read) shown as the
    file has them."""
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
    source: tuple[Sequence[str], Sequence[Sequence[str]]] | None = None,
) -> None:
    """``scores`` as a CSV, atomically: ``index``, the NLL and ``bits_per_dim`` per row; for
    a table (``schema`` and its encoded ``rows``), the column with the largest term (when the
    scores have terms) and the row itself: the source's own ``(names, text rows)``, every
    column (identifiers the model left out, to join the scores on, included) as the file
    writes it, where ``source`` is given; else in the table's own units (``cells``: text
    shown instead of a cell's decoded value, ``{(row, column): text}``: a category the model
    never saw, encoded as the one the columns after it read). The NLL's column is
    ``nll_nats``, or ``nll_nats_data_units`` for a table in units of its own
    (``TableSchema.in_own_units``), whose scores should be ``Scores.in_data_units``."""
    units = schema is not None and schema.in_own_units
    header = ["index", "nll_nats_data_units" if units else "nll_nats", "bits_per_dim"]
    largest = None
    if schema is not None:
        if scores.terms is not None:
            header.append("largest_term")
            largest = [schema.names[j] for j in scores.terms.argmax(dim=1).tolist()]
        names = list(schema.names if source is None else source[0])
        header += [f"{n} (file)" if n in header else n for n in names]  # a file's "index"
    decoded = None
    if schema is not None:
        decoded = table_text(schema, rows, cells) if source is None else source[1]

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
