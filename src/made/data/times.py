"""Dates and times in a table's cells: which forms a column's cells are written in, their
values as numbers (days since 1970-01-01, seconds since midnight or since 1970-01-01), and
those numbers written back in the form the file used. One rule for CSV files and
DataFrames (``made.data.table`` types a column with it, ``made.data.columns`` reads arrays
with it); a column's form is saved with its schema, so a file to score is read the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

__all__ = [
    "CLOCK_KINDS",
    "clock_cells",
    "clock_format",
    "clock_kind",
    "clock_seconds",
    "clock_text",
    "clock_wanted",
    "date_days",
    "date_form_of",
    "date_text",
    "date_wanted",
    "dates_or_times",
    "elapsed",
    "form_days",
    "iso_days",
    "known_clock_form",
    "known_date_form",
    "read_dates",
    "stamped",
    "time_text",
]


class Column(Protocol):
    """What is read of a ``made.data.table.Column`` (which imports this module)."""

    date_form: str
    clock: str


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_days(cells: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Text cells (an object array) written ``YYYY-MM-DD`` as float64 days since 1970-01-01,
    and the index of the first that is not such a date (None when all are)."""
    for i, cell in enumerate(cells):
        if not (isinstance(cell, str) and _ISO_DATE.fullmatch(cell)):
            return np.zeros(len(cells)), i
    try:
        return cells.astype("datetime64[D]").astype(np.int64).astype(np.float64), None
    except ValueError:  # 2023-02-30: the shape of a date, not a date
        i = next(i for i, c in enumerate(cells) if not _valid_date(c))
        return np.zeros(len(cells)), i


def date_days(values: np.ndarray, gaps: np.ndarray, form: str = "") -> np.ndarray | None:
    """A column's values written as dates in ``form`` (``date_form_of``; ``""``:
    ``YYYY-MM-DD``, text or dates whose text is so written) as float64 days since
    1970-01-01, NaN at ``gaps``; None unless every value present is such a date."""
    return _read_column(values, gaps, lambda cells: form_days(cells, form))


def read_dates(values: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, str] | None:
    """A column's values as days (``date_days``) and the form they are written in
    (``date_form_of``), or None unless every value present is a date in one form. The one
    rule by which a column is typed a date and its values read."""
    form = date_form_of([str(v) for v in values[~gaps][:FORM_ROWS]])
    if form is None:
        return None
    days = date_days(values, gaps, form)
    return None if days is None else (days, form)


# Dates as spreadsheets write them besides YYYY-MM-DD: 12/31/2019 (month first), 31/12/2019,
# 31.12.2019 or 31-12-2019 (day first), 2019/12/31; a form such as "MM/DD/YYYY" or "D.M.YYYY"
# says which (a single letter: written without a leading zero)
_DAY_MONTH = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
_YEAR_FIRST = re.compile(r"(\d{4})([/.])(\d{1,2})\2(\d{1,2})")
# Cells a column's date form is chosen on (all of them are read in it after)
FORM_ROWS = 10_000


def date_form_of(cells: Sequence[str]) -> str | None:
    """The form a column's text cells write dates in: ``""`` for ``YYYY-MM-DD``, else one
    such as ``MM/DD/YYYY``; None unless every cell is a date in one form. Whether the day or
    the month comes first is read from the cells (a first number above 12 is a day); where
    every number could be either, a ``/`` puts the month first (as in the US, and pandas),
    a ``.`` or ``-`` the day (as in Europe)."""
    if not cells:
        return None
    if all(_ISO_DATE.fullmatch(c) for c in cells):
        return ""
    for pattern, year_first in ((_YEAR_FIRST, True), (_DAY_MONTH, False)):
        if pattern.fullmatch(cells[0]) is None:  # most text columns: decided on one cell
            continue
        found = [pattern.fullmatch(c) for c in cells]
        if any(f is None for f in found):
            continue
        separators = {f[2] for f in found}
        if len(separators) != 1:
            return None
        sep = separators.pop()
        first, second = ([f[3] for f in found], [f[4] for f in found]) if year_first else (
            [f[1] for f in found], [f[3] for f in found])  # fmt: skip
        big = max(int(v) for v in first) > 12, max(int(v) for v in second) > 12
        if big == (True, True):
            return None
        day_first = not year_first and (big[0] or (not big[1] and sep != "/"))
        names = ("D", "M") if day_first else ("M", "D")
        a, b = (n * (2 if all(len(v) == 2 for v in vs) else 1)
                for n, vs in zip(names, (first, second), strict=True))  # fmt: skip
        return f"YYYY{sep}{a}{sep}{b}" if year_first else f"{a}{sep}{b}{sep}YYYY"
    return None


