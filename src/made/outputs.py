"""Output families and the per-dimension layout of a MADE's units.

A dimension with K categories has K input units (one-hot), or one (its 0/1 value) when K = 2;
a real dimension has one input unit (its value). On the output side a binary dimension has
one unit (the log-odds of a 1), a K-way one K logits, a real one the parameters of a Gaussian
(mean, log-scale) or of a mixture of C Gaussians (C logits, C means, C log-scales).

A real dimension whose value may be missing (NaN) has one outcome more: its last output unit is
the log-odds that the value is missing, and its density applies only when the value is there,
so ``log p = log sigmoid(l)`` for a missing value and ``log sigmoid(-l) + log density``
otherwise; it enters the network as two units, the value (0 when missing) and a flag, so the
dimensions after it see both.

``Layout`` records which unit belongs to which dimension and turns values into network inputs
and network outputs into log-probabilities. Every family has its log-probability here and its
inverse-CDF draw from one uniform, so that every sampler consumes randomness the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "LOG_SCALE_MAX",
    "LOG_SCALE_MIN",
    "Layout",
    "binary_thresholds",
    "categorical_log_prob",
    "draw",
    "draw_real",
    "real_log_density",
    "real_params",
    "spread_start",
]

# Log-scales of real dimensions are floored here (sigma >= 9e-4 in standardised units): a
# column of repeated values would otherwise drive the density, and the loss, to infinity.
LOG_SCALE_MIN = -7.0
# ... and capped (sigma <= 1,097 standardised units, wider than any standardised column):
# a mixture component whose log-scale ran past 88 overflowed float32's exp, and the
# gradient of its zero-weight term, 0 x inf, turned every weight NaN (statsmodels' cancer
# table: population given cancer counts, at step 306).
LOG_SCALE_MAX = 7.0
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ------------------------------------------------------------------------------ families
def real_params(
    params: torch.Tensor, num_components: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(means, scales, log_weights)`` from a real dimension's raw parameters ``(..., P)``:
    ``[mean, log_scale]`` for a Gaussian (``log_weights`` None), ``[C logits, C means, C
    log-scales]`` for a mixture of C."""
    if num_components == 1:
        return params[..., 0], params[..., 1].clamp(LOG_SCALE_MIN, LOG_SCALE_MAX).exp(), None
    logits, means, log_scales = params.split(num_components, dim=-1)
    return (
        means,
        log_scales.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX).exp(),
        torch.log_softmax(logits, dim=-1),
    )


def spread_start(num_components: int) -> torch.Tensor:
    """The starting raw parameters (``real_params``' order: C logits, C means, C
    log-scales) of a mixture of ``num_components`` Gaussians whose parameters see no input
    (the first dimension of an ordering: its output units have only their biases): equal
    weights, the means at the standard normal's quantiles ``(k + 1/2) / C`` and one scale
    that makes the mixture's variance 1, as a standardised column's is.

    Drawn at random like every other bias (within +-1/sqrt(fan-in)), the components start
    nearly the same, and no input tells them apart: the gradient then moves them together
    and the mixture stays one Gaussian. A bimodal first column of 2,000 rows was fitted as a
    single Gaussian that put 38% of samples between its two modes, where no row lies.
    """
    q = torch.arange(num_components, dtype=torch.float64).add(0.5).div(num_components)
    means = torch.special.ndtri(q)
    variance = 1.0 - float(means.square().mean())  # the means' mean is 0
    log_scales = torch.full_like(means, 0.5 * math.log(variance))
    return torch.cat([torch.zeros_like(means), means, log_scales])


def real_log_density(params: torch.Tensor, x: torch.Tensor, num_components: int) -> torch.Tensor:
    """Log-density (nats) of values ``x`` ``(...)`` under raw parameters ``(..., P)``."""
    means, scales, log_weights = real_params(params, num_components)
    if log_weights is None:
        return -0.5 * ((x - means) / scales) ** 2 - scales.log() - _HALF_LOG_2PI
    z = (x.unsqueeze(-1) - means) / scales
    return torch.logsumexp(log_weights - 0.5 * z**2 - scales.log() - _HALF_LOG_2PI, dim=-1)


