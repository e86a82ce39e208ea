"""Exact sampling from a MADE: incremental (about one forward pass in all) and naive (one
forward pass per dimension), with conditioning on observed values.

Every sampler consumes uniforms the same way: ``u[:, t]`` decides the t-th position of the
ordering, through ``draw``. Two samplers fed one generator state therefore return identical
samples whenever they compute the same logits.

Why incremental sampling is exact: a hidden unit of degree m depends only on the inputs at
positions <= m, which never change once drawn. So after position m is drawn, the units of
degree exactly m can be computed once and kept; the logits of position t read only units of
degree < t. With units sorted by degree these are contiguous slices reading column prefixes,
so over all D steps each unit is computed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .masks import build_masks, inverse_permutation
from .model import real_params

if TYPE_CHECKING:
    from .model import MADE

__all__ = ["draw", "draw_real", "draw_uniforms", "sample_incremental", "sample_naive", "Clamp"]


@dataclass(frozen=True)
class Clamp:
    """Observed values to keep: ``values`` ``(n, D)`` where ``mask`` ``(n, D)`` is True."""

    values: torch.Tensor
    mask: torch.Tensor


def draw_uniforms(model: MADE, n: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, D)`` uniforms in [0, 1) from ``generator`` on its own device, then moved to the
    model's device in the model's dtype: one generator state, the same samples anywhere."""
    weight = model.output.weight
    u = torch.rand(n, model.num_dims, generator=generator, device=generator.device,
                   dtype=weight.dtype)  # fmt: skip
    return u.to(weight.device)


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


