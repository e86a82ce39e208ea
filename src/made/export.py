"""Writing many results in bounded memory: rows are produced batch by batch and written as
they come, into a temporary file renamed into place at the end (as every file made writes).

``write_npy`` streams a ``.npy`` (header, then each batch's bytes); ``write_csv`` streams text
rows. Memory therefore stays at one batch, whatever the number of rows asked for.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .fileio import atomic_write

__all__ = ["batch_rows", "batches", "write_csv", "write_npy"]

_ELEMENTS_PER_BATCH = 1 << 20  # about 8 MiB of int64 values per batch


def batch_rows(row_size: int, cap: int = 10_000) -> int:
    """Rows per batch for rows of ``row_size`` values: about a million values, 1..``cap``."""
    return max(1, min(cap, _ELEMENTS_PER_BATCH // max(1, row_size)))


def batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive batches covering ``range(n)``."""
    for start in range(0, n, size):
        yield start, min(n, start + size)


def write_npy(
    path: str | os.PathLike[str],
    shape: tuple[int, ...],
    dtype: np.dtype | type,
    produce: Callable[[int, int], np.ndarray],
    batch: int,
) -> None:
    """Write a ``.npy`` array of ``shape`` whose rows ``start:stop`` are ``produce(start,
    stop)``, one batch in memory at a time, atomically."""
    dtype = np.dtype(dtype)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": tuple(shape)}  # fmt: skip

    def write(f: io.BufferedIOBase) -> None:
        np.lib.format.write_array_header_1_0(f, header)
        for start, stop in batches(shape[0], batch):
            rows = np.ascontiguousarray(produce(start, stop), dtype=dtype)
            if rows.shape != (stop - start, *shape[1:]):
                raise ValueError(f"a batch of shape {rows.shape} for rows {start}:{stop}")
            f.write(rows.tobytes())

    atomic_write(path, write)


def write_csv(
    path: str | os.PathLike[str],
    header: Sequence[str],
    n: int,
    produce: Callable[[int, int], list[list[str]]],
    batch: int,
) -> None:
    """Write a CSV of ``header`` and ``n`` rows, produced ``produce(start, stop)`` a batch at a
    time, atomically."""

    def write(f: io.BufferedIOBase) -> None:
        text = io.TextIOWrapper(f, newline="", encoding="utf-8")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        for start, stop in batches(n, batch):
            writer.writerows(produce(start, stop))
        text.flush()
        text.detach()

    atomic_write(path, write)
