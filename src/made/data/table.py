"""Tables: named columns of mixed type, turned into what a mixed-type MADE reads.

Each column is *categorical* (codes ``0..K-1``, cardinality K) or *real* (standardised with the
training split's mean and standard deviation). Types are inferred and can be overridden:

- a column of non-negative integers below ``MAX_INFERRED_CATEGORIES`` is categorical and its
  values are its codes (so integer-coded data keeps its numbering);
- a column of integers with at most that many distinct values, or a column holding any text
  that is not a number, is categorical with its distinct values in sorted order as codes;
- anything else (fractions, or integers with many values) is real.

A ``TableSchema`` holds all of that, statistics included, and is saved with every checkpoint
so that scoring or sampling later encodes and decodes exactly as training did.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .formats import is_number
from .validate import DataError

__all__ = [
    "Column",
    "TableSchema",
    "MAX_INFERRED_CATEGORIES",
    "at_least_two",
    "category_codes",
    "category_key",
    "infer_schema",
    "number_text",
    "parse_types",
]

MAX_INFERRED_CATEGORIES = 20
# A categorical column with more distinct values than this is almost always an identifier or a
# free-text field; it is refused (before anything is allocated) with what to do instead.
MAX_COLUMN_CATEGORIES = 1_000
KINDS = ("categorical", "real")


@dataclass(frozen=True)
class Column:
    """One column: ``kind`` is ``"categorical"`` or ``"real"``. A categorical column's code c
    stands for ``values[c]`` (text as in the file); ``numeric`` says the values are numbers
    (matched by value, so ``1`` and ``1.0`` are one category). A real column is standardised
    as ``(value - mean) / std``."""

    name: str
    kind: str
    values: tuple[str, ...] = ()
    numeric: bool = True
    mean: float = 0.0
    std: float = 1.0

    @property
    def cardinality(self) -> int:
        """K for a categorical column, 0 (the MADE convention) for a real one."""
        return len(self.values) if self.kind == "categorical" else 0


@dataclass(frozen=True)
class TableSchema:
    """The columns of a table, in order, with everything needed to encode and decode it."""

    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def num_categories(self) -> tuple[int, ...]:
        """Per column: K for categorical, 0 for real (``MADE(num_categories=...)``)."""
        return tuple(c.cardinality for c in self.columns)

    @property
    def has_real(self) -> bool:
        return any(c.kind == "real" for c in self.columns)

    @property
    def log_scale(self) -> float:
        """``sum log std`` over real columns: add it to an NLL of standardised data to get
        the NLL in the data's own units (the standardisation's log-Jacobian)."""
        return float(sum(math.log(c.std) for c in self.columns if c.kind == "real"))

    def encode(self, rows: Sequence[Sequence[str]], where: str, first_line: int) -> np.ndarray:
        """Text rows -> ``(N, D)`` float64: codes for categorical columns, standardised values
        for real ones. ``DataError`` names the line (``first_line`` is the first row's) and
        column of a cell that does not fit."""
        out = np.empty((len(rows), len(self.columns)), dtype=np.float64)
        for j, col in enumerate(self.columns):
            lookup = category_codes(col) if col.kind == "categorical" else None
            for i, row in enumerate(rows):
                cell = row[j]
                place = f"{where}: line {first_line + i}, {col.name}"
                if cell == "":
                    raise DataError(f"{place} is empty; missing values are not supported")
                if lookup is None:
                    value = float(cell) if is_number(cell) else None
                    if value is None or not math.isfinite(value):
                        raise DataError(f"{place} is {cell!r}; expected a finite number")
                    out[i, j] = (value - col.mean) / col.std
                    continue
                code = lookup.get(category_key(cell, col.numeric))
                if code is None:
                    shown = ", ".join(col.values[:8]) + (", ..." if len(col.values) > 8 else "")
                    raise DataError(f"{place} is {cell!r}; expected one of its categories: {shown}")
                out[i, j] = code
        return out

    def decode(self, x: np.ndarray) -> list[list[str]]:
        """``(N, D)`` codes and standardised values -> text rows in the table's own units."""
        rows = []
        for example in np.asarray(x, dtype=np.float64):
            row = []
            for col, value in zip(self.columns, example, strict=True):
                if col.kind == "categorical":
                    row.append(col.values[int(round(value))])
                else:
                    row.append(f"{value * col.std + col.mean:.6g}")
            rows.append(row)
        return rows

    def with_statistics(self, raw: np.ndarray, where: str = "the table") -> TableSchema:
        """The schema with each real column's mean and std taken from ``raw``: training rows
        encoded by a schema fresh from ``infer_schema`` (real values as they are).

        Statistics are computed on values scaled by their largest magnitude, so values near
        the float range (1e300) do not overflow; ``DataError`` if they still are not finite."""
        columns = []
        for j, col in enumerate(self.columns):
            if col.kind == "real":
                values = raw[:, j]
                scale = float(np.abs(values).max()) or 1.0
                mean = scale * float((values / scale).mean())
                std = scale * float((values / scale).std())
                if not (math.isfinite(mean) and math.isfinite(std)):
                    raise DataError(
                        f"{where}: column {col.name!r} cannot be standardised (its mean or "
                        "standard deviation is not a finite number)"
                    )
                col = replace(col, mean=mean, std=std if std > 0 else 1.0)
            columns.append(col)
        return TableSchema(tuple(columns))

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        """Rows with real values as they are (``raw``, as for ``with_statistics``) -> as
        ``encode`` gives them under this schema's statistics (``raw`` itself when no column is
        real: codes need no change, and a wide table no second copy)."""
        if not self.has_real:
            return raw
        x = raw.copy()
        for j, col in enumerate(self.columns):
            if col.kind == "real":
                x[:, j] = (x[:, j] - col.mean) / col.std
        return x

    def describe(self) -> str:
        """One line: each column and its type."""
        parts = [f"{c.name}={'real' if c.kind == 'real' else c.cardinality}" for c in self.columns]
        shown = ", ".join(parts[:16]) + (f", ... ({len(parts)} columns)" if len(parts) > 16 else "")
        return f"column types (categories, or real): {shown}"

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
                }  # fmt: skip
                for c in self.columns
            ]
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableSchema:
        try:
            return cls(
                tuple(
                    Column(
                        name=str(c["name"]),
                        kind=str(c["kind"]),
                        values=tuple(str(v) for v in c["values"]),
                        numeric=bool(c["numeric"]),
                        mean=float(c["mean"]),
                        std=float(c["std"]),
                    )  # fmt: skip
                    for c in data["columns"]
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a table schema ({exc})") from None


def category_key(cell: str, numeric: bool) -> Any:
    """What a category is matched by: its value for a numeric column (``1`` and ``1.0`` are
    one category), its text otherwise; None for text that is not a number."""
    if not numeric:
        return cell
    try:
        return float(cell)
    except ValueError:
        return None


def category_codes(col: Column) -> dict[Any, int]:
    """A categorical column's codes by ``category_key``."""
    return {category_key(v, col.numeric): code for code, v in enumerate(col.values)}


def parse_types(specs: Sequence[str], names: Sequence[str], where: str) -> dict[str, str]:
    """``["name=real", "3=categorical"]`` -> ``{column name: kind}``; a column may be named
    or numbered from 0. ``DataError`` for an unknown column or kind."""
    kinds = {}
    for spec in specs:
        name, sep, kind = spec.partition("=")
        name, kind = name.strip(), kind.strip()
        if not sep or kind not in KINDS:
            raise DataError(f"column type {spec!r}: expected NAME=categorical or NAME=real")
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


def infer_schema(
    header: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    where: str,
    types: Sequence[str] = (),
) -> TableSchema:
    """Each column's type from its cells (see the module's rules), with ``types`` (``NAME=KIND``)
    overriding; statistics are left at the identity until ``with_statistics``."""
    width = len(rows[0])
    names = list(header) if header is not None else [f"column {j}" for j in range(width)]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{where}: the header names column {dup!r} more than once")
    forced = parse_types(types, names, where)
    first_line = 2 if header is not None else 1
    columns = []
    for j, name in enumerate(names):
        cells = [row[j] for row in rows]
        for i, cell in enumerate(cells):
            if cell == "":
                raise DataError(
                    f"{where}: line {first_line + i}, {name} is empty; missing values are not "
                    "supported"
                )
        columns.append(_infer_column(name, cells, forced.get(name), where, first_line))
    return TableSchema(tuple(columns))


def _infer_column(
    name: str, cells: list[str], forced: str | None, where: str, first_line: int
) -> Column:
    column = _typed_column(name, cells, forced, where, first_line)
    if len(column.values) > MAX_COLUMN_CATEGORIES:
        numeric = all(is_number(c) for c in cells)
        raise DataError(
            f"{where}: column {name!r} has {len(column.values):,} distinct values, more than "
            f"the {MAX_COLUMN_CATEGORIES:,} a categorical column may have (an identifier?); "
            + (f"pass {{flag:column_types}} {name}=real, or drop the column"
               if numeric else "drop the column")
        )  # fmt: skip
    return column


def _typed_column(
    name: str, cells: list[str], forced: str | None, where: str, first_line: int
) -> Column:
    numeric = all(is_number(c) for c in cells)
    if forced == "real" or (forced is None and numeric):
        if not numeric:
            i = next(i for i, c in enumerate(cells) if not is_number(c))
            raise DataError(
                f"{where}: line {first_line + i}, {name} is {cells[i]!r}; a real column holds "
                "numbers"
            )
        values = np.array([float(c) for c in cells])
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{where}: line {first_line + i}, {name} is {cells[i]!r}; expected a finite number"
            )
        integers = bool(np.all(values == np.round(values)))
        distinct = np.unique(values)
        if forced == "real" or not integers or len(distinct) > MAX_INFERRED_CATEGORIES:
            return Column(name, "real")
        if distinct[0] >= 0 and distinct[-1] < MAX_INFERRED_CATEGORIES:
            count = max(int(distinct[-1]) + 1, 2)  # codes are the values themselves
            return Column(name, "categorical", tuple(str(k) for k in range(count)))
        return Column(name, "categorical", at_least_two([number_text(v) for v in distinct]))
    if numeric:  # forced categorical numbers: by value
        distinct = np.unique(np.array([float(c) for c in cells]))
        return Column(name, "categorical", at_least_two([number_text(v) for v in distinct]))
    return Column(name, "categorical", at_least_two(sorted(set(cells))), numeric=False)


def number_text(value: float) -> str:
    """A number as a category's text: ``3`` for an integral value, else its repr."""
    return str(int(value)) if value == int(value) else repr(float(value))


def at_least_two(values: list[str]) -> tuple[str, ...]:
    """A column with one value still needs two categories (a MADE dimension has K >= 2)."""
    return tuple(values) if len(values) >= 2 else (*values, f"{values[0]} (other)")
