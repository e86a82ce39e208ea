"""Numbers as spreadsheets and statistics packages write them in text cells, read as plain
numbers: a currency or percent around them (``$139,750``, ``45%``, ``12,50 €``), thousands
separators (``1,234,567``), decimal commas (``1.234,56`` in a file not delimited by commas),
negatives in parentheses (``(120)``) or with the minus sign (``−5``), placeholders for no
value among them (``.``, ``n.a.``, ``#DIV/0!``), and a line of totals below a table. One
set of rules for a CSV file's cells (``read_formatted``, from ``formats.read_csv_cells``)
and a DataFrame's strings (``unit_numbers``, from ``made.data.columns``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "CURRENCIES",
    "MINUS",
    "is_number",
    "is_placeholder",
    "placeholders",
    "read_formatted",
    "total_label",
    "total_line",
    "unit_numbers",
]

# The label of a spreadsheet's line of totals below its table, in a few languages
_TOTAL = re.compile(r"(grand |sub)?totals?|sum|summe|gesamt|totalt|totaal|somme|suma|yhteensä",
                    re.IGNORECASE)  # fmt: skip


def total_label(row: list[str]) -> int:
    """The column of the first cell of ``row`` labelling it a total (``_TOTAL``), else -1."""
    return next((j for j, c in enumerate(row) if _TOTAL.fullmatch(c)), -1)


def total_line(rows: list[list[str]]) -> bool:
    """Whether the last of ``rows`` is a spreadsheet's line of totals: a cell labels it so
    (``_TOTAL``), and every number in it is the sum of its column above (every cell there
    a number or empty) to the precision it is written with, two columns at least; the
    cells that are not numbers are empty or the label. Such a line is no row of the data:
    read as one, it is an outlier of every column's sum, and a category of its own."""
    if len(rows) < 3 or (label := total_label(rows[-1])) < 0:
        return False
    sums = 0
    for j, cell in enumerate(rows[-1]):
        if j == label or not cell:
            continue
        above = [row[j] for row in rows[:-1]]
        if not is_number(cell) or not all(is_number(c) or not c for c in above):
            return False
        decimals = len(cell.partition(".")[2]) if "e" not in cell.lower() else 6
        total = math.fsum(float(c) for c in above if c)
        if abs(total - float(cell)) > 0.5 * 10.0**-decimals * (1 + 1e-9):
            return False
        sums += 1
    return sums >= 2


def read_formatted(
    rows: list[list[str]], names: list[str] | None, decimal_comma: bool,
    present: tuple[bool, bool, bool, bool], notes: list[str],
) -> None:  # fmt: skip
    """Rewrite, in place, the columns of numbers as spreadsheets format them as plain
    numbers, each rule said in ``notes``: the minus sign (``MINUS``) as a hyphen, negatives
    in parentheses, then units (``$139,750`` is then ``139,750``), then decimal commas
    (``decimal_comma``: a file not delimited by commas) or thousands separators.
    ``present``: whether the file holds parentheses, units, quotes and minus signs below
    its header (most hold none, and skip those scans)."""
    parens, units, quoted, minus = present

    def shown(columns: list[int]) -> str:
        return f"column{'s' * (len(columns) > 1)} " + ", ".join(
            names[j] if names else str(j) for j in columns
        )

    signed = _read_minus_signs(rows, decimal_comma) if minus else []
    if signed:
        notes.append(f"minus signs (U+2212) read as '-' in {shown(signed)}")

    negatives = _read_negatives(rows, decimal_comma) if parens else []
    if negatives:
        notes.append(f"negatives in parentheses read in {shown(negatives)} ((120) as -120)")
    for unit, columns in (_drop_units(rows, decimal_comma) if units else {}).items():
        example = "45% as 45" if unit == "%" else f"{unit}120 as 120"
        notes.append(f"{unit!r} dropped from {shown(columns)}: read as numbers ({example})")
    if decimal_comma:
        converted = _read_decimal_commas(rows)
        if converted:
            notes.append(f"decimal commas read as points in {shown(converted)}")
    elif quoted:  # most files have no quotes, so no comma inside a cell
        grouped = _read_thousands(rows)
        if grouped:
            notes.append(f"thousands separators read in {shown(grouped)}")


# The minus sign (U+2212), which typeset tables, web pages and spreadsheets in some locales
# (Swedish, Norwegian, Finnish) write before a negative number where float reads a hyphen
MINUS = "\u2212"


