"""Typed columns from arrays in memory: numpy arrays and pandas DataFrames as made tables.

Booleans, text, pandas categoricals and numeric columns holding only 0 and 1 are
categorical; other numbers are real and standardised with the fitted rows' statistics, as
every scikit-learn density estimator treats them (an integer column of counts or grey levels
is a real quantity, and a value between or beyond those seen stays possible; a CSV file's
columns, read as text, follow ``table.py``'s rules instead). ``types`` overrides the rule
per column. The result is a ``TableSchema``, so rows encode, decode and describe themselves
exactly as a CSV table's do, and the schema can be saved with the model.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .formats import is_number
from .table import (
    KINDS,
    MAX_COLUMN_CATEGORIES,
    MAX_INFERRED_CATEGORIES,
    Column,
    TableSchema,
    at_least_two,
    category_codes,
    category_key,
    number_text,
)

__all__ = ["column_arrays", "decode_columns", "encode_columns", "infer_column_schema"]


def column_arrays(data: Any) -> tuple[list[np.ndarray], list[str], list[Any]]:
    """``(columns, names, dtypes)`` of a 2-D numpy array or a pandas DataFrame: one 1-D
    array per column (a pandas categorical column as its values, with ``dtypes`` keeping its
    categories), names ``"0"``, ``"1"``, ... for an array."""
    if hasattr(data, "columns") and hasattr(data, "dtypes"):  # a DataFrame
        columns, dtypes = [], []
        for name in data.columns:
            series = data[name]
            dtypes.append(series.dtype)
            columns.append(np.asarray(series.to_numpy()))
        return columns, [str(c) for c in data.columns], dtypes
    array = np.asarray(data)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D array of rows and columns; got shape {array.shape}")
    return (
        [array[:, j] for j in range(array.shape[1])],
        [str(j) for j in range(array.shape[1])],
        [array.dtype] * array.shape[1],
    )


def _categories_of(dtype: Any) -> list[Any] | None:
    """A pandas categorical dtype's categories, else None."""
    categories = getattr(dtype, "categories", None)
    return None if categories is None else list(categories)


def _numbers(values: np.ndarray) -> np.ndarray | None:
    """A column's values as float64 if they are numbers, else None: a numeric dtype, or an
    object array (as pandas and ``np.array`` of mixed rows give) holding only real numbers,
    which is numeric too (typed by the same rule, not as text)."""
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    if (
        values.dtype.kind == "O"
        and len(values)
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_) for v in values)
    ):
        return values.astype(np.float64)
    return None


def infer_column_schema(
    columns: Sequence[np.ndarray],
    names: Sequence[str],
    dtypes: Sequence[Any],
    types: Mapping[str, str] | None = None,
) -> TableSchema:
    """Each column's type and statistics from its values; ``types`` maps a column's name to
    ``"categorical"`` or ``"real"`` to override the rule."""
    types = dict(types or {})
    for name, kind in types.items():
        if name not in names:
            raise ValueError(f"column_types names {name!r}, which is not a column ({names})")
        if kind not in KINDS:
            raise ValueError(f"column_types[{name!r}] must be one of {KINDS}; got {kind!r}")
    typed = zip(columns, names, dtypes, strict=True)
    schema = TableSchema(tuple(_column(v, name, dt, types.get(name)) for v, name, dt in typed))
    # the real columns' statistics, computed as a CSV table's are
    raw = np.zeros((len(columns[0]) if columns else 0, len(columns)))
    for j, col in enumerate(schema.columns):
        if col.kind == "real":
            raw[:, j] = columns[j].astype(np.float64)
    return schema.with_statistics(raw, "the data")