def _form_parts(form: str) -> tuple[str, list[str]]:
    """A date form's separator and its fields (``"/"``, ``["MM", "DD", "YYYY"]``)."""
    sep = next(ch for ch in form if ch not in "YMD")
    return sep, form.split(sep)


def known_date_form(form: str) -> str:
    """``form`` if it is one ``date_form_of`` gives (read from a saved schema), else
    ``ValueError``."""
    if form:
        sep = next((ch for ch in form if ch not in "YMD"), "")
        fields = form.split(sep) if sep in "/.-" and sep else []
        letters = sorted(f[0] for f in fields) if len(fields) == 3 else []
        if (
            letters != ["D", "M", "Y"]
            or any(f not in ("YYYY", "MM", "M", "DD", "D") for f in fields)
            or fields[1][0] == "Y"
        ):
            raise ValueError(f"an unknown date form {form!r}")
    return form


def form_days(cells: np.ndarray, form: str = "") -> tuple[np.ndarray, int | None]:
    """Text cells (an object array) written as dates in ``form`` (``date_form_of``) as
    float64 days since 1970-01-01, and the index of the first that is not such a date (None
    when all are). A day or month may be written with or without its leading zero."""
    if not form:
        return iso_days(cells)
    sep, fields = _form_parts(form)
    iso = np.empty(len(cells), dtype=object)
    for i, cell in enumerate(cells):
        parts = cell.split(sep) if isinstance(cell, str) else []
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            return np.zeros(len(cells)), i
        by = {f[0]: p for f, p in zip(fields, parts, strict=True)}
        if len(by["Y"]) != 4 or not (1 <= len(by["M"]) <= 2 and 1 <= len(by["D"]) <= 2):
            return np.zeros(len(cells)), i
        iso[i] = f"{by['Y']}-{int(by['M']):02d}-{int(by['D']):02d}"
    return iso_days(iso)


def date_wanted(col: Column) -> str:
    """What a cell of a date column must be, for an error: ``a date (MM/DD/YYYY)``."""
    return f"a date ({col.date_form or 'YYYY-MM-DD'})"


def _read_column(
    values: np.ndarray, gaps: np.ndarray,
    read: Callable[[np.ndarray], tuple[np.ndarray, int | None]],
) -> np.ndarray | None:  # fmt: skip
    """A column's values present, as text, read by ``read`` (``iso_days``, ``clock_cells``)
    into float64, NaN at ``gaps``; None unless ``read`` reads every one."""
    numbers, bad = read(np.array([str(v) for v in values[~gaps]], dtype=object))
    if bad is not None:
        return None
    out = np.full(len(values), math.nan)
    out[~gaps] = numbers
    return out


def _valid_date(cell: str) -> bool:
    try:
        np.datetime64(cell, "D")
    except ValueError:
        return False
    return True


def date_text(days: float, form: str = "") -> str:
    """Days since 1970-01-01 as a date in ``form`` (``date_form_of``; ``YYYY-MM-DD``)."""
    iso = str(np.datetime64(int(round(days)), "D"))
    if not form:
        return iso
    year, month, day = iso.split("-")
    by = {"YYYY": year, "MM": month, "M": str(int(month)), "DD": day, "D": str(int(day))}
    sep, fields = _form_parts(form)
    return sep.join(by[f] for f in fields)