def _read_minus_signs(rows: list[list[str]], decimal_comma: bool) -> list[int]:
    """Rewrite, in place, the cells of each column of amounts (``_unit_of``) or gaps where
    some begin with ``MINUS`` with a hyphen instead; the columns rewritten. A column of text
    that holds one keeps it as written."""
    columns = []
    for j in range(len(rows[0]) if rows else 0):
        if not any(row[j][:1] == MINUS for row in rows):
            continue
        fixed = [_hyphened(row[j]) for row in rows]
        if all(_unit_of(c, decimal_comma) is not None for c in fixed) and all(
            any(ch.isdigit() for ch in row[j]) for row in rows if row[j][:1] == MINUS
        ):  # amounts or gaps, and every cell with the sign a number
            columns.append(j)
            for row, cell in zip(rows, fixed, strict=True):
                row[j] = cell
    return columns


def _hyphened(cell: str) -> str:
    """``cell`` with a leading ``MINUS`` (before a currency too: ``−$5``) as a hyphen."""
    return "-" + cell[1:] if cell[:1] == MINUS else cell


# A negative amount as accounting formats write it: (120), ($1,200.50), (12,50 €)
_PARENTHESISED = re.compile(r"\(\s*([^()]*\d[^()]*?)\s*\)")


def _read_negatives(rows: list[list[str]], decimal_comma: bool) -> list[int]:
    """Rewrite, in place, the cells of each column of amounts where negatives are written in
    parentheses (``(120)``, ``($1,200)``: accounting formats) with a minus sign (``-120``,
    ``-$1,200``, read by the rules after); the columns rewritten. Every cell of such a column
    is an amount (``_unit_of``; ``decimal_comma``: a file not delimited by commas), in
    parentheses or not, or holds no digit (a gap), and some are not in parentheses (a
    column of ``(1)``, ``(2)`` is labels)."""
    columns = []
    for j in range(len(rows[0]) if rows else 0):
        cells = [row[j] for row in rows]
        found = [_PARENTHESISED.fullmatch(c) for c in cells]
        if not any(found):
            continue
        inner = [f[1].strip() if f is not None else c for f, c in zip(found, cells, strict=True)]
        if all(_unit_of(c, decimal_comma) is not None for c in inner) and any(
            f is None and any(ch.isdigit() for ch in c) for f, c in zip(found, cells, strict=True)
        ):
            columns.append(j)
            for row, f, c in zip(rows, found, inner, strict=True):
                if f is not None:
                    row[j] = "-" + c
    return columns


# What a spreadsheet's formatted cells put around a number: a currency before, a percent after.
CURRENCIES = "$€£¥"
_UNITS = "%" + CURRENCIES


def _unit_of(cell: str, decimal_comma: bool = False) -> str | None:
    """The unit around a number in ``cell`` (``"%"`` for ``45%``, ``"$"`` for ``$120.50``,
    ``-$1,200`` or ``$139,750``: the number may be grouped by thousands, or where
    ``decimal_comma`` written with one, and signed before its currency; ``"€"`` for
    ``12,50 €``), "" for a plain number (grouped too) or a cell without digits (a gap), None
    for anything else."""
    if _amount(cell, decimal_comma) or not any(ch.isdigit() for ch in cell):
        return ""
    if cell.endswith("%") and _amount(cell[:-1], decimal_comma):
        return "%"
    body = cell.removeprefix("-").removeprefix("+")
    if body[:1] in CURRENCIES and _amount(body[1:], decimal_comma):
        return body[0]
    if cell[-1:] in CURRENCIES and _amount(cell[:-1], decimal_comma):  # 12,50 € as written
        return cell[-1]
    return None


def _amount(text: str, decimal_comma: bool) -> bool:
    """Whether ``text`` is a number: plain, grouped by thousands (``1,234.5``) or, where
    ``decimal_comma`` (a file not delimited by commas), written with one (``12,50``)."""
    text = text.strip()
    if decimal_comma:
        return is_number(text) or _european(text)
    return is_number(text) or _THOUSANDS.fullmatch(text) is not None


def _column_unit(cells: Sequence[str], decimal_comma: bool = False) -> str | None:
    """The one unit of a column of text cells (``"%"`` or a currency) when every cell is a
    number with it, a plain number or a gap, and at least one has it; else None."""
    units = {_unit_of(c.strip(), decimal_comma) for c in cells} - {""}
    return units.pop() if len(units) == 1 and None not in units else None


