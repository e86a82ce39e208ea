"""Checks that data can be modelled: integer categories, in range, finite, consistent, non-empty.

Every failure is one ``DataError`` naming the file (or set), the split, the offending row and
value, and what was expected. Arrays are scanned in chunks, so a memory-mapped file is checked
without being read into memory at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..errors import MadeError

__all__ = [
    "chunks",
    "MAX_CATEGORIES",
    "MAX_CLASSES",
    "MAX_OUTPUT_UNITS",
    "DataError",
    "check_array",
    "check_output_size",
    "infer_categories",
]

_CHUNK = 65_536
# Limits checked before anything is allocated for the data: a feature's categories (16-bit
# codes at most), the model's output units over all features, and the classes of labels.
MAX_CATEGORIES = 65_536
MAX_OUTPUT_UNITS = 1 << 22
MAX_CLASSES = 10_000


def chunks(x: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, rows)`` of ``x`` in pieces of ``_CHUNK`` rows: a memory-mapped file is
    read piece by piece, never whole."""
    for start in range(0, x.shape[0], _CHUNK):
        yield start, np.asarray(x[start : start + _CHUNK])


class DataError(MadeError):
    """Data that cannot be used as given; the message says where and why."""


def _first_bad(mask: np.ndarray) -> tuple[int, int]:
    row, col = np.argwhere(mask)[0]
    return int(row), int(col)


def check_array(
    x: np.ndarray,
    where: str,
    *,
    num_categories: int | Sequence[int] | None = None,
    shape: tuple[int, ...] | None = None,
    columns: Sequence[str] | None = None,
    row_name: Callable[[int], str] | None = None,
) -> None:
    """Validate one split ``x`` of shape ``(N, *shape)``.

    ``where`` names it in messages (for example ``"data.npz, split 'train'"``). Rows are
    called ``row_name(i)`` (default ``"row i"``, from 0) and features ``columns[j]`` (default
    ``"feature j"``, the position in the flattened example).
    """

    def at(r: int, c: int) -> str:
        row = row_name(r) if row_name is not None else f"row {r}"
        col = columns[c] if columns is not None and c < len(columns) else f"feature {c}"
        return f"{where}: {row}, {col}"

    if x.ndim < 2:
        raise DataError(
            f"{where}: expected an array of shape (examples, features...), got {x.shape}"
        )
    if x.shape[0] == 0:
        raise DataError(f"{where}: no examples (the split is empty)")
    if 0 in x.shape[1:]:
        raise DataError(f"{where}: examples have no features (shape {tuple(x.shape)})")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise DataError(
            f"{where}: examples have shape {tuple(x.shape[1:])}, expected {tuple(shape)} "
            "like the other splits"
        )
    if not (
        np.issubdtype(x.dtype, np.integer)
        or np.issubdtype(x.dtype, np.floating)
        or x.dtype == np.bool_
    ):
        raise DataError(f"{where}: values must be numbers, got dtype {x.dtype}")
    d = int(np.prod(x.shape[1:]))
    limit = None
    if num_categories is not None:
        limit = np.asarray(num_categories).reshape(-1)
        if limit.size not in (1, d):
            raise DataError(f"{where}: {limit.size} category counts given for {d} features")
    for start, rows in chunks(x):
        chunk = rows.reshape(-1, d)
        if np.issubdtype(chunk.dtype, np.floating):
            bad = ~np.isfinite(chunk)
            if bad.any():
                r, c = _first_bad(bad)
                raise DataError(
                    f"{at(start + r, c)} is {chunk[r, c]:g}; expected an integer category"
                )
            bad = chunk != np.round(chunk)
            if bad.any():
                r, c = _first_bad(bad)
                raise DataError(
                    f"{at(start + r, c)} is {chunk[r, c]:g}; "
                    "expected an integer category (binarise or quantise first)"
                )
        bad = chunk < 0
        if bad.any():
            r, c = _first_bad(bad)
            raise DataError(
                f"{at(start + r, c)} is {chunk[r, c]:g}; categories are numbered from 0"
            )
        bad = chunk >= MAX_CATEGORIES
        if bad.any():
            r, c = _first_bad(bad)
            raise DataError(
                f"{at(start + r, c)} is {chunk[r, c]:g}; categories are codes "
                f"0..{MAX_CATEGORIES - 1} at most (binarise, quantise or re-code the values first)"
            )
        if limit is not None:
            bad = chunk >= limit
            if bad.any():
                r, c = _first_bad(bad)
                k = int(limit[0] if limit.size == 1 else limit[c])
                raise DataError(
                    f"{at(start + r, c)} is {chunk[r, c]:g}; expected a category in 0..{k - 1}"
                )


def infer_categories(splits: Sequence[np.ndarray]) -> tuple[int, ...]:
    """Per feature, ``max + 1`` over every split (at least 2): the categories the data uses.
    Call after ``check_array`` so values are known to be non-negative integers."""
    d = int(np.prod(splits[0].shape[1:]))
    top = np.zeros(d, dtype=np.int64)
    for x in splits:
        for _, rows in chunks(x):
            chunk = rows.reshape(-1, d)
            top = np.maximum(top, chunk.max(axis=0).astype(np.int64))
    return tuple(int(v) for v in np.maximum(top + 1, 2))


def check_output_size(
    num_categories: int | Sequence[int], shape: Sequence[int], where: str
) -> None:
    """Refuse data whose model would need more than ``MAX_OUTPUT_UNITS`` output units (one
    per category of every feature), before any of it is allocated."""
    d = int(np.prod(shape))
    cards = np.asarray(num_categories, dtype=np.int64).reshape(-1)
    units = int(cards[0]) * d if cards.size == 1 else int(cards.sum())
    if units > MAX_OUTPUT_UNITS:
        raise DataError(
            f"{where}: {d:,} features with {int(cards.max()):,} categories at most would need "
            f"{units:,} output units (more than {MAX_OUTPUT_UNITS:,}); binarise or quantise the "
            "values ({flag:binarize}, {flag:levels}) or drop features"
        )
