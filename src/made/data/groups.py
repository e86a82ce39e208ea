"""One-hot groups: binary columns that are one variable, modelled as one category.

A binary table is often categories written as bits: a one-hot code (a person's education as
16 columns of which one is 1), or a code with one value as all zeros (a nucleotide as 3 bits,
T as 000). A MADE over the bits spends its units learning that two of a group are never 1
together, and an ordering that is not the columns' own splits the group apart. Read as one
categorical variable, the same rows need none of that: on one-hot tables the categorical
model scores the same rows better held out, in a fraction of the time (benchmarks/README.md,
"One-hot groups").

``find_groups`` looks for runs of neighbouring columns in which no training (or validation)
row holds two 1s though independence would expect many to: each column joins the run before
it when ``rows(run) x rows(column) / N``, the rows independence would expect to hold both,
is at least ``MIN_EVIDENCE`` (the chance of none is then at most ``exp(-MIN_EVIDENCE)``,
3e-7, a pair). Each group of ``w`` columns becomes one variable of ``w + 2`` categories:
which column is 1, "none" (every column 0) and "other" (two or more 1s, which the rows it was
found on never hold). So every binary row keeps a probability, and the density over the
bits is exact: a group's "other" category is spread evenly over its ``2**w - w - 1``
patterns of two or more 1s (``log_other``, read from a row's codes), which its score adds,
and a sample that draws "other" draws one of those patterns evenly (``decode``). Columns in
no group stay binary variables, in place, so the variables keep the columns' order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["MAX_CELLS", "MIN_EVIDENCE", "OneHotGroups", "find_groups", "numpy_rng"]

# A column joins the run of columns before it when independence would expect at least this
# many rows to hold a 1 in both: no row holding both then has a chance of exp(-15) = 3e-7,
# so even the 783 neighbouring pairs of an image's 784 pixels would find a group by luck
# once in four thousand data sets (and an image's neighbouring pixels go together: none do).
MIN_EVIDENCE = 15.0
# The search holds the training rows as booleans in memory: at most this many cells (128 MiB;
# binarized MNIST's 50,000 x 784 rows are 39 million). Larger data is read bit by bit.
MAX_CELLS = 2**27


@dataclass(frozen=True)
class OneHotGroups:
    """How ``num_bits`` binary columns are read as variables: ``spans``, the ``(start,
    stop)`` columns of each group (two or more neighbouring columns, in order); every column
    in no span is a binary variable of its own."""

    num_bits: int
    spans: tuple[tuple[int, int], ...]

    @property
    def variables(self) -> list[tuple[int, int]]:
        """Each variable's ``(start, stop)`` columns, in the columns' order (a lone column:
        ``(j, j + 1)``)."""
        out, j = [], 0
        for start, stop in self.spans:
            out.extend((k, k + 1) for k in range(j, start))
            out.append((start, stop))
            j = stop
        out.extend((k, k + 1) for k in range(j, self.num_bits))
        return out

    @property
    def cardinalities(self) -> tuple[int, ...]:
        """Each variable's categories: a group of ``w`` columns ``w + 2`` (which column is 1,
        none, other), a lone column 2."""
        return tuple(2 if b - a == 1 else b - a + 2 for a, b in self.variables)

    @property
    def num_variables(self) -> int:
        return self.num_bits - sum(b - a - 1 for a, b in self.spans)

    def encode(self, bits: np.ndarray) -> np.ndarray:
        """``(N, num_bits)`` rows of 0/1 as ``(N, num_variables)`` codes (uint8 where every
        variable's categories fit, as a binary array's bits do; else int64)."""
        bits = np.asarray(bits)
        dtype = np.uint8 if max(self.cardinalities) <= 256 else np.int64
        codes = np.empty((len(bits), self.num_variables), dtype=dtype)
        for v, (a, b) in enumerate(self.variables):
            if b - a == 1:
                codes[:, v] = bits[:, a]
                continue
            part = bits[:, a:b] != 0
            ones = part.sum(axis=1)
            codes[:, v] = np.where(ones == 0, b - a, np.where(ones == 1, part.argmax(axis=1),
                                                              b - a + 1))  # fmt: skip
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``(N, num_variables)`` codes as ``(N, num_bits)`` rows of 0/1 (int64); a group's
        "other" as one of its patterns of two or more 1s, each as likely (drawn by ``rng``)."""
        codes = np.asarray(codes)
        bits = np.zeros((len(codes), self.num_bits), dtype=np.int64)
        for v, (a, b) in enumerate(self.variables):
            width, code = b - a, codes[:, v]
            if width == 1:
                bits[:, a] = code
                continue
            one = np.flatnonzero(code < width)
            bits[one, a + code[one]] = 1
            for i in np.flatnonzero(code == width + 1):
                bits[i, a:b] = _several(width, rng)
        return bits

    def log_other(self, codes: np.ndarray) -> np.ndarray:
        """Each row's ``log`` of how many patterns share its groups' "other" categories, from
        its ``(N, num_variables)`` codes: the sum over its groups coded "other" (two or more
        1s) of ``log(2**w - w - 1)`` (0 for a row holding none), which its score adds to the
        model's NLL of its codes."""
        codes = np.asarray(codes)
        out = np.zeros(len(codes))
        for v, (a, b) in enumerate(self.variables):
            width = b - a
            if width > 1:
                out[codes[:, v] == width + 1] += math.log(2**width - width - 1)
        return out

    def describe(self) -> str:
        """The groups in one line, for the data's notes."""
        widths = [b - a for a, b in self.spans]
        shown = ", ".join(f"{a}-{b - 1}" for a, b in self.spans[:6])
        more = f" and {len(self.spans) - 6} more" if len(self.spans) > 6 else ""
        return (
            f"{sum(widths)} of the {self.num_bits} binary columns are {len(self.spans)} "
            f"one-hot groups (columns {shown}{more}; no row holds two 1s in one), each "
            f"modelled as one variable: {self.num_variables} variables "
            "({flag:one_hot} off models the bits one by one)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"num_bits": self.num_bits, "spans": [list(s) for s in self.spans]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OneHotGroups:
        spans = tuple((int(a), int(b)) for a, b in d["spans"])
        groups = cls(int(d["num_bits"]), spans)
        ends = [0, *(x for s in spans for x in s), groups.num_bits]
        if any(lo > hi for lo, hi in zip(ends[:-1], ends[1:], strict=True)) or any(
            b - a < 2 for a, b in spans
        ):
            raise ValueError(f"one-hot groups must be ordered spans of 2 or more of "
                             f"{groups.num_bits} columns; got {list(spans)}")  # fmt: skip
        return groups


def numpy_rng(generator: torch.Generator) -> np.random.Generator:
    """A numpy generator drawn from ``generator`` (what ``decode`` draws "other" with), so
    that one torch seed fixes a sample's every draw."""
    return np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))