def _without_unit(cell: str, unit: str) -> str:
    """``cell``'s number without ``unit`` (after it for ``%``, before or after it for a
    currency, whose sign stays: ``-$5`` is ``-5``)."""
    cell = cell.strip()
    if unit == "%":
        return cell.removesuffix(unit).strip()
    return cell.replace(unit, "", 1).replace(" ", "")


def unit_numbers(cells: Sequence[Any]) -> np.ndarray | None:
    """Text cells that are numbers written with one unit (``45%``, or ``$120.50``), grouped
    by thousands (``1,234,567``) or with decimal commas (``170,3``, ``1.234,56``, as a
    semicolon file read by ``pandas.read_csv`` without ``decimal=","`` leaves them),
    negatives in parentheses or not (``(120)``), plain numbers among them too, as float64,
    the unit or the commas dropped: the rules a CSV file's column is read by
    (``read_csv_cells``), for a DataFrame's strings. A comma is a decimal one where some
    cell cannot be read as thousands (``170,3``); ``1,234`` alone is a thousand, as
    pandas reads it. None unless every cell is such text and at least one has the unit,
    the commas or the parentheses."""
    if not len(cells) or not all(isinstance(c, str) for c in cells):
        return None
    hyphened = [_hyphened(c.strip()) for c in cells]  # "−5" (U+2212): -5
    minus = hyphened != [c.strip() for c in cells]
    cells = hyphened if minus and all(_unit_of(c) is not None or _european(c.lstrip("-"))
                                      for c in hyphened) else cells  # fmt: skip
    bare = [c.strip(" %" + CURRENCIES).removeprefix("(").removesuffix(")") for c in cells]
    comma = any(_european(c) and not _THOUSANDS.fullmatch(c) for c in bare)
    column = [[c] for c in cells]
    signed = any(c[:1] == "(" for c in cells) and bool(_read_negatives(column, comma))
    cells = [row[0] for row in column]  # accounting's negatives: (120) is -120
    if any(c.rstrip()[-1:] in _UNITS or c.lstrip(" +-")[:1] in CURRENCIES for c in cells):
        unit = _column_unit(cells, comma)
        if unit is None or any(not any(ch.isdigit() for ch in c) for c in cells):
            return None  # a cell without digits: text here (a DataFrame's gaps are NaN or None)
        cells = [_without_unit(c, unit) for c in cells]
    elif not (signed or comma or minus) and not any(_THOUSANDS.fullmatch(c) for c in cells):
        return None  # no unit, no commas: text (the common case, decided without parsing)
    if comma:
        column = [[c] for c in cells]
        if not _read_decimal_commas(column) or not all(is_number(r[0]) for r in column):
            return None
        return np.array([float(r[0]) for r in column])
    if all(_THOUSANDS.fullmatch(c) or is_number(c) for c in cells):
        return np.array([float(c.replace(",", "")) for c in cells])
    return None


def _drop_units(rows: list[list[str]], decimal_comma: bool) -> dict[str, list[int]]:
    """Rewrite, in place, the cells of each column of numbers written with one unit (all
    ``45%``, or all ``$120.50``, gaps and plain numbers allowed) as the numbers alone; the
    columns rewritten, by unit. Text that holds a unit somewhere (``about half``, ``50%``)
    is left as it is."""
    found: dict[str, list[int]] = {}
    for j in range(len(rows[0]) if rows else 0):
        unit = _column_unit([row[j] for row in rows], decimal_comma)
        if unit is not None:
            found.setdefault(unit, []).append(j)
    for unit, columns in found.items():
        for row in rows:
            for j in columns:
                row[j] = _without_unit(row[j], unit)
    return found


# A number written with a decimal comma, as spreadsheets in many locales write it: 5,23.
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
# The same grouped by thousands with points or spaces (1.234,56; 1 234,56, a French
# spreadsheet's space often a no-break one), as those locales write larger numbers; and a
# whole number so grouped (1.234), read so only among decimal commas
_GROUPED_COMMA = re.compile(r"[+-]?\d{1,3}(?:([. \u00a0\u202f])\d{3})(?:\1\d{3})*,\d+")
_GROUPED_WHOLE = re.compile(r"[+-]?\d{1,3}(?:([. \u00a0\u202f])\d{3})(?:\1\d{3})*")
_GROUPS = re.compile(r"[. \u00a0\u202f]")