# H:MM or H:MM:SS (a point for a colon too, as in 9.12, among times written 9:12), seconds
# with a fraction (09:08:30.125), and 9:12 AM or 9:12pm on a 12-hour clock
_CLOCK = re.compile(r"(\d{1,2})[:.]([0-5]\d)(?:[:.]([0-5]\d)(?:\.(\d{1,9}))?)?(?: ?([AaPp][Mm]))?")
# A date, then a space or a T, then a time: YYYY-MM-DD HH:MM, YYYY-MM-DDTHH:MM:SS, or the
# date in any form ``date_form_of`` reads and the time on a 12-hour clock, as spreadsheets
# export them (1/5/2020 1:45 PM, 05.01.2020 13:45)
_STAMP = re.compile(r"([\d/.-]+?)([ T])(.+)")
# A date and time's time zone, as databases, APIs and pandas write them: Z or UTC, or an
# offset from UTC (+01:00, -0500, +05), after the time or a space
# (a time's form, ``clock_format``, ends in m, s or f, and the zone it was written in)
_ZONE_WRITTEN = r"(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)"
_ZONE = re.compile(r"(.*?[\dMmsf])( ?" + _ZONE_WRITTEN + ")")
_DAY = 86_400
# An elapsed time: hours from 0 up, past 23 too (a race's 27:45:10, a call's 0:03:12), then
# minutes and, if written, seconds with a fraction; a colon between them, no AM or PM
_ELAPSED = re.compile(r"(\d+):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,9}))?)?")
# A form of each kind of time (``clock_format``): what reading a column as times tries, in
# this order (a date with a time in any form ``date_form_of`` reads, its form chosen on the
# cells; elapsed times, as spreadsheets write them with ``[h]:mm:ss``, where a column's
# hours do not all fit a day)
CLOCK_KINDS = ("h:mm", "YYYY-MM-DD hh:mm", "[h]:mm")


def elapsed(form: str) -> bool:
    """Whether a time form (``clock_format``) is of elapsed times (hours past 23 too)."""
    return form.startswith("[h]")


def stamped(form: str) -> bool:
    """Whether a time form (``clock_format``) is of dates with a time."""
    return "YYYY" in form


def _stamp_parts(form: str) -> tuple[str, str, str]:
    """A date-and-time form's date form (``date_form_of``: ``""`` for ``YYYY-MM-DD``), the
    separator and the time's form: ``("M/D/YYYY", " ", "h:mm AM")``."""
    at = min(i for i in (form.find(" "), form.find("T")) if i >= 0)
    date = form[:at]
    return ("" if date == "YYYY-MM-DD" else date), form[at], form[at + 1 :]


def _zone_parts(text: str) -> tuple[str, str]:
    """A time (or a time's form) and its time zone as written (``""``: none)."""
    found = _ZONE.fullmatch(text)
    return (text, "") if found is None else (found[1], found[2])


def _offset(zone: str) -> int:
    """A time zone as written (``_ZONE``) as seconds ahead of UTC (0 for none)."""
    zone = zone.strip()
    if zone in ("", "Z", "UTC", "GMT"):
        return 0
    digits = zone[1:].replace(":", "")
    seconds = 3600 * int(digits[:2]) + 60 * int(digits[2:] or 0)
    return -seconds if zone[0] == "-" else seconds


def _seconds(hour: int, found: re.Match[str]) -> float:
    """Seconds of ``hour`` and a ``_CLOCK`` or ``_ELAPSED`` match's minutes, seconds and
    fraction of a second."""
    whole = 3600 * hour + 60 * int(found[2]) + int(found[3] or 0)
    return whole + float("0." + found[4]) if found[4] else whole


def _elapsed_of(found: re.Match[str] | None) -> float | None:
    """Seconds of an ``_ELAPSED`` match (None: none)."""
    return None if found is None else _seconds(int(found[1]), found)


def _time_of(found: re.Match[str] | None) -> float | None:
    """Seconds since midnight of a ``_CLOCK`` match (None: no time, or an hour past 23)."""
    if found is None:
        return None
    hour = int(found[1])
    if found[5] is not None:  # 12 AM is midnight, 12 PM noon
        hour = hour % 12 + 12 * (found[5].lower() == "pm") if 1 <= hour <= 12 else 24
    return None if hour > 23 else _seconds(hour, found)


