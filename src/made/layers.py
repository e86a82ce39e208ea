"""MaskedLinear: a linear layer whose connectivity is restricted by a boolean mask."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ACTIVATION_FUNCTIONS", "MaskedLinear", "masked"]

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
