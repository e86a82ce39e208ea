"""The fast path: the masked network computed at about half the multiply-adds, opt-in.

``network.py`` is the reference: dense products of masked weights. Every MADE mask is a
staircase once units are sorted by degree, so the fast path sorts them (``SortedUnits``),
cuts each layer into row blocks that read only the column prefix they need
(``StaircasePlan``), and multiplies those blocks alone (``block_linear``). Callers choose it
by argument (``MADE.log_prob(..., fast=True)``, or a ``Fast`` saying how): training and
evaluation use it, and tests check it against the reference.

``Fast(premasked=True)``: the masked-out weights are held at exactly zero (a single-mask
model in training), so they are not masked again on every call, and the kernel multiplies
their gradients by the mask (``StaircasePlan.gradient_mask``, one pass over the matrix).
A product too small for its zeros to matter (``BLOCKS_MIN_PRODUCT``) runs whole, in one call;
where every product of a call does, the units are left in their own order
(``StaircasePlan.unsorted``): sorting them would permute the weights both ways for no
zeros skipped (wine's 16 fold models, 12 epochs each, one thread on the AMD EPYC: 14.9 s
against 16.3 s).
``Fast(dtype=torch.bfloat16)``: the products round their inputs to bfloat16 (one product a
layer over the whole matrix: a bfloat16 product pays a fixed cost per call), the weights
stay float32 and the outputs come back in the input's dtype. Inside ``torch.autocast``, the
products take its dtype (unless ``Fast`` names one), as the reference path's ``F.linear``
does.

The incremental sampler reads the same sorted units (``SortedUnits``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .layers import MaskedLinear, masked
from .masks import inverse_permutation
from .network import MaskedNetwork

__all__ = [
    "Fast",
    "SortedUnits",
    "StaircasePlan",
    "block_linear",
    "fast_forward",
    "permute",
    "sort_units",
    "staircase_blocks",
    "staircase_plan",
]

# Rows per block of the staircase kernel: smaller skips more zeros, larger keeps each matrix
# product efficient.
BLOCK_ROWS = 128
# Dtypes whose products the kernel runs whole, one a layer: a bfloat16 product pays a fixed
# cost per call (about 50 us on a Xeon with AMX) and runs slower on the strided slices that
# blocks read, more than the zeros they skip save (a training step at 400 dims, [512, 512],
# batch 1,024: 18.8 ms whole, 20.7 ms in blocks of 256 rows, 22.1 ms in blocks of 128).
WIDE_DTYPES = (torch.bfloat16, torch.float16)
# Products of fewer multiply-adds than this (batch rows x the layer's weights) run whole in
# any dtype: a small product's time is its calls, not its multiply-adds, and blocks make
# more calls. One float32 layer, forward and backward, on the 2-core Xeon with AMX
# (benchmarks/blocks.py): below 2^24 whole took 0.53 to 0.82 of the blocks' time (256 x 256
# at batch 16 to 128, 512 x 512 at 16 and 32); blocks won only from 2^27 (1,024 x 1,024 at
# batch 128 and 256: whole 1.11 and 1.22). The bound sits well below this machine's
# crossover, where products are small on any machine. A small table's training step
# (batch 16, [256, 256]) takes about 0.9 of the time it took in blocks.
BLOCKS_MIN_PRODUCT = 1 << 24


@dataclass(frozen=True)
class Fast:
    """How the fast path runs: ``premasked`` (the masked-out weights are exactly zero and
    kept so: not masked again, their gradients zeroed by the kernel) and ``dtype`` (what the
    products compute in; None: the inputs' dtype)."""

    premasked: bool = False
    dtype: torch.dtype | None = None


# ------------------------------------------------------------------------- sorted units
@dataclass(frozen=True)
class SortedUnits:
    """One mask's units sorted by degree: ``order`` sorts the input units (``in_degree``
    their sorted degrees, the position each reads up to), ``out_order`` the output units
    (``out_degree``); hidden units are sorted by construction (``staircase_plan`` checks
    that they are). ``in_sorted`` and ``out_sorted`` say the orders are the identity."""

    order: torch.Tensor
    in_degree: torch.Tensor
    out_order: torch.Tensor
    out_degree: torch.Tensor
    in_sorted: bool
    out_sorted: bool


def sort_units(
    ordering: torch.Tensor, unit_dim: torch.Tensor, out_unit_dim: torch.Tensor
) -> SortedUnits:
    """Input and output units (of dimensions ``unit_dim`` and ``out_unit_dim``) by their
    degree under ``ordering``: the position of their dimension."""
    pos = inverse_permutation(ordering)
    in_degree, order = torch.sort(pos[unit_dim], stable=True)
    out_degree, out_order = torch.sort(pos[out_unit_dim], stable=True)

    def identity(o: torch.Tensor) -> bool:
        return bool(torch.equal(o, torch.arange(len(o), device=o.device)))

    return SortedUnits(order, in_degree, out_order, out_degree, identity(order),
                       identity(out_order))  # fmt: skip


# ------------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class StaircasePlan:
    """How the staircase kernel computes one set of masks: ``order`` sorts the input units by
    degree (None when they already are), ``inverse`` undoes it, ``out_order`` and
    ``out_inverse`` do the same for the output units, ``blocks`` are each layer's row blocks,
    ``prefixes`` how many sorted input units each sorted output unit reads (the mask itself,
    in sorted units: ``column < prefix[row]``) and ``widths`` each layer's input units; from
    them ``gradient_mask`` builds the masks a premasked network's weight gradients keep.
    Hidden units whose degrees are not sorted (degrees loaded from elsewhere, or drawn per
    unit) make no staircase: such a plan holds the masks themselves (``explicit``, in sorted
    units), each layer one block over the whole matrix and each prefix the whole width."""

    order: torch.Tensor | None
    inverse: torch.Tensor | None
    out_order: torch.Tensor | None
    out_inverse: torch.Tensor | None
    blocks: tuple[tuple[tuple[int, int, int], ...], ...]
    prefixes: tuple[torch.Tensor, ...]
    widths: tuple[int, ...]
    device: torch.device
    explicit: tuple[torch.Tensor, ...] | None = None
    _masks: dict[tuple[int, torch.dtype], torch.Tensor] = field(
        default_factory=dict, compare=False, repr=False
    )
    _unsorted: list[StaircasePlan] = field(default_factory=list, compare=False, repr=False)

    def unsorted(self, masks: Sequence[torch.Tensor]) -> StaircasePlan:
        """The plan that leaves the units in their own order: every layer one product over
        the whole matrix, the masks ``masks`` (this plan's, in the units' own order) its
        gradient masks. For products run whole anyway, where sorting the units buys no
        skipped zeros and costs a permutation of the weights each way (built once, kept)."""
        if not self._unsorted:
            shapes = [m.shape for m in masks]
            self._unsorted.append(StaircasePlan(
                order=None, inverse=None, out_order=None, out_inverse=None,
                blocks=tuple(((0, rows, cols),) for rows, cols in shapes),
                prefixes=tuple(torch.full((rows,), cols, device=self.device)
                               for rows, cols in shapes),
                widths=tuple(cols for _, cols in shapes), device=self.device,
                explicit=tuple(m.bool() for m in masks),
            ))  # fmt: skip
        return self._unsorted[0]

    def gradient_mask(self, layer: int, dtype: torch.dtype) -> torch.Tensor:
        """Layer ``layer``'s mask in sorted units as 0/1 of ``dtype`` (built once, kept): a
        premasked network's weight gradient is multiplied by it, one pass over the matrix."""
        mask = self._masks.get((layer, dtype))
        if mask is None:
            if self.explicit is not None:
                mask = self.explicit[layer].to(dtype)
            else:
                prefix = self.prefixes[layer]
                columns = torch.arange(self.widths[layer], device=prefix.device)
                mask = (columns[None, :] < prefix[:, None]).to(dtype)
            self._masks[(layer, dtype)] = mask
        return mask


def staircase_plan(
    units: SortedUnits, hidden_degrees: Sequence[torch.Tensor], direct: bool
) -> StaircasePlan:
    """The plan of the masks that ``build_masks`` makes from the same degrees: each layer's
    row blocks reading only the column prefix their widest row needs (or, where hidden
    degrees are not sorted, the masks themselves and whole products)."""
    degrees = [units.in_degree, *(d.contiguous() for d in hidden_degrees)]
    pairs = list(zip(degrees[:-1], degrees[1:], strict=True))  # each hidden layer's in, out
    pairs.append((degrees[-1], units.out_degree))
    if direct:
        pairs.append((units.in_degree, units.out_degree))
    outputs = len(hidden_degrees)  # the first layer whose units are outputs (strict >)
    widths = tuple(len(deg_in) for deg_in, _ in pairs)
    explicit = None
    if all(bool((d[1:] >= d[:-1]).all()) for d in hidden_degrees):
        # per layer, how many sorted input units each sorted output unit reads
        prefixes = tuple(torch.searchsorted(deg_in, deg_out, right=i < outputs)
                         for i, (deg_in, deg_out) in enumerate(pairs))  # fmt: skip
        blocks = tuple(staircase_blocks(prefix, BLOCK_ROWS) for prefix in prefixes)
    else:
        explicit = tuple(deg_out[:, None] >= deg_in[None, :] if i < outputs
                         else deg_out[:, None] > deg_in[None, :]
                         for i, (deg_in, deg_out) in enumerate(pairs))  # fmt: skip
        prefixes = tuple(torch.full((len(deg_out),), len(deg_in), device=deg_in.device)
                         for deg_in, deg_out in pairs)  # fmt: skip
        blocks = tuple(((0, len(deg_out), len(deg_in)),) for deg_in, deg_out in pairs)
    order = None if units.in_sorted else units.order
    out_order = None if units.out_sorted else units.out_order
    return StaircasePlan(
        order=order,
        inverse=None if order is None else torch.argsort(order),
        out_order=out_order,
        out_inverse=None if out_order is None else torch.argsort(out_order),
        blocks=blocks,
        prefixes=prefixes,
        widths=widths,
        device=units.order.device,
        explicit=explicit,
    )


# ----------------------------------------------------------------------- the fast forward
def fast_forward(
    net: MaskedNetwork,
    h_in: torch.Tensor,
    context: torch.Tensor | None,
    masks: Sequence[torch.Tensor],
    plan: StaircasePlan,
    fast: Fast = Fast(),  # noqa: B008 - frozen, so one shared default is safe
) -> torch.Tensor:
    """``net(h_in, context, masks)`` by row blocks over sorted units: the same values (to
    rounding) at about half the multiply-adds. A premasked network's weights already hold the
    masks' zeros, so they are not masked again; its weight gradients are multiplied by the
    masks (sorted as the plan sorts the units), so those zeros stay."""
    extra = net.context_terms(context)
    dtype = fast.dtype or autocast_dtype(h_in)
    wide = dtype in WIDE_DTYPES  # one product a layer, over the whole matrix
    sorted_units = plan.order is not None or plan.out_order is not None
    if sorted_units and (wide or all(
        h_in.shape[0] * m.numel() < BLOCKS_MIN_PRODUCT for m in masks
    )):  # fmt: skip
        plan = plan.unsorted(masks)  # every product whole: no sorting to pay for
    order, inverse = plan.order, plan.inverse
    out_order, out_inverse = plan.out_order, plan.out_inverse

    def weight(layer: MaskedLinear, mask: torch.Tensor) -> torch.Tensor:
        return layer.weight if fast.premasked else masked(layer.weight, mask)

    def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, i: int) -> torch.Tensor:
        keep = plan.gradient_mask(i, w.dtype) if fast.premasked else None
        whole = wide or x.shape[0] * w.shape[0] * w.shape[1] < BLOCKS_MIN_PRODUCT
        return block_linear(x, w, b, None if whole else plan.blocks[i], keep, dtype)

    h0 = h_in.to(dtype)
    h0 = h0 if order is None else h0.index_select(1, order)  # input units by degree
    if extra is not None:
        extra = [e.to(dtype) for e in extra]
    h = h0
    n_hidden = len(net.hidden)
    for i, layer in enumerate(net.hidden):
        w = weight(layer, masks[i])
        if i == 0 and order is not None:
            w = permute(w, 1, order, inverse)
        h = linear(h, w, layer.bias, i)
        if extra is not None:
            h = h + extra[i]
        h = net.drop(net.act(h))
    w = weight(net.output, masks[n_hidden])
    b = net.output.bias
    if out_order is not None:
        w, b = permute(w, 0, out_order, out_inverse), permute(b, 0, out_order, out_inverse)
    if n_hidden == 0 and order is not None:
        w = permute(w, 1, order, inverse)
    out = linear(h, w, b, n_hidden)
    if extra is not None:
        top = extra[-1]
        out = out + (top if out_order is None else permute(top, 1, out_order, out_inverse))
    if net.direct is not None:
        w = weight(net.direct, masks[-1])
        if out_order is not None:
            w = permute(w, 0, out_order, out_inverse)
        if order is not None:
            w = permute(w, 1, order, inverse)
        out = out + linear(h0, w, None, n_hidden + 1)
    out = out.to(h_in.dtype)
    return out if out_inverse is None else permute(out, 1, out_inverse, out_order)


