"""Exact sampling from a MADE: incremental (about one forward pass in all) and naive (one
forward pass per dimension), with conditioning on observed values.

Every sampler consumes uniforms the same way: ``u[:, t]`` decides the t-th position of the
ordering, through the output family's inverse-CDF draw. Two samplers fed one generator state
therefore return identical samples whenever they compute the same logits.

Why incremental sampling is exact: a hidden unit of degree m depends only on the inputs at
positions <= m, which never change once drawn. So after position m is drawn, the units of
degree exactly m can be computed once and kept; the logits of position t read only units of
degree < t. With units sorted by degree these are contiguous slices reading column prefixes,
so over all D steps each unit is computed once. It is a way of running the masked network
(``network.py``) unit by unit: it reads that network's weights, masks and context terms, and
sorts units as the fast path does (``fastpath.sort_units``).

The samplers take any model with the attributes ``Sampled`` lists (``MADE`` has them): this
module does not import the model, which imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from .config import MADEConfig
from .fastpath import sort_units
from .masks import build_masks, inverse_permutation, observed_first
from .network import MaskedNetwork
from .outputs import Layout, binary_thresholds
from .validation import check_context, check_ensemble, check_mask, check_x

__all__ = [
    "Clamp",
    "Sampled",
    "draw_uniforms",
    "marginal",
    "sample",
    "sample_incremental",
    "sample_naive",
]


class Sampled(Protocol):
    """What the samplers read of a model (a ``MADE``)."""

    config: MADEConfig
    layout: Layout
    net: MaskedNetwork
    orderings: torch.Tensor
    num_dims: int
    input_shape: tuple[int, ...]

    @property
    def dtype(self) -> torch.dtype: ...
    @property
    def device(self) -> torch.device: ...
    @property
    def has_real(self) -> bool: ...
    @property
    def mask_index(self) -> int: ...
    @property
    def num_masks(self) -> int: ...
    def degrees(self, k: int | None = None) -> list[torch.Tensor]: ...
    def masks(
        self, k: int | None = None, ordering: torch.Tensor | None = None
    ) -> list[torch.Tensor]: ...
    def network_context(
        self, context: torch.Tensor | None, k: int | None, n: int
    ) -> torch.Tensor | None: ...
    def encode(self, x: torch.Tensor) -> torch.Tensor: ...


# (low, high): each real dimension's drawn values are kept within [low[d], high[d]]
Bounds = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Clamp:
    """Observed values to keep: ``values`` ``(n, D)`` where ``mask`` ``(n, D)`` is True."""

    values: torch.Tensor
    mask: torch.Tensor


# On the CPU, large requests are sampled in chunks of this many rows: the sampler's working
# set (every layer's activations and pre-activations) stays in cache better, and its memory
# stays bounded. 50,000 samples of 400 dimensions ([512, 512]) take 1.05-1.10 s in chunks of
# 8,192 to 16,384 and 1.30-1.38 s at once.
CPU_CHUNK = 10_000


def _sample_dtype(model: Sampled) -> torch.dtype:
    return model.dtype if model.has_real else torch.long


def draw_uniforms(model: Sampled, n: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, D)`` uniforms in [0, 1) from ``generator`` on its own device, then moved to the
    model's device in the model's dtype: one generator state, the same samples anywhere."""
    u = torch.rand(n, model.num_dims, generator=generator, device=generator.device,
                   dtype=model.dtype)  # fmt: skip
    return u.to(model.device)


