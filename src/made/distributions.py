"""A trained MADE as a ``torch.distributions.Distribution``.

``MADEDistribution(model)`` is the model's density over whole examples: its ``event_shape``
is the model's input shape, ``log_prob`` is the exact log-likelihood (the mixture of masks
with ``ensemble=K``), and ``sample`` draws exact samples. A conditional model takes its
``context`` as the distribution's parameter, and each context row is one element of the
batch, so torch code and pyro models that expect a Distribution can use MADE as it is.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.distributions import Distribution, constraints

from .model import MADE

__all__ = ["MADEDistribution"]


class MADEDistribution(Distribution):
    """The density of a trained ``MADE`` over its examples.

    Args:
        model: a trained MADE (its current mask, or the mixture of ``ensemble`` masks).
        context: ``(*batch_shape, context_size)`` conditioning vectors for a model with a
            context; the batch shape is then ``batch_shape``. None for an unconditional model
            (batch shape ``()``).
        ensemble: score and sample the mixture of masks ``0..K-1`` (as probabilities).
        validate_args: check values against the support, as torch distributions do.

    ``sample`` draws from torch's global random generator (a seed taken from it), so
    ``torch.manual_seed`` makes it reproducible as with any torch distribution; values are
    integer categories (a LongTensor), or the model's float dtype when it has real
    dimensions. There is no ``rsample``: discrete draws have no reparameterised gradient.
    """

    arg_constraints: dict[str, Any] = {}
    has_rsample = False

    def __init__(
        self,
        model: MADE,
        context: torch.Tensor | None = None,
        ensemble: int | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self.model = model
        self.context = context
        self.ensemble = ensemble
        size = model.config.context_size
        if size and context is None:
            raise ValueError(f"this model needs a context of size {size}")
        if context is not None and (not size or context.shape[-1] != size):
            raise ValueError(
                f"context's last dimension must be the model's context size ({size}); got "
                f"shape {tuple(context.shape)}"
            )
        batch_shape = torch.Size(() if context is None else context.shape[:-1])
        super().__init__(batch_shape, torch.Size(model.input_shape), validate_args)

    @property
    def support(self) -> constraints.Constraint:
        """Integers in [0, K-1] for a model whose dimensions all have K categories; the real
        line (a superset) for mixed or real models."""
        k = self.model.config.num_categories
        events = len(self.event_shape)
        if isinstance(k, int) and k >= 2:
            return constraints.independent(constraints.integer_interval(0, k - 1), events)
        return constraints.independent(constraints.real, events)

    def expand(self, batch_shape: Any, _instance: Any = None) -> MADEDistribution:
        """The same density over a larger batch: the context (if any) is broadcast to it."""
        batch_shape = torch.Size(batch_shape)
        context = self.context
        if context is not None:
            context = context.expand(*batch_shape, context.shape[-1])
        new = MADEDistribution(self.model, context, self.ensemble, validate_args=False)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _flat_context(self, leading: torch.Size) -> torch.Tensor | None:
        """The context for ``leading`` rows ``(*sample_shape, *batch_shape)``, flattened."""
        if self.context is None:
            return None
        ctx = self.context.expand(*leading, self.context.shape[-1])
        return ctx.reshape(-1, self.context.shape[-1])

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Exact ``log p(value)`` in nats, shape ``value.shape[:-len(event_shape)]`` (an
        empty batch gives an empty tensor)."""
        events = len(self.event_shape)
        if value.dim() < events or value.shape[value.dim() - events :] != self.event_shape:
            raise ValueError(
                f"value must have shape (..., {', '.join(map(str, self.event_shape))}); got "
                f"{tuple(value.shape)}"
            )
        leading = value.shape[: value.dim() - events]
        shape = torch.broadcast_shapes(leading, self.batch_shape)
        if math.prod(shape) == 0:  # nothing to score (torch's own checks cannot reshape it)
            return torch.zeros(shape, dtype=self.model.dtype, device=self.model.device)
        if self._validate_args:
            self._validate_sample(value)
        value = value.expand(*shape, *self.event_shape)
        x = value.reshape(-1, *self.event_shape)
        log_p = self.model.log_prob(x, self._flat_context(shape), ensemble=self.ensemble)
        return log_p.reshape(shape)

    @torch.no_grad()
    def sample(self, sample_shape: Any = ()) -> torch.Tensor:
        """Exact samples of shape ``(*sample_shape, *batch_shape, *event_shape)``."""
        shape = self._extended_shape(torch.Size(sample_shape))
        leading = shape[: len(shape) - len(self.event_shape)]
        n = math.prod(leading)
        seed = int(torch.randint(2**62, (), dtype=torch.long))
        generator = torch.Generator().manual_seed(seed)
        if n == 0:
            dtype = self.model.dtype if self.model.has_real else torch.long
            return torch.zeros(shape, dtype=dtype, device=self.model.device)
        drawn = self.model.sample(n, self._flat_context(leading), generator,
                                  ensemble=self.ensemble)  # fmt: skip
        return drawn.reshape(shape)