def draw_dim(model: MADE, dim: int, params: torch.Tensor, u: torch.Tensor,
             threshold: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Dimension ``dim``'s values from its output units ``(n, units)``: real values in the
    sample dtype for a real dimension, categories otherwise."""
    if model.cardinalities[dim] == 0:
        return draw_real(params, u, model.num_components)
    return draw(params, u, threshold)


def _clamp(x: torch.Tensor, clamp: Clamp | None, dim: int) -> torch.Tensor:
    if clamp is None:
        return x
    return torch.where(clamp.mask[:, dim], clamp.values[:, dim], x)


@torch.no_grad()
def sample_naive(
    model: MADE,
    u: torch.Tensor,
    context: torch.Tensor | None,
    ordering: torch.Tensor,
    hidden_degrees: list[torch.Tensor],
    clamp: Clamp | None = None,
) -> torch.Tensor:
    """The reference sampler: the whole (dense, masked) network once per dimension.

    ``u`` ``(n, D)`` uniforms; ``context`` validated ``(n, C)`` or None; the mask is given by
    ``ordering`` and ``hidden_degrees``. Returns ``(n, D)`` categories.
    """
    n = u.shape[0]
    masks = build_masks(ordering, hidden_degrees, model.unit_dim, model.out_unit_dim,
                        direct=model.direct is not None)  # fmt: skip
    x = torch.zeros(n, model.num_dims, dtype=model._sample_dtype, device=u.device)
    thresholds = binary_thresholds(u)
    for t, dim in enumerate(ordering.tolist()):
        out = model._network(model._encode(x), context, masks)
        start, units = model._out_start[dim], model._out_units[dim]
        value = draw_dim(model, dim, out[:, start : start + units], u[:, t], thresholds[:, t])
        x[:, dim] = _clamp(value.to(x.dtype), clamp, dim)
    return x


@torch.inference_mode()
def sample_incremental(
    model: MADE,
    u: torch.Tensor,
    context: torch.Tensor | None,
    ordering: torch.Tensor,
    hidden_degrees: list[torch.Tensor],
    clamp: Clamp | None = None,
) -> torch.Tensor:
    """Exact sampling at about the cost of one forward pass (same arguments and result as
    ``sample_naive``).

    Activations are kept transposed, ``(units, n)``, so that the units of one degree are a
    contiguous block of rows that a matrix product can write in place.
    """
    n, d = u.shape
    device = u.device
    direct = model.direct is not None
    masks = build_masks(ordering, hidden_degrees, model.unit_dim, model.out_unit_dim,
                        direct=direct)  # fmt: skip
    pos = inverse_permutation(ordering)
    steps = torch.arange(d, device=device)
    # Input and output units sorted by position; rows [first[t], last[t]) are position t's,
    # and the input units before first[t] are exactly those of earlier positions.
    sorted_degree, order = torch.sort(pos[model.unit_dim], stable=True)
    sorted_out, out_order = torch.sort(pos[model.out_unit_dim], stable=True)
    first = torch.searchsorted(sorted_degree, steps).tolist()
    last = torch.searchsorted(sorted_degree, steps, right=True).tolist()
    out_first = torch.searchsorted(sorted_out, steps).tolist()
    out_last = torch.searchsorted(sorted_out, steps, right=True).tolist()

    # Masked weights, once, with units sorted (columns of the first layer, rows of the
    # output, both sides of the direct term).
    n_hidden = len(model.hidden)
    weights, biases = [], []
    for i, layer in enumerate(model.hidden):
        w = torch.where(masks[i], layer.weight, 0.0)
        weights.append((w[:, order] if i == 0 else w).contiguous())
        biases.append(layer.bias[:, None])
    w_out = torch.where(masks[n_hidden], model.output.weight, 0.0)[out_order]
    if n_hidden == 0:
        w_out = w_out[:, order]
    w_out = w_out.contiguous()
    b_out = model.output.bias[out_order][:, None]
    w_direct = None
    if direct:
        w_direct = torch.where(masks[-1], model.direct.weight, 0.0)[out_order][:, order]
        w_direct = w_direct.contiguous()

    # The context's contribution to every unit, computed once: (units, n) per layer.
    if context is not None:
        parts = torch.nn.functional.linear(context, model.context_weight).t()
        extra = list(parts.split(model._context_split, dim=0))
        biases = [b + e for b, e in zip(biases, extra[:-1], strict=True)]
        b_out = b_out + extra[-1][out_order]

    # Per layer, the rows of each degree m and the prefix of the layer below they read.
    spans = []
    below = sorted_degree
    for deg in hidden_degrees:
        deg = deg.contiguous()
        lo = torch.searchsorted(deg, steps).tolist()
        hi = torch.searchsorted(deg, steps, right=True).tolist()
        prefix = torch.searchsorted(below, steps, right=True).tolist()
        spans.append([(lo[m], hi[m], prefix[m]) for m in range(d)])
        below = deg
    reads = torch.searchsorted(below, steps).tolist()  # outputs of t read units of degree < t

    xs = torch.zeros(model.num_units, n, dtype=u.dtype, device=device)  # encoded, sorted
    hs = [torch.zeros(h, n, dtype=u.dtype, device=device) for h in model.config.hidden_sizes]
    act, relu = model._act, model.config.activation == "relu"
    top = hs[-1] if hs else xs
    thresholds = binary_thresholds(u).t().contiguous()  # (D, n): row t is contiguous
    u_rows = u.t().contiguous()
    x = torch.zeros(d, n, dtype=model._sample_dtype, device=device)
    cards = model.cardinalities
    for t, dim in enumerate(ordering.tolist()):
        if t > 0:  # position t-1 is drawn: the units of degree t-1 are final now
            src = xs
            for layer in range(n_hidden):
                lo, hi, p = spans[layer][t - 1]
                if hi > lo:
                    rows = hs[layer][lo:hi]
                    torch.addmm(biases[layer][lo:hi], weights[layer][lo:hi, :p], src[:p],
                                out=rows)  # fmt: skip
                    if relu:
                        rows.relu_()
                    else:
                        rows.copy_(act(rows))
                src = hs[layer]
        r0, r1, q = first[t], last[t], reads[t]
        o0, o1 = out_first[t], out_last[t]
        logits = torch.addmm(b_out[o0:o1], w_out[o0:o1, :q], top[:q])
        if w_direct is not None and r0 > 0:
            logits.addmm_(w_direct[o0:o1, :r0], xs[:r0])
        if cards[dim] == 2 and clamp is None:  # binary: the drawn value is its own encoding
            xs[r0] = logits[0] >= thresholds[t]
            continue
        value = draw_dim(model, dim, logits.t(), u_rows[t], thresholds[t])
        value = _clamp(value.to(x.dtype), clamp, dim)
        if r1 - r0 == 1:  # binary or real: the value is its own encoding
            xs[r0] = value
        else:
            xs[r0:r1] = F.one_hot(value.long(), r1 - r0).t()
        x[dim] = value
    # Binary values drawn without clamping are read back from their encodings.
    if clamp is None:
        binary = [dim for dim in range(d) if cards[dim] == 2]
        if binary:
            index = torch.tensor(binary, device=device)
            rows = torch.tensor([first[int(pos[dim])] for dim in binary], device=device)
            x[index] = xs[rows].to(x.dtype)
    return x.t()