def clock_cells(cells: np.ndarray, form: str = "h:mm") -> tuple[np.ndarray, int | None]:
    """Text cells (an object array) written as times in ``form``'s kind (``clock_format``)
    as float64 seconds, and the index of the first that is not such a time (None when all
    are): since midnight for times of day, ``H:MM`` or ``H:MM:SS`` (hours 0 to 23, or 1 to 12
    with ``AM`` or ``PM``; ``9.12`` is 9:12, in a column of text; seconds may have a
    fraction); elapsed, for elapsed times (``elapsed``: the same with any hours, a colon
    between, no AM or PM); since 1970-01-01 for dates with a time, the date in ``form``'s
    date form (or, for ``CLOCK_KINDS``' trial, the one the cells' dates share). A date and
    time with a time zone is read at the wall time of ``form``'s zone (of the cells' first,
    in the trial): so a column in one zone is read as its rows show it, and one whose
    offsets change (a summer time) as the instants they are, in that zone; every cell or
    none has a zone."""
    if not stamped(form):
        pattern, read = (_ELAPSED, _elapsed_of) if elapsed(form) else (_CLOCK, _time_of)
        out = np.zeros(len(cells))
        for i, cell in enumerate(cells):
            seconds = read(pattern.fullmatch(cell) if isinstance(cell, str) else None)
            if seconds is None:
                return np.zeros(len(cells)), i
            out[i] = seconds
        return out, None
    parts = []
    for i, cell in enumerate(cells):  # most columns fail on their first cell
        part = _STAMP.fullmatch(cell) if isinstance(cell, str) else None
        if part is None:
            return np.zeros(len(cells)), i
        parts.append(part)
    dates = [p[1] for p in parts]
    date_form = _stamp_parts(form)[0] if form != CLOCK_KINDS[1] else date_form_of(dates)
    if date_form is None:
        return np.zeros(len(cells)), 0
    days, bad = form_days(np.array(dates, dtype=object), date_form)
    if bad is not None:
        return np.zeros(len(cells)), bad
    zone = _zone_parts(form)[1] if form != CLOCK_KINDS[1] else _zone_parts(parts[0][3])[1]
    out = np.zeros(len(cells))
    for i, p in enumerate(parts):
        time, its = _zone_parts(p[3])
        seconds = _time_of(_CLOCK.fullmatch(time))
        if seconds is None or bool(its) != bool(zone):
            return np.zeros(len(cells)), i
        out[i] = _DAY * days[i] + seconds + _offset(zone) - _offset(its)
    return out, None


def clock_seconds(values: np.ndarray, gaps: np.ndarray, form: str = "h:mm") -> np.ndarray | None:
    """A column's values written as times in ``form``'s kind as float64 seconds, NaN at
    ``gaps``; None unless every value present is such a time. The one rule by which a
    column is typed a time and its values read."""
    return _read_column(values, gaps, lambda cells: clock_cells(cells, form))


def dates_or_times(values: np.ndarray, gaps: np.ndarray) -> bool:
    """Whether every value present is a date, every one a time of day, every one a date
    with a time, or every one an elapsed time (a real column may hold them,
    ``--column-type NAME=real``)."""
    return read_dates(values, gaps) is not None or any(
        clock_seconds(values, gaps, kind) is not None for kind in CLOCK_KINDS
    )


def clock_format(cells: Sequence[str], stamped: bool = False, elapsed: bool = False) -> str:
    """How a column's times are written: ``hh`` where every hour is two digits (``09:30``),
    else ``h`` (``9:30``), ``[h]`` for ``elapsed`` times (hours as many digits as they
    take); ``:ss`` where any cell has seconds, ``.fff`` as many digits as
    the longest fraction of one; `` AM`` (or `` am``) where any cell is on a 12-hour clock;
    ``stamped``, after a date in the cells' form and the separator they use (``YYYY-MM-DD
    hh:mm``, ``YYYY-MM-DDThh:mm:ss``, ``M/D/YYYY h:mm AM``), and before the time zone the
    cells write (``Z``, ``+01:00``; where they write several, the first's: the values are
    read in it, ``clock_cells``)."""
    parts = [_STAMP.fullmatch(c) for c in cells] if stamped else []
    zoned = [_zone_parts(p[3]) for p in parts if p is not None]
    times = [t for t, _ in zoned] if stamped else list(cells)
    found = [(_ELAPSED if elapsed else _CLOCK).fullmatch(c) for c in times]
    two = all(f is not None and len(f[1]) == 2 for f in found)
    hours = "[h]" if elapsed else "hh" if two else "h"
    form = hours + ":mm" + (":ss" if any(f is not None and f[3] for f in found) else "")
    digits = max((len(f[4]) for f in found if f is not None and f[4]), default=0)
    form += "." + "f" * digits if digits else ""
    halves = [] if elapsed else [f[5] for f in found if f is not None and f[5]]
    if halves:  # the case the file writes them in
        form += " AM" if any(h.isupper() for h in halves) else " am"
    if not stamped:
        return form
    sep = "T" if all(p is not None and p[2] == "T" for p in parts) else " "
    date_form = date_form_of([p[1] for p in parts if p is not None]) or "YYYY-MM-DD"
    return date_form + sep + form + (zoned[0][1] if zoned else "")