def sample(
    model: Sampled, n: int, context: Any = None, generator: torch.Generator | None = None, *,
    method: str = "incremental", ensemble: int | None = None, observed: Any = None,
    is_observed: Any = None, bounds: Bounds | None = None, present: Any = None,
) -> torch.Tensor:  # fmt: skip
    """``MADE.sample``: check the request, give each sample its mask, group the rows sampled
    alike, and run the sampler on each group."""
    bounds = _check_bounds(model, bounds)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}")
    if present is not None:
        present = check_mask(present, n, model.input_shape, model.device, "present")
    if method not in ("incremental", "naive"):
        raise ValueError(f"method must be 'incremental' or 'naive'; got {method!r}")
    context = check_context(context, n, model.config.context_size, model.device, model.dtype)
    clamp = _check_observed(model, observed, is_observed, n)
    if generator is None:
        generator = torch.Generator()
        generator.seed()
    if ensemble is None:
        members = torch.full((n,), model.mask_index, dtype=torch.long)
    else:
        check_ensemble(ensemble, model.num_masks)
        members = torch.randint(
            0, ensemble, (n,), generator=generator, device=generator.device
        ).cpu()
    u = draw_uniforms(model, n, generator)
    sampler = sample_incremental if method == "incremental" else sample_naive
    x = torch.zeros(n, model.num_dims, dtype=_sample_dtype(model), device=u.device)
    for k, group, ordering in _conditioning_groups(model, members, clamp):
        # rows are independent given their uniforms: chunks give the same samples
        chunks = group.split(CPU_CHUNK) if u.device.type == "cpu" else (group,)
        for rows in chunks:
            sub = None if clamp is None else Clamp(clamp.values[rows], clamp.mask[rows])
            ctx = model.network_context(None if context is None else context[rows], k,
                                        len(rows))  # fmt: skip
            there = None if present is None else present[rows]
            x[rows] = sampler(model, u[rows], ctx, ordering, model.degrees(k), sub, bounds,
                              there)  # fmt: skip
    return x.reshape(n, *model.input_shape)


def _check_bounds(model: Sampled, bounds: Bounds | None) -> Bounds | None:
    """``(low, high)``, each ``(D,)`` in the model's units, as float64 on the CPU."""
    if bounds is None:
        return None
    low, high = (torch.as_tensor(b, dtype=torch.float64).cpu().reshape(-1) for b in bounds)
    if low.shape != (model.num_dims,) or high.shape != (model.num_dims,):
        raise ValueError(
            f"bounds must be two tensors of {model.num_dims} values (one per dimension); "
            f"got shapes {tuple(low.shape)} and {tuple(high.shape)}"
        )
    if bool((low > high).any()) or bool(low.isnan().any() | high.isnan().any()):
        raise ValueError("bounds must have low <= high in every dimension (no NaN)")
    return low, high


def _bounded(value: torch.Tensor, bounds: Bounds | None, dim: int, real: bool) -> torch.Tensor:
    """A real dimension's drawn values kept within ``bounds`` (NaN, a gap, stays NaN)."""
    if bounds is None or not real:
        return value
    return value.clamp(float(bounds[0][dim]), float(bounds[1][dim]))


def _check_observed(model: Sampled, observed: Any, mask: Any, n: int) -> Clamp | None:
    """Inpainting input as a ``Clamp`` of ``(n, D)``, or None."""
    if observed is None and mask is None:
        return None
    if observed is None or mask is None:
        raise ValueError("observed and is_observed go together")
    if isinstance(observed, torch.Tensor) and observed.numel() == model.num_dims:
        observed = observed.reshape(1, model.num_dims)
    values = check_x(observed, model.layout, model.input_shape, model.device, model.dtype)
    if values.shape[0] not in (1, n):
        raise ValueError(f"observed must hold {n} examples or one; got {values.shape[0]}")
    values = values.to(_sample_dtype(model)).expand(n, -1)
    return Clamp(values, check_mask(mask, n, model.input_shape, model.device))


def _conditioning_groups(model: Sampled, members: torch.Tensor, clamp: Clamp | None) -> list:
    """``(mask k, row indices, ordering)`` for each group of rows sampled alike.

    Without observed values every row of mask k uses its ordering. With them, rows group by
    (k, observed pattern), each with the ordering ``observed_first`` gives.
    """
    groups = []
    patterns = None if clamp is None else clamp.mask.cpu()
    for k in members.unique().tolist():
        rows = (members == k).nonzero().squeeze(1)
        ordering = model.orderings[k]
        if patterns is None:
            groups.append((k, rows.to(model.device), ordering))
            continue
        uniq, inverse = torch.unique(patterns[rows], dim=0, return_inverse=True)
        for j, pattern in enumerate(uniq):
            sub = rows[inverse == j].to(model.device)
            vary = model.config.orderings_vary
            groups.append((k, sub, observed_first(ordering, pattern, vary, strict=False)))
    return groups


