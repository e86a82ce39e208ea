"""Typed columns from arrays in memory: numpy arrays and pandas DataFrames as made tables.

A column is typed by the one rule every table follows (``table.infer_column``; a CSV file's
text cells go through it too): NaN, None and pandas' NA are missing values; numbers (numeric
dtypes, or objects that are all real numbers) follow the rule for numbers, booleans and pandas
categoricals are categorical, anything else is text. ``types`` overrides the rule per column.
The result is a ``TableSchema``, so rows encode, decode and describe themselves exactly as a
CSV table's do, and the schema can be saved with the model.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from .cell_numbers import (
    is_number,
    is_placeholder,
    placeholders,
    total_label,
    total_line,
    unit_numbers,
)
from .novel import novel_cell, novel_code
from .table import (
    MISSING,
    TYPE_NAMES,
    Column,
    FreeText,
    TableSchema,
    category_codes,
    column_key,
    infer_column,
    long_integers,
    padding,
    real_kind,
    schema_of,
    with_scale,
)
from .times import clock_seconds, clock_wanted, date_days, date_wanted, dates_or_times, time_text

__all__ = [
    "column_arrays",
    "decode_columns",
    "encode_columns",
    "infer_column_schema",
    "novel_log_probs",
    "numpy_times",
    "pixel_schema",
    "total_row",
]


def column_arrays(data: Any) -> tuple[list[np.ndarray], list[str], list[Any]]:
    """``(columns, names, dtypes)`` of a 2-D numpy array or a pandas DataFrame: one 1-D
    array per column (a pandas categorical column as its values, with ``dtypes`` keeping its
    categories), names ``"0"``, ``"1"``, ... for an array. A column of dates or times with a
    time zone is read at its wall time (the dates and hours its rows were written at, as a
    CSV file shows them), not moved to UTC: a column of local dates stays one of dates; a
    column of periods (``period[M]``: months) one of the dates they start on; a column of
    durations (``timedelta64``) is one of numbers, their seconds."""
    if hasattr(data, "columns") and hasattr(data, "dtypes"):  # a DataFrame
        columns, dtypes = [], []
        for name in data.columns:
            series = data[name]
            if numpy_times(series.dtype) is not series.dtype:  # pyarrow's: as pandas' own
                series = series.astype(numpy_times(series.dtype))
            if getattr(series.dtype, "tz", None) is not None:  # read at its wall time
                series = series.dt.tz_localize(None)
            if series.dtype.kind == "m":  # durations: a real column of seconds
                series = series.dt.total_seconds()
            if str(series.dtype).startswith("period["):  # months, quarters: dates, their start
                series = series.dt.to_timestamp()
            if _categories_of(series.dtype) is not None:  # each cell its category itself:
                values = np.asarray(series.astype(object))  # (to_numpy makes 2 with a gap 2.0)
            else:
                values = np.asarray(series.to_numpy(dtype=object if _nullable(series) else None))
            dates = _calendar_dates(values)
            dtypes.append(series.dtype if dates is None else dates.dtype)
            columns.append(values if dates is None else dates)
        return columns, [str(c) for c in data.columns], dtypes
    array = np.asarray(data)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D array of rows and columns; got shape {array.shape}")
    return (
        [array[:, j] for j in range(array.shape[1])],
        [str(j) for j in range(array.shape[1])],
        [array.dtype] * array.shape[1],
    )


def numpy_times(dtype: Any) -> Any:
    """A pyarrow-backed column's dtype of times or durations (``timestamp[us, tz=...]
    [pyarrow]``, as ``read_csv(dtype_backend="pyarrow")`` gives) as pandas' own
    (``datetime64[us, tz]``, ``timedelta64[us]``), which made reads; any other as it is."""
    arrow = getattr(dtype, "pyarrow_dtype", None)
    kind = getattr(dtype, "kind", None)
    if arrow is None or kind not in ("m", "M"):
        return dtype
    if kind == "M" and getattr(arrow, "tz", None):
        import pandas as pd

        return pd.DatetimeTZDtype(arrow.unit, arrow.tz)
    return np.dtype(f"{'datetime64' if kind == 'M' else 'timedelta64'}[{arrow.unit}]")


def _calendar_dates(values: np.ndarray) -> np.ndarray | None:
    """A column of ``datetime64`` values (as ``parse_dates`` or ``pd.to_datetime`` reads
    them) as the text the type rule reads (None: missing): ``YYYY-MM-DD`` where all are at
    midnight (dates), else ``YYYY-MM-DD HH:MM:SS`` with as many digits of a second as the
    finest needs (none, 3, 6 or 9: dates with a time); None for any other column."""
    if values.dtype.kind != "M":
        return None
    present = values[~np.isnat(values)]
    unit = next(u for u in ("D", "s", "ms", "us", "ns")
                if np.all(present == present.astype(f"datetime64[{u}]")))  # fmt: skip
    form = str if unit == "D" else (lambda t: str(t).replace("T", " "))
    return np.array([None if np.isnat(v) else form(v.astype(f"datetime64[{unit}]"))
                     for v in values], dtype=object)  # fmt: skip


def _nullable(series: Any) -> bool:
    """A pandas extension column (nullable integers, strings, booleans): read as objects, so
    that its NA stays a missing value rather than an error."""
    return getattr(series.dtype, "na_value", None) is not None and series.dtype.kind != "f"


def _categories_of(dtype: Any) -> list[Any] | None:
    """A pandas categorical dtype's categories, else None."""
    categories = getattr(dtype, "categories", None)
    return None if categories is None else list(categories)


