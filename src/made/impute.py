"""Imputation and a table's samples: gaps filled from the model's conditionals, and samples
that keep the data's rules.

A table's row with gaps is encoded with NaN in its real columns' gaps and the missing
category in its categorical columns' (``made.data.table``). ``impute`` draws the gaps from
the model with the row's other cells held fixed (``MADE.sample(observed=...,
is_observed=...)``), each from its conditional given that its value is there
(``present=``): the gap outcome is left out of the draw, not drawn and rejected, so a value
the data almost never holds (a measurement taken only in some years) is filled like any
other. That is the exact conditional of an order-agnostic model (the observed cells are put
first in its ordering); a model with one ordering draws each gap given the cells before it
in its ordering, the observed ones fixed and the gaps before it filled (exact when the
observed cells come first).

Filled rows keep the data's rules (``made.data.rules``) as samples do: a gap that a
dependency determines from a cell present takes that value first (a maker left blank beside
its model is the model's maker), a gap in a sum is solved for from the cells drawn and
given (a total left blank is its terms' sum), and a row filled so that it breaks a rule is
drawn again, unless its own cells already break one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from .data import TableSchema
from .data.rules import MAX_ROUNDS, determined, keep_rules
from .model import MADE

__all__ = ["gaps", "impute", "table_samples"]


def gaps(schema: TableSchema, x: np.ndarray) -> np.ndarray:
    """``(N, D)``: where encoded rows ``x`` hold a missing value to fill. A column with no
    value at all (``TableSchema.fixed``) has none: its gap is its one value."""
    x = np.asarray(x, dtype=np.float64)
    out = np.isnan(x)
    constant = {j for j, _ in schema.fixed}
    for j, col in enumerate(schema.columns):
        if col.kind == "categorical" and col.missing and j not in constant:
            out[:, j] = np.rint(x[:, j]) == len(col.values) - 1
    return out


def impute(
    model: MADE,
    schema: TableSchema,
    x: np.ndarray,
    generator: torch.Generator,
    *,
    ensemble: int | None = None,
    unknown: np.ndarray | None = None,
) -> np.ndarray:
    """Encoded rows ``x`` with every gap filled from the model (see the module's
    docstring). Rows without gaps are returned as they are. A gap may be in a column that
    had none in training (NaN there): it is drawn from the model alike. ``unknown`` ``(N,
    D)``: cells holding a value the model never saw (a category no training row held),
    which it cannot condition on: each is drawn as a gap is, for the cells after it to
    condition on, and returned as it was. A row filled so that it breaks one of the table's
    rules is drawn again (up to ``MAX_ROUNDS`` times; the last draw is kept), unless its own
    cells already break one."""
    x = np.array(x, dtype=np.float64)
    given = x.copy()
    unknown = np.zeros(x.shape, dtype=bool) if unknown is None else np.asarray(unknown, bool)
    holes = gaps(schema, x) & ~unknown  # the gaps to fill
    x[unknown] = math.nan
    drawn_cells = holes | unknown
    _fill_determined(schema, x, drawn_cells)
    rows = np.flatnonzero(drawn_cells.any(axis=1))
    # a value, not the gap, where the column has a gap outcome to leave out (a column with no
    # gap in training has none: its gap is drawn from all its outcomes)
    present = holes & np.array([col.missing for col in schema.columns], dtype=bool)
    bounds = schema.sample_bounds()
    # a row whose own cells break a rule (a gap breaks nothing) cannot be filled to keep it
    broken = schema.violations(x, free=drawn_cells)
    for round_ in range(MAX_ROUNDS):
        if not len(rows):
            break
        # a gap's cell is drawn, not read: 0 there (a gap in a column that had none in
        # training is NaN, which the model would refuse as data)
        cells = np.where(drawn_cells[rows], 0.0, x[rows])
        observed = torch.as_tensor(cells, dtype=model.dtype, device=model.device)
        known = torch.as_tensor(~drawn_cells[rows], device=model.device)
        if not model.has_real:
            observed = observed.round().long()
        with warnings.catch_warnings():  # a single ordering: its conditionals, as documented
            warnings.simplefilter("ignore")
            drawn = model.sample(len(rows), generator=generator, ensemble=ensemble,
                                 observed=observed, is_observed=known, bounds=bounds,
                                 present=known.new_tensor(present[rows]))  # fmt: skip
        drawn = drawn.double().cpu().numpy().reshape(len(rows), -1)
        filled = schema.derive(np.where(drawn_cells[rows], drawn, x[rows]), drawn_cells[rows])
        done = np.ones(len(rows), dtype=bool)
        if round_ < MAX_ROUNDS - 1:  # the rules kept (the last round keeps any value)
            done = broken[rows] | ~schema.violations(filled)
        x[rows[done]] = filled[done]
        rows = rows[~done]
    x[unknown] = given[unknown]
    return x


def _fill_determined(schema: TableSchema, x: np.ndarray, holes: np.ndarray) -> None:
    """Fill, in place, each gap that a dependency determines from a cell present (a maker
    left blank beside its model; chains followed): given the rules, the model's conditional
    puts all its probability there. ``holes`` is updated."""
    changed = True
    while changed:
        changed = False
        for a, b, values in schema.rules.dependencies:
            col = schema.columns[b]
            gap_code = len(col.values) - 1 if col.missing else -1
            rows = np.flatnonzero(holes[:, b] & ~holes[:, a])
            if not len(rows):
                continue
            wanted = determined(values, x[rows, a])
            fill = (wanted >= 0) & (wanted != gap_code)
            x[rows[fill], b] = wanted[fill]
            holes[rows[fill], b] = False
            changed = changed or bool(fill.any())


def table_samples(
    model: MADE,
    schema: TableSchema,
    n: int,
    generator: torch.Generator,
    *,
    ensemble: int | None = None,
) -> np.ndarray:
    """``n`` encoded rows drawn from the model, each sum's column set from its terms
    (``TableSchema.derive``), each row that breaks one of the table's rules drawn again
    (``made.data.rules``)."""

    bounds = schema.sample_bounds()

    def draw(count: int) -> np.ndarray:
        drawn = model.sample(count, generator=generator, ensemble=ensemble,
                             bounds=bounds)  # fmt: skip
        return schema.derive(drawn.double().cpu().numpy())  # a total from its terms

    return keep_rules(schema.violations, draw, n)