def categorical_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(B, n)`` log-probabilities of categories ``x`` under padded logits ``(B, n, W)``."""
    return torch.log_softmax(logits, dim=-1).gather(-1, x.long().unsqueeze(-1)).squeeze(-1)


def binary_thresholds(u: torch.Tensor) -> torch.Tensor:
    """``log((1 - u) / u)``: a binary dimension with log-odds l is 1 iff l reaches it, which
    happens with probability sigmoid(l). Computed once for all uniforms (and by every sampler
    the same way, so that they agree to the bit)."""
    return torch.log1p(-u) - torch.log(u)


def draw(logits: torch.Tensor, u: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw from one dimension's logits ``(n, units)``, given its uniforms ``u``
    and their ``binary_thresholds`` (both ``(n,)``).

    Binary (one unit, the log-odds l): 1 iff ``l >= threshold``, i.e. iff
    ``u >= sigmoid(-l)``. Categorical: the number of CDF boundaries at or below ``u``.
    """
    if logits.shape[1] == 1:
        return (logits[:, 0] >= threshold).long()
    cdf = torch.softmax(logits, dim=1).cumsum(dim=1)[:, :-1]  # the last boundary is 1
    return (u[:, None] >= cdf).sum(dim=1)


def draw_real(params: torch.Tensor, u: torch.Tensor, num_components: int) -> torch.Tensor:
    """Inverse-CDF draw of a real dimension from its raw parameters ``(n, P)`` and one uniform
    per row ``(n,)``.

    A Gaussian: ``mean + scale * Phi^-1(u)``. A mixture: ``u`` picks the component whose
    stretch of the weights' CDF holds it, and its position within that stretch (uniform and
    independent of the choice) is the uniform of that component's Gaussian. One uniform per
    position, as for every other dimension, so that samplers stay comparable.
    """
    means, scales, log_weights = real_params(params, num_components)
    tiny = torch.finfo(u.dtype).tiny
    if log_weights is None:
        return means + scales * torch.special.ndtri(u.clamp(min=tiny))
    cdf = log_weights.exp().cumsum(dim=1)
    k = (u[:, None] >= cdf[:, :-1]).sum(dim=1, keepdim=True)
    below = torch.where(k > 0, cdf.gather(1, (k - 1).clamp(min=0)), torch.zeros_like(u[:, None]))
    weight = log_weights.exp().gather(1, k)
    inner = ((u[:, None] - below) / weight).clamp(min=tiny, max=1 - torch.finfo(u.dtype).eps)
    z = torch.special.ndtri(inner)
    return (means.gather(1, k) + scales.gather(1, k) * z).squeeze(1)


