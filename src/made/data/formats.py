"""Readers for the file formats data arrives in. Each returns raw arrays (no binarisation, no
validation) or raises ``DataError`` naming the file and what is wrong with it."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import math
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..config import LIMITS
from ..errors import brief
from .cell_numbers import (
    CURRENCIES,
    MINUS,
    is_number,
    is_placeholder,
    read_formatted,
    total_label,
    total_line,
)
from .safe_pickle import safe_load_pickle
from .table import NA_VALUES
from .validate import DataError

__all__ = [
    "read_amat",
    "read_csv",
    "TextTable",
    "read_csv_cells",
    "read_idx",
    "read_npy",
    "read_npz",
    "read_png_folder",
    "read_shapes_pickle",
    "SPLIT_KEYS",
    "DELIMITERS",
    "EXCEL_SUFFIXES",
    "JSON_SUFFIXES",
    "TABLE_SUFFIXES",
    "is_json_file",
    "is_table_file",
    "read_excel_cells",
    "read_json_cells",
    "require_file",
    "has_time",
    "stamp_text",
]

# Key spellings understood in .npz files, per split.
SPLIT_KEYS = {
    "train": ("train", "train_data", "x_train"),
    "valid": ("valid", "valid_data", "validation", "val", "x_valid"),
    "test": ("test", "test_data", "x_test"),
}
LABEL_KEYS = {
    "train": ("train_labels", "y_train"),
    "valid": ("valid_labels", "y_valid"),
    "test": ("test_labels", "y_test"),
}


def require_file(path: Path) -> None:
    """``DataError`` unless ``path`` is a file: what every reader checks first."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")


def read_npy(path: Path) -> np.ndarray:
    """A ``.npy`` array, memory-mapped (read-only) so large files are not read at once."""
    require_file(path)
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None


def memory_limit() -> int:
    """Bytes an array read from a file may take: half of this machine's memory (a file's
    header can claim any size; a compressed file can expand a thousandfold)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 << 30


def _check_declared(path: Path, what: str, shape: tuple[int, ...], itemsize: int) -> None:
    """Refuse an array whose declared size exceeds ``memory_limit()``, before reading it."""
    size = math.prod(shape) * itemsize
    if size > memory_limit():
        raise DataError(
            f"{path}: {what} declares shape {shape}, {size / 2**30:,.1f} GiB, more than half "
            "of this machine's memory; made refuses it before reading it"
        )


def _check_npz_members(path: Path) -> None:
    """Each array's declared size in a ``.npz``, from its header, before it is expanded."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)  # fmt: skip
                shape, _, dtype = read(f)
            _check_declared(path, f"array {info.filename!r}", tuple(shape), dtype.itemsize)


def read_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(splits, labels)`` from a ``.npz``: split keys as in ``SPLIT_KEYS`` (labels as in
    ``LABEL_KEYS``), or one array under any name, returned as ``{"all": array}``. Each
    array's declared size is checked before it is expanded (``memory_limit``)."""
    require_file(path)
    try:
        _check_npz_members(path)
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except DataError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if not arrays:
        raise DataError(f"{path}: the archive holds no arrays")
    splits, labels = {}, {}
    for split, keys in SPLIT_KEYS.items():
        found = [k for k in keys if k in arrays]
        if found:
            splits[split] = arrays[found[0]]
        found = [k for k in LABEL_KEYS[split] if k in arrays]
        if found:
            labels[split] = arrays[found[0]]
    if not splits:
        if len(arrays) != 1:
            raise DataError(
                f"{path}: holds {sorted(arrays)}; expected keys train/valid/test (or "
                "train_data/valid_data/test_data), or a single array to split"
            )
        splits = {"all": next(iter(arrays.values()))}
    elif "train" not in splits:
        raise DataError(f"{path}: has {sorted(splits)} splits but no train split")
    return splits, labels


DELIMITERS = (",", ";", "\t", "|")
# An image is one example of this many dimensions at most (checked from its header, before
# its pixels are decoded).
MAX_PIXELS = LIMITS["num_dims"]


# The delimiter of a table whose columns are separated by runs of spaces (as statistics
# packages write them): tried after ``DELIMITERS``, read with the spaces run together.
SPACES = " "


# The line Excel writes above a table (and reads) to name its delimiter: "sep=;"
_SEP_HINT = re.compile(r"sep=(.)")