def marginal(
    model: Sampled,
    x: torch.Tensor,
    is_observed: torch.Tensor,
    context: torch.Tensor | None = None,
    ensemble: int | None = None,
) -> torch.Tensor:
    """``MADE.log_marginal`` of checked inputs: ``x`` ``(B, D)``, ``is_observed`` boolean
    ``(B, D)``. Rows are grouped by their observed pattern; each group is scored under the
    ordering that puts its observed dimensions first (of the current mask, or of each of
    masks ``0..K-1``, mixed as probabilities), where their marginal is the product of the
    first conditionals."""
    b = x.shape[0]
    ks = [model.mask_index] if ensemble is None else range(ensemble)
    h_in = model.encode(x)
    uniq, inverse = torch.unique(is_observed.cpu(), dim=0, return_inverse=True)
    members = []
    for k in ks:
        total = h_in.new_zeros(b)
        for j, pattern in enumerate(uniq):
            rows = (inverse == j).nonzero().squeeze(1).to(x.device)
            ordering = observed_first(model.orderings[k], pattern, model.config.orderings_vary,
                                      strict=True)  # fmt: skip
            ctx = model.network_context(None if context is None else context[rows], k,
                                        len(rows))  # fmt: skip
            out = model.net(h_in[rows], ctx, model.masks(k, ordering))
            per_dim = model.layout.log_prob_per_dim(out, x[rows])
            total[rows] = (per_dim * pattern.to(per_dim)).sum(dim=1)
        members.append(total)
    return torch.logsumexp(torch.stack(members), dim=0) - math.log(len(members))


def _clamp(x: torch.Tensor, clamp: Clamp | None, dim: int) -> torch.Tensor:
    if clamp is None:
        return x
    return torch.where(clamp.mask[:, dim], clamp.values[:, dim], x)


@torch.no_grad()
def sample_naive(
    model: Sampled,
    u: torch.Tensor,
    context: torch.Tensor | None,
    ordering: torch.Tensor,
    hidden_degrees: list[torch.Tensor],
    clamp: Clamp | None = None,
    bounds: Bounds | None = None,
    present: torch.Tensor | None = None,
) -> torch.Tensor:
    """The reference sampler: the whole (dense, masked) network once per dimension.

    ``u`` ``(n, D)`` uniforms; ``context`` validated ``(n, C)`` or None; the mask is given by
    ``ordering`` and ``hidden_degrees``; ``present`` ``(n, D)`` or None: the cells drawn as
    values, never gaps (``Layout.draw``). Returns ``(n, D)`` categories.
    """
    n, layout = u.shape[0], model.layout
    masks = build_masks(ordering, hidden_degrees, layout.unit_dim, layout.out_unit_dim,
                        direct=model.net.direct is not None)  # fmt: skip
    x = torch.zeros(n, model.num_dims, dtype=_sample_dtype(model), device=u.device)
    thresholds = binary_thresholds(u)
    for t, dim in enumerate(ordering.tolist()):
        out = model.net(layout.encode(x, model.dtype), context, masks)
        start, units = layout.out_start[dim], layout.out_units[dim]
        there = None if present is None else present[:, dim]
        value = layout.draw(dim, out[:, start : start + units], u[:, t], thresholds[:, t], there)
        value = _bounded(value, bounds, dim, layout.cardinalities[dim] == 0)
        x[:, dim] = _clamp(value.to(x.dtype), clamp, dim)
    return x


@dataclass
class _Sorted:
    """The network with its units sorted by degree, transposed for column-major activations:
    masked weights (rows of degree m contiguous), biases with the context folded in, and per
    position t the rows its input units, output units and each hidden layer occupy."""

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    w_out: torch.Tensor
    b_out: torch.Tensor
    w_direct: torch.Tensor | None
    first: list[int]  # input units of position t: rows first[t]:last[t]
    last: list[int]
    out_first: list[int]
    out_last: list[int]
    spans: list[list[tuple[int, int, int]]]  # per layer and degree m: rows lo:hi read :prefix
    reads: list[int]  # outputs of position t read the top layer's rows :reads[t]