def _several(width: int, rng: np.random.Generator) -> np.ndarray:
    """One of the ``2**width - width - 1`` patterns of two or more 1s, each as likely (drawn
    until one has: at least a quarter of the draws do)."""
    while True:
        bits = rng.integers(0, 2, size=width)
        if bits.sum() > 1:
            return bits


def find_groups(train: np.ndarray, valid: np.ndarray | None = None) -> OneHotGroups | None:
    """The one-hot groups of ``(N, D)`` binary rows (module docstring), found in ``train``
    and kept only where ``valid`` (rows the model is chosen on) holds no two 1s either;
    None where there is none, or where ``train`` holds more than ``MAX_CELLS`` cells."""
    n, d = np.shape(train)
    if n == 0 or d < 2 or n * d > MAX_CELLS:
        return None
    x = np.asarray(train) != 0
    counts = x.sum(axis=0)
    spans, j = [], 0
    while j < d:
        union, held, k = x[:, j].copy(), int(counts[j]), j + 1
        while k < d and held * int(counts[k]) / n >= MIN_EVIDENCE and not (union & x[:, k]).any():
            union |= x[:, k]
            held += int(counts[k])
            k += 1
        if k - j > 1:
            spans.append((j, k))
        j = k
    if valid is not None and spans:
        v = np.asarray(valid) != 0
        spans = [(a, b) for a, b in spans if not (v[:, a:b].sum(axis=1) > 1).any()]
    return OneHotGroups(d, tuple(spans)) if spans else None