def _detect_delimiter(lines: list[str]) -> str:
    """The first of ``DELIMITERS``, then ``SPACES``, that splits the first lines into one
    width of at least two columns; a comma when none does (a one-column file)."""
    sample = [line for line in lines[:50] if line.strip()]
    for delimiter in (*DELIMITERS, SPACES):
        widths = {len(row) for row in _cells(sample, delimiter)}
        if len(widths) == 1 and min(widths) >= 2:
            return delimiter
    return ","


def _cells(lines: Iterable[str], delimiter: str) -> Iterator[list[str]]:
    """``csv.reader`` over ``lines``; columns separated by spaces (``SPACES``) take a run of
    them as one separator, and a line's leading and trailing spaces as none."""
    if delimiter == SPACES:
        return csv.reader((line.strip() for line in lines), delimiter=" ",
                          skipinitialspace=True)  # fmt: skip
    return csv.reader(lines, delimiter=delimiter)


def _unquoted(names: list[str]) -> list[str]:
    """Column names each written in single quotes (``'GPA'``, as some statistics packages
    write a header), without them; other names as they are."""
    if all(len(n) >= 2 and n[0] == n[-1] == "'" for n in names):
        return [n[1:-1] for n in names]
    return names


def _looks_like_header(first: list[str], rows: list[list[str]]) -> bool:
    """A numeric first line that is more likely column names than data: at least two strictly
    increasing integers (column numbers, years), one of them outside the range of the values
    below it in its column."""
    if len(first) < 2 or not rows:
        return False
    try:
        values = [float(c) for c in first]
    except ValueError:
        return False
    if any(v != round(v) for v in values) or any(
        b <= a for a, b in zip(values, values[1:], strict=False)
    ):
        return False
    below = rows[:1000]
    for j, v in enumerate(values):
        try:
            column = [float(r[j]) for r in below if j < len(r)]
        except ValueError:
            return False
        if column and not min(column) <= v <= max(column):
            return True
    return False


# Files read as text tables (their delimiter detected, ``read_csv_cells``), and compressed
# so (``data.csv.gz``, as databases and R's ``write.csv`` to a gzfile export them)
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".dat")
# Tables of JSON records: one object a line (JSON Lines, as logs and APIs write them), or a
# file holding one list of them (``read_json_cells``)
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# A compressed table is read into memory whole: past this much text it is refused, before a
# small crafted file (a gzip of zeros: 1 MB that is 1 GB) fills the memory.
MAX_TABLE_TEXT = 2**30


