"""Whether a positive real column is modelled on a log scale, chosen by likelihood.

Money, sizes, durations and counts of people are positive and skewed: a turnover of
931,397 where the training rows' largest was 9,842. On the values' own scale the model's
Gaussians spend their mass below zero and on a long right tail they fit badly, and a large
held-out value scores hundreds of nats below its row's neighbours; on a log scale the same
column is nearly symmetric. So a real column whose training values are all positive is
modelled as ``log(value)`` when a log-normal fits its values better than a normal: the
maximum log-likelihood of each, per value, in the column's own units (the log-normal's
counts the log's Jacobian, ``-log value``). Both have two parameters, so the comparison
needs no held-out split; it is scale-free (a column in grams or kilograms chooses alike)
and takes microseconds. Chosen on R's data sets and scikit-learn's tables against the
values' own scale, held out (benchmarks/README.md, "Positive skewed columns on a log
scale").

A column on a log scale is standardised and dequantised as any real column, but on
``log(value)``; its samples are ``exp`` of the model's and its scores count the Jacobian
per row (``TableSchema.nll_offsets``), so likelihoods stay in the data's own units. A value
at or below 0, which no training value was, is scored by a share the column keeps for one
(``made.data.novel.below_share``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LOG_MIN_GAIN", "LOG_MIN_VALUES", "log_gain", "prefers_log"]

# A log scale is taken where it gains at least this many nats a value over the values' own.
LOG_MIN_GAIN = 0.0
# Fewer values than this leave the choice to chance: the values' own scale is kept.
LOG_MIN_VALUES = 10


def log_gain(values: np.ndarray) -> float:
    """The log-normal's maximum log-likelihood per value less the normal's (nats a value,
    in the values' units); ``-inf`` where a log scale cannot hold the values (one not
    positive, all equal, too few)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if len(v) < LOG_MIN_VALUES or not np.all(np.isfinite(v)) or v.min() <= 0:
        return -math.inf
    u = np.log(v)
    scale = float(v.max())  # scaled, so that values near the float range stay finite
    raw_var, log_var = float((v / scale).var()), float(u.var())
    if not (raw_var > 0 and log_var > 0):
        return -math.inf
    return math.log(scale) + 0.5 * math.log(raw_var) - 0.5 * math.log(log_var) - float(u.mean())


def prefers_log(values: np.ndarray) -> bool:
    """Whether a column of these values (NaN: gaps, left out) is modelled on a log scale."""
    return log_gain(values) > LOG_MIN_GAIN
