"""The masked network alone, as a building block: real-valued inputs in, P parameters per
dimension out, each dimension's parameters depending only on the inputs before it.

This is the conditioner of masked autoregressive flows (MAF) and inverse autoregressive flows
(IAF): a user supplies the transform (shift and log-scale, a spline's knots, a mixture's
weights) and made guarantees the autoregressive structure, with the same masks, orderings
and degrees as ``MADE``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .config import LIMITS, check_count, positive_ints
from .masks import (
    INIT_STREAM,
    MASK_STREAM,
    build_masks,
    make_generator,
    make_hidden_degrees,
    make_ordering,
)
from .network import MaskedNetwork

__all__ = ["MaskedMLP"]


class MaskedMLP(nn.Module):
    """``(B, D)`` inputs (and an optional ``(B, C)`` context) to ``(B, D, P)`` parameters, where
    ``out[:, d, :]`` depends only on the inputs that come before ``d`` in ``ordering`` (and on the
    context). ``out[:, ordering[0], :]`` depends on the context alone (and its biases).

    Args:
        num_dims: D, the number of input dimensions.
        hidden_sizes: the hidden layers' widths (each should be at least D - 1 for every
            dimension to be able to see all of its predecessors).
        params_per_dim: P, the number of parameters produced for each dimension.
        ordering: ``"natural"``, ``"reversed"``, ``"random"`` (from ``seed``) or a permutation.
        hidden_degrees: ``"random"`` (the MADE paper) or ``"equal"`` (evenly spread).
        context_size: width of a conditioning vector fed, unmasked, to every hidden layer
            and to the output layer (so every dimension, the first included, depends on it).
        activation: any of ``made.config.ACTIVATIONS`` (``relu``, ``tanh``, ...).
        seed: everything random (weights, ordering, degrees) is drawn from it.
    """

    def __init__(
        self,
        num_dims: int,
        hidden_sizes: Sequence[int],
        params_per_dim: int = 2,
        *,
        ordering: str | Sequence[int] = "natural",
        hidden_degrees: str = "random",
        context_size: int = 0,
        activation: str = "relu",
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, value, low in (("num_dims", num_dims, 1), ("params_per_dim", params_per_dim, 1),
                                 ("context_size", context_size, 0), ("seed", seed, 0)):  # fmt: skip
            check_count(name, value, low, LIMITS["seed"] if name == "seed" else None)
        sizes = list(positive_ints("hidden_sizes", hidden_sizes, allow_empty=True))
        self.num_dims, self.params_per_dim = num_dims, params_per_dim
        self.context_size = context_size
        masks_gen = make_generator(seed, MASK_STREAM)
        order = make_ordering(ordering, num_dims, masks_gen)
        degrees = make_hidden_degrees(sizes, num_dims, hidden_degrees, masks_gen)
        units_in = torch.arange(num_dims)
        units_out = torch.arange(num_dims).repeat_interleave(params_per_dim)
        self.register_buffer("ordering", order)
        # The one masked network of made (as in MADE: the context feeds every layer, the
        # output included, so the first dimension can be conditioned too).
        self.net = MaskedNetwork(
            num_dims, sizes, num_dims * params_per_dim, context_size=context_size,
            activation=activation, generator=make_generator(seed, INIT_STREAM),
        )  # fmt: skip
        self.net.set_masks(build_masks(order, degrees, units_in, units_out))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, D)`` -> ``(B, D, P)``."""
        if x.dim() != 2 or x.shape[1] != self.num_dims:
            raise ValueError(f"x must have shape (batch, {self.num_dims}); got {tuple(x.shape)}")
        if (context is None) != (self.context_size == 0):
            raise ValueError(
                f"this network needs a context of shape (batch, {self.context_size})"
                if context is None else "this network has no context, but one was given"
            )  # fmt: skip
        if context is not None and context.shape != (x.shape[0], self.context_size):
            raise ValueError(
                f"context must have shape ({x.shape[0]}, {self.context_size}); "
                f"got {tuple(context.shape)}"
            )
        out = self.net(x, context)
        return out.view(x.shape[0], self.num_dims, self.params_per_dim)