def _unpacked_suffix(path: Path) -> str:
    """``path``'s suffix once a compression's is taken off (``.gz``, ``.bz2``, ``.xz``, or
    ``.zip`` holding one file): ``.csv`` for ``data.CSV.gz``; ``""`` for none."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] in (*_OPENERS, ".zip"):
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def is_table_file(path: Path) -> bool:
    """Whether ``path`` is named as a text table (``TABLE_SUFFIXES``) or a table of JSON
    records (``is_json_file``), compressed or not."""
    return _unpacked_suffix(path) in (*TABLE_SUFFIXES, *JSON_SUFFIXES)


def is_json_file(path: Path) -> bool:
    """Whether ``path`` is named as a table of JSON records (``JSON_SUFFIXES``), compressed
    or not."""
    return _unpacked_suffix(path) in JSON_SUFFIXES


def read_json_cells(path: Path) -> TextTable:
    """A table of JSON records as text cells, as ``read_csv_cells`` gives a CSV file's: one
    object a line (blank lines skipped), or one list of objects (a record's line is then its
    place in the list). The names are the records' keys in the order they first appear; a key a
    record lacks, or a null, is a gap (an empty cell); true and false are text, numbers
    written as JSON writes them. A record within a record (``{"meta": {"src": "web"}}``, as
    APIs write them) is flattened into columns named by its path (``meta.src``, as
    ``pandas.json_normalize`` names them). A record that is not an object, or a value that is
    a list, is refused naming its line."""
    require_file(path)
    data = _table_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text, which JSON is") from None
    del data
    records: list[tuple[int, Any]] = []  # (the line, or the list's place), the record
    i = 0
    try:
        if text.lstrip().startswith("["):  # one list of records
            records = list(enumerate(json.loads(text), start=1))
        else:
            for i, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    records.append((i, json.loads(line)))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {i or exc.lineno} is not JSON ({exc.msg})") from None
    except RecursionError:  # [[[[...: nested past what any table holds
        raise DataError(f"{path}: line {i or 1} nests values too deep for a table") from None
    names: dict[str, None] = {}
    flat: list[dict[str, Any]] = []
    nested = False
    for i, record in records:
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {i} is {type(record).__name__}, not a record "
                            "(an object of named values)")  # fmt: skip
        values = _flattened(record, path, i)
        nested = nested or any(isinstance(v, dict) and v for v in record.values())
        for key in values:
            names.setdefault(key, None)
        flat.append(values)
    if not records:
        raise DataError(f"{path}: the file has no records")
    header = list(names)
    rows = [[_json_text(record.get(name)) for name in header] for record in flat]
    notes: list[str] = []
    if nested:
        inner = [n for n in header if "." in n]
        notes.append(f"records within records flattened into {len(inner)} column"
                     f"{'s' * (len(inner) != 1)} named by their path ({', '.join(inner[:3])}"
                     f"{', ...' if len(inner) > 3 else ''})")  # fmt: skip
    read_formatted(rows, header, False, (True, True, False, True), notes)
    return TextTable(header, rows, notes, [i for i, _ in records])


def _flattened(record: dict[Any, Any], path: Path, line: int) -> dict[str, Any]:
    """A JSON record's values by their path (``meta.src`` for ``{"meta": {"src": ...}}``),
    walked without recursion (a crafted file may nest deep); a list, or a path a record
    names twice (``{"a.b": 1, "a": {"b": 2}}``), is refused naming the line."""
    out: dict[str, Any] = {}
    stack = [("", iter(record.items()))]  # depth first, in the record's own order
    while stack:
        prefix, items = stack[-1]
        for key, inner in items:
            name = f"{prefix}{key}"
            if isinstance(inner, dict) and inner:
                stack.append((f"{name}.", iter(inner.items())))
                break
            if isinstance(inner, list):
                raise DataError(f"{path}: line {line}, {name} holds a list; made reads one "
                                "value a column")  # fmt: skip
            if name in out:
                raise DataError(f"{path}: line {line} names {name} twice (a key with a dot, "
                                "and a record within the record)")  # fmt: skip
            out[name] = None if isinstance(inner, dict) else inner  # {}: a gap
        else:
            stack.pop()
    return out


# Excel workbooks read with openpyxl (``pip install 'made[excel]'``): the first sheet
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def read_excel_cells(path: Path, na_values: Iterable[str] = NA_VALUES) -> TextTable:
    """An Excel workbook's first sheet as text cells, as ``read_csv_cells`` gives a CSV
    file's: the values its cells hold (a formula's last result), a first row of text as the
    header, blank rows (above the table, between its rows, past its end) and columns past
    its end left out, and what ``_table_body`` leaves out of a CSV file's (a last row of
    totals, notes below), numbers to 15 significant digits (0.1 + 0.2 is 0.3, as Excel shows
    it), dates as ``YYYY-MM-DD`` (and a time, where one is not midnight), an empty cell a
    gap; each row's line is its row number in the sheet. ``na_values``: the spellings of a
    gap (never a line of units)."""
    require_file(path)
    try:
        import openpyxl
    except ImportError:
        raise DataError(f"{path}: an Excel workbook, which made reads with openpyxl: pip "
                        "install 'made[excel]', or save the sheet as CSV") from None  # fmt: skip
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            values = list(sheet.iter_rows(values_only=True))
            sheets = [ws.title for ws in book.worksheets]
        finally:
            book.close()
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable Excel workbook ({brief(exc)})") from None
    timed = _timed_columns(values)
    rows = [[_excel_text(v, j in timed) for j, v in enumerate(row)] for row in values]
    del values
    at = [i + 1 for i, r in enumerate(rows) if any(r)]  # blank rows skipped, as blank lines
    rows = [r for r in rows if any(r)]
    width = max((max((j + 1 for j, c in enumerate(r) if c), default=0) for r in rows), default=0)
    rows = [r[:width] + [""] * (width - len(r)) for r in rows]
    if not rows or not width:
        raise DataError(f"{path}: its first sheet ({sheets[0]!r}) is empty")
    notes = [f"sheet {sheets[0]!r} read, the first of {len(sheets)}"] if len(sheets) > 1 else []
    rows, at = _without_title(rows, at, notes)
    names = None
    if all(c and not is_number(c) for c in rows[0]):
        names, rows, at = rows[0], rows[1:], at[1:]
    if not rows:
        raise DataError(f"{path}: a header but no data rows")
    return _table_body(path, TextTable(names, rows, notes, at), width, False,
                       (True, True, False, True), na_values)  # fmt: skip


def _timed_columns(rows: list[tuple[Any, ...]]) -> set[int]:
    """The columns of a sheet's ``rows`` holding a date with a time other than midnight
    (``has_time``), whose every date ``stamp_text`` writes with its time."""
    return {j for row in rows for j, v in enumerate(row) if has_time(v)}


def has_time(value: Any) -> bool:
    """Whether ``value`` is a date with a time other than midnight: a column holding one
    is written a time stamp a cell (``stamp_text``), in a sheet and a column store alike."""
    import datetime

    return isinstance(value, datetime.datetime) and value.time() != datetime.time()


def stamp_text(value: Any, timed: bool, fraction: bool) -> str:
    """A date with a time (``datetime.datetime``) as a table's text cell: the date alone in
    a column of midnights, else with its time (``timed``: ``has_time`` holds for one of its
    column), ``2020-01-02 00:00:00`` among ``2020-01-01 08:00:00`` (a date alone among them
    made the column no column of time stamps, and its every row different, an identifier,
    left out); ``fraction``: with microseconds. Its time zone, if any, is left out: the wall
    time, as a CSV file shows it."""
    if not timed:
        return value.date().isoformat()
    return value.replace(tzinfo=None).isoformat(" ", "microseconds" if fraction else "seconds")


def _excel_text(value: Any, timed: bool = False) -> str:
    """An Excel cell's value as a table's text cell (``read_excel_cells``); ``timed``: its
    column holds times of day other than midnight (``_timed_columns``)."""
    import datetime

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".15g")
    if isinstance(value, datetime.datetime):
        return stamp_text(value, timed, bool(value.microsecond))
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


def _json_text(value: Any) -> str:
    """A JSON value as a table's text cell: a gap for null, ``true``/``false``, numbers as
    JSON writes them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _table_bytes(path: Path) -> bytes:
    """A text table's bytes, decompressed where its name says (``.gz``, ``.bz2``, ``.xz``, or
    a ``.zip`` of one file, as a download of a table is often packed)."""
    suffix = path.suffix.lower()
    opener = _OPENERS.get(suffix)
    try:
        if suffix == ".zip":
            data = _zipped_table(path)
        elif opener is None:
            with open(path, "rb") as f:
                return f.read()
        else:
            with opener(path, "rb") as f:
                data = f.read(MAX_TABLE_TEXT + 1)
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable CSV file ({brief(exc)})") from None
    if len(data) > MAX_TABLE_TEXT:
        raise DataError(f"{path}: decompresses to more than {MAX_TABLE_TEXT // 2**30} GiB of "
                        "text; made reads a table into memory whole")  # fmt: skip
    return data


