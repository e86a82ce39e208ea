"""The data's own rules, found in the training rows and kept in samples. A density model puts
a little probability everywhere, so its samples break such rules now and then; samples drawn
through ``keep_rules`` do not. Five kinds:

- **pairs**: (column a = value p, column b = value q) is a rule when no training row holds
  both and independence would expect at least ``MIN_EXPECTED`` rows to. A species that lives
  on some islands only, a product never sold in some region.
- **dependencies**: column a determines column b when every training row with a's value p
  holds the same value of b, for every p, and independence would make that improbable: its
  chance, the product over a's values of the chance that all their rows agree by luck, is at
  most ``exp(-MIN_EVIDENCE)``. A car's model determines its manufacturer. The rows of one
  model are few, so no single pair is common enough to be a pair rule (a model of 6 rows and
  a maker of 15 in 234 would be expected together 0.4 times), but together they leave no
  doubt. A value of a that no training row holds is left free.

- **orders**: numeric column a is at most numeric column b on every training row that holds
  both, in the table's own units (a price between its minimum and its maximum, a city's
  mileage at most its highway's, a start before its end, a food's saturated fat at most its
  fat, whole grams held discrete), and independence would make that improbable:
  with ``p`` the share of all (a's value, b's value) pairs that keep it, ``p ** n`` over the
  n rows is at most ``exp(-MIN_ORDER_EVIDENCE)``. Columns whose ranges barely meet keep their
  order without a rule (p near 1), and so do their samples. Checked on the values as they are
  written (``TableSchema.violations``: on their grid, within their bounds); a gap breaks
  none.

- **cuts**: real column a determines categorical column b through cut points: ordered by
  a's value, the training rows holding both fall into a few runs of one category of b each
  (a mother of 35 or more is "mature", a birth before week 37 "premie", a weight under 5.5
  lb "low"), where independence would change category far more often: the chance of at
  most that many changes, with each row's category drawn from b's shares, is at most
  ``exp(-MIN_EVIDENCE)``. One value at the meeting of two runs may hold both categories (a
  weight of exactly 5.5 written either way); between two runs' values either category
  keeps the rule, and beyond the training range the nearest run's does. A category may
  hold two runs (an era between two others), but the runs are at most one more than the
  categories they hold: more is a relation (first-time buyers among lower net worths), not
  a cut.

- **sums**: real column c is real column a plus or minus real column b plus a constant on
  every training row that holds all three, in the table's own units (a total of two
  scores, points for less points against, total sleep the sum of its two kinds, a
  duration from its start and end; or c is a plus a constant alone), over at least
  ``MIN_SUM_ROWS`` rows with ``MIN_SUM_VALUES`` different sums: chance does not keep an
  identity exactly. A continuous conditional never draws the one value the identity
  allows, so a sample is not drawn again: c is set from a and b (``TableSchema.derive``),
  c being the latest column of the three. Each column is set by one sum at most.

Pairs and dependencies are searched among categorical columns (of 2 to ``MAX_CATEGORIES``
categories; a column of up to ``MAX_DETERMINING`` may determine one of those), orders
among numeric ones (real, or categories that are numbers), cuts and
sums among real ones. Rules are found once, from the training split, and
saved with the table's schema; a table of more than ``MAX_COLUMNS`` categorical (or real)
columns is not searched for pairs (or orders, or cuts): they grow as the columns' square.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROUNDS",
    "MIN_EVIDENCE",
    "MIN_EXPECTED",
    "MIN_ORDER_EVIDENCE",
    "Rules",
    "determined",
    "find_cuts",
    "find_orders",
    "find_rules",
    "find_sums",
    "keep_rules",
]

MIN_EXPECTED = 5.0
# A dependency's chance under independence is at most exp(-MIN_EVIDENCE): 2e-9, so that even
# the 4,032 ordered pairs of 64 columns would find one by luck once in a hundred thousand
# tables.
MIN_EVIDENCE = 20.0
# Columns with more categories than this are left out of the search (quadratic in them), and
# a table with more categorical columns than MAX_COLUMNS is not searched at all (quadratic in
# those: 10,000 binary columns would be 50 million pairs).
MAX_CATEGORIES = 100
MAX_COLUMNS = 64
# A column of more categories, up to this many (the most a categorical column holds), may
# still determine one of at most MAX_CATEGORIES: a country its continent (gapminder's 142
# countries), a city its state, a car's model its maker. Its joint table with one such
# column is at most 100,000 counts.
MAX_DETERMINING = 1_000
# Redraws of the rows that break a rule before the ones still breaking one are kept.
MAX_ROUNDS = 50
# A round draws enough rows for the share that kept the rules in the last one (at least
# MIN_KEPT), and at most MAX_DRAW times the rows asked for.
MIN_KEPT = 0.02
MAX_DRAW = 10

# An order's chance under independence is at most exp(-MIN_ORDER_EVIDENCE): 5e-5. Lower than
# a dependency's: a missed order leaves samples that break a law of the data (Cars93's 93
# rows keep a city mileage at most the highway's at exp(-14), which one draw in a hundred of
# a model broke), and columns whose ranges barely meet, which it is there to leave out,
# score near 0 (Cars93: -0.1 to -0.7).
MIN_ORDER_EVIDENCE = 10.0
# Rows an order is first checked on before all of them: most pairs of columns fail there.
FIRST_ROWS = 1_000
# A value may exceed the one it is at most by this share of their size (a float's rounding
# after a log and back), and still keep the order.
ORDER_TOLERANCE = 1e-9
# A cut rule has at most this many runs (a categorical column of bands, cut from a real one,
# has one per band; more runs are chance, or a relation too loose to be a rule).
MAX_RUNS = 12

# A sum holds on at least this many rows, over at least this many different values of its
# terms' sum (three score columns of 0 to 3 over a dozen rows could add up by chance).
MIN_SUM_ROWS = 20
MIN_SUM_VALUES = 10
# A sum's two sides may differ by this share of the terms' size (a float's rounding).
SUM_TOLERANCE = 1e-9
# Rows every triple is first checked on (vectorised over the third column): most fail there.
SUM_FIRST_ROWS = 100

Pair = tuple[int, int, int, int]
Dependency = tuple[int, int, tuple[int, ...]]
Order = tuple[int, int]
# (real column a, categorical column b, each run's first and last value of a, its category)
Cut = tuple[int, int, tuple[float, ...], tuple[float, ...], tuple[int, ...]]
# (real column c, real column a, real column b or -1 for none, the sign of b, a constant):
# c = a + sign * b + constant
Sum = tuple[int, int, int, int, float]


@dataclass(frozen=True)
class Rules:
    """A table's rules: ``pairs`` ``(a, p, b, q)`` (a's category p never with b's category q),
    ``dependencies`` ``(a, b, values)`` (a's category p goes with b's category
    ``values[p]`` only; -1 where no training row held p), ``orders`` ``(a, b)`` (numeric
    column a's value at most b's, in the table's own units) and ``cuts`` ``(a, b, first,
    last, categories)`` (real column a's runs, from ``first[i]`` to ``last[i]`` in its own
    units, each of b's category ``categories[i]``) and ``sums`` ``(c, a, b, sign,
    constant)`` (c = a + sign * b + constant; b -1: c = a + constant). Columns are the
    schema's."""

    pairs: tuple[Pair, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    orders: tuple[Order, ...] = ()
    cuts: tuple[Cut, ...] = ()
    sums: tuple[Sum, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pairs or self.dependencies or self.orders or self.cuts or self.sums)

    def violations(
        self, x: np.ndarray, own_units: Callable[[int], np.ndarray] | None = None
    ) -> np.ndarray:
        """``(N,)``: whether each encoded row ``(N, D)`` breaks a rule. A cell that is not a
        category of its column (-1: unknown) breaks nothing, nor does a gap (NaN) in an
        order's column. ``own_units(j)``: column j's numbers in the table's own units (NaN
        where a cell is no number), which orders and cuts compare (``x[:, j]`` itself when
        None: rows in their own units)."""
        x = np.asarray(x)
        bad = np.zeros(len(x), dtype=bool)
        own = own_units if own_units is not None else (lambda j: x[:, j])
        for a, b in self.orders:
            bad |= broken_order(own(a), own(b))
        for a, b, first, last, categories in self.cuts:
            bad |= broken_cut(own(a), x[:, b], first, last, categories)
        for c, a, b, sign, constant in self.sums:
            bad |= broken_sum(own(c), own(a), own(b) if b >= 0 else None, sign, constant)
        for a, p, b, q in self.pairs:
            bad |= (np.rint(x[:, a]) == p) & (np.rint(x[:, b]) == q)
        for a, b, values in self.dependencies:
            wanted = determined(values, x[:, a])
            found = np.rint(x[:, b]).astype(np.int64)
            bad |= (wanted >= 0) & (found >= 0) & (found != wanted)
        return bad

    def describe(self, names: Sequence[str]) -> str:
        """What the rules say, in a few words (``""`` when there are none)."""
        parts = []
        if self.pairs:
            n = len(self.pairs)
            parts.append(f"{n} pair{'s' if n > 1 else ''} of categories never seen together")
        for a, b, _ in self.dependencies:
            parts.append(f"{names[a]} determines {names[b]}")
        if self.orders:
            shown = ", ".join(f"{names[a]} <= {names[b]}" for a, b in self.orders[:3])
            more = f" and {len(self.orders) - 3} more" if len(self.orders) > 3 else ""
            parts.append(f"orders {shown}{more}")
        for a, b, *_ in self.cuts:
            parts.append(f"{names[b]} by ranges of {names[a]}")
        for c, a, b, sign, constant in self.sums:
            parts.append(sum_text(names, c, a, b, sign, constant))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": [list(r) for r in self.pairs],
            "dependencies": [[a, b, list(v)] for a, b, v in self.dependencies],
            "orders": [list(o) for o in self.orders],
            "cuts": [[a, b, list(f), list(t), list(c)] for a, b, f, t, c in self.cuts],
            "sums": [list(s) for s in self.sums],
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], cardinalities: Sequence[int], numeric: Sequence[bool] = ()
    ) -> Rules:
        """Inverse of ``to_dict`` (a schema saved before dependencies has pairs only, one saved
        before orders none), for columns of ``cardinalities`` (0: real). ``ValueError`` for a
        rule that names a column or a category the table does not have (read from a file, it
        would put a code the model cannot read into a row), or an order between columns that
        are not both numeric (``numeric``: whether each column's values are numbers; real
        columns only where not given)."""
        pairs = tuple(tuple(int(v) for v in r) for r in data.get("rules", ()))
        dependencies = tuple(
            (int(d[0]), int(d[1]), tuple(int(v) for v in d[2]))
            for d in data.get("dependencies", ())
        )
        orders = tuple(tuple(int(v) for v in o) for o in data.get("orders", ()))
        if any(len(r) != 4 for r in pairs):
            raise ValueError("a pair rule has four numbers")
        if any(len(o) != 2 or o[0] == o[1] for o in orders):
            raise ValueError("an order names two columns")
        columns = (
            [c for r in pairs for c in (r[0], r[2])]
            + [c for d in dependencies for c in d[:2]]
            + [c for o in orders for c in o]
        )
        if any(not 0 <= c < len(cardinalities) for c in columns):
            raise ValueError("a rule names a column the table does not have")
        for a, p, b, q in pairs:
            if not (0 <= p < cardinalities[a] and 0 <= q < cardinalities[b]):
                raise ValueError("a rule names a category its column does not have")
        for a, b, values in dependencies:
            if (min(cardinalities[a], cardinalities[b]) < 2 or len(values) != cardinalities[a]
                    or any(not -1 <= v < cardinalities[b] for v in values)):  # fmt: skip
                raise ValueError("a dependency names a category its column does not have")
        numeric = numeric or [k == 0 for k in cardinalities]
        if any(not numeric[c] for o in orders for c in o):
            raise ValueError("an order names a column that is not numeric")
        cuts = tuple(_cut_of(c, cardinalities) for c in data.get("cuts", ()))
        sums = tuple(_sum_of(s, cardinalities) for s in data.get("sums", ()))
        if len({s[0] for s in sums}) < len(sums):
            raise ValueError("a column is set by two sums")
        return cls(pairs, dependencies, orders, cuts, sums)  # type: ignore[arg-type]