# -------------------------------------------------------------------------------- layout
class Layout(nn.Module):
    """Which input and output units belong to which dimension, for per-dimension
    ``cardinalities`` (K >= 2 categories, or 0 for a real dimension) and ``num_components``
    Gaussians per real dimension. A module only so that its index tensors (buffers, never
    saved) follow the model to its device.

    Attributes: ``units`` and ``out_units`` per dimension, ``out_start`` (each dimension's
    first output unit), ``unit_dim`` and ``out_unit_dim`` (each unit's dimension),
    ``num_units``, ``num_out_units``, and ``out_width`` (the widest dimension's outputs).
    """

    def __init__(
        self,
        cardinalities: Sequence[int],
        num_components: int,
        missing: Sequence[int] = (),
        fixed: Sequence[tuple[int, int]] = (),
    ) -> None:
        super().__init__()
        cards = self.cardinalities = tuple(int(k) for k in cardinalities)
        self.num_dims = len(cards)
        self.num_components = num_components
        self.params_per_real = 2 if num_components == 1 else 3 * num_components
        self.missing = tuple(d in set(missing) for d in range(len(cards)))  # per dimension
        # binary dimensions that always take one value: {dimension: value}
        self.fixed = {int(d): int(v) for d, v in fixed}
        # a fixed dimension reads [0, -inf] (or [-inf, 0]) through the general layout
        self.bernoulli = all(k == 2 for k in cards) and not self.fixed
        self.has_real = 0 in cards
        gap = self.missing
        self.units = [2 if g else 1 if k in (0, 2) else k for k, g in zip(cards, gap, strict=True)]
        self.out_units = [self.params_per_real + g if k == 0 else (1 if k == 2 else k)
                          for k, g in zip(cards, gap, strict=True)]  # fmt: skip
        self.out_start = np.concatenate([[0], np.cumsum(self.out_units)[:-1]]).astype(int).tolist()
        dims = torch.arange(self.num_dims)
        unit_dim = torch.repeat_interleave(dims, torch.tensor(self.units))
        out_unit_dim = torch.repeat_interleave(dims, torch.tensor(self.out_units))
        self.num_units, self.num_out_units = int(unit_dim.numel()), int(out_unit_dim.numel())
        self.register_buffer("unit_dim", unit_dim, persistent=False)
        self.register_buffer("out_unit_dim", out_unit_dim, persistent=False)
        self.register_buffer("cardinality", torch.tensor(cards), persistent=False)
        self.discrete_dims = [d for d, k in enumerate(cards) if k != 0]
        self.real_dims = tuple(d for d, k in enumerate(cards) if k == 0)
        self.gap_dims = tuple(d for d in self.real_dims if gap[d])
        # per real dimension (in real_dims' order): whether its value may be missing
        real_gap = torch.tensor([gap[d] for d in self.real_dims], dtype=torch.bool)
        self.register_buffer("real_gap", real_gap, persistent=False)
        self._index_maps()

    @torch.no_grad()
    def spread_mixtures(self, bias: torch.Tensor, dims: Sequence[int]) -> None:
        """Set the output ``bias`` of each real dimension in ``dims`` (those first in an
        ordering, whose parameters are their biases alone) so that its mixture's components
        start apart (``spread_start``); nothing for single Gaussians."""
        if self.num_components == 1:
            return
        start = spread_start(self.num_components).to(bias.dtype)
        for d in dims:
            if self.cardinalities[d] == 0:  # its parameters first, then a gap's flag, if any
                bias[self.out_start[d] : self.out_start[d] + len(start)] = start

    @torch.no_grad()
    def start_marginals(self, bias: torch.Tensor, dims: Sequence[int], x: torch.Tensor) -> None:
        """Set the output ``bias`` of each discrete dimension in ``dims`` (those first in an
        ordering, whose conditionals read no input) to its marginal in the rows ``x``
        (encoded inputs), each outcome counted half a row more: a categorical dimension's
        logits to its log frequencies, a binary one's log-odds. That is the
        maximum-likelihood conditional of a dimension that reads nothing, where a random
        start leaves it: Adam moves a bias about the learning rate a step, so a rare
        outcome's logit is still far off when early stopping ends a small table's training.
        (A real dimension's mixture starts spread, ``spread_mixtures``; ``fit`` starts its
        gap flag.)"""
        dims = [d for d in dims if self.cardinalities[d] != 0 and d not in self.fixed]
        rows = x.reshape(x.shape[0], self.num_dims)[:, dims]  # those columns alone
        for i, d in enumerate(dims):
            k, start = self.cardinalities[d], self.out_start[d]
            counts = torch.bincount(rows[:, i].long(), minlength=k)[:k].to(torch.float64) + 0.5
            if k == 2:  # one unit: the log-odds of 1
                bias[start] = float(torch.log(counts[1] / counts[0]))
            else:
                bias[start : start + k] = torch.log(counts / counts.sum()).to(bias.dtype)

    @property
    def scale_offset(self) -> int:
        """Where a real dimension's log-scales start among its parameters (``real_params``):
        after the C logits and C means of a mixture, after the mean of one Gaussian."""
        return 1 if self.num_components == 1 else 2 * self.num_components

    def scale_units(self, d: int) -> list[int]:
        """The output units of real dimension ``d``'s log-scales (``made.calibrate`` shifts
        their biases)."""
        start = self.out_start[d] + self.scale_offset
        return list(range(start, start + self.num_components))

    def flag_units(self) -> list[int]:
        """The output unit of each missing flag, in ``gap_dims``' order: a gap dimension's
        last unit, the log-odds that its value is missing."""
        return [self.out_start[d] + self.out_units[d] - 1 for d in self.gap_dims]

    def _index_maps(self) -> None:
        """Index maps between the flat unit layouts and per-dimension layouts.

        Input: discrete dimensions one-hot (width ``kin``) then real values, gathered into the
        flat input. Output: each dimension's units padded to ``out_width`` (a binary
        dimension reads ``[0, log-odds]``; padding is ``-inf``), a plain reshape when every
        dimension has the same units and none is binary.
        """
        cards, discrete = self.cardinalities, self.discrete_dims
        self.register_buffer("disc_index", torch.tensor(discrete, dtype=torch.long),
                             persistent=False)  # fmt: skip
        self.register_buffer("real_index", torch.tensor(self.real_dims, dtype=torch.long),
                             persistent=False)  # fmt: skip
        self.register_buffer("gap_index", torch.tensor(self.gap_dims, dtype=torch.long),
                             persistent=False)  # fmt: skip
        # (B, D) per-dimension results come out as [discrete..., real...]; this restores D.
        restore = torch.argsort(torch.tensor(discrete + list(self.real_dims), dtype=torch.long))
        self.register_buffer("dim_restore", restore, persistent=False)
        self.out_width = max(2 if k == 2 else (u if k == 0 else k)
                             for k, u in zip(cards, self.out_units, strict=True))  # fmt: skip
        self.kin = max([k for k in cards if k != 0], default=2)
        self.values_in = all(u == 1 for u in self.units)
        in_plain = self.values_in or (len(set(cards)) == 1 and cards[0] != 0)
        out_plain = self.bernoulli or (len(set(self.out_units)) == 1 and 2 not in cards)
        in_index, out_index = [], []
        zero_col, neg_inf_col = self.num_out_units, self.num_out_units + 1
        width, kin, real_at = self.out_width, self.kin, len(discrete) * self.kin
        flag_at = real_at + len(self.real_dims)  # the missing flags come after the values
        slot = {d: j for j, d in enumerate(discrete)}
        for d, k in enumerate(cards):
            start = self.out_start[d]
            if k == 0:
                in_index.append(real_at)
                real_at += 1
                if self.missing[d]:  # the value, then its flag
                    in_index.append(flag_at)
                    flag_at += 1
                units = [start + c for c in range(self.out_units[d])]
            elif k == 2:  # one unit: the value (input) / the log-odds of 1 (output)
                in_index.append(slot[d] * kin + 1)
                units = [zero_col, start]
                if d in self.fixed:  # one value only: the other's logit is -inf
                    units = [zero_col, neg_inf_col][:: 1 if self.fixed[d] == 0 else -1]
            else:
                in_index += [slot[d] * kin + c for c in range(k)]
                units = [start + c for c in range(k)]
            out_index += units + [neg_inf_col] * (width - len(units))
        self.register_buffer("in_index", None if in_plain else torch.tensor(in_index),
                             persistent=False)  # fmt: skip
        self.register_buffer("out_index", None if out_plain else torch.tensor(out_index),
                             persistent=False)  # fmt: skip

    def encode(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``(B, D)`` values -> ``(B, num_units)`` network input (0/1, one-hot or the value)."""
        if self.values_in:  # binary and real dimensions enter as they are
            return x.to(dtype)
        if self.in_index is None:  # one cardinality K > 2 everywhere
            return F.one_hot(x.long(), self.kin).to(dtype).reshape(x.shape[0], -1)
        codes = x[:, self.disc_index].long()
        flat = F.one_hot(codes, self.kin).to(dtype).reshape(x.shape[0], -1)
        if self.has_real:
            values = x[:, self.real_index].to(dtype)
            if self.gap_dims:  # a missing value enters as 0, and its flag as 1
                gaps = x[:, self.gap_index].isnan()
                values = values.nan_to_num(0.0)
                flat = torch.cat([flat, values, gaps.to(dtype)], dim=1)
            else:
                flat = torch.cat([flat, values], dim=1)
        return flat[:, self.in_index]

    def per_dimension(self, out: torch.Tensor) -> torch.Tensor:
        """Raw outputs ``(B, num_out_units)`` -> ``(B, D)`` log-odds (binary models) or
        ``(B, D, out_width)`` padded parameters."""
        b = out.shape[0]
        if self.bernoulli:
            return out
        if self.out_index is not None:
            pad = torch.stack(
                [out.new_zeros(b), out.new_full((b,), float("-inf"))], dim=1
            )  # the implicit 0 logit of binary dims, and impossible categories
            out = torch.cat([out, pad], dim=1)[:, self.out_index]
        return out.reshape(b, self.num_dims, self.out_width)

    def nll_sum(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``-log_prob_per_dim(out, x).sum()``, the training objective of a batch, without the
        per-dimension intermediate where the layout allows (binary models: one fused pass)."""
        if self.bernoulli:
            return F.binary_cross_entropy_with_logits(out, x.to(out.dtype), reduction="sum")
        return -self.log_prob_per_dim(out, x).sum()

    def log_prob_per_dim(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` conditional log-probabilities (log-densities for real dimensions) of each
        dimension's value ``x`` ``(B, D)`` given raw outputs, in nats."""
        if self.bernoulli:
            return -F.binary_cross_entropy_with_logits(out, x.to(out.dtype), reduction="none")
        params = self.per_dimension(out)
        if not self.has_real:
            return categorical_log_prob(params, x)
        values = x[:, self.real_index].to(params.dtype)
        real = real_log_density(
            params[:, self.real_index, : self.params_per_real],
            values.nan_to_num(0.0) if self.gap_dims else values,
            self.num_components,
        )
        if self.gap_dims:  # missing: log sigmoid(l); there: log sigmoid(-l) + the density
            logit = params[:, self.real_index, self.params_per_real]
            gap = values.isnan()
            there = F.logsigmoid(-logit) + real
            real = torch.where(self.real_gap, torch.where(gap, F.logsigmoid(logit), there), real)
        if not self.discrete_dims:
            return real
        disc = categorical_log_prob(params[:, self.disc_index], x[:, self.disc_index])
        return torch.cat([disc, real], dim=1)[:, self.dim_restore]

    def draw(
        self,
        dim: int,
        params: torch.Tensor,
        u: torch.Tensor,
        threshold: torch.Tensor,
        present: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Dimension ``dim``'s values from its output units ``(n, units)``: real values for a
        real dimension, categories otherwise. ``present`` ``(n,)``, where True, draws a value
        and never the gap, from the conditional given that the value is there: a real
        dimension that may be missing from its density alone, a categorical one from its
        categories but the last (where a table keeps its gaps, ``made.data.table``)."""
        if dim in self.fixed:
            return torch.full_like(u, self.fixed[dim], dtype=torch.long)
        if self.cardinalities[dim] == 0:
            if not self.missing[dim]:
                return draw_real(params, u, self.num_components)
            # the first stretch of u's range is "missing", the rest the density's
            gap = torch.sigmoid(params[:, self.params_per_real])
            if present is not None:
                gap = torch.where(present, torch.zeros_like(gap), gap)
            inner = ((u - gap) / (1 - gap)).clamp(0.0, 1.0 - torch.finfo(u.dtype).eps)
            value = draw_real(params[:, : self.params_per_real], inner, self.num_components)
            return torch.where(u < gap, torch.full_like(value, float("nan")), value)
        if present is None:
            return draw(params, u, threshold)
        last = self.cardinalities[dim] - 1
        if last > 1:  # the other categories' probabilities renormalised
            params = torch.where(present[:, None] & (torch.arange(last + 1, device=u.device) ==
                                 last), torch.full_like(params, -math.inf), params)  # fmt: skip
        # (and never the last, whatever a CDF summed in floating point says)
        value = draw(params, u, threshold)
        return torch.where(present, value.clamp(max=last - 1), value)