def _zipped_table(path: Path) -> bytes:
    """The one file in a zip (a folder's entries, and macOS's ``__MACOSX``, left aside), read
    up to ``MAX_TABLE_TEXT`` and a byte."""
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.infolist()
                   if not m.is_dir() and not m.filename.startswith("__MACOSX/")]  # fmt: skip
        if len(members) != 1:
            raise DataError(f"{path}: a zip of {len(members)} files; made reads a zip holding "
                            "one table (unpack it and give the table's file)")  # fmt: skip
        with archive.open(members[0]) as f:
            return f.read(MAX_TABLE_TEXT + 1)


class TextTable(NamedTuple):
    """A text table's cells as ``read_csv_cells`` reads them: the header (None: the file has
    none), the rows of stripped text cells, what was detected (``notes``), and each row's
    line in the file (a row starts there; blank lines, comments above the table and a
    quoted cell's line breaks are why it is not the row's place among the rows), the line
    every error about a row names."""

    names: list[str] | None
    rows: list[list[str]]
    notes: list[str]
    lines: list[int]


def read_csv_cells(
    path: Path, delimiter: str | None = None, header: str = "auto",
    na_values: Iterable[str] = NA_VALUES,
) -> TextTable:  # fmt: skip
    """A CSV file as stripped text cells (``TextTable``), blank lines skipped, and so are the
    comment lines starting with ``#`` above the table (a source or a licence, as data exports
    write them), but the last when it has the table's width: that is its header, as written
    (``#,name,type``: a column named ``#``; ``#CHROM,POS``).

    A file named ``.gz``, ``.bz2`` or ``.xz`` is decompressed (``TABLE_SUFFIXES``). A UTF-8
    byte-order mark (as spreadsheets write it) is dropped. ``delimiter`` None detects
    one among ``DELIMITERS``, then ``SPACES``. ``header``: ``"yes"``, ``"no"``, or
    ``"auto"``: a first row that is not all numbers is the header, and a numeric one that
    looks like a header is refused as ambiguous. Every row must have the header's width.
    ``na_values``: the spellings of a gap (never a line of units below the header).
    ``notes`` says what was detected.
    """
    require_file(path)
    notes = []
    try:
        data = _table_bytes(path)
    except OSError as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    try:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode text": UTF-16, a BOM
            text = data.decode("utf-16")
            notes.append('UTF-16 text (as Excel saves "Unicode text") read')
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:  # a spreadsheet's export on Windows: its own code page
        text = data.decode("cp1252", errors="replace")
        notes.append("not UTF-8: read as Windows-1252 text (what spreadsheets on Windows write)")
    del data
    # scans in C, below the header ("Share (%)", "Weight (kg)"): most files have none
    body = text.find("\n") + 1
    units = any(text.find(unit, body) >= 0 for unit in ("%", *CURRENCIES))
    parens = text.find("(", body) >= 0
    minus = text.find(MINUS, body) >= 0
    quoted = '"' in text  # in a comma file, a comma inside a cell needs quotes
    # lines with their ends, split at line breaks alone: a quoted cell may hold one (a
    # survey's comment over two lines), which csv then keeps in the cell
    lines = io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")).readlines()
    del text
    hint = _SEP_HINT.fullmatch(lines[0].rstrip("\n")) if lines else None
    if hint is not None:  # Excel's first line naming the delimiter: "sep=;"
        lines = lines[1:]
        delimiter = delimiter or hint[1]
        notes.append(f"delimiter {hint[1]!r} named by the file's first line (sep={hint[1]})")
    comments = next((i for i, line in enumerate(lines) if not line.lstrip().startswith("#")),
                    len(lines))  # fmt: skip
    above, lines = lines[:comments], lines[comments:]
    try:
        detected = delimiter is None
        if delimiter is None:
            delimiter = _detect_delimiter(lines)
        if above and lines:  # the last line above with the table's width is its header
            width = len(next(_cells(lines[:1], delimiter)))
            if width >= 2 and len(next(_cells(above[-1:], delimiter))) == width:
                lines.insert(0, above[-1])  # as written: '#' may be a column's name
                comments -= 1
        if comments:
            notes.append(f"{comments} comment line{'s' * (comments > 1)} (#) above the table "
                         "skipped")  # fmt: skip
        comments += hint is not None  # lines above the table, for the lines errors name
        if detected and delimiter == SPACES:
            notes.append("columns separated by spaces detected (set a delimiter with "
                         "{flag:delimiter})")  # fmt: skip
        elif detected and delimiter != ",":
            notes.append(f"delimiter {delimiter!r} detected (set one with {{flag:delimiter}})")
        rows, at = _rows_and_lines(_cells(lines, delimiter), comments)
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({brief(exc)})") from None
    del lines
    if not rows:
        raise DataError(f"{path}: the file has no rows")
    rows, at = _without_title(rows, at, notes) if header == "auto" else (rows, at)
    names = None
    numeric = all(is_number(c) for c in rows[0])
    if header == "auto" and numeric and _looks_like_header(rows[0], rows[1:]):
        shown = ", ".join(rows[0][:6]) + (", ..." if len(rows[0]) > 6 else "")
        raise DataError(
            f"{path}: the first line ({shown}) is numbers that look like column names; say "
            "which it is with {flag:header} yes or {flag:header} no"
        )
    if header == "yes" or (header == "auto" and not numeric):
        names, rows, at = _unquoted(rows[0]), rows[1:], at[1:]
        if not rows:
            raise DataError(f"{path}: a header but no data rows")
    width = len(names) if names is not None else len(rows[0])
    return _table_body(path, TextTable(names, rows, notes, at), width, delimiter != ",",
                       (parens, units, quoted, minus), na_values)  # fmt: skip


