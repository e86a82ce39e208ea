"""Parquet and Arrow (Feather) files read as tables, with pyarrow (``pip install
'made[parquet]'``).

A column store holds typed values; made reads a table as text cells and types its columns
itself (``made.data.load``), so that a table types the same from whatever file it comes
in. Each value is therefore read as the text a CSV export of it holds, following the
DataFrame door's rules (``made.data.columns.column_arrays``): a null (or a float's NaN) a
gap, a date a date, a time stamp its wall time (its time zone left out, as a CSV file
shows the hours its rows were written at), a duration its seconds, a record within a
record columns named by their path (``meta.src``, as JSON records are flattened). A column
of lists or maps holds no single value a cell, and is refused, named; so is one of bytes.
"""

from __future__ import annotations

import datetime
import decimal
import math
from pathlib import Path
from typing import Any

from ..errors import brief
from .cell_numbers import read_formatted
from .formats import MAX_TABLE_TEXT, TextTable, has_time, require_file, stamp_text
from .validate import DataError

__all__ = ["ARROW_SUFFIXES", "read_arrow_cells"]

# Parquet, and Arrow's IPC file format (Feather 2) under either of its names
ARROW_SUFFIXES = (".parquet", ".feather", ".arrow")


def read_arrow_cells(path: Path) -> TextTable:
    """A Parquet or Arrow file's table as text cells (``TextTable``, as ``read_csv_cells``
    gives a CSV file's): its column names as the header, each row's line its place among
    the rows (1 for the first)."""
    require_file(path)
    kind = "Parquet" if path.suffix.lower() == ".parquet" else "Arrow"
    try:
        import pyarrow
        import pyarrow.feather
        import pyarrow.ipc
        import pyarrow.parquet
    except ImportError:
        raise DataError(f"{path}: a {kind} file, which made reads with pyarrow: pip install "
                        "'made[parquet]', or save the table as CSV") from None  # fmt: skip
    try:
        return _text_table(_read(path, kind, pyarrow), path, pyarrow)
    except DataError:
        raise
    # damaged bytes; read, a name not UTF-8, a time zone unknown (pytz's error is a
    # KeyError), year 10000, ...
    except (OSError, ValueError, OverflowError, LookupError, pyarrow.ArrowException) as exc:
        what = f"{type(exc).__name__}: " if isinstance(exc, LookupError) else ""  # 'Mars/Base'
        raise DataError(f"{path}: not a readable {kind} file ({what}{brief(exc)})") from None


def _read(path: Path, kind: str, pyarrow: Any) -> Any:
    """The file's ``pyarrow.Table``, refused (``DataError``) past ``MAX_TABLE_TEXT`` bytes of
    values (``_CELL_BYTES`` at least a cell), as a compressed CSV file is past as much text: a
    small crafted file (a column of one value a billion times) would fill the memory. A
    Parquet file's sizes are in its footer, read first; an Arrow file's batches are counted
    as they are read."""
    if kind == "Parquet":
        meta = pyarrow.parquet.ParquetFile(path).metadata
        encoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        _check_size(path, max(encoded, _CELL_BYTES * meta.num_rows * meta.num_columns))
        return pyarrow.parquet.read_table(path)
    try:
        reader = pyarrow.ipc.open_file(pyarrow.memory_map(str(path)))
    except pyarrow.ArrowInvalid:  # Feather's first version, uncompressed
        return pyarrow.feather.read_table(path)
    batches, size = [], 0
    for i in range(reader.num_record_batches):
        batches.append(reader.get_batch(i))
        batch = batches[-1]
        size += max(batch.nbytes, _CELL_BYTES * batch.num_rows * batch.num_columns)
        _check_size(path, size)
    return pyarrow.Table.from_batches(batches, schema=reader.schema)


# A cell counts at least this many bytes: a column of one value a billion times is encoded
# in a few bytes, and read, a billion cells
_CELL_BYTES = 8


def _check_size(path: Path, size: int) -> None:
    if size > MAX_TABLE_TEXT:
        raise DataError(f"{path}: holds more than {MAX_TABLE_TEXT // 2**30} GiB of values; "
                        "made reads a table into memory whole")  # fmt: skip


def _text_table(table: Any, path: Path, pyarrow: Any) -> TextTable:
    """``read_arrow_cells``' table (a ``pyarrow.Table``) as text cells."""
    notes: list[str] = []
    nested = [f.name for f in table.schema if pyarrow.types.is_struct(f.type)]
    while any(pyarrow.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()  # a struct's fields become columns "parent.field"
    if nested:
        notes.append(f"records within records flattened into columns named by their path "
                     f"(those of {', '.join(repr(n) for n in nested[:3])}"
                     f"{', ...' if len(nested) > 3 else ''})")  # fmt: skip
    for field in table.schema:
        t, types = field.type, pyarrow.types
        kinds = (types.is_nested, types.is_binary, types.is_large_binary,
                 types.is_fixed_size_binary)  # fmt: skip
        if any(kind(t) for kind in kinds):
            raise DataError(f"{path}: column {field.name!r} holds {t}, not one number or text "
                            "a cell, as a table's column does: drop it, or give each of its "
                            "values a column of its own")  # fmt: skip
    if table.num_rows == 0:
        raise DataError(f"{path}: the table has no rows")
    names = [str(n) for n in table.column_names]
    columns = [_cells(column.to_pylist()) for column in table.columns]
    rows = [list(row) for row in zip(*columns, strict=True)]
    read_formatted(rows, names, False, (True, True, False, True), notes)
    return TextTable(names, rows, notes, list(range(1, len(rows) + 1)))


def _cells(values: list[Any]) -> list[str]:
    """A column's values as text cells; its time stamps all at midnight as dates, else each
    with its time, to the microsecond where one has a fraction (``stamp_text``)."""
    timed = any(has_time(v) for v in values)
    fraction = timed and any(isinstance(v, datetime.datetime) and v.microsecond for v in values)
    return [_cell(v, timed, fraction) for v in values]


def _cell(value: Any, timed: bool = False, fraction: bool = False) -> str:
    """A column store's value as a table's text cell (``read_arrow_cells``); ``timed`` and
    ``fraction``: its column's (``_cells``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, decimal.Decimal):
        return "" if value.is_nan() else format(value, "f")
    if isinstance(value, datetime.datetime):
        return stamp_text(value, timed, fraction)
    if isinstance(value, datetime.time):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):  # a number of seconds, as a DataFrame's
        seconds = value.total_seconds()
        return str(int(seconds)) if seconds.is_integer() else repr(seconds)
    return str(value).strip()