def _column(values: np.ndarray, name: str, dtype: Any, forced: str | None) -> Column:
    categories = _categories_of(dtype)
    if categories is not None:
        if forced == "real":
            raise ValueError(f"column {name!r} is a pandas categorical; it cannot be real")
        return Column(name, "categorical", at_least_two([str(c) for c in categories]),
                      numeric=False)  # fmt: skip
    if values.dtype.kind == "b":
        if forced == "real":
            return Column(name, "real")
        return Column(name, "categorical", ("False", "True"), numeric=False)
    numbers_ = _numbers(values)
    if numbers_ is None:  # text or objects: categories by their text
        if forced == "real":
            raise ValueError(f"column {name!r} holds text; it cannot be real")
        distinct = sorted({str(v) for v in values})
        if len(distinct) > MAX_COLUMN_CATEGORIES:
            raise ValueError(
                f"column {name!r} has {len(distinct):,} distinct values, more than the "
                f"{MAX_COLUMN_CATEGORIES:,} a categorical column may have (an identifier?); "
                "drop it"
            )
        return Column(name, "categorical", at_least_two(distinct), numeric=False)
    if not np.all(np.isfinite(numbers_)):
        raise ValueError(f"column {name!r} holds NaN or infinity; made needs finite values")
    distinct = np.unique(numbers_)
    binary = bool(np.isin(distinct, (0.0, 1.0)).all())
    if forced == "real" or (forced is None and not binary):
        return Column(name, "real")  # statistics: infer_column_schema
    integers = bool(np.all(distinct == np.round(distinct)))
    if len(distinct) > MAX_COLUMN_CATEGORIES:
        raise ValueError(
            f"column {name!r} has {len(distinct):,} distinct values, too many for a "
            "categorical column; make it real"
        )
    if integers and distinct[0] >= 0 and distinct[-1] < MAX_INFERRED_CATEGORIES:
        count = max(int(distinct[-1]) + 1, 2)  # codes are the values themselves
        return Column(name, "categorical", tuple(str(k) for k in range(count)))
    return Column(name, "categorical", at_least_two([number_text(v) for v in distinct]))


def encode_columns(
    schema: TableSchema, columns: Sequence[np.ndarray], unknown: str = "error"
) -> np.ndarray:
    """Columns -> ``(N, D)`` float64: codes for categorical columns, standardised values for
    real ones. A category the schema does not know is a ``ValueError`` naming it, or with
    ``unknown="mark"`` the code -1."""
    if len(columns) != len(schema.columns):
        raise ValueError(f"expected {len(schema.columns)} columns; got {len(columns)}")
    n = len(columns[0]) if columns else 0
    out = np.empty((n, len(schema.columns)), dtype=np.float64)
    for j, (col, values) in enumerate(zip(schema.columns, columns, strict=True)):
        if col.kind == "real":
            numbers_ = values.astype(np.float64) if values.dtype.kind == "b" else _numbers(values)
            if numbers_ is None:
                raise ValueError(f"column {col.name!r} is real; got values of type {values.dtype}")
            if not np.all(np.isfinite(numbers_)):
                raise ValueError(f"column {col.name!r} holds NaN or infinity")
            out[:, j] = (numbers_ - col.mean) / col.std
            continue
        out[:, j] = _codes(col, values, unknown == "mark")
    return out


def _codes(col: Column, values: np.ndarray, mark: bool) -> np.ndarray:
    numbers_ = _numbers(values) if col.numeric else None
    if numbers_ is not None:
        known = np.array([float(v) for v in col.values if is_number(v)])
        index = np.searchsorted(known, numbers_).clip(0, len(known) - 1)
        found = known[index] == numbers_
    else:
        lookup = category_codes(col)  # by value for numbers, by text otherwise, as a CSV table's
        index = np.array([lookup.get(category_key(str(v), col.numeric), -1) for v in values])
        found = index >= 0
    if mark:
        return np.where(found, index, -1)
    if not np.all(found):
        bad = values[int(np.argmin(found))]
        shown = ", ".join(col.values[:8]) + (", ..." if len(col.values) > 8 else "")
        raise ValueError(
            f"column {col.name!r} holds {bad!r}, which was not among its categories when the "
            f"model was fitted ({shown})"
        )
    return index


def decode_columns(schema: TableSchema, x: np.ndarray) -> list[np.ndarray]:
    """``(N, D)`` codes and standardised values -> one array per column in the data's own
    values: numbers for real and numeric categorical columns, booleans for boolean ones,
    text otherwise."""
    x = np.asarray(x, dtype=np.float64)
    out = []
    for j, col in enumerate(schema.columns):
        if col.kind == "real":
            out.append(x[:, j] * col.std + col.mean)
            continue
        codes = np.rint(x[:, j]).astype(np.int64)
        if col.values == ("False", "True") and not col.numeric:
            out.append(codes.astype(bool))
        elif col.numeric:  # a padding category ("3 (other)") reads as NaN
            numbers = [float(v) if is_number(v) else math.nan for v in col.values]
            out.append(np.array(numbers)[codes])
        else:
            out.append(np.array(col.values, dtype=object)[codes])
    return out