def _table_body(
    path: Path, table: TextTable, width: int, decimal_comma: bool,
    present: tuple[bool, bool, bool, bool], na_values: Iterable[str] = NA_VALUES,
) -> TextTable:  # fmt: skip
    """The rows below the header, a CSV file's and a sheet's alike: a line of units (not
    the spellings of a gap, ``na_values``) and notes below the table left out, each row
    ``width`` cells wide, empty columns without a name left out, numbers as spreadsheets
    format them read (``read_formatted``; its ``decimal_comma`` and ``present``), and a
    last line of totals left out, each said in the notes."""
    names, rows, notes, at = table
    if names is not None:
        rows, at = _without_units(names, rows, at, notes, na_values)
        rows, at = _without_footnotes(rows, at, width, notes)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}: line {at[i]} has {len(row)} columns, expected {width}")
    if names is not None and "" in names:  # a spreadsheet's trailing commas: ",,"
        names, rows = _without_empty_columns(names, rows, notes)
    read_formatted(rows, names, decimal_comma, present, notes)
    if total_line(rows):
        notes.append(f"the last line (line {at[-1]}, {rows[-1][total_label(rows[-1])]!r}) "
                     "holds the totals of the rows above: left out")  # fmt: skip
        rows, at = rows[:-1], at[:-1]
    return TextTable(names, rows, notes, at)


