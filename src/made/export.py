"""Writing results: samples, tables and data sets, in bounded memory. Rows are produced batch
by batch and written as they come, into a temporary file renamed into place at the end (as
every file made writes).

``write_npy`` streams a ``.npy`` (header, then each batch's bytes); ``write_csv`` streams text
rows. Memory therefore stays at one batch, whatever the number of rows asked for.
``write_samples`` draws a model's samples into a ``.npy``, a table's ``.csv`` or a picture;
``export_data`` writes a data set's splits (``.npz``) or a table (``.csv``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data import Dataset, TableSchema
from .data.groups import OneHotGroups, numpy_rng
from .fileio import atomic_write, atomic_write_bytes
from .impute import table_samples
from .model import MADE
from .plots import save_sample_grid

__all__ = [
    "CELL_SUFFIXES",
    "GRID_SAMPLES",
    "batch_rows",
    "batches",
    "either",
    "export_data",
    "sample_suffixes",
    "write_cells",
    "write_csv",
    "write_jsonl",
    "write_npy",
    "write_samples",
    "write_table",
]

# A picture shows at most this many samples: enough to look at, bounded whatever is asked.
GRID_SAMPLES = 400

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


def write_table(
    path: str | os.PathLike[str], schema: TableSchema, x: Any,
    extra: dict[str, list[str]] | None = None, samples: bool = False,
) -> None:  # fmt: skip
    """Rows ``x`` (codes and standardised values) as a CSV in the table's own units and
    names, atomically; ``extra`` columns (name -> one text per row) come first; ``samples``:
    real values within their columns' bounds."""
    extra = extra or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*extra, *schema.names])
    for i, row in enumerate(schema.decode(x, samples)):
        writer.writerow([*(column[i] for column in extra.values()), *row])
    atomic_write(path, lambda f: f.write(buffer.getvalue().encode()))


def sample_suffixes(schema: TableSchema | None) -> tuple[str, ...]:
    """What samples can be written as: a picture or an array; a table's, a CSV, JSON
    records (one a line, as made reads them) or an array."""
    return (".png", ".npy") if schema is None else (".csv", ".jsonl", ".npy")


def either(choices: Sequence[str]) -> str:
    """``.csv, .jsonl or .npy``: choices as a sentence names them."""
    return " or ".join([", ".join(choices[:-1]), choices[-1]] if len(choices) > 2 else choices)


def write_jsonl(
    path: str | os.PathLike[str], n: int, produce: Callable[[int, int], list[dict[str, Any]]],
    batch: int,
) -> None:  # fmt: skip
    """Write ``n`` JSON records, one a line, produced ``produce(start, stop)`` a batch at a
    time, atomically."""

    def write(f: io.BufferedIOBase) -> None:
        for start, stop in batches(n, batch):
            f.write("".join(json.dumps(r, ensure_ascii=False) + "\n"
                            for r in produce(start, stop)).encode())  # fmt: skip

    atomic_write(path, write)


# What a table's own rows (made impute's) can be written as
CELL_SUFFIXES = (".csv", ".jsonl")


def write_cells(
    path: str | os.PathLike[str], names: Sequence[str], rows: list[list[str]],
    values: Sequence[Callable[[str], Any] | None],
) -> None:  # fmt: skip
    """A table's text ``rows`` (every column, ``names``) to ``path`` by its suffix
    (``CELL_SUFFIXES``), atomically: a CSV of the cells as they are, or JSON records, one a
    line, each cell written by its column's ``values`` (``TableSchema.json_value``: numbers
    as numbers; None, a column the model does not read: its text, an empty cell null)."""
    path = Path(path)
    if path.suffix == ".jsonl":

        def record(row: list[str]) -> dict[str, Any]:
            return {name: (value(cell) if value is not None else cell or None)
                    for name, value, cell in zip(names, values, row, strict=True)}  # fmt: skip

        write_jsonl(path, len(rows), lambda a, b: [record(r) for r in rows[a:b]], 10_000)
    elif path.suffix == ".csv":
        write_csv(path, names, len(rows), lambda a, b: rows[a:b], 10_000)
    else:
        raise ValueError(f"a table is written as {either(CELL_SUFFIXES)}; got {path.name}")