def gaps_of(values: np.ndarray, numeric: bool = False) -> np.ndarray:
    """Where a column's values are missing: NaN (a Decimal's too), None, pandas' NA, text
    that is blank (a cell of spaces, which pandas reads as text and a CSV file's reader as an
    empty cell), or a placeholder among numbers (``.``, ``n.a.``, ``#DIV/0!``; ``numeric``:
    the column is known to hold numbers, a fitted column read again, so a row of ``.`` alone
    is one)."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "U":
        return np.char.strip(values) == ""
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    gaps = np.array([v is None or (isinstance(v, float) and math.isnan(v))
                     or (isinstance(v, Decimal) and v.is_nan())
                     or (isinstance(v, str) and not v.strip())
                     or type(v).__name__ in ("NAType", "NaTType") for v in values],
                    dtype=bool)  # fmt: skip
    return _with_placeholders(values, gaps, numeric)


def holds_numbers(col: Column) -> bool:
    """Whether a fitted column's values are numbers (real, not dates or times; or numbers
    held discrete), among which a placeholder is a gap."""
    if col.kind == "real":
        return not (col.date or col.clock)
    return col.numeric and not col.boolean


def _with_placeholders(values: np.ndarray, gaps: np.ndarray, numeric: bool) -> np.ndarray:
    """``gaps`` and, in a column of numbers, the placeholders for no value among them
    (``.``, ``n.a.``, ``#DIV/0!``: ``cell_numbers.placeholders``, the rule a CSV file's cells are
    read by); numbers written with a unit (``$120``) count as numbers."""
    present = values[~gaps]
    if not any(isinstance(v, str) and is_placeholder(v) for v in present):
        return gaps  # most columns: decided in one pass
    text = ["0" if isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)
            else "0" if isinstance(v, str) and unit_numbers([v]) is not None
            else v if isinstance(v, str) else "?" for v in present]  # fmt: skip
    hole = placeholders(text, numeric)
    if hole is None:
        return gaps
    gaps = gaps.copy()
    gaps[np.flatnonzero(~gaps)[hole]] = True
    return gaps


def _real_values(col: Column, values: np.ndarray, gaps: np.ndarray) -> np.ndarray | None:
    """A real column's values as float64 (NaN at ``gaps``): days for a date column, seconds
    for a time column, else numbers (booleans as 0 and 1); None if any cannot be read so."""
    if col.date:
        return date_days(values, gaps, col.date_form)
    if col.clock:
        return clock_seconds(values, gaps, col.clock)
    return values.astype(np.float64) if values.dtype.kind == "b" else _numbers(values, gaps)


def _not_real(col: Column, values: np.ndarray, gaps: np.ndarray) -> str:
    """Why a real column's values cannot be read: the first that is not what it holds."""
    wanted = (date_wanted(col) if col.date else clock_wanted(col.clock) if col.clock
              else "a number")  # fmt: skip
    one = np.zeros(1, dtype=bool)
    for i in np.flatnonzero(~gaps):
        if _real_values(col, values[i : i + 1], one) is None:
            return f"row {i}, column {col.name!r} is {values[i]!r}; expected {wanted}"
    return f"column {col.name!r} is real; got values of type {values.dtype}"