def _without_title(
    rows: list[list[str]], at: list[int], notes: list[str]
) -> tuple[list[list[str]], list[int]]:
    """``rows`` (and their lines ``at``) without a title written above the header, as a
    report laid out in a spreadsheet has one ("Sales report 2021" in its first cell, the
    rest of the line empty), said in ``notes``: read as the header, it left every column
    unnamed and the header a row of text. A first row whose one cell, its first, is text,
    above a row of names (two or more, none empty, none a number) as wide as the row below
    them."""
    if len(rows) < 3 or not rows[0][0] or is_number(rows[0][0]) or any(rows[0][1:]):
        return rows, at
    names = rows[1]
    if (
        len(names) < 2
        or len(rows[2]) != len(names)
        or not all(c and not is_number(c) for c in names)
    ):
        return rows, at
    notes.append(f"the first line ({rows[0][0]!r}) is a title above the header: skipped")
    return rows[1:], at[1:]


def _without_units(
    names: list[str], rows: list[list[str]], at: list[int], notes: list[str],
    na_values: Iterable[str] = NA_VALUES,
) -> tuple[list[list[str]], list[int]]:  # fmt: skip
    """``rows`` (and their lines ``at``) without a row of units below the header
    (``region,units,revenue`` over ``,count,USD``), said in ``notes``: read as a row, its
    text made every column of numbers text (an identifier). The first row, when it holds
    no number and words (not a placeholder for a gap, nor one of ``na_values``) in a column
    whose every other cell is a number or empty."""
    if len(rows) < 3 or any(is_number(c) for c in rows[0]):
        return rows, at
    numeric = [j for j in range(len(names)) if all(
        len(r) == len(names) and (not r[j] or is_number(r[j])) for r in rows[1:]
    )]  # fmt: skip
    gaps = set(na_values)
    words = [j for j in numeric if j < len(rows[0]) and _unit_word(rows[0][j], gaps)]
    if not words:
        return rows, at
    shown = ", ".join(f"{names[j]} {rows[0][j]!r}" for j in words)
    notes.append(f"line {at[0]} holds units below the header ({shown}): skipped")
    return rows[1:], at[1:]


def _unit_word(cell: str, gaps: set[str]) -> bool:
    """Whether ``cell`` names a unit (``USD``, ``kg``, ``%``, ``mm Hg``): not empty, not a
    placeholder for a gap (``.``, ``n.a.``), not one of the missing-value spellings
    (``gaps``)."""
    return bool(cell) and not is_placeholder(cell) and cell not in gaps


def _without_footnotes(
    rows: list[list[str]], at: list[int], width: int, notes: list[str]
) -> tuple[list[list[str]], list[int]]:
    """``rows`` (and their lines ``at``) without the notes a table's exporter writes below
    it ("Source: company records, 2021"), said in ``notes``: read as rows they were a
    category of their own with gaps everywhere else, or refused for their width. The last
    rows of a table of two columns or more whose first cell is words (``_words``) and whose
    other cells are empty, or which are not ``width`` cells wide (a comma in the note) where
    a blank line sets them apart from the table; a last row with only its first cell, a
    name, a time or a category, is a row with gaps, and one row of the table is kept."""
    if width < 2:
        return rows, at
    held = Counter(row[0] for row in rows)  # a note's words are on its row alone
    start = len(rows)
    while start > 1 and _words(rows[start - 1][0], held) and (
        not any(rows[start - 1][1:]) or len(rows[start - 1]) != width
    ):  # fmt: skip
        start -= 1
    block = rows[start:]
    apart = start < len(rows) and at[start] > at[start - 1] + 1  # a blank line above
    if not block or not (apart or all(not any(r[1:]) for r in block)):
        return rows, at
    shown = ", ".join(c for c in block[0] if c)
    notes.append(f"{len(block)} note{'s' * (len(block) > 1)} below the table skipped (line "
                 f"{at[start]}: {shown!r})")  # fmt: skip
    return rows[:start], at[:start]