def clock_text(seconds: float, form: str) -> str:
    """Seconds as a time in ``form`` (``clock_format``): of day, where a sample past the
    day's end is its last second; elapsed, where one below 0 is 0; or a date and a time
    (in the form's time zone)."""
    form, zone = _zone_parts(form)
    digits = form.count("f")
    s, fraction = divmod(int(round(seconds * 10**digits)), 10**digits)
    date = ""
    if stamped(form):
        day, s = divmod(s, _DAY)
        date_form, sep, form = _stamp_parts(form)
        date = date_text(day, date_form) + sep
    elif s < 0:  # drawn below the start: midnight, or no time elapsed
        s, fraction = 0, 0
    elif s >= _DAY and not elapsed(form):  # a time of day past the day's end: its last second
        s, fraction = _DAY - 1, 10**digits - 1
    form, _, half = form.partition(" ")  # "AM" or "am": a 12-hour clock
    hour = s // 3600 if not half else (s // 3600) % 12 or 12
    hours = f"{hour:02d}" if form.startswith("hh") else str(hour)  # [h]: as many as it takes
    suffix = "" if not half else " " + ("AM" if s < _DAY // 2 else "PM")
    return (date + hours + f":{s % 3600 // 60:02d}"
            + (f":{s % 60:02d}" if ":ss" in form else "")
            + (f".{fraction:0{digits}d}" if digits else "")
            + (suffix if half.isupper() else suffix.lower()) + zone)  # fmt: skip


def time_text(col: Column, value: float) -> str:
    """A date or time column's value (days, or seconds) written as the file writes them."""
    return clock_text(value, col.clock) if col.clock else date_text(value, col.date_form)


# A time form as ``clock_format`` writes one (a date form before it checked on its own)
_CLOCK_FORM = re.compile(
    r"(?:([YMD/.-]+)[ T])?hh?:mm(?::ss(?:\.f{1,9})?)?(?: AM| am)?"
    r"(?: ?" + _ZONE_WRITTEN + ")?"
)
# An elapsed time's form: no date, zone or 12-hour clock
_ELAPSED_FORM = re.compile(r"\[h\]:mm(?::ss(?:\.f{1,9})?)?")


def known_clock_form(form: str) -> str:
    """``form`` if it is one ``clock_format`` gives (read from a saved schema), else
    ``ValueError``."""
    if elapsed(form) and _ELAPSED_FORM.fullmatch(form):
        return form
    found = _CLOCK_FORM.fullmatch(form) if form else None
    if form and (found is None or (found[1] is not None and not found[1].count("YYYY"))):
        raise ValueError(f"an unknown time form {form!r}")
    if found is not None and found[1] not in (None, "YYYY-MM-DD"):
        known_date_form(found[1])
    return form


def clock_kind(form: str) -> str:
    """What the run's column types call a time column of ``form``."""
    if elapsed(form):
        return "elapsed time"
    if not stamped(form):
        return "time of day"
    date_form, zone = _stamp_parts(form)[0], _zone_parts(form)[1].strip()
    kind = f"date and time ({date_form} h:mm)" if date_form else "date and time"
    return f"{kind} at UTC{zone if zone[0] in '+-' else ''}" if zone else kind


def clock_wanted(form: str) -> str:
    """What a cell of a time column of ``form`` must be, for an error."""
    if elapsed(form):
        return "an elapsed time (H:MM or H:MM:SS, any hours)"
    if not stamped(form):
        return "a time of day (H:MM)"
    zone = " and a time zone (Z, +01:00)" if _zone_parts(form)[1] else ""
    return f"a date and time ({_stamp_parts(form)[0] or 'YYYY-MM-DD'} HH:MM{zone})"