def _cut_of(data: Sequence[Any], cardinalities: Sequence[int]) -> Cut:
    """A cut rule read from ``to_dict``'s list; ``ValueError`` where it does not fit."""
    a, b, first, last, categories = data
    a, b = int(a), int(b)
    first, last = tuple(float(v) for v in first), tuple(float(v) for v in last)
    categories = tuple(int(v) for v in categories)
    if not (0 <= a < len(cardinalities) and 0 <= b < len(cardinalities)):
        raise ValueError("a rule names a column the table does not have")
    if cardinalities[a] != 0 or cardinalities[b] < 2:
        raise ValueError("a cut names a column that is not real, or not categorical")
    if not (len(first) == len(last) == len(categories) >= 2) or any(
        not 0 <= c < cardinalities[b] for c in categories
    ):
        raise ValueError("a cut's runs do not fit its columns")
    ends = np.array([v for f, t in zip(first, last, strict=True) for v in (f, t)])
    if not np.all(np.diff(ends) >= 0):
        raise ValueError("a cut's runs are not in order")
    return a, b, first, last, categories


def _sum_of(data: Sequence[Any], cardinalities: Sequence[int]) -> Sum:
    """A sum read from ``to_dict``'s list; ``ValueError`` where it does not fit: its columns
    real and the table's, c after its terms (``TableSchema.derive`` sets it from them)."""
    c, a, b, sign, constant = data
    c, a, b, sign, constant = int(c), int(a), int(b), int(sign), float(constant)
    terms = [a] if b < 0 else [a, b]
    if b < -1 or not all(0 <= j < len(cardinalities) for j in (c, *terms)):
        raise ValueError("a rule names a column the table does not have")
    if any(cardinalities[j] != 0 for j in (c, *terms)) or not all(j < c for j in terms):
        raise ValueError("a sum names a column that is not real, or sets one before its terms")
    if sign not in (-1, 1) or not math.isfinite(constant) or a == b:
        raise ValueError("a sum's sign or constant does not fit")
    return c, a, b, sign, constant