def _sort_network(
    model: Sampled, ordering: torch.Tensor, hidden_degrees: list[torch.Tensor],
    context: torch.Tensor | None,
) -> _Sorted:  # fmt: skip
    """``model.net`` under one mask, arranged for the incremental sampler."""
    net, layout, d = model.net, model.layout, model.num_dims
    masks = build_masks(ordering, hidden_degrees, layout.unit_dim, layout.out_unit_dim,
                        direct=net.direct is not None)  # fmt: skip
    steps = torch.arange(d, device=ordering.device)
    units = sort_units(ordering, layout.unit_dim, layout.out_unit_dim)
    sorted_degree, order = units.in_degree, units.order
    sorted_out, out_order = units.out_degree, units.out_order
    # hidden units by degree too (sorted already unless degrees were loaded from elsewhere)
    by_degree = [torch.argsort(deg, stable=True) for deg in hidden_degrees]
    hidden_degrees = [deg[p] for deg, p in zip(hidden_degrees, by_degree, strict=True)]
    weights, biases = [], []
    for i, layer in enumerate(net.hidden):
        w = torch.where(masks[i], layer.weight, 0.0)[by_degree[i]]
        weights.append((w[:, order] if i == 0 else w[:, by_degree[i - 1]]).contiguous())
        biases.append(layer.bias[by_degree[i], None])
    w_out = torch.where(masks[len(net.hidden)], net.output.weight, 0.0)[out_order]
    w_out = (w_out[:, by_degree[-1]] if net.hidden else w_out[:, order]).contiguous()
    b_out = net.output.bias[out_order][:, None]
    w_direct = None
    if net.direct is not None:
        w_direct = torch.where(masks[-1], net.direct.weight, 0.0)[out_order][:, order]
        w_direct = w_direct.contiguous()
    extra = net.context_terms(context)  # computed once: (units, n) per layer
    if extra is not None:
        biases = [b + e.t()[p] for b, e, p in zip(biases, extra[:-1], by_degree, strict=True)]
        b_out = b_out + extra[-1].t()[out_order]
    spans, below = [], sorted_degree
    for deg in hidden_degrees:
        deg = deg.contiguous()
        lo = torch.searchsorted(deg, steps).tolist()
        hi = torch.searchsorted(deg, steps, right=True).tolist()
        prefix = torch.searchsorted(below, steps, right=True).tolist()
        spans.append([(lo[m], hi[m], prefix[m]) for m in range(d)])
        below = deg
    return _Sorted(
        weights, biases, w_out, b_out, w_direct,
        torch.searchsorted(sorted_degree, steps).tolist(),
        torch.searchsorted(sorted_degree, steps, right=True).tolist(),
        torch.searchsorted(sorted_out, steps).tolist(),
        torch.searchsorted(sorted_out, steps, right=True).tolist(),
        spans, torch.searchsorted(below, steps).tolist(),
    )  # fmt: skip


# Positions between the incremental sampler's catch-ups (``_Lagged``): larger makes each
# catch-up product more efficient, smaller makes each position read fewer units.
SAMPLE_BLOCK = 32


