"""Samplers for a MADE. Every sampler consumes the same uniforms in the same way
(``u[:, t]`` decides the t-th position of the ordering, by inverse CDF through
``MADE.draw``), so two samplers fed one generator state must return identical samples."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .model import MADE

__all__ = ["sample_naive", "draw_uniforms"]


def draw_uniforms(model: MADE, n: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, D)`` uniforms from ``generator`` on its own device, moved to the model's."""
    u = torch.rand(n, model.num_dims, generator=generator, device=generator.device)
    return u.to(device=model.output.weight.device, dtype=model.output.weight.dtype)


@torch.no_grad()
def sample_naive(
    model: MADE, n: int, context: torch.Tensor | None, generator: torch.Generator
) -> torch.Tensor:
    """The reference sampler: one full forward pass per dimension (D passes).

    ``context`` must already be validated (``(n, C)`` or None). Returns ``(n, *input_shape)``.
    """
    u = draw_uniforms(model, n, generator)
    x = torch.zeros(n, model.num_dims, dtype=torch.long, device=u.device)
    masks, plan = model._current_masks(), model._current_plan()
    for t, dim in enumerate(model.ordering.tolist()):
        out = model._network(model._encode(x), context, masks, plan)
        x[:, dim] = model.draw(out, dim, u[:, t])
    return x.reshape(n, *model.input_shape)
