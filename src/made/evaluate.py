"""Exact negative log-likelihood over a data set, in nats per example and bits per dimension."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch

from .model import MADE

__all__ = ["NLLResult", "bits_per_dim", "evaluate_nll", "evaluating"]

_Nats = TypeVar("_Nats", float, torch.Tensor)


@dataclass(frozen=True)
class NLLResult:
    """``nll``: mean NLL in nats per example; ``bits_per_dim``: the same in bits per
    dimension (``nll / (D ln 2)``); ``num_examples``: how many examples were scored."""

    nll: float
    bits_per_dim: float
    num_examples: int


def bits_per_dim(nll_nats: _Nats, num_dims: int) -> _Nats:
    """Convert a per-example NLL in nats (a number, or a tensor of them) into bits per
    dimension."""
    return nll_nats / (num_dims * math.log(2.0))


@torch.no_grad()
def evaluate_nll(
    model: MADE,
    data: torch.Tensor,
    context: torch.Tensor | None = None,
    *,
    ensemble: int | None = None,
    batch_size: int = 1024,
) -> NLLResult:
    """Mean exact NLL of ``data`` (``(N, *input_shape)``, on the model's device).

    ``ensemble=K`` scores the mixture of masks ``0..K-1``; the current mask is left as it was.
    The whole set is validated once, then scored in batches (summed in float64) by the fast
    path, in evaluation mode (no dropout); the model's mode is left as it was.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    with evaluating(model):
        return _evaluate(model, data, context, ensemble, batch_size)


@contextmanager
def evaluating(model: MADE) -> Iterator[None]:
    """Inside the block the model is in evaluation mode (no dropout); after it, in the mode
    it was in."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _evaluate(
    model: MADE, data: torch.Tensor, context: torch.Tensor | None, ensemble: int | None,
    batch_size: int,
) -> NLLResult:  # fmt: skip
    x, ctx = model.validate(data, context, ensemble)
    total = 0.0
    for lp in log_probs_in_batches(model, x, ctx, ensemble, batch_size):
        total += float(lp.double().sum())
    nll = -total / x.shape[0]
    return NLLResult(
        nll=nll, bits_per_dim=bits_per_dim(nll, model.num_dims), num_examples=x.shape[0]
    )


def batches(
    x: torch.Tensor, context: torch.Tensor | None, batch_size: int
) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """``x`` and its ``context`` (or None) cut into batches of ``batch_size`` rows."""
    return [(x[i : i + batch_size], None if context is None else context[i : i + batch_size])
            for i in range(0, x.shape[0], batch_size)]  # fmt: skip


def log_probs_in_batches(
    model: MADE, x: torch.Tensor, context: torch.Tensor | None, ensemble: int | None,
    batch_size: int,
) -> list[torch.Tensor]:  # fmt: skip
    """Exact ``log p`` of each row of ``x`` (already validated), batch by batch, by the fast
    path: one ``(B,)`` tensor per batch. ``ensemble=K``: the mixture of masks ``0..K-1``,
    computed mask by mask so that each mask is built once for all the batches."""
    cut = batches(x, context, batch_size)
    if ensemble is None:
        return [model.log_prob(xb, cb, validate=False, fast=True) for xb, cb in cut]
    members = [[model.log_prob(xb, cb, validate=False, mask=k, fast=True) for xb, cb in cut]
               for k in range(ensemble)]  # fmt: skip
    return [torch.logsumexp(torch.stack(m), dim=0) - math.log(ensemble)
            for m in zip(*members, strict=True)]  # fmt: skip
