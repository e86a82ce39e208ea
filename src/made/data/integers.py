"""How an integer column is modelled, chosen by held-out likelihood.

An integer column can be a discrete distribution over its values (a categorical MADE
dimension) or a real one dequantised (a density over the unit intervals, sampled and rounded
down): a handful of codes or a Likert scale is best as the first, a count or a measurement
in whole millimetres as the second, and between the two no count of distinct values decides
well. So the column's own data decides, by 5-fold cross-validation of the two treatments'
marginal log-likelihood of each held-out value:

- discrete: the training fold's frequencies with half a count added to each value seen and
  to one "any other value" outcome (a value the fold never saw takes that one);
- dequantised: a mixture of ``COMPONENTS`` Gaussians (what MADE's real conditional is)
  fitted by EM to the fold's values spread uniformly over their intervals, scoring a
  held-out value by its interval's probability. Intervals run from one point of the
  column's grid to the next (``grid_step``: 25 g for a mass weighed to 25 g).

The column's marginal stands in for the conditional MADE learns (fast: a column is decided
in milliseconds, and no network is trained to decide it); the comparison is between two
ways of spreading probability over whole numbers, which the marginal shows. Everything is
seeded: one table always gets the same types.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .scales import prefers_log

__all__ = ["COMPONENTS", "MAX_DECIMALS", "MAX_ROWS", "SNAP_SHARE", "coarse_grid", "decimal_grid",
           "grid_step", "held_out_logliks", "nearest_points", "normal_mass",
           "prefers_discrete"]  # fmt: skip

COMPONENTS = 4  # Gaussians in the dequantised model's marginal (MADE's default conditional)
FOLDS = 5
MAX_ROWS = 5_000  # a longer column is decided on an even subsample of this many values
SMOOTHING = 0.5  # counts added to each discrete outcome
EM_STEPS = 60


def grid_step(distinct: np.ndarray) -> float:
    """The step of the grid whole numbers lie on: the greatest common divisor of their
    differences (25 for masses weighed to 25 g), 1 with fewer than two values."""
    if len(distinct) < 2 or np.abs(distinct).max() >= 2**53:
        return 1.0
    steps = np.diff(np.asarray(distinct, dtype=np.float64)).astype(np.int64)
    return float(max(int(np.gcd.reduce(steps)), 1))


# A measured column recorded to at most this many decimal places lies on a grid: 39.1 mm
MAX_DECIMALS = 4


def decimal_grid(distinct: np.ndarray) -> tuple[int, float] | None:
    """``(decimals, step)`` for numbers recorded to a few decimal places (sorted distinct
    values, not all whole): the fewest places, at most ``MAX_DECIMALS``, that write every
    value exactly (up to the float's rounding: ``0.1 * 3``), and the grid's step, the
    greatest common divisor of the differences at that precision (0.1 for bill lengths
    measured to a tenth of a millimetre, 0.05 for prices in 5-cent steps). None for fewer
    than two values or numbers with more places (measured on a continuum)."""
    x = np.asarray(distinct, dtype=np.float64)
    if len(x) < 2 or not np.all(np.isfinite(x)):
        return None
    for decimals in range(1, MAX_DECIMALS + 1):
        scaled = x * 10.0**decimals
        if np.abs(scaled).max() >= 2**53:
            return None
        whole = np.round(scaled)
        # within a thousandth of a step, or a float32's 7 digits (9.899999 in wine's source
        # is 9.90), but never a tenth of a step (seconds since 1970 to the millisecond,
        # 1.6e9, passed as tenths); a millionth of the value let 170.123456 pass as 170.1235
        near = np.minimum(np.maximum(1e-3, 1e-7 * np.abs(scaled)), 0.1)
        # distinct values stay distinct (1e-20 and 2e-20 are no tenths: both round to 0)
        if np.all(np.abs(scaled - whole) <= near) and np.all(np.diff(whole) > 0):
            step = int(np.gcd.reduce(np.diff(whole).astype(np.int64)))
            return decimals, max(step, 1) / 10.0**decimals
    return None


# A column with at least this share of its values on a grid coarser than the rest need
# (Titanic's ages: whole on 96% of rows, months for infants, 28.5 for an estimate; a score of
# 1 to 6 with one 1.5 among 2,381) is read on that grid, each value at its nearest point.
# Left on the finer grid (or none), a smooth density spreads its samples over the fine cells
# alike, and almost no sample is whole where the data's ages are; read on the coarse one,
# every sample is whole and at most this share's complement of values moves, by
# at most half a step. Below it the finer grid stays (hours 80% whole, 20% at .5: a 0.5 grid).
SNAP_SHARE = 0.9
# ... and where the column is modelled on a log scale (``scales.prefers_log``), each value
# moves by at most this much of its log: a tenth of itself
SNAP_LOG_MOVE = 0.1


def nearest_points(values: np.ndarray, origin: float, step: float, decimals: int = 0) -> np.ndarray:
    """Each value at the nearest point of the grid ``origin + k * step`` (half a step rounds
    up), written to ``decimals`` places where the grid has them (39.1, not
    39.100000000000001)."""
    points = origin + np.floor((values - origin) / step + 0.5) * step
    return np.round(points, decimals) if decimals else points


def coarse_grid(values: np.ndarray) -> tuple[int, float, float] | None:
    """``(decimals, step, origin)`` of the coarsest grid (whole numbers, or fewer decimal
    places than some values are written to, at most ``MAX_DECIMALS - 1``: at four places the
    float rounding ``decimal_grid`` allows covers whole numbers stored as float32) holding
    at least ``SNAP_SHARE`` of ``values`` (finite numbers, not all on it) and three or more
    of its points, ``origin`` one of them; None for none. The share leaves out the column's
    most frequent value, which a column of zeros and a continuum (an atom:
    ``table.ATOM_SHARE``) would otherwise pass on. The values off it must be scattered (as
    many distinct values as half their rows: 1.5 and 2.5 baths, or ages banded 17.5, 22, 27,
    are levels of their own, which stay), and on a log scale move by at most
    ``SNAP_LOG_MOVE``."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2 or not np.all(np.isfinite(x)):
        return None
    distinct, counts = np.unique(x, return_counts=True)
    rest = x != distinct[np.argmax(counts)]
    if not rest.any():
        return None
    for decimals in range(MAX_DECIMALS):  # coarser than the finest grid made reads
        scaled = x * 10.0**decimals
        if np.abs(scaled).max() >= 2**53:
            return None
        # the tolerance ``decimal_grid`` allows
        on = np.abs(scaled - np.round(scaled)) <= np.maximum(1e-3, 1e-7 * np.abs(scaled))
        if on.all():
            return None  # every value on it: a grid as it is, nothing to move
        if on[rest].mean() < SNAP_SHARE:
            continue
        points = np.unique(np.round(scaled[on])) / 10.0**decimals
        off = x[~on]
        if len(points) < 3 or 2 * len(np.unique(off)) < len(off):
            return None  # values off it that repeat are levels of their own (half baths)
        step = grid_step(points) if decimals == 0 else (decimal_grid(points) or (0, 0.0))[1]
        if not step > 0:
            return None
        moved = nearest_points(off, float(points[0]), step)
        if prefers_log(x) and not np.all(
            (moved > 0) & (np.abs(np.log(np.maximum(moved, 1e-300) / off)) <= SNAP_LOG_MOVE)
        ):
            return None  # on a log scale a move is relative: brains of 0.14 g are not 0.1 g
        return decimals, step, float(points[0])
    return None


def held_out_logliks(values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(discrete, dequantised): the mean held-out log-likelihood per value of ``values``
    (integers, no gaps) under the two treatments, over ``FOLDS`` folds, in units of the
    column's grid step."""
    rng = np.random.default_rng(seed)
    x = np.asarray(values, dtype=np.float64)
    x = x / grid_step(np.unique(x))
    if len(x) > MAX_ROWS:
        x = x[np.linspace(0, len(x) - 1, MAX_ROWS).astype(np.int64)]
    order = rng.permutation(len(x))
    folds = np.array_split(order, min(FOLDS, len(x)))
    discrete, dequantised = [], []
    for k, test in enumerate(folds):
        train = np.concatenate([f for i, f in enumerate(folds) if i != k])
        if not len(train) or not len(test):
            continue
        discrete.append(_discrete(x[train], x[test]))
        dequantised.append(_dequantised(x[train], x[test]))
    return float(np.mean(np.concatenate(discrete))), float(np.mean(np.concatenate(dequantised)))


def prefers_discrete(values: np.ndarray, seed: int = 0) -> bool:
    """Whether the discrete treatment has the higher held-out likelihood (see the module)."""
    discrete, dequantised = held_out_logliks(values, seed)
    return discrete >= dequantised


def _discrete(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    seen, counts = np.unique(train, return_counts=True)
    total = len(train) + SMOOTHING * (len(seen) + 1)
    where = np.searchsorted(seen, test).clip(0, len(seen) - 1)
    known = seen[where] == test
    count = np.where(known, counts[where], 0) + SMOOTHING
    return np.log(count / total)


def normal_mass(z_lo: torch.Tensor, z_hi: torch.Tensor) -> torch.Tensor:
    """``Phi(z_hi) - Phi(z_lo)``, read in the tail the interval lies in. ``torch.special.ndtr``
    is ``(1 + erf(z / sqrt 2)) / 2``: 0 below about -8.3 in float64, and the difference of two
    values near 1 above the mean loses every digit, so a value far in a tail had probability
    0 (scored as 1e-300, counting against the dequantised treatment of a column with an
    outlier). ``erfc``
    keeps the lower tail to about 1e-308, and an interval above the mean is measured in the
    upper one, ``1 - Phi(z) = Phi(-z)``."""

    def cdf(z: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.special.erfc(-z * math.sqrt(0.5))

    return torch.where(z_lo > 0, cdf(-z_lo) - cdf(-z_hi), cdf(z_hi) - cdf(z_lo))


def _dequantised(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    centres, counts = np.unique(train + 0.5, return_counts=True)
    centre = float(np.average(centres, weights=counts))
    scale = math.sqrt(float(np.average((centres - centre) ** 2, weights=counts)) + 1 / 12)
    weights, means, stds = _em((centres - centre) / scale, counts, 1 / (12 * scale**2))
    lo = torch.from_numpy((test - centre) / scale)[:, None]
    hi = torch.from_numpy((test + 1 - centre) / scale)[:, None]
    m, s = torch.from_numpy(means)[None], torch.from_numpy(stds)[None]
    mass = normal_mass((lo - m) / s, (hi - m) / s)  # a value far in a tail is not 0
    probability = (mass * torch.from_numpy(weights)[None]).sum(1).clamp_min(1e-300)
    return probability.log().numpy()


def _em(
    z: np.ndarray, counts: np.ndarray, spread: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 1-D mixture of ``COMPONENTS`` Gaussians fitted by EM to values spread uniformly over
    their intervals: ``counts`` values in each interval centred on ``z``, whose uniform
    spread adds ``spread`` to every component's variance (the exact second moment of a
    uniform interval about a mean). The work is per distinct value, not per row."""
    k = min(COMPONENTS, len(z))
    cumulative = np.cumsum(counts) / counts.sum()
    means = z[np.searchsorted(cumulative, (np.arange(k) + 0.5) / k).clip(0, len(z) - 1)]
    means = means + 1e-3 * np.arange(k)  # distinct starts, deterministic
    variances = np.full(k, 1.0 / k)
    weights = np.full(k, 1.0 / k)
    for _ in range(EM_STEPS):
        log_r = (
            np.log(weights) - 0.5 * np.log(variances) - 0.5 * (z[:, None] - means) ** 2 / variances
        )
        log_r -= log_r.max(1, keepdims=True)
        r = np.exp(log_r)
        r *= counts[:, None] / r.sum(1, keepdims=True)
        n = r.sum(0) + 1e-12
        weights = n / n.sum()
        means = (r * z[:, None]).sum(0) / n
        variances = (r * (z[:, None] - means) ** 2).sum(0) / n + spread
    return weights, means, np.sqrt(variances)
