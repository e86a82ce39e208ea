"""The masked network: the one computation behind ``MADE``, ``MaskedMLP`` and both samplers.

Encoded inputs (and an optional context) pass through masked hidden layers to masked output
units, with an optional masked direct term from the inputs to the outputs:

    h_1 = act(M_1 * W_1 x + b_1 + C_1 c), ..., out = M_o * W_o h_L + b_o + C_o c + M_d * W_d x

The masks are given per call (a model with many masks keeps one set of weights). The context
``c`` is an input that every layer, the output layer included, may see, unmasked: so even the
first dimension, which sees no input, depends on it.

This module is the reference: dense products of masked weights, read top to bottom in
``forward``. ``fastpath.py`` computes the same network at about half the multiply-adds (by
row blocks over units sorted by degree), where a caller asks for it; the incremental sampler
(``sampling.py``) runs it unit by unit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ACTIVATION_FUNCTIONS, MaskedLinear

__all__ = ["MaskedNetwork"]


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

    def drop(self, h: torch.Tensor) -> torch.Tensor:
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

    @torch.no_grad()
    def zero_unused(self, masks: Iterable[Sequence[torch.Tensor]]) -> None:
        """Set to exactly 0 every weight that none of ``masks`` (each a model's masks, as
        ``build_masks`` gives them) uses.

        Such weights never affect the output, but with weight decay they would shrink
        geometrically into denormal floats, which slow every matrix product on the CPU several
        times over. At exactly 0 they stay 0 under Adam, AdamW and L2 decay alike.
        """
        layers = self.layers()
        union = [torch.zeros_like(layer.mask) for layer in layers]
        for one in masks:
            for used, mask in zip(union, one, strict=True):
                used |= mask
        for layer, used in zip(layers, union, strict=True):
            layer.weight.mul_(used)

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
    ) -> torch.Tensor:
        """``(B, num_in) -> (B, num_out)`` under ``masks`` (default: the stored ones)."""
        masks = self.stored_masks() if masks is None else masks
        extra = self.context_terms(context)
        h = h_in
        for i, layer in enumerate(self.hidden):
            h = layer(h, masks[i])
            if extra is not None:
                h = h + extra[i]
            h = self.drop(self.act(h))
        out = self.output(h, masks[len(self.hidden)])
        if extra is not None:
            out = out + extra[-1]
        if self.direct is not None:
            out = out + self.direct(h_in, masks[-1])
        return out
