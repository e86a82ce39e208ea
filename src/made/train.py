"""The training loop: minimise mean NLL (nats per example) with Adam, tracking validation NLL
and keeping the best model. The library never prints; callers observe progress through
callbacks."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .config import TrainConfig
from .evaluate import evaluate_nll
from .masks import make_generator
from .model import MADE

__all__ = ["FitResult", "fit"]

_BATCH_STREAM = 0xBA7C


@dataclass
class FitResult:
    """``history``: one dict per epoch (epoch, train_loss, valid_nll, lr, seconds,
    examples_per_second); the model has been restored to ``best_epoch``'s weights."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_valid_nll: float = float("inf")
    train_seconds: float = 0.0


def fit(
    model: MADE,
    train: torch.Tensor,
    valid: torch.Tensor,
    config: TrainConfig,
    *,
    on_step: Callable[[int, float], None] | None = None,
    on_epoch: Callable[[dict[str, Any], MADE], None] | None = None,
) -> FitResult:
    """Train ``model`` on ``train`` (``(N, *input_shape)``, on the model's device).

    Batches are drawn by index from a permutation that changes every epoch (seeded by
    ``config.seed``). With several masks, the next mask is used every ``config.mask_every``
    steps. After each epoch, validation NLL is measured (an ensemble of
    ``config.eval_ensemble`` masks) and ``on_epoch(record, model)`` is called. At the end the
    weights of the best validation epoch are restored. A non-finite loss raises
    ``FloatingPointError`` before the step that would spread it into the weights.
    """
    train = model._check_x(train)  # validate once; the loop then skips per-batch checks
    valid = model._check_x(valid)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    batches = make_generator(config.seed, _BATCH_STREAM)
    result = FitResult()
    best_state = copy.deepcopy(model.state_dict())
    step = 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        start = time.perf_counter()
        total, count = 0.0, 0
        order = torch.randperm(train.shape[0], generator=batches).to(train.device)
        for index in order.split(config.batch_size):
            loss = model.loss(train[index], validate=False)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"non-finite loss {loss.item()} at epoch {epoch}, step {step}"
                )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            step += 1
            if model.num_masks > 1 and step % config.mask_every == 0:
                model.next_mask()
            total += loss.item() * index.numel()
            count += index.numel()
            if on_step is not None:
                on_step(step, loss.item())
        seconds = time.perf_counter() - start
        result.train_seconds += seconds
        model.eval()
        valid_nll = evaluate_nll(
            model,
            valid,
            ensemble=min(config.eval_ensemble, model.num_masks),
            batch_size=config.eval_batch_size,
        ).nll
        record = {
            "epoch": epoch,
            "train_loss": total / count,
            "valid_nll": valid_nll,
            "lr": optimiser.param_groups[0]["lr"],
            "seconds": seconds,
            "examples_per_second": count / seconds if seconds > 0 else float("inf"),
        }
        result.history.append(record)
        if valid_nll < result.best_valid_nll:
            result.best_valid_nll, result.best_epoch = valid_nll, epoch
            best_state = copy.deepcopy(model.state_dict())
        if on_epoch is not None:
            on_epoch(record, model)
    model.load_state_dict(best_state)
    return result