def autocast_dtype(x: torch.Tensor) -> torch.dtype:
    """What products on ``x``'s device compute in: the dtype of an enclosing
    ``torch.autocast`` (a flow's loop in bfloat16 runs made's network in bfloat16, as it
    runs its own layers), else ``x``'s own."""
    kind = x.device.type
    if torch.is_autocast_enabled(kind):
        return torch.get_autocast_dtype(kind)
    return x.dtype


# --------------------------------------------------------------------------- the kernel
class _BlockLinear(torch.autograd.Function):
    """``y = x @ W.T + b`` in ``dtype``, computing only row blocks ``W[r0:r1, :p]`` (the rest
    is zero) or, with no blocks, the whole product."""

    @staticmethod
    def forward(ctx, x, weight, bias, blocks, keep, dtype):  # type: ignore[override]
        w = weight.to(dtype)  # the products' copy; the weight and its gradient keep theirs
        b = None if bias is None else bias.to(dtype)
        ctx.save_for_backward(x, w, keep)
        ctx.blocks, ctx.has_bias = blocks, bias is not None
        ctx.dtypes = weight.dtype, None if bias is None else bias.dtype
        if blocks is None:
            return x @ w.t() if b is None else torch.addmm(b, x, w.t())
        if b is None:
            y = x.new_zeros(x.shape[0], w.shape[0])
        else:
            y = b.expand(x.shape[0], -1).clone()
        for r0, r1, p in blocks:
            y[:, r0:r1].addmm_(x[:, :p], w[r0:r1, :p].t())
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, w, keep = ctx.saved_tensors
        blocks = ctx.blocks
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            if blocks is None:
                gx = grad @ w
            else:
                gx = torch.zeros_like(x)
                for r0, r1, p in blocks:
                    gx[:, :p].addmm_(grad[:, r0:r1], w[r0:r1, :p])
        if ctx.needs_input_grad[1]:
            if blocks is None:
                gw = grad.t() @ x
            else:
                gw = torch.zeros_like(w)
                for r0, r1, p in blocks:
                    gw[r0:r1, :p].addmm_(grad[:, r0:r1].t(), x[:, :p])
            gw = gw.to(ctx.dtypes[0])  # back to the weight's dtype (a new tensor if it differs)
            if keep is not None:
                gw.mul_(keep)  # one dtype: a fifth faster than a mixed-dtype product
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = grad.sum(0).to(ctx.dtypes[1])
        return gx, gw, gb, None, None, None