def _european(cell: str) -> bool:
    """Whether a cell is a number written with a decimal comma, grouped by points or not."""
    return _DECIMAL_COMMA.fullmatch(cell) is not None or _GROUPED_COMMA.fullmatch(cell) is not None


def _read_decimal_commas(rows: list[list[str]]) -> list[int]:
    """Rewrite, in place, the cells of each column whose numbers are written with decimal
    commas (``5,23``, and grouped by points or spaces, ``1.234,56``, ``1 234,56`` or
    ``1.234`` among them) with a point; the columns rewritten (``_columns_written``: text
    such as ``1,3 and 2`` leaves a column as it is). Only for a file not delimited by
    commas, where a comma in a cell cannot be a delimiter."""
    columns = [j for j in _columns_written(rows, _DECIMAL_COMMA, _GROUPED_COMMA, _GROUPED_WHOLE)
               if any("," in row[j] for row in rows)]  # fmt: skip
    for row in rows:
        for j in columns:
            cell = row[j]
            if _european(cell) or _GROUPED_WHOLE.fullmatch(cell):
                row[j] = _GROUPS.sub("", cell).replace(",", ".")
    return columns


def _columns_written(rows: list[list[str]], *patterns: re.Pattern[str]) -> list[int]:
    """The columns with a cell written as one of ``patterns`` and every other so written, a
    number or holding no digit at all (a gap: ``NA``, empty, ``?``): numbers written that
    way."""

    def written(cell: str) -> bool:
        return any(p.fullmatch(cell) for p in patterns)

    columns = []
    for j in range(len(rows[0]) if rows else 0):
        cells = [row[j] for row in rows]
        if any(written(c) for c in cells) and all(
            written(c) or is_number(c) or not any(ch.isdigit() for ch in c) for c in cells
        ):
            columns.append(j)
    return columns


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def _read_thousands(rows: list[list[str]]) -> list[int]:
    """Rewrite, in place, the cells of each column whose numbers are grouped by thousands
    (``1,234,567``, as a spreadsheet exports formatted numbers, quoted) without the commas;
    the columns rewritten (``_columns_written``). Only for a file delimited by commas, where
    a comma inside a number cannot be a decimal one."""
    columns = _columns_written(rows, _THOUSANDS)
    for row in rows:
        for j in columns:
            row[j] = row[j].replace(",", "")
    return columns


# What spreadsheets and statistics packages write for no value in a column of numbers,
# beyond the spellings that are gaps everywhere (``made.data.table.NA_VALUES``): SAS's and
# Stata's ".", a dash, "n.a.", an asterisk, Excel's error values (#DIV/0!, #VALUE!, #REF!).
_PLACEHOLDER = re.compile(r"[.\-\u2013\u2014*_]{1,3}|#[A-Z][A-Z0-9/]{1,6}[!?]?")
_PLACEHOLDER_WORDS = frozenset(("n.a.", "n.a", "na.", "n/a", "n.v.", "missing", "unknown",
                                "not available", "not applicable", "nil", "-nan"))  # fmt: skip


def is_placeholder(cell: str) -> bool:
    """Whether a text cell is a placeholder for no value (``.``, ``-``, ``n.a.``,
    ``#DIV/0!``, ...): a gap in a column whose other cells are numbers (``placeholders``)."""
    text = cell.strip()
    if not text or text[0].isdigit():  # most cells: a number
        return False
    return _PLACEHOLDER.fullmatch(text) is not None or text.lower() in _PLACEHOLDER_WORDS


def placeholders(cells: Sequence[str], numeric: bool = False) -> np.ndarray | None:
    """Where a column's text cells (its gaps left out) are placeholders for no value
    (``is_placeholder``), when every other one is a number and at least one is (or the
    column is known to hold numbers: ``numeric``, a fitted column read again): a column of
    numbers with ``.`` or ``#DIV/0!`` for some, read with gaps there. None otherwise (a
    column of text, or of numbers only)."""
    mask = np.zeros(len(cells), dtype=bool)
    number = False
    for i, cell in enumerate(cells):
        if is_number(cell):
            number = True
        elif is_placeholder(cell):
            mask[i] = True
        else:
            return None
    return mask if (number or numeric) and mask.any() else None


def is_number(cell: str) -> bool:
    """Whether a text cell reads as a number (``nan`` and ``inf`` do; they are refused later
    with their place)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True