class _Lagged:
    """One masked layer's pre-activations ``(rows, n)`` for the incremental sampler, lagging
    behind its source units: every row not yet computed holds its bias plus the products
    with the source's first ``done`` rows. ``catch_up`` adds the source rows finished since
    to all rows from ``first`` on, in one matrix product; ``rows`` then completes a few rows
    with the source rows between ``done`` and their prefix."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, n: int) -> None:
        self.weight = weight
        self.acc = bias.expand(weight.shape[0], n).clone()
        self.done = 0

    def catch_up(self, first: int, src: torch.Tensor, ready: int) -> None:
        if ready > self.done and first < self.acc.shape[0]:
            self.acc[first:].addmm_(self.weight[first:, self.done : ready], src[self.done : ready])
            self.done = ready

    def rows(
        self, lo: int, hi: int, src: torch.Tensor, prefix: int, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        if prefix <= self.done:
            return self.acc[lo:hi] if out is None else out.copy_(self.acc[lo:hi])
        w = self.weight[lo:hi, self.done : prefix]
        return torch.addmm(self.acc[lo:hi], w, src[self.done : prefix], out=out)


@torch.inference_mode()
def sample_incremental(
    model: Sampled,
    u: torch.Tensor,
    context: torch.Tensor | None,
    ordering: torch.Tensor,
    hidden_degrees: list[torch.Tensor],
    clamp: Clamp | None = None,
    bounds: Bounds | None = None,
    present: torch.Tensor | None = None,
) -> torch.Tensor:
    """Exact sampling at about the cost of one forward pass (same arguments and result as
    ``sample_naive``).

    Activations are kept transposed, ``(units, n)``, so that the units of one degree are a
    contiguous block of rows that a matrix product can write in place. Each layer keeps the
    pre-activations of its units not yet computed (``_Lagged``): every ``SAMPLE_BLOCK``
    positions, the source units finished since are added to all of them by one matrix
    product, so a position's units read only the few source units finished since then.
    """
    n, d = u.shape
    s = _sort_network(model, ordering, hidden_degrees, context)
    layout, device = model.layout, u.device
    xs = torch.zeros(layout.num_units, n, dtype=u.dtype, device=device)  # encoded, sorted
    hs = [torch.zeros(h, n, dtype=u.dtype, device=device) for h in model.config.hidden_sizes]
    act, relu = model.net.act, model.net.activation == "relu"
    top = hs[-1] if hs else xs
    thresholds = binary_thresholds(u).t().contiguous()  # (D, n): row t is contiguous
    u_rows = u.t().contiguous()
    x = torch.zeros(d, n, dtype=_sample_dtype(model), device=device)
    cards = layout.cardinalities
    hidden = [_Lagged(w, b, n) for w, b in zip(s.weights, s.biases, strict=True)]
    output = _Lagged(s.w_out, s.b_out, n)
    direct = None if s.w_direct is None else _Lagged(s.w_direct, s.w_direct.new_zeros(()), n)
    alike = clamp is None and present is None  # every row drawn by its uniform alone
    for t, dim in enumerate(ordering.tolist()):
        catch_up = t % SAMPLE_BLOCK == 0
        if t > 0:  # position t-1 is drawn: the units of degree t-1 are final now
            src, ready = xs, s.first[t]  # source rows final: those of degree < t
            for layer, h in enumerate(hs):
                lo, hi, p = s.spans[layer][t - 1]
                if catch_up:
                    hidden[layer].catch_up(lo, src, ready)
                if hi > lo:
                    rows = hidden[layer].rows(lo, hi, src, p, out=h[lo:hi])
                    rows.relu_() if relu else rows.copy_(act(rows))
                src, ready = h, hi
        r0, r1, q = s.first[t], s.last[t], s.reads[t]
        o0, o1 = s.out_first[t], s.out_last[t]
        if catch_up:
            output.catch_up(o0, top, q)
            if direct is not None:
                direct.catch_up(o0, xs, r0)
        logits = output.rows(o0, o1, top, q)
        if direct is not None and r0 > 0:
            logits += direct.rows(o0, o1, xs, r0)
        if cards[dim] == 2 and alike and dim not in layout.fixed:
            xs[r0] = logits[0] >= thresholds[t]  # binary: the drawn value is its own encoding
            continue
        there = None if present is None else present[:, dim]
        value = layout.draw(dim, logits.t(), u_rows[t], thresholds[t], there)
        value = _bounded(value, bounds, dim, cards[dim] == 0)
        value = _clamp(value.to(x.dtype), clamp, dim)
        if layout.missing[dim]:  # a value that may be missing: the value (0 if so), its flag
            xs[r0] = value.nan_to_num(0.0)
            xs[r0 + 1] = value.isnan()
        elif r1 - r0 == 1:  # binary or real: the value is its own encoding
            xs[r0] = value
        else:
            xs[r0:r1] = F.one_hot(value.long(), r1 - r0).t()
        x[dim] = value
    if alike:  # binary values drawn without clamping are read back from their encodings
        binary = [dim for dim in range(d) if cards[dim] == 2]
        if binary:
            pos = inverse_permutation(ordering)
            index = torch.tensor(binary, device=device)
            rows = torch.tensor([s.first[int(pos[dim])] for dim in binary], device=device)
            x[index] = xs[rows].to(x.dtype)
    return x.t()