def _numbers(values: np.ndarray, gaps: np.ndarray) -> np.ndarray | None:
    """A column's values as float64 (NaN at its gaps) if they are numbers, else None: a
    numeric dtype, or objects (as pandas and ``np.array`` of mixed rows give) that are all
    real numbers where present (``Decimal`` too, as databases give them), which are numeric
    too (typed by the same rule, not as text), or strings of numbers with one unit (``45%``,
    ``$120.50``), as a CSV file's are read."""
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    if values.dtype.kind != "O":
        return None
    present = values[~gaps]

    def real(v: Any) -> bool:  # a database's NUMERIC column gives Decimals
        return isinstance(v, numbers.Real | Decimal) and not isinstance(v, bool | np.bool_)

    if not len(present):
        return None
    if all(real(v) for v in present):
        numbers_ = present.astype(np.float64)
    elif any(isinstance(v, str) and is_placeholder(v) for v in values[gaps]) and all(
        real(v) or (isinstance(v, str) and is_number(v)) for v in present
    ):  # numbers beside "." or "#DIV/0!" (pandas leaves such a column text): numbers
        numbers_ = np.array([float(v) for v in present])
    else:  # numbers with a unit ("45%"), read as a CSV file's are
        numbers_ = unit_numbers(list(present))
        if numbers_ is None:
            return None
    out = np.full(len(values), np.nan)
    out[~gaps] = numbers_
    return out


def infer_column_schema(
    columns: Sequence[np.ndarray],
    names: Sequence[str],
    dtypes: Sequence[Any],
    types: Mapping[str, str] | None = None,
) -> TableSchema:
    """Each column's type and statistics from its values; ``types`` maps a column's name to
    ``"categorical"`` or ``"real"`` (``"log"``, ``"linear"``: real on that scale) to override
    the rule."""
    types = dict(types or {})
    for name, kind in types.items():
        if name not in names:
            raise ValueError(f"column_types names {name!r}, which is not a column ({names})")
        if kind not in TYPE_NAMES:
            raise ValueError(f"column_types[{name!r}] must be one of {TYPE_NAMES}; got {kind!r}")
    kept, dropped, free = [], [], []
    for j, (values, name, dtype) in enumerate(zip(columns, names, dtypes, strict=True)):
        try:
            column = _column(values, name, dtype, real_kind(types.get(name)))
        except FreeText:
            column = None
            free.append(j)
        column = with_scale(column, types.get(name))
        if column is None:
            dropped.append((j, name))
        else:
            kept.append((j, column))
    schema = schema_of([c for _, c in kept], dropped, free, "the data")
    # the columns' statistics, computed as a CSV table's are: real values, codes
    raw = np.zeros((len(columns[0]) if columns else 0, len(kept)))
    for i, (j, col) in enumerate(kept):
        gaps = gaps_of(columns[j])
        if col.kind == "real":
            raw[:, i] = col.snapped(_real_values(col, columns[j], gaps))
        else:
            raw[:, i] = _codes(col, columns[j], gaps)[0]
    return schema.with_statistics(raw, "the data")


def pixel_schema(pixels: np.ndarray, names: Sequence[str]) -> TableSchema:
    """The columns of rows that are images (``MADEDensity(image_shape=...)``), from the
    training images' ``(N, pixels)`` 8-bit values: every pixel on one scale. Grey levels
    (more than two) make each pixel an integer real column on a grid of 1, dequantised
    within its step as a table's integer columns are, so neighbouring levels share
    strength and no value has density zero; 0/1 images make each pixel a binary category.
    Typed one by one as a table's columns are, a pixel that kept one level in training was
    fixed at it and one that never reached a level had no code for it, so a new image with
    such a pixel had probability zero (scikit-learn's digits, each digit normal in turn: 7
    to 10 normal test images of about 54 scored impossible); and as categories of one
    alphabet, 17 levels a pixel learnt from a hundred images rank worse (digits 1, 3, 8
    and 9: AUROC 0.921 against 0.986 as integers)."""
    if int(pixels.max(initial=0)) <= 1:
        return TableSchema(tuple(Column(name, "categorical", ("0", "1")) for name in names))
    schema = TableSchema(tuple(Column(name, "real", integer=True, step=1.0) for name in names))
    return schema.with_statistics(pixels.astype(np.float64), "the images", shares=False)