def sum_text(names: Sequence[str], c: int, a: int, b: int, sign: int, constant: float) -> str:
    """A sum as it reads: ``total = verbal + math``, ``end = start + 7``."""
    text = f"{names[c]} = {names[a]}" + (f" {'+-'[sign < 0]} {names[b]}" if b >= 0 else "")
    if constant:
        text += f" {'+-'[constant < 0]} {abs(constant):g}"
    return text


def sum_of(a: np.ndarray, b: np.ndarray | None, sign: int, constant: float) -> np.ndarray:
    """A sum's value from its terms (NaN where one is a gap)."""
    return a + (sign * b if b is not None else 0.0) + constant


def broken_sum(
    c: np.ndarray, a: np.ndarray, b: np.ndarray | None, sign: int, constant: float
) -> np.ndarray:
    """Where ``c`` is not ``a + sign * b + constant`` beyond a float's rounding
    (``SUM_TOLERANCE``); a gap (NaN) in any of them breaks nothing."""
    size = np.abs(a) + np.abs(c) + (np.abs(b) if b is not None else 0.0) + abs(constant)
    with np.errstate(invalid="ignore"):
        return np.abs(c - sum_of(a, b, sign, constant)) > SUM_TOLERANCE * size


def find_sums(values: dict[int, np.ndarray]) -> tuple[Sum, ...]:
    """The sums ``(c, a, b, sign, constant)`` that the training rows' real columns
    ``values`` (column -> ``(N,)`` values in the table's own units, NaN at a gap) keep
    exactly: c the latest column of the three, each c once (its first sum, by a then b),
    over ``MIN_SUM_ROWS`` rows and ``MIN_SUM_VALUES`` different values of the terms. None
    among more than ``MAX_COLUMNS`` columns (the search grows as their cube)."""
    if len(values) > MAX_COLUMNS or not values:
        return ()
    columns = sorted(values)
    head = np.column_stack([values[j][:SUM_FIRST_ROWS] for j in columns])  # most fail here
    found: dict[int, Sum] = {}
    for a in columns:  # c = a + b, a - b and b - a; c = a + constant (b -1)
        for b in [-1, *(j for j in columns if j != a)]:
            for sign in (1, -1) if b > a else (-1,) if b >= 0 else (1,):
                vb = values[b] if b >= 0 else None
                cut = SUM_FIRST_ROWS
                later = [k for k, c in enumerate(columns) if c > max(a, b) and c not in found]
                if not later:
                    continue
                terms = sum_of(values[a][:cut], None if vb is None else vb[:cut], sign, 0.0)
                with np.errstate(invalid="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # a column of gaps here
                    residual = head[:, later] - terms[:, None]
                    spread = np.nanmax(residual, axis=0) - np.nanmin(residual, axis=0)
                    scale = np.nanmax(np.abs(head[:, later]), axis=0) + np.nanmax(np.abs(terms))
                for k in np.flatnonzero(spread <= 4 * SUM_TOLERANCE * scale):
                    c = columns[later[k]]
                    kept = _kept_sum(values[c], sum_of(values[a], vb, sign, 0.0), values[a], vb)
                    if kept is not None:
                        found[c] = (c, a, b, sign, kept)
    return tuple(found[c] for c in sorted(found))


def _kept_sum(
    c: np.ndarray, terms: np.ndarray, a: np.ndarray, b: np.ndarray | None
) -> float | None:
    """The constant ``c - terms`` is on every row holding both, if it is one (within
    ``SUM_TOLERANCE`` of the values' size), over enough rows and values; else None."""
    both = ~(np.isnan(c) | np.isnan(terms))
    residual = (c - terms)[both]
    if len(residual) < MIN_SUM_ROWS or len(np.unique(terms[both])) < MIN_SUM_VALUES:
        return None
    constant = float(np.median(residual))
    size = np.abs(c[both]) + np.abs(a[both]) + (np.abs(b[both]) if b is not None else 0.0)
    if np.any(np.abs(residual - constant) > SUM_TOLERANCE * (size + abs(constant))):
        return None
    whole = round(constant, 9)  # 0, not 8.9e-16 (a float's rounding in the file's values)
    return whole if abs(whole - constant) <= SUM_TOLERANCE * (1 + abs(constant)) else constant


def broken_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where value ``a`` exceeds ``b`` beyond a float's rounding (``ORDER_TOLERANCE``); a
    NaN (a gap) on either side breaks nothing."""
    with np.errstate(invalid="ignore"):
        return a - b > ORDER_TOLERANCE * np.maximum(np.abs(a), np.abs(b))


def broken_cut(
    values: np.ndarray,
    codes: np.ndarray,
    first: Sequence[float],
    last: Sequence[float],
    categories: Sequence[int],
) -> np.ndarray:
    """Where a row's category ``codes`` is not one a cut allows at its ``values`` (the real
    column's, in its own units): its run's; at a value two runs share, either's; between
    two runs, either's; beyond the ends, the nearest run's. A gap (NaN) or a code that is no
    category (-1) breaks nothing."""
    lo, hi = np.asarray(first), np.asarray(last)
    cat = np.asarray(categories, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        q = np.rint(np.nan_to_num(codes, nan=-1.0)).astype(np.int64)
    present = ~np.isnan(values) & (q >= 0)
    x = np.where(present, values, lo[0])
    i = np.clip(np.searchsorted(lo, x, side="right") - 1, 0, len(lo) - 1)  # last run begun
    ok = q == cat[i]
    inside = x <= hi[i]
    previous = np.maximum(i - 1, 0)  # a value shared with the run before
    ok |= inside & (i > 0) & (x == hi[previous]) & (q == cat[previous])
    after = np.minimum(i + 1, len(lo) - 1)  # between this run and the next
    ok |= ~inside & (i + 1 < len(lo)) & (q == cat[after])
    return present & ~ok


def determined(values: tuple[int, ...], codes: np.ndarray) -> np.ndarray:
    """The category of b a dependency's ``values`` give for each of a's ``codes``, as int64;
    -1 where it gives none (a value no training row held, or a code outside a's categories:
    an unknown or missing cell)."""
    table = np.asarray(values, dtype=np.int64)
    with np.errstate(invalid="ignore"):  # a gap's NaN: outside, so -1
        ints = np.rint(np.nan_to_num(codes, nan=-1.0)).astype(np.int64)
    known = (ints >= 0) & (ints < len(table))
    return np.where(known, table[np.clip(ints, 0, max(len(table) - 1, 0))], -1)


def find_rules(
    cardinalities: tuple[int, ...],
    codes: np.ndarray,
    min_expected: float = MIN_EXPECTED,
    min_evidence: float = MIN_EVIDENCE,
) -> Rules:
    """The rules ``codes`` ``(N, D)`` (the training rows; real columns ignored) keep: pairs
    independence would expect ``min_expected`` rows or more to hold, and dependencies whose
    chance under independence is at most ``exp(-min_evidence)``. A pair a dependency implies
    is not listed again."""
    columns = [j for j, k in enumerate(cardinalities) if 2 <= k <= MAX_DETERMINING]
    n = len(codes)
    if n == 0 or len(columns) > MAX_COLUMNS:
        return Rules()
    ints = {j: np.rint(codes[:, j]).astype(np.int64) for j in columns}
    counts = {j: np.bincount(ints[j], minlength=cardinalities[j]) for j in columns}
    dependencies, candidates = [], []
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:  # one joint table at a time: 64 columns of 100 are 2,016
            ka, kb = cardinalities[a], cardinalities[b]
            if min(ka, kb) > MAX_CATEGORIES:
                continue  # neither is few enough to be determined
            joint = np.bincount(ints[a] * kb + ints[b], minlength=ka * kb).reshape(ka, kb)
            for x, y, table in ((a, b, joint), (b, a, joint.T)):
                if cardinalities[y] > MAX_CATEGORIES:
                    continue
                if (values := _dependency(table, counts[x], counts[y], min_evidence)) is not None:
                    dependencies.append((x, y, values))
            if max(ka, kb) > MAX_CATEGORIES:
                continue  # pairs among few categories only
            expected = np.outer(counts[a], counts[b]) / n
            for p, q in zip(*np.nonzero((joint == 0) & (expected >= min_expected)), strict=True):
                candidates.append((a, int(p), b, int(q)))
    lookups = {(a, b): np.asarray(v) for a, b, v in dependencies}
    pairs = tuple(r for r in candidates if not _implied(lookups, *r))
    return Rules(pairs, tuple(sorted(dependencies)))


def _dependency(
    joint: np.ndarray, count_a: np.ndarray, count_b: np.ndarray, min_evidence: float
) -> tuple[int, ...] | None:
    """a's value -> b's value (-1 for a value no row holds) when the ``(Ka, Kb)`` counts
    ``joint`` show a determining b beyond chance, else None."""
    held = count_a > 0
    if ((joint > 0).sum(axis=1)[held] != 1).any() or (count_b > 0).sum() < 2:
        return None
    share = count_b[count_b > 0] / count_b.sum()
    # chance that the rows of each value of a all hold one value of b, independently of a
    log_chance = sum(np.log((share ** int(k)).sum()) for k in count_a[held] if k > 1)
    if log_chance > -min_evidence:
        return None
    return tuple(int(v) if h else -1 for v, h in zip(joint.argmax(axis=1), held, strict=True))


def _implied(lookups: dict[tuple[int, int], np.ndarray], a: int, p: int, b: int, q: int) -> bool:
    """Whether a dependency between a and b (``lookups[a, b]``: its ``values``) already
    forbids a = p with b = q."""
    forward, backward = lookups.get((a, b)), lookups.get((b, a))
    return bool(
        (forward is not None and forward[p] >= 0 and forward[p] != q)
        or (backward is not None and backward[q] >= 0 and backward[q] != p)
    )


def find_orders(
    values: dict[int, np.ndarray], min_evidence: float = MIN_ORDER_EVIDENCE
) -> tuple[Order, ...]:
    """The orders ``(a, b)`` that the training rows' numeric columns ``values`` (column ->
    ``(N,)`` values in the table's own units, NaN at a gap) keep beyond chance: a at most b
    on every row holding both, below it on one at least (equal columns are no order to
    keep), and ``p ** n <= exp(-min_evidence)``, ``p`` the share of all pairs of a's and b's
    values that keep it. None among more than ``MAX_COLUMNS`` columns."""
    if len(values) > MAX_COLUMNS:
        return ()
    held = {j: np.sort(v[~np.isnan(v)]) for j, v in values.items()}
    found = []
    for a, va in values.items():
        for b, vb in values.items():
            if a == b:
                continue
            first = slice(0, FIRST_ROWS)  # most pairs fail on these: the rest is not read
            if broken_order(va[first], vb[first]).any() or broken_order(va, vb).any():
                continue
            both = ~(np.isnan(va) | np.isnan(vb))
            n = int(both.sum())
            if n == 0 or not (va[both] < vb[both]).any():
                continue
            xa, xb = held[a], held[b]  # the share of pairs of values with a's at most b's
            p = np.searchsorted(xa, xb, side="right").sum() / (len(xa) * len(xb))
            if p < 1 and n * np.log(p) <= -min_evidence:
                found.append((a, b))
    return tuple(found)


def find_cuts(
    values: dict[int, np.ndarray],
    codes: np.ndarray,
    cardinalities: tuple[int, ...],
    min_evidence: float = MIN_EVIDENCE,
) -> tuple[Cut, ...]:
    """The cut rules (module's docstring) between the training rows' real columns ``values``
    (column -> ``(N,)`` values in the table's own units, NaN at a gap) and the categorical
    columns of ``codes`` ``(N, D)`` (of 2 to ``MAX_CATEGORIES`` categories); none among more
    than ``MAX_COLUMNS`` of either."""
    columns = [j for j, k in enumerate(cardinalities) if 2 <= k <= MAX_CATEGORIES]
    if not columns or len(columns) > MAX_COLUMNS or len(values) > MAX_COLUMNS:
        return ()
    found = []
    for a, va in values.items():
        order = np.argsort(va, kind="stable")
        order = order[~np.isnan(va[order])]
        x = va[order]
        for b in columns:
            q = np.rint(codes[order, b]).astype(np.int64)
            if (cut := _cut(x, q, cardinalities[b], min_evidence)) is not None:
                found.append((a, b, *cut))
    return tuple(found)


def _cut(
    x: np.ndarray, q: np.ndarray, k: int, min_evidence: float
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[int, ...]] | None:
    """The runs ``(first, last, categories)`` of categories ``q`` along values ``x`` (sorted)
    when they are a cut rule, else None."""
    # most pairs fail here: between two different values a cut changes category at most
    # twice a run (into and out of a value two runs share), and more changes than
    # 3 * MAX_RUNS would fail the count of events below anyway
    if len(x) < 2 or ((q[1:] != q[:-1]) & (x[1:] != x[:-1])).sum() > 3 * MAX_RUNS:
        return None
    order = np.lexsort((q, x))
    x, q = x[order], q[order]
    keep = np.r_[True, (x[1:] != x[:-1]) | (q[1:] != q[:-1])]  # distinct (value, category)
    px, pq = x[keep], q[keep]
    new = np.r_[True, px[1:] != px[:-1]]  # each distinct value's first pair
    starts = np.flatnonzero(new)
    sizes = np.diff(np.r_[starts, len(px)])
    if sizes.max() > 2:
        return None  # three categories at one value
    gx, ga, gb = px[starts], pq[starts], pq[starts + sizes - 1]  # a value's categories
    event = np.r_[True, (ga[1:] != ga[:-1]) | (gb[1:] != gb[:-1])]
    events = np.flatnonzero(event)
    if len(events) > 3 * MAX_RUNS or ga[0] != gb[0]:
        return None
    c = int(ga[0])
    first, last, categories = [float(gx[0])], [], [c]
    for e in events[1:]:
        a, b = int(ga[e]), int(gb[e])
        if a == b:  # one category: the run goes on, or a new one begins here
            if a != c:
                last.append(float(gx[e - 1]))
                first.append(float(gx[e]))
                categories.append(a)
                c = a
            continue
        # two categories at one value: where the current run meets the next, once
        if c not in (a, b) or (e + 1 < len(gx) and not event[e + 1]):
            return None
        c = b if c == a else a
        last.append(float(gx[e]))
        first.append(float(gx[e]))
        categories.append(c)
    last.append(float(gx[-1]))
    if not 2 <= len(categories) <= min(len(set(categories)) + 1, MAX_RUNS):
        return None  # more runs than bands: a relation, not a cut
    share = np.bincount(q, minlength=k) / len(q)
    change = 1.0 - float((share**2).sum())  # a change between two rows, by chance
    steps, runs = len(q) - 1, len(categories) - 1
    # log P(at most ``runs`` changes in ``steps`` rows), binomial, bounded by its largest
    # term times the number of terms
    log_chance = max(
        math.lgamma(steps + 1) - math.lgamma(j + 1) - math.lgamma(steps - j + 1)
        + j * math.log(change) + (steps - j) * math.log1p(-change)
        for j in range(runs + 1)
    ) + math.log(runs + 1)  # fmt: skip
    if log_chance > -min_evidence:
        return None
    return tuple(first), tuple(last), tuple(categories)


def keep_rules(
    breaks: Callable[[np.ndarray], np.ndarray], draw: Callable[[int], np.ndarray], n: int
) -> np.ndarray:
    """``n`` rows from ``draw(count)``, each where ``breaks(rows)`` says it breaks a rule
    (``TableSchema.violations``) drawn again (up to ``MAX_ROUNDS`` times): samples of the
    model given that no rule is broken."""
    rows = draw(n)
    bad = np.flatnonzero(breaks(rows))
    kept = 1.0 - len(bad) / max(n, 1)  # the share of draws that keep every rule
    for _ in range(MAX_ROUNDS):
        if not len(bad):
            break
        # as many draws as should give a keeper for each row still to fill (a draw costs a
        # pass per column, whatever its rows: one round of enough beats many of few), each
        # slot taking the next draw that keeps the rules: every one a sample of the model
        # given them, as a draw repeated until it keeps them is
        count = min(math.ceil(1.2 * len(bad) / max(kept, MIN_KEPT)) + 8, MAX_DRAW * max(n, 1))
        fresh = draw(count)
        good = np.flatnonzero(~breaks(fresh))
        kept = len(good) / count
        take = good[: len(bad)]
        rows[bad[: len(take)]] = fresh[take]
        bad = bad[len(take) :]
    return rows
