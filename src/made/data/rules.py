"""The data's own rules, found in the training rows and kept in samples. A density model puts
a little probability everywhere, so its samples break such rules now and then; samples drawn
through ``keep_rules`` do not. Two kinds:

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

Only categorical columns are searched (of 2 to ``MAX_CATEGORIES`` categories). Rules are found
once, from the training split, and saved with the table's schema; a table of more than
``MAX_COLUMNS`` categorical columns is not searched (the pairs grow as their square).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MAX_ROUNDS",
    "MIN_EVIDENCE",
    "MIN_EXPECTED",
    "Rules",
    "determined",
    "find_rules",
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
# Redraws of the rows that break a rule before the ones still breaking one are kept.
MAX_ROUNDS = 50

Pair = tuple[int, int, int, int]
Dependency = tuple[int, int, tuple[int, ...]]


@dataclass(frozen=True)
class Rules:
    """A table's rules: ``pairs`` ``(a, p, b, q)`` (a's category p never with b's category q)
    and ``dependencies`` ``(a, b, values)`` (a's category p goes with b's category
    ``values[p]`` only; -1 where no training row held p). Columns are the schema's."""

    pairs: tuple[Pair, ...] = ()
    dependencies: tuple[Dependency, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pairs or self.dependencies)

    def violations(self, x: np.ndarray) -> np.ndarray:
        """``(N,)``: whether each encoded row ``(N, D)`` breaks a rule. A cell that is not a
        category of its column (-1: unknown) breaks nothing."""
        x = np.asarray(x)
        bad = np.zeros(len(x), dtype=bool)
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
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": [list(r) for r in self.pairs],
            "dependencies": [[a, b, list(v)] for a, b, v in self.dependencies],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], cardinalities: Sequence[int]) -> Rules:
        """Inverse of ``to_dict`` (a schema saved before dependencies has pairs only), for
        columns of ``cardinalities`` (0: real). ``ValueError`` for a rule that names a column
        or a category the table does not have (read from a file, it would put a code the
        model cannot read into a row)."""
        pairs = tuple(tuple(int(v) for v in r) for r in data.get("rules", ()))
        dependencies = tuple(
            (int(d[0]), int(d[1]), tuple(int(v) for v in d[2]))
            for d in data.get("dependencies", ())
        )
        if any(len(r) != 4 for r in pairs):
            raise ValueError("a pair rule has four numbers")
        columns = [c for r in pairs for c in (r[0], r[2])] + [
            c for d in dependencies for c in d[:2]
        ]
        if any(not 0 <= c < len(cardinalities) for c in columns):
            raise ValueError("a rule names a column the table does not have")
        for a, p, b, q in pairs:
            if not (0 <= p < cardinalities[a] and 0 <= q < cardinalities[b]):
                raise ValueError("a rule names a category its column does not have")
        for a, b, values in dependencies:
            if (min(cardinalities[a], cardinalities[b]) < 2 or len(values) != cardinalities[a]
                    or any(not -1 <= v < cardinalities[b] for v in values)):  # fmt: skip
                raise ValueError("a dependency names a category its column does not have")
        return cls(pairs, dependencies)  # type: ignore[arg-type]


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
    columns = [j for j, k in enumerate(cardinalities) if 2 <= k <= MAX_CATEGORIES]
    n = len(codes)
    if n == 0 or len(columns) > MAX_COLUMNS:
        return Rules()
    ints = {j: np.rint(codes[:, j]).astype(np.int64) for j in columns}
    counts = {j: np.bincount(ints[j], minlength=cardinalities[j]) for j in columns}
    dependencies, candidates = [], []
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:  # one joint table at a time: 64 columns of 100 are 2,016
            ka, kb = cardinalities[a], cardinalities[b]
            joint = np.bincount(ints[a] * kb + ints[b], minlength=ka * kb).reshape(ka, kb)
            for x, y, table in ((a, b, joint), (b, a, joint.T)):
                if (values := _dependency(table, counts[x], counts[y], min_evidence)) is not None:
                    dependencies.append((x, y, values))
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


def keep_rules(rules: Rules, draw: Callable[[int], np.ndarray], n: int) -> np.ndarray:
    """``n`` rows from ``draw(count)``, each that breaks a rule drawn again (up to
    ``MAX_ROUNDS`` times): samples of the model given that no rule is broken."""
    rows = draw(n)
    if not rules:
        return rows
    for _ in range(MAX_ROUNDS):
        bad = np.flatnonzero(rules.violations(rows))
        if not len(bad):
            break
        rows[bad] = draw(len(bad))
    return rows