def _column(values: np.ndarray, name: str, dtype: Any, forced: str | None) -> Column | None:
    if getattr(dtype, "kind", None) in ("m", "M") or values.dtype.kind in "mM":
        raise ValueError(  # an array's (a DataFrame's are read as text, or as seconds)
            f"column {name!r} holds numpy times or durations ({dtype}); give them in a "
            "DataFrame, which made reads as dates, times and durations, or convert them first"
        )
    if values.dtype.kind == "c":
        raise ValueError(f"column {name!r} holds complex numbers ({values.dtype}); made models "
                         "real ones: give the real and imaginary parts as two columns")  # fmt: skip
    gaps = gaps_of(values)
    categories = _categories_of(dtype)
    if categories is not None:
        return infer_column(name, values, gaps, forced, "the data", categories)
    present = values[~gaps]
    if values.dtype.kind == "b" or (
        values.dtype.kind == "O"
        and len(present)
        and all(isinstance(v, bool | np.bool_) for v in present)
    ):
        missing = bool(gaps.any())
        if forced == "real":
            return Column(name, "real", missing=missing)
        labels = ("False", "True", MISSING) if missing else ("False", "True")
        return Column(name, "categorical", labels, numeric=False, missing=missing, boolean=True)
    numbers_ = _numbers(values, gaps)
    if numbers_ is not None and forced is None and long_integers(values[~gaps], numbers_[~gaps]):
        # IDs or hashes past 2**53, which float64 rounds (two would become one): text, kept
        values = np.array([None if g else str(v) for v, g in zip(values, gaps, strict=True)],
                          dtype=object)  # fmt: skip
        return infer_column(name, values, gaps, forced, "the data")
    if numbers_ is None:
        if forced == "real" and not dates_or_times(values, gaps):
            raise ValueError(f"column {name!r} holds text; it cannot be real")
        return infer_column(name, values, gaps, forced, "the data")
    bad = ~np.isfinite(numbers_) & ~gaps
    if bad.any():
        raise ValueError(f"column {name!r} holds infinity; made needs finite values")
    return infer_column(name, numbers_, gaps, forced, "the data")


