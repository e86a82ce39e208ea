"""The masked network: the one computation behind ``MADE``, ``MaskedMLP`` and both samplers.

Encoded inputs (and an optional context) pass through masked hidden layers to masked output
units, with an optional masked direct term from the inputs to the outputs:

    h_1 = act(M_1 * W_1 x + b_1 + C_1 c), ..., out = M_o * W_o h_L + b_o + C_o c + M_d * W_d x

The masks are given per call (a model with many masks keeps one set of weights). The context
``c`` is an input that every layer, the output layer included, may see, unmasked: so even the
first dimension, which sees no input, depends on it.

``forward`` computes the network densely (weights times masks), or, given a ``StaircasePlan``
of the same masks, by the staircase kernel: with units sorted by degree every MADE mask is a
staircase, and ``block_linear`` multiplies only the row blocks over the column prefix they
read. Both give the same values (tested to rounding); the kernel is the place for faster ones.
Training may run the kernel in bfloat16 (``compute_dtype``, set by ``fit``): the weights and
the optimiser stay in float32, the products round their inputs to bfloat16, and the outputs
come back in float32.
The incremental sampler runs this same network unit by unit (``sampling.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .layers import (
    ACTIVATION_FUNCTIONS,
    MaskedLinear,
    Strips,
    block_linear,
    masked,
    permute,
    staircase_blocks,
    staircase_strips,
)

__all__ = ["MaskedNetwork", "StaircasePlan", "staircase_plan"]

# Rows per block of the staircase kernel: smaller skips more zeros, larger keeps each matrix
# product efficient.
BLOCK_ROWS = 128
# Dtypes whose products the kernel runs as one block a layer: a bfloat16 product pays a fixed
# cost per call (about 25 us on the CPU) that outweighs the zeros that smaller blocks skip
# (a [512, 512] step's products: 0.98 ms in one block a layer, 1.48 ms in blocks of 128).
WIDE_DTYPES = (torch.bfloat16, torch.float16)


@dataclass(frozen=True)
class StaircasePlan:
    """How the staircase kernel computes one set of masks: ``order`` sorts the input units by
    degree (None when they already are), ``inverse`` undoes it, ``out_order`` and
    ``out_inverse`` do the same for the output units, ``blocks`` are each layer's row blocks
    and ``strips`` where inside them the mask is False (for a premasked network's gradients);
    ``wide_blocks`` and ``wide_strips`` are the same with one block a layer (``WIDE_DTYPES``)."""

    order: torch.Tensor | None
    inverse: torch.Tensor | None
    out_order: torch.Tensor | None
    out_inverse: torch.Tensor | None
    blocks: tuple[tuple[tuple[int, int, int], ...], ...]
    strips: tuple[Strips, ...]
    wide_blocks: tuple[tuple[tuple[int, int, int], ...], ...]
    wide_strips: tuple[Strips, ...]
    device: torch.device


def _sort_units(degree: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
    """``(order, sorted degrees)`` of units by degree; ``order`` is None when already sorted."""
    sorted_degree, order = torch.sort(degree, stable=True)
    identity = bool(torch.equal(order, torch.arange(len(order), device=order.device)))
    return (None if identity else order), sorted_degree


def staircase_plan(
    in_degree: torch.Tensor,
    out_degree: torch.Tensor,
    hidden_degrees: Sequence[torch.Tensor],
    direct: bool,
) -> StaircasePlan:
    """The plan of the masks that ``build_masks`` makes from the same degrees: input and
    output units sorted by degree (hidden units already are), and each layer's row blocks
    reading only the column prefix their widest row needs."""
    order, sorted_degree = _sort_units(in_degree)
    out_order, sorted_out = _sort_units(out_degree)
    prefixes = []  # per layer, how many sorted input units each sorted output unit reads
    prev = sorted_degree
    for deg in hidden_degrees:
        prefixes.append(torch.searchsorted(prev, deg, right=True))
        prev = deg.contiguous()
    prefixes.append(torch.searchsorted(prev, sorted_out))
    if direct:
        prefixes.append(torch.searchsorted(sorted_degree, sorted_out))
    blocks = [staircase_blocks(prefix, BLOCK_ROWS) for prefix in prefixes]
    wide = [staircase_blocks(prefix, len(prefix)) for prefix in prefixes]
    return StaircasePlan(
        order=order,
        inverse=None if order is None else torch.argsort(order),
        out_order=out_order,
        out_inverse=None if out_order is None else torch.argsort(out_order),
        blocks=tuple(blocks),
        strips=tuple(
            staircase_strips(p, b, BLOCK_ROWS) for p, b in zip(prefixes, blocks, strict=True)
        ),
        wide_blocks=tuple(wide),
        wide_strips=tuple(
            staircase_strips(p, b, BLOCK_ROWS) for p, b in zip(prefixes, wide, strict=True)
        ),
        device=in_degree.device,
    )


class MaskedNetwork(nn.Module):
    """``num_in`` encoded inputs (and a ``context_size`` context) -> ``num_out`` raw outputs
    through masked ``hidden_sizes`` layers; see the module's docstring.

    Weights are drawn from ``generator`` in a fixed order (hidden layers, output, direct,
    then the context matrix), like ``nn.Linear``'s (uniform in ``+-1/sqrt(fan_in)``).
    """

    def __init__(
        self,
        num_in: int,
        hidden_sizes: Sequence[int],
        num_out: int,
        *,
        direct: bool = False,
        context_size: int = 0,
        activation: str = "relu",
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        if activation not in ACTIVATION_FUNCTIONS:
            raise ValueError(
                f"activation must be one of {tuple(ACTIVATION_FUNCTIONS)}; got {activation!r}"
            )
        g = torch.Generator().manual_seed(0) if generator is None else generator
        sizes = [num_in, *hidden_sizes]
        self.hidden = nn.ModuleList(
            MaskedLinear(i, o, generator=g) for i, o in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.output = MaskedLinear(sizes[-1], num_out, generator=g)
        self.direct = MaskedLinear(num_in, num_out, bias=False, generator=g) if direct else None
        self.activation = activation
        self.act = ACTIVATION_FUNCTIONS[activation]
        self.dropout = float(dropout)
        # Dropout draws from this generator (set by whoever trains, so that a resumed run
        # draws the same units), or from torch's global one when it is None.
        self.dropout_generator: torch.Generator | None = None
        # Set by the training loop while every masked-out weight is exactly zero and kept so
        # (their gradients masked): the staircase kernel then skips masking the weights.
        self.premasked = False
        # The dtype the staircase kernel computes in (None: the weights'): set by the training
        # loop to bfloat16 where the hardware multiplies it faster; scores stay in float32.
        self.compute_dtype: torch.dtype | None = None
        self.context_size = context_size
        self.context_weight: nn.Parameter | None = None
        if context_size > 0:
            # One matrix feeds every hidden layer and the output; split per layer in forward.
            self.context_split = [*hidden_sizes, num_out]
            bound = 1.0 / math.sqrt(context_size)
            w = torch.empty(sum(self.context_split), context_size, dtype=torch.float64)
            self.context_weight = nn.Parameter(
                w.uniform_(-bound, bound, generator=g).to(torch.get_default_dtype())
            )

    def _drop(self, h: torch.Tensor) -> torch.Tensor:
        """Dropout of hidden units while training: each unit is zeroed with probability
        ``dropout`` and the rest scaled up. A unit keeps its degree, so the autoregressive
        structure holds whatever is dropped."""
        if not self.training or self.dropout == 0.0:
            return h
        keep = 1.0 - self.dropout
        return h * torch.empty_like(h).bernoulli_(keep, generator=self.dropout_generator) / keep

    def layers(self) -> list[MaskedLinear]:
        """The masked layers in the order ``build_masks`` gives their masks."""
        return [*self.hidden, self.output, *([self.direct] if self.direct is not None else [])]

    def stored_masks(self) -> list[torch.Tensor]:
        """The masks the layers hold (a model's current mask)."""
        return [layer.mask for layer in self.layers()]

    def set_masks(self, masks: Sequence[torch.Tensor]) -> None:
        """Store ``masks`` (as ``build_masks`` gives them) in the layers."""
        for layer, mask in zip(self.layers(), masks, strict=True):
            layer.set_mask(mask)

    def context_terms(self, context: torch.Tensor | None) -> list[torch.Tensor] | None:
        """The context's contribution to each hidden layer and to the output: ``(B, units)``
        each, or None without a context."""
        if context is None or self.context_weight is None:
            return None
        return list(F.linear(context, self.context_weight).split(self.context_split, dim=1))

    def forward(
        self,
        h_in: torch.Tensor,
        context: torch.Tensor | None = None,
        masks: Sequence[torch.Tensor] | None = None,
        plan: StaircasePlan | None = None,
    ) -> torch.Tensor:
        """``(B, num_in) -> (B, num_out)`` under ``masks`` (default: the stored ones), densely
        or, given the same masks' ``plan``, by the staircase kernel."""
        masks = self.stored_masks() if masks is None else masks
        extra = self.context_terms(context)
        if plan is not None:
            return self._staircase(h_in, extra, masks, plan)
        h = h_in
        for i, layer in enumerate(self.hidden):
            h = layer(h, masks[i])
            if extra is not None:
                h = h + extra[i]
            h = self._drop(self.act(h))
        out = self.output(h, masks[len(self.hidden)])
        if extra is not None:
            out = out + extra[-1]
        if self.direct is not None:
            out = out + self.direct(h_in, masks[-1])
        return out

    def _staircase(
        self,
        h_in: torch.Tensor,
        extra: Sequence[torch.Tensor] | None,
        masks: Sequence[torch.Tensor],
        plan: StaircasePlan,
    ) -> torch.Tensor:
        """``forward`` by row blocks over sorted units: the same values at about half the
        multiply-adds. A premasked network's weights already hold the masks' zeros, so they
        are not masked again; the blocks' strips keep those zeros out of the gradients."""
        order, inverse = plan.order, plan.inverse
        out_order, out_inverse = plan.out_order, plan.out_inverse
        dtype = self.compute_dtype or h_in.dtype

        def weight(layer: MaskedLinear, mask: torch.Tensor) -> torch.Tensor:
            w = layer.weight if self.premasked else masked(layer.weight, mask)
            return w.to(dtype)

        h0 = h_in.to(dtype)
        h0 = h0 if order is None else h0.index_select(1, order)  # input units by degree
        if extra is not None:
            extra = [e.to(dtype) for e in extra]
        wide = dtype in WIDE_DTYPES
        blocks = plan.wide_blocks if wide else plan.blocks
        strips = (plan.wide_strips if wide else plan.strips) if self.premasked else None
        strips = strips or ((),) * len(blocks)
        h = h0
        n_hidden = len(self.hidden)
        for i, layer in enumerate(self.hidden):
            w = weight(layer, masks[i])
            if i == 0 and order is not None:
                w = permute(w, 1, order, inverse)
            h = block_linear(h, w, layer.bias.to(dtype), blocks[i], strips[i])
            if extra is not None:
                h = h + extra[i]
            h = self._drop(self.act(h))
        w = weight(self.output, masks[n_hidden])
        b = self.output.bias.to(dtype)
        if out_order is not None:
            w, b = permute(w, 0, out_order, out_inverse), permute(b, 0, out_order, out_inverse)
        if n_hidden == 0 and order is not None:
            w = permute(w, 1, order, inverse)
        out = block_linear(h, w, b, blocks[n_hidden], strips[n_hidden])
        if extra is not None:
            top = extra[-1]
            out = out + (top if out_order is None else permute(top, 1, out_order, out_inverse))
        if self.direct is not None:
            w = weight(self.direct, masks[-1])
            if out_order is not None:
                w = permute(w, 0, out_order, out_inverse)
            if order is not None:
                w = permute(w, 1, order, inverse)
            out = out + block_linear(h0, w, None, blocks[-1], strips[-1])
        out = out.to(h_in.dtype)
        return out if out_inverse is None else permute(out, 1, out_inverse, out_order)
