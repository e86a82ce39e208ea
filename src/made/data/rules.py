"""The data's own rules: pairs of categories that never occur together in the training rows,
although each is common enough that chance would have put them together. A species that
lives on some islands only, a product never sold in some region: a density model puts a
little probability everywhere, so its samples break such rules now and then; samples drawn
through ``keep_rules`` do not.

A pair (column a = value p, column b = value q) is a rule when no training row holds both
and independence would expect at least ``MIN_EXPECTED`` rows to. Rules are found once, from
the training split, and saved with the table's schema; a table of more than 64 categorical
columns is not searched (the pairs grow as their square).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["MAX_ROUNDS", "MIN_EXPECTED", "find_rules", "keep_rules", "violations"]

MIN_EXPECTED = 5.0
# Columns with more categories than this are left out of the search (quadratic in them), and
# a table with more categorical columns than MAX_COLUMNS is not searched at all (quadratic in
# those: 10,000 binary columns would be 50 million pairs).
MAX_CATEGORIES = 100
MAX_COLUMNS = 64
# Redraws of the rows that break a rule before the ones still breaking one are kept.
MAX_ROUNDS = 50


def find_rules(
    cardinalities: tuple[int, ...], codes: np.ndarray, min_expected: float = MIN_EXPECTED
) -> tuple[tuple[int, int, int, int], ...]:
    """``(a, p, b, q)``: column a's category p never occurs with column b's category q in
    ``codes`` ``(N, D)`` (the training rows; real columns ignored), though independence
    would expect ``min_expected`` rows or more to hold both."""
    columns = [j for j, k in enumerate(cardinalities) if 2 <= k <= MAX_CATEGORIES]
    n = len(codes)
    rules = []
    if n == 0 or len(columns) > MAX_COLUMNS:
        return ()
    ints = {j: np.rint(codes[:, j]).astype(np.int64) for j in columns}
    counts = {j: np.bincount(ints[j], minlength=cardinalities[j]) for j in columns}
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            ka, kb = cardinalities[a], cardinalities[b]
            joint = np.bincount(ints[a] * kb + ints[b], minlength=ka * kb).reshape(ka, kb)
            expected = np.outer(counts[a], counts[b]) / n
            for p, q in zip(*np.nonzero((joint == 0) & (expected >= min_expected)), strict=True):
                rules.append((a, int(p), b, int(q)))
    return tuple(rules)


def violations(rules: tuple[tuple[int, int, int, int], ...], x: np.ndarray) -> np.ndarray:
    """``(N,)``: whether each encoded row breaks a rule."""
    x = np.asarray(x)
    bad = np.zeros(len(x), dtype=bool)
    for a, p, b, q in rules:
        bad |= (np.rint(x[:, a]) == p) & (np.rint(x[:, b]) == q)
    return bad


def keep_rules(
    rules: tuple[tuple[int, int, int, int], ...], draw: Callable[[int], np.ndarray], n: int
) -> np.ndarray:
    """``n`` rows from ``draw(count)``, each that breaks a rule drawn again (up to
    ``MAX_ROUNDS`` times): samples of the model given that no rule is broken."""
    rows = draw(n)
    if not rules:
        return rows
    for _ in range(MAX_ROUNDS):
        bad = np.flatnonzero(violations(rules, rows))
        if not len(bad):
            break
        rows[bad] = draw(len(bad))
    return rows