def _words(cell: str, held: Counter[str]) -> bool:
    """Whether ``cell`` reads as a note's words: three words or more (of two letters or
    more: not a time, ``3:25 PM``, nor a place, ``New York``), on no other row of its
    column (``held`` counts its values)."""
    return len(_WORD.findall(cell)) >= 3 and held[cell] == 1


_WORD = re.compile(r"[^\W\d_]{2,}")


def _rows_and_lines(reader: Any, above: int) -> tuple[list[list[str]], list[int]]:
    """The rows of ``reader`` (a ``csv.reader``) as stripped cells, blank ones skipped, and
    the line each starts on in the file, ``above`` lines above the first it reads."""
    rows, at, end = [], [], 0
    for row in reader:
        start, end = end + 1, reader.line_num  # a quoted cell may run over several lines
        cells = [c.strip() for c in row]
        if any(cells):
            rows.append(cells)
            at.append(above + start)
    return rows, at


def _without_empty_columns(
    names: list[str], rows: list[list[str]], notes: list[str]
) -> tuple[list[str], list[list[str]]]:
    """The header and rows without the columns that have no name and no cell (a sheet
    exported with trailing commas), said in ``notes``."""
    empty = {j for j, n in enumerate(names) if not n and not any(row[j] for row in rows)}
    if not empty:
        return names, rows
    notes.append(f"{len(empty)} empty column{'s' * (len(empty) > 1)} without a name left out")
    names = [n for j, n in enumerate(names) if j not in empty]
    return names, [[c for j, c in enumerate(row) if j not in empty] for row in rows]


def read_csv(
    path: Path, delimiter: str | None = None, header: str = "auto"
) -> tuple[np.ndarray, list[str] | None, list[int]]:
    """``(values, header, lines)`` of a CSV of integer columns; the header row is optional,
    ``lines`` each row's line in the file (see ``read_csv_cells``)."""
    header, rows, _, lines = read_csv_cells(path, delimiter, header)
    values = np.empty((len(rows), len(rows[0])), dtype=np.float64)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            try:
                values[i, j] = float(cell)
            except ValueError:
                name = header[j] if header else f"column {j}"
                raise DataError(
                    f"{path}: line {lines[i]}, {name} is {cell!r}; expected an integer"
                ) from None
    return values, header, lines


def _grey(im: Any) -> tuple[np.ndarray, bool, bool]:
    """An image's grey levels 0..255, whether they came from its alpha channel, and whether
    it had colour (that made reads as grey: it models one channel). An image whose colour is
    one constant and whose picture is all in its transparency (a shape drawn on a
    transparent canvas) is read from its alpha channel, where converting the colour to grey
    would give a blank image. A 16-bit image is read on its own scale, 0..65535 (Pillow's
    conversion to 8 bits would clip every level above 255 to white)."""
    if im.mode.startswith("I;16") or im.mode == "I":
        levels = np.clip(np.asarray(im, dtype=np.int64), 0, 65535)
        return np.rint(levels / 257).astype(np.uint8), False, False
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"))
        colour, alpha = rgba[..., :3].reshape(-1, 3), rgba[..., 3]
        if (colour == colour[0]).all() and alpha.min() != alpha.max():
            return np.ascontiguousarray(alpha, dtype=np.uint8), True, False
    coloured = False
    if im.mode not in ("1", "L", "LA", "I", "F") and not im.mode.startswith("I;"):
        rgb = np.asarray(im.convert("RGB"))
        coloured = bool((rgb[..., 0] != rgb[..., 1]).any() or (rgb[..., 1] != rgb[..., 2]).any())
    return np.asarray(im.convert("L"), dtype=np.uint8), False, coloured


# Images a folder is read for (any case: IMG_001.JPG), as Pillow decodes them; a lossy
# JPEG's grey levels are what it decodes to (thresholded, its artefacts mostly vanish)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _images_in(folder: Path) -> list[Path]:
    """The image files (``IMAGE_SUFFIXES``) directly in ``folder``, sorted by name."""
    return sorted(f for f in folder.iterdir()
                  if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())  # fmt: skip