def encode_columns(
    schema: TableSchema, columns: Sequence[np.ndarray], unknown: str = "error",
    gaps_anywhere: bool = False,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Columns (all of the data's, dropped ones included) -> ``(N, D)`` float64 codes and
    standardised values (NaN: a missing real value), and ``(N, D)`` booleans saying where a
    value is one the fitted rows never showed (a category, or a gap in a column without
    any): a ``ValueError`` naming it, or with ``unknown="mark"`` marked there. With
    ``gaps_anywhere`` (rows to impute, as ``TableSchema.encode``'s) a gap in a column that
    had none is NaN, whatever the column's kind, and not marked."""
    if len(columns) != schema.width:
        raise ValueError(f"expected {schema.width} columns; got {len(columns)}")
    n = len(columns[0]) if columns else 0
    out = np.empty((n, len(schema.columns)), dtype=np.float64)
    marked = np.zeros((n, len(schema.columns)), dtype=bool)
    for j, (col, at) in enumerate(zip(schema.columns, schema.positions, strict=True)):
        values = columns[at]
        gaps = gaps_of(values, holds_numbers(col))
        if col.kind == "real":
            numbers_ = _real_values(col, values, gaps)
            if numbers_ is None:
                raise ValueError(_not_real(col, values, gaps))
            if not np.all(np.isfinite(numbers_) | gaps):
                raise ValueError(f"column {col.name!r} holds infinity")
            numbers_ = col.snapped(numbers_)
            out[:, j] = col.standardised(numbers_)
            found = ~gaps | col.missing
            if col.log:  # at or below 0: no log holds it; scored by the column's share
                below = ~gaps & (numbers_ <= 0)
                out[below, j] = novel_code(col, None)  # read as the log's mean
                found = found & ~below
        else:
            codes, found = _codes(col, values, gaps)
            new = ~found & ~gaps  # a value never seen: read as ``novel_code`` says
            codes[new] = [novel_code(col, v) for v in values[new]]
            out[:, j] = np.where(found | new, codes, col.common)  # a gap where there was none
        if gaps_anywhere:  # a gap in a column that had none: NaN, to be drawn
            out[gaps & ~found, j] = math.nan
            found = found | gaps
        if not np.all(found):
            if unknown != "mark":
                i = int(np.argmin(found))
                shown = ", ".join(col.values[:8]) + (", ..." if len(col.values) > 8 else "")
                what = "a missing value" if gaps[i] else repr(values[i])
                raise ValueError(f"column {col.name!r} holds {what}, which was not among its "
                                 f"values when the model was fitted ({shown})")  # fmt: skip
            marked[:, j] = ~found
    return out, marked


def novel_log_probs(
    schema: TableSchema, columns: Sequence[np.ndarray], marked: np.ndarray
) -> np.ndarray:
    """``(N, D)``: for each cell ``encode_columns`` marked, the log-probability the model
    keeps for it (``made.data.novel.novel_cell``: a value its column never held, or a gap in
    a column that had none); NaN elsewhere, as ``Dataset.novel`` holds them."""
    out = np.full(marked.shape, math.nan)
    for i, j in np.argwhere(marked):
        col, value = schema.columns[j], columns[schema.positions[j]][i]
        gap = bool(gaps_of(np.array([value], dtype=object), holds_numbers(col))[0])
        out[i, j] = novel_cell(col, value, gap)[0]
    return out


def _codes(col: Column, values: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A categorical column's codes, and where the value is one it knows."""
    missing_code = len(col.values) - 1 if col.missing else -1
    numbers_ = _numbers(values, gaps) if col.numeric else None
    if numbers_ is not None:
        numbers_ = col.snapped(numbers_)
        # by value; a padding category ("2007 (other)") is no number, and no row holds it
        by_value = sorted((k, code) for k, code in category_codes(col).items() if k is not None)
        known = np.array([k for k, _ in by_value], dtype=float)
        codes = np.array([code for _, code in by_value], dtype=np.int64)
        at = np.searchsorted(known, np.nan_to_num(numbers_)).clip(0, max(len(known) - 1, 0))
        found = (known[at] == numbers_) if len(known) else np.zeros(len(values), dtype=bool)
        index = codes[at] if len(known) else np.full(len(values), -1)
    else:
        lookup = category_codes(col)  # by value for numbers, by text otherwise, as a CSV's
        index = np.array([lookup.get(column_key(col, _text(v)), -1) for v in values])
        found = index >= 0
    index = np.where(gaps, missing_code, index)
    return index, np.where(gaps, col.missing, found)


def total_row(columns: Sequence[np.ndarray]) -> str | None:
    """The label of the last row of ``columns`` (``column_arrays``') when that row is a
    spreadsheet's line of totals, read by the rule a CSV file's last line is
    (``cell_numbers.total_line``: a cell labels it so, every number in it is its column's
    sum above), as ``pandas.read_excel`` gives such a sheet; else None."""
    if not columns or len(columns[0]) < 3:
        return None
    last = [columns[j][-1] for j in range(len(columns))]
    if total_label([v.strip() for v in last if isinstance(v, str)]) < 0:
        return None  # no label: the common case, decided without reading the rest
    rows = [["" if g else _text(v).strip() for v, g in zip(col, gaps_of(col), strict=True)]
            for col in columns]  # fmt: skip
    table = [list(row) for row in zip(*rows, strict=True)]
    return table[-1][total_label(table[-1])] if total_line(table) else None


def _text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    return value if isinstance(value, str) else str(value)


def decode_columns(schema: TableSchema, x: np.ndarray, samples: bool = False) -> list[np.ndarray]:
    """``(N, D)`` codes and standardised values -> one array per modelled column in the
    data's own values: numbers for real and numeric categorical columns (NaN: missing),
    booleans for boolean ones, text otherwise (None: missing); ``samples``: real values
    within their column's bounds."""
    x = np.asarray(x, dtype=np.float64)
    out = []
    for j, col in enumerate(schema.columns):
        if col.kind == "real":
            values = schema.values_of(j, x[:, j], samples)
            if col.date or col.clock:  # written back as the dates and times they came as
                values = np.array([None if math.isnan(v) else time_text(col, v)
                                   for v in values], dtype=object)  # fmt: skip
            out.append(values)
            continue
        codes = np.rint(x[:, j]).astype(np.int64)
        gap = codes == len(col.values) - 1 if col.missing else np.zeros(len(codes), dtype=bool)
        if (pad := padding(col)) is not None:  # no row holds it (a model trained before
            # ``TableSchema.fixed`` may draw it): a gap
            gap |= codes == pad
        if col.values[:2] == ("False", "True") and not col.numeric:
            values = np.array([v == "True" for v in col.values], dtype=object)[codes]
            out.append(values if gap.any() else values.astype(bool))
        elif col.numeric:  # a padding category ("3 (other)") or a gap reads as NaN
            numbers_ = [float(v) if is_number(v) else math.nan for v in col.values]
            values = np.array(numbers_)[codes]
            out.append(np.where(gap, math.nan, values))
        else:
            values = np.array(col.values, dtype=object)[codes]
            values[gap] = None
            out.append(values)
    return out