def block_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    blocks: tuple[tuple[int, int, int], ...] | None,
    keep: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """A linear map whose weight is zero outside row blocks that each read a column prefix,
    computed in ``dtype`` (default: ``x``'s, which ``x`` must already be in).

    ``blocks`` holds ``(r0, r1, p)``: rows ``r0:r1`` read columns ``:p`` only; rows in no block
    are the bias alone. When a layer's inputs and outputs are sorted by degree, a MADE mask is a
    staircase, so grouping rows into blocks skips most of its zero half: the result equals
    ``F.linear(x, weight, bias)`` for a weight that is zero outside the blocks, at a fraction of
    the work. ``weight`` should already carry the mask. ``blocks=None``: the whole product (a
    bfloat16 product pays a fixed cost per call that outweighs the zeros smaller ones skip).

    The weight's gradient comes back in the weight's dtype, zero outside the blocks. ``keep``
    (0/1 in the weight's dtype: the mask) multiplies it, so that a weight held at zero where
    the mask is False gets no gradient: one pass over the matrix (masking a few strips with
    ``masked_fill_`` cost more: it runs an order of magnitude slower than a product).
    """
    return _BlockLinear.apply(x, weight, bias, blocks, keep, dtype or x.dtype)


def staircase_blocks(prefix: torch.Tensor, rows_per_block: int) -> tuple[tuple[int, int, int], ...]:
    """Row blocks for ``block_linear`` from each row's column prefix length (non-decreasing):
    consecutive groups of about ``rows_per_block`` rows, each reading its widest row's prefix;
    rows reading nothing are left out."""
    counts = prefix.tolist()
    blocks = []
    start = next((i for i, p in enumerate(counts) if p > 0), len(counts))
    while start < len(counts):
        stop = min(start + rows_per_block, len(counts))
        blocks.append((start, stop, int(counts[stop - 1])))
        start = stop
    return tuple(blocks)


class _Permute(torch.autograd.Function):
    """Reorder ``x`` along ``dim`` by a permutation; the gradient is reordered back by its
    inverse (a plain gather, where advanced indexing would scatter-add)."""

    @staticmethod
    def forward(ctx, x, dim, order, inverse):  # type: ignore[override]
        ctx.dim, ctx.inverse = dim, inverse
        return x.index_select(dim, order)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return grad.index_select(ctx.dim, ctx.inverse), None, None, None


def permute(x: torch.Tensor, dim: int, order: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """``x.index_select(dim, order)`` for a permutation ``order`` whose inverse is ``inverse``,
    with a cheap backward."""
    return _Permute.apply(x, dim, order, inverse)