def write_samples(
    path: str | os.PathLike[str],
    model: MADE,
    n: int,
    generator: torch.Generator,
    *,
    ensemble: int | None = None,
    context: Callable[[int, int], torch.Tensor | None] | None = None,
    schema: TableSchema | None = None,
    groups: OneHotGroups | None = None,
    title: str = "",
) -> None:
    """Draw ``n`` samples into ``path`` by its suffix (``sample_suffixes``): a ``.npy`` of
    categories (a table's codes and standardised values, some of logs; the bits of binary
    columns read as one-hot ``groups``), a table's ``.csv`` in its own units (or ``.jsonl``,
    its rows as JSON records: ``TableSchema.records``), or a ``.png``
    grid of at most ``GRID_SAMPLES``. Samples are drawn a batch at a time from the one
    ``generator``, so memory stays at one batch; ``context(start, stop)`` gives a conditional
    model's context for samples ``start:stop``."""
    path = Path(path)
    if path.suffix not in sample_suffixes(schema):
        raise ValueError(f"samples are written as {either(sample_suffixes(schema))} "
                         f"files; got {path.name}")  # fmt: skip
    if path.suffix == ".png" and n > GRID_SAMPLES:
        raise ValueError(f"a picture shows at most {GRID_SAMPLES} samples; got {n}")

    def draw(start: int, stop: int) -> np.ndarray:
        if schema is not None:  # a table's samples keep its rules (made.data.rules)
            return table_samples(model, schema, stop - start, generator, ensemble=ensemble)
        ctx = None if context is None else context(start, stop)
        ctx = None if ctx is None else ctx.to(model.device)
        drawn = model.sample(stop - start, ctx, generator=generator, ensemble=ensemble)
        return drawn.cpu().numpy() if groups is None else groups.decode(drawn.cpu().numpy(), rng)

    rng = numpy_rng(generator)
    batch = batch_rows(model.num_dims)
    if path.suffix == ".npy":
        dtype = np.float64 if model.has_real else np.int64
        shape = model.input_shape if groups is None else (groups.num_bits,)
        write_npy(path, (n, *shape), dtype, draw, batch)
    elif path.suffix == ".csv":
        assert schema is not None
        write_csv(path, schema.names, n, lambda a, b: schema.decode(draw(a, b), True), batch)
    elif path.suffix == ".jsonl":
        assert schema is not None
        write_jsonl(path, n, lambda a, b: schema.records(draw(a, b), True), batch)
    else:
        save_sample_grid(torch.from_numpy(draw(0, n)), path,
                         num_categories=model.max_categories if groups is None else 2,
                         title=title)  # fmt: skip


def export_data(data: Dataset, path: str | os.PathLike[str]) -> str:
    """Write ``data``: a table to ``.csv`` (every row, in its own order and units), or any
    data set's splits and labels to ``.npz``; returns what was written, in words."""
    path = Path(path)
    if data.schema is not None and path.suffix == ".csv":
        write_table(path, data.schema, data.original["all"])
        return f"{len(data.original['all'])} rows, {len(data.schema.columns)} columns"
    if path.suffix != ".npz":
        tables = " (or .csv for a table)" if data.schema is not None else ""
        raise ValueError(f"data is exported as .npz{tables}; got {path.name}")
    arrays = {s: np.ascontiguousarray(data.splits[s]) for s in ("train", "valid", "test")}
    arrays.update({f"{s}_labels": np.asarray(y) for s, y in data.labels.items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    sizes = ", ".join(f"{s} {len(arrays[s])}" for s in ("train", "valid", "test"))
    return f"{sizes}; shape {tuple(data.shape)}"
