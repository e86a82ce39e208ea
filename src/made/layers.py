"""MaskedLinear: a linear layer whose connectivity is restricted by a boolean mask."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ACTIVATION_FUNCTIONS",
    "MaskedLinear",
    "Strips",
    "block_linear",
    "masked",
    "staircase_blocks",
    "staircase_strips",
]

# The hidden activations a model may name (``MADEConfig.activation``, ``MaskedMLP``).
ACTIVATION_FUNCTIONS = {
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "elu": F.elu,
    "gelu": F.gelu,
    "silu": F.silu,
    "leaky_relu": F.leaky_relu,
    "softplus": F.softplus,
}


def masked(weight: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``weight`` with zeros where the boolean ``mask`` is False. (``weight * mask`` would
    first convert the whole mask to floats, on every call and again in the backward pass.)"""
    return torch.where(mask, weight, 0.0)


class MaskedLinear(nn.Module):
    """``y = x @ (W * M).T + b`` with a boolean mask ``M`` of shape ``(out, in)``.

    The mask is a buffer, so it moves with ``.to(device)`` and is saved in the state dict.
    ``forward`` may be given another mask of the same shape, which lets a multi-mask model
    evaluate any of its masks without changing its state.

    Weights are initialised like ``nn.Linear`` (uniform in ``+-1/sqrt(in_features)``) but from
    an explicit ``generator``, never from the global RNG; without one, a generator seeded 0.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.register_buffer("mask", torch.ones(out_features, in_features, dtype=torch.bool))
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Re-draw weights and bias from ``generator`` (CPU), then move them into place."""
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        for p in (self.weight, self.bias):
            if p is not None:
                fresh = torch.empty(p.shape, dtype=torch.float64).uniform_(
                    -bound, bound, generator=generator
                )
                p.copy_(fresh)

    @torch.no_grad()
    def set_mask(self, mask: torch.Tensor) -> None:
        """Replace the stored mask (same shape; copied onto this layer's device)."""
        if mask.shape != self.mask.shape:
            raise ValueError(
                f"mask of shape {tuple(self.mask.shape)} expected, got {tuple(mask.shape)}"
            )
        self.mask.copy_(mask)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(..., in) -> (..., out)``, using ``mask`` instead of the stored one if given."""
        m = self.mask if mask is None else mask
        return F.linear(x, masked(self.weight, m), self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, connections={int(self.mask.sum())}"
        )


class _BlockLinear(torch.autograd.Function):
    """``y = x @ W.T + b`` computing only row blocks ``W[r0:r1, :p]`` (the rest is zero)."""

    @staticmethod
    def forward(ctx, x, weight, bias, blocks, strips):  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        ctx.blocks, ctx.strips = blocks, strips
        ctx.has_bias = bias is not None
        if bias is None:
            y = x.new_zeros(x.shape[0], weight.shape[0])
        else:
            y = bias.expand(x.shape[0], -1).clone()
        for r0, r1, p in blocks:
            y[:, r0:r1].addmm_(x[:, :p], weight[r0:r1, :p].t())
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = torch.zeros_like(x)
            for r0, r1, p in ctx.blocks:
                gx[:, :p].addmm_(grad[:, r0:r1], weight[r0:r1, :p])
        if ctx.needs_input_grad[1]:
            gw = torch.zeros_like(weight)
            for r0, r1, p in ctx.blocks:
                gw[r0:r1, :p].addmm_(grad[:, r0:r1].t(), x[:, :p])
            for r0, r1, c0, c1, drop in ctx.strips:
                if drop is None:
                    gw[r0:r1, c0:c1].zero_()
                else:
                    gw[r0:r1, c0:c1].masked_fill_(drop, 0.0)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = grad.sum(0)
        return gx, gw, gb, None, None


def block_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    blocks: tuple[tuple[int, int, int], ...],
    strips: Strips = (),
) -> torch.Tensor:
    """A linear map whose weight is zero outside row blocks that each read a column prefix.

    ``blocks`` holds ``(r0, r1, p)``: rows ``r0:r1`` read columns ``:p`` only; rows in no block
    are the bias alone. When a layer's inputs and outputs are sorted by degree, a MADE mask is a
    staircase, so grouping rows into blocks skips most of its zero half: the result equals
    ``F.linear(x, weight, bias)`` for a weight that is zero outside the blocks, at a fraction of
    the work. ``weight`` should already carry the mask.

    The weight's gradient is zero outside the blocks. ``strips`` (from ``staircase_strips``)
    zero it where the blocks' own staircase edges are masked too, so that a weight held at
    zero there gets no gradient: masking the few edge entries instead of the whole matrix.
    """
    return _BlockLinear.apply(x, weight, bias, blocks, strips)


# ``(r0, r1, c0, c1, drop)``: the weight gradient's entries ``[r0:r1, c0:c1]`` where the
# boolean ``drop`` is True are masked out; all of them where ``drop`` is None.
Strips = tuple[tuple[int, int, int, int, torch.Tensor | None], ...]


def staircase_strips(
    prefix: torch.Tensor, blocks: tuple[tuple[int, int, int], ...], rows_per_strip: int
) -> Strips:
    """Where the mask ``column < prefix[row]`` is False inside ``blocks``, by groups of
    ``rows_per_strip`` rows: a group's rows all read its narrowest row's prefix, so only the
    columns from there to its widest row's prefix need a mask (``drop``), and the columns
    from there to the block's prefix are masked out whole."""
    strips = []
    for r0, r1, p in blocks:
        for g0 in range(r0, r1, rows_per_strip):
            g1 = min(g0 + rows_per_strip, r1)
            c0, c1 = int(prefix[g0]), int(prefix[g1 - 1])
            if c0 < c1:
                columns = torch.arange(c0, c1, device=prefix.device)
                strips.append((g0, g1, c0, c1, columns[None, :] >= prefix[g0:g1, None]))
            if c1 < p:
                strips.append((g0, g1, c1, p, None))
    return tuple(strips)


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
