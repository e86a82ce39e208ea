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

if TYPE_CHECKING:
    from .model import MADE

__all__ = ["draw", "draw_uniforms", "sample_incremental", "sample_naive", "Clamp"]


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
    masks = build_masks(ordering, hidden_degrees, model.unit_dim, model.unit_dim,
                        direct=model.direct is not None)  # fmt: skip
    x = torch.zeros(n, model.num_dims, dtype=torch.long, device=u.device)
    thresholds = binary_thresholds(u)
    for t, dim in enumerate(ordering.tolist()):
        out = model._network(model._encode(x), context, masks)
        start, units = model._unit_start[dim], model._units[dim]
        value = draw(out[:, start : start + units], u[:, t], thresholds[:, t])
        x[:, dim] = _clamp(value, clamp, dim)
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
    masks = build_masks(ordering, hidden_degrees, model.unit_dim, model.unit_dim, direct=direct)
    pos = inverse_permutation(ordering)
    unit_degree = pos[model.unit_dim]
    order = torch.argsort(unit_degree, stable=True)  # data units sorted by position
    sorted_degree = unit_degree[order].contiguous()
    steps = torch.arange(d, device=device)
    # Rows of the data units of position t: [first[t], last[t]); the units before first[t]
    # are exactly those of earlier positions.
    first = torch.searchsorted(sorted_degree, steps).tolist()
    last = torch.searchsorted(sorted_degree, steps, right=True).tolist()

    # Masked weights, once, with data units sorted (columns of the first layer, rows of the
    # output and both sides of the direct term).
    n_hidden = len(model.hidden)
    weights, biases = [], []
    for i, layer in enumerate(model.hidden):
        w = torch.where(masks[i], layer.weight, 0.0)
        weights.append((w[:, order] if i == 0 else w).contiguous())
        biases.append(layer.bias[:, None])
    w_out = torch.where(masks[n_hidden], model.output.weight, 0.0)[order]
    if n_hidden == 0:
        w_out = w_out[:, order]
    w_out = w_out.contiguous()
    b_out = model.output.bias[order][:, None]
    w_direct = None
    if direct:
        w_direct = torch.where(masks[-1], model.direct.weight, 0.0)[order][:, order].contiguous()

    # The context's contribution to every unit, computed once: (units, n) per layer.
    extra = None
    if context is not None:
        parts = torch.nn.functional.linear(context, model.context_weight).t()
        extra = list(parts.split(model._context_split, dim=0))
        extra[-1] = extra[-1][order]
        biases = [b + e for b, e in zip(biases, extra[:-1], strict=True)]
        b_out = b_out + extra[-1]

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
    x = torch.zeros(d, n, dtype=torch.long, device=device)
    categorical = []  # (dim, first row, units) of dimensions with more than two values
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
        logits = torch.addmm(b_out[r0:r1], w_out[r0:r1, :q], top[:q])
        if w_direct is not None and r0 > 0:
            logits.addmm_(w_direct[r0:r1, :r0], xs[:r0])
        if r1 - r0 == 1 and clamp is None:  # binary: the drawn value is its own encoding
            xs[r0] = logits[0] >= thresholds[t]
            continue
        value = _clamp(draw(logits.t(), u_rows[t], thresholds[t]), clamp, dim)
        if r1 - r0 == 1:
            xs[r0] = value
        else:
            xs[r0:r1] = F.one_hot(value, r1 - r0).t()
            x[dim] = value
            categorical.append(dim)
    # Binary values are read back from their encodings.
    binary = [dim for dim in range(d) if model._units[dim] == 1]
    if binary:
        index = torch.tensor(binary, device=device)
        x[index] = xs[torch.tensor([first[int(pos[dim])] for dim in binary], device=device)].long()
    return x.t()