def read_png_folder(path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str], list[str]]:
    """``(images (N, 1, H, W) uint8 grey levels, labels or None, class names, notes)``.

    Images (PNG, or any of ``IMAGE_SUFFIXES``) directly in ``path`` are unlabelled; images
    in sub-folders are labelled by sub-folder (class names sorted). All images must have
    one size. Images with constant colour and a varying alpha channel are read from the
    alpha channel (and ``notes`` says how many).
    """
    from PIL import Image, UnidentifiedImageError

    if not path.is_dir():
        raise DataError(f"{path}: no such folder")
    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and _images_in(p))
    if subdirs:
        files = [(f, i) for i, d in enumerate(subdirs) for f in _images_in(d)]
        classes = [d.name for d in subdirs]
    else:
        files = [(f, -1) for f in _images_in(path)]
        classes = []
    if not files:
        raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder or "
                        "its sub-folders")  # fmt: skip
    images, from_alpha, coloured = [], 0, 0
    for f, _ in files:
        try:
            with Image.open(f) as im:  # reads the header only: the size is known, not decoded
                if im.width * im.height > MAX_PIXELS:
                    raise DataError(
                        f"{f}: an image of {im.width:,} x {im.height:,} pixels; made models "
                        f"images of at most {MAX_PIXELS:,} pixels"
                    )
                grey, alpha, colour = _grey(im)
            images.append(grey)
            from_alpha += alpha
            coloured += colour
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
            raise DataError(f"{f}: not a readable image ({brief(exc)})") from None
        if images[-1].shape != images[0].shape:
            raise DataError(
                f"{f}: image is {images[-1].shape[1]}x{images[-1].shape[0]} pixels, expected "
                f"{images[0].shape[1]}x{images[0].shape[0]} like {files[0][0].name}"
            )
    labels = np.array([label for _, label in files], dtype=np.int64) if classes else None
    notes = []
    if from_alpha:
        notes.append(
            f"{from_alpha} of {len(files)} images read from their alpha channel (their colour "
            "is constant; the picture is in the transparency)"
        )
    if coloured:
        notes.append(f"{coloured} of {len(files)} images in colour, read as grey levels (made "
                     "models one channel)")  # fmt: skip
    return np.stack(images)[:, None], labels, classes, notes


def read_amat(path: Path) -> np.ndarray:
    """Larochelle's ``.amat`` text format: one example per line, space-separated values."""
    require_file(path)
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable .amat file ({exc})") from None
    if not rows:
        raise DataError(f"{path}: the file has no rows")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}: line {i + 1} has {len(row)} values, expected {width}")
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"{path}: non-numeric value ({exc})") from None


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST family's format), gzipped or not."""
    require_file(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
                raise DataError(f"{path}: not an IDX file (bad magic number)")
            dims = f.read(4 * magic[3])
            if len(dims) < 4 * magic[3]:
                raise DataError(f"{path}: truncated IDX header")
            shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(magic[3]))
            dtype = np.dtype(_IDX_TYPES[magic[2]])
            expected = math.prod(shape) * dtype.itemsize
            _check_declared(path, "the IDX header", shape, dtype.itemsize)
            body = f.read(expected + 1)  # never more than the header declares, and one byte
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: not a readable IDX file ({brief(exc)})") from None
    if len(body) != expected:
        shown = f"{len(body)}" if len(body) <= expected else f"more than {expected}"
        raise DataError(f"{path}: IDX body has {shown} bytes, expected {expected} for {shape}")
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def read_shapes_pickle(path: Path) -> dict[str, np.ndarray]:
    """The original Shapes pickle: ``{'train': (N, 20, 20, 1) uint8, 'test': ...}``, read with
    the restricted unpickler and binarised at > 127.5; returned as ``(N, 1, 20, 20)``."""
    require_file(path)
    data = safe_load_pickle(path)
    if not isinstance(data, dict) or not {"train", "test"} <= set(data):
        raise DataError(f"{path}: expected a dict with 'train' and 'test' arrays")
    out = {}
    for split in ("train", "test"):
        x = data[split]
        if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[-1] != 1:
            got = getattr(x, "shape", type(x).__name__)
            raise DataError(f"{path}: '{split}' must be an array (N, H, W, 1); got {got}")
        out[split] = (np.transpose(x, (0, 3, 1, 2)) > 127.5).astype(np.uint8)
    return out
