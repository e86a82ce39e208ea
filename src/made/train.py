"""The training loop: minimise mean NLL (nats per example), track validation NLL, keep the best
model, and make every epoch's progress durable.

Read top to bottom, one step is: zero_grad, forward (NLL of a batch drawn by index from tensors
already on the device), backward, clip, step, update the weights' moving average (if asked),
next mask. Each epoch ends with a validation NLL (of the averaged weights, when averaging), a
learning-rate schedule step, early-stopping bookkeeping and, given a run directory, an atomic
checkpoint holding everything needed to resume exactly (weights, optimiser, schedule, the batch
order generator's state, the history). Under ``torchrun`` the same loop runs data-parallel
(DistributedDataParallel): every rank uses the same masks and sees its share of every global
batch, and only rank 0 writes files. The library never prints; callbacks report progress.
"""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .calibration import calibrate
from .checkpoint import checkpoint_bytes, checkpoint_payload, load_checkpoint
from .config import MADEConfig, TrainConfig
from .errors import MadeError, SettingError, brief, render
from .evaluate import evaluate_nll
from .fastpath import Fast
from .fileio import atomic_write_bytes
from .masks import derive_seed, make_generator
from .model import MADE, mixture_log_prob

__all__ = [
    "FitResult",
    "MissingBestError",
    "NonFiniteLossError",
    "fit",
    "make_optimizer",
    "training_path",
    "training_dtype",
]

_BATCH_STREAM = 0xBA7C
_DROPOUT_STREAM = 0xD709
_NOISE_STREAM = 0x9015
_MIXTURE_STREAM = 0x3A5C


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the weights were not updated with it. Its message
    names settings as ``made.errors`` says (``template``)."""

    def __init__(self, template: str) -> None:
        super().__init__(template)
        self.template = template

    def __str__(self) -> str:
        return render(self.template)


class MissingBestError(MadeError):
    """A resumed run whose best weights (``best.pt``) are gone and were not bettered."""


@dataclass
class FitResult:
    """``history``: one dict per epoch (epoch, train_loss, valid_nll, lr, seconds,
    examples_per_second); the model has been restored to ``best_epoch``'s weights."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_valid_nll: float = float("inf")
    train_seconds: float = 0.0
    stopped_early: bool = False
    resumed_from: int = 0
    stop_reason: str = "epochs"  # "epochs", "patience" or "time_limit"
    precision: str = "float32"  # what the training steps' products computed in
    # with config.calibrate: the log factors that fitted the best weights' conditionals to
    # the validation rows (made.calibration), applied to the model returned
    calibration: list[float] | None = None


class _Objective(nn.Module):
    """The summed NLL of a batch as a module's forward, so DistributedDataParallel (which
    hooks ``forward``) can synchronise gradients; computed by the fast path ``fast``. With
    ``masks``, the NLL of the mixture of those masks (``TrainConfig.mixture_masks``),
    ``-log mean_k p_k(x)`` a row, as ``MADE.log_prob(ensemble=...)`` scores a mixture."""

    def __init__(self, model: MADE, fast: Fast) -> None:
        super().__init__()
        self.model, self.fast = model, fast

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None, masks: list[int] | None = None
    ) -> torch.Tensor:
        if not masks:
            return self.model.nll_sum(x, context, fast=self.fast)
        return -mixture_log_prob(self.model, x, masks, context, fast=self.fast).sum()


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "adagrad": torch.optim.Adagrad}


def _param_groups(model: MADE, cfg: TrainConfig) -> list[dict[str, Any]]:
    """All parameters at ``cfg.lr``, but the output layer's and the direct connections' (the
    weights that write the logits) at ``cfg.lr * cfg.output_lr_scale``."""
    if cfg.output_lr_scale == 1.0:
        return [{"params": list(model.parameters())}]
    net = model.net
    top = [net.output.weight, net.output.bias]
    if net.direct is not None:
        top.append(net.direct.weight)
    ids = {id(p) for p in top}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": rest}, {"params": top, "lr": cfg.lr * cfg.output_lr_scale}]


def make_optimizer(model: MADE, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser ``fit`` uses for ``cfg`` (fused where torch and the device allow)."""
    cls = _OPTIMIZERS[cfg.optimizer]
    # The fused kernel updates every parameter in one pass: a third of a training step's time
    # on the CPU otherwise goes into the optimiser's per-tensor loop. Torch versions or
    # devices without one refuse fused=True: then the ordinary implementation does the same
    # (with fresh groups: a refused constructor may have filled the first ones in).
    try:
        return cls(_param_groups(model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay,
                   fused=True)  # fmt: skip
    except (RuntimeError, TypeError, ValueError):
        return cls(_param_groups(model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay)


# The moving average of the weights gives step t the weight 1 / (1 + _HORIZON * t): its
# horizon is about the last tenth of the steps taken, long enough to smooth the steps' noise
# and short enough to forget the early weights, at any length of run.
_HORIZON = 0.1


@torch.no_grad()
def _update_average(average: list[torch.Tensor], model: MADE, step: int) -> None:
    weight = 1.0 / (1.0 + _HORIZON * step)
    for avg, p in zip(average, model.parameters(), strict=True):
        avg.lerp_(p, weight)


@torch.no_grad()
def _start_from_data(model: MADE, train: torch.Tensor) -> None:
    """Start the outputs that training moves too slowly from a random start at what the
    training rows say. Each missing flag's output bias: the log-odds of the training rows'
    missing rate (within [0.001, 0.999]). A flag's logit moves by about the learning rate a
    step, and a small table stops after a few dozen steps: started at 0 (a rate of one
    half), airquality's Ozone (24% missing) came out 36% missing in samples. And each
    ordering's first discrete dimension, which reads no input, at its marginal
    (``Layout.start_marginals``): from a random start, a penguins' sex column missing on
    2.5% of rows was drawn missing on 15.6% by a fold model whose ordering put it first."""
    layout = model.layout
    x = train.reshape(train.shape[0], model.num_dims)
    bias = model.net.output.bias
    layout.start_marginals(bias, model.orderings[:, 0].unique().tolist(), x)
    for d, unit in zip(layout.gap_dims, layout.flag_units(), strict=True):
        rate = x[:, d].isnan().double().mean().clamp(1e-3, 1 - 1e-3)
        bias[unit] = torch.logit(rate).to(bias.dtype)


def training_path(model: MADE, precision: str, batch_size: int) -> Fast:
    """How ``fit`` computes a training step (``made.fastpath.Fast``) on batches of
    ``batch_size`` rows: in the dtype ``training_dtype`` chooses, and for a single-mask model
    with its masked-out weights held at exactly zero (zeroed once, by
    ``MADE.zero_unused_weights``; the kernel multiplies their gradients by the mask, so
    no optimiser moves them), so that they are not masked again on every call. Values and
    gradients are those of masking, bit for bit (tested); a multi-mask model, whose masks use
    different weights, keeps masking."""
    dtype = training_dtype(precision, model, batch_size)
    return Fast(premasked=model.num_masks == 1, dtype=dtype)


def _native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 natively: a CPU with AVX512-BF16 or AMX. (CUDA
    is left to float32 until a GPU measurement shows the NLL unchanged there.)"""
    if device.type != "cpu":
        return False
    capabilities = getattr(torch.cpu, "get_capabilities", dict)()
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


# A bfloat16 product pays a fixed cost per call (about 50 us on a 2-core Xeon with AMX,
# against 4 us for a small float32 one), so it wins only once a step's products are large:
# by `benchmarks/precision.py`, from about 2^24 multiply-adds in the largest (batch rows x
# the largest weight matrix). Below that, float32 steps are up to 1.5x faster.
BFLOAT16_MIN_PRODUCT = 1 << 24


def largest_product(model: MADE, batch_size: int) -> int:
    """The multiply-adds of a training step's largest matrix product: ``batch_size`` rows
    through the model's largest weight matrix."""
    return batch_size * max(layer.weight.numel() for layer in model.net.layers())


def training_dtype(precision: str, model: MADE, batch_size: int) -> torch.dtype:
    """The dtype a training step's products compute in for ``TrainConfig.precision``, on the
    model's device, for batches of ``batch_size`` rows: ``"auto"`` takes
    bfloat16 where the hardware multiplies it natively, the weights are float32 and the
    products are large enough to gain (``BFLOAT16_MIN_PRODUCT``; a step then about 1.5x
    faster at the reference size, the NLL unchanged: ``benchmarks/peers.py`` and
    ``benchmarks/quality.py``), else the weights' own dtype."""
    weights = next(model.parameters()).dtype
    if precision == "bfloat16":
        return torch.bfloat16
    if (
        precision == "auto"
        and weights == torch.float32
        and _native_bfloat16(model.device)
        and largest_product(model, batch_size) >= BFLOAT16_MIN_PRODUCT
    ):
        return torch.bfloat16
    return weights


@contextmanager
def _averaged(model: MADE, average: list[torch.Tensor] | None) -> Iterator[None]:
    """The model holds the averaged weights inside the block, its own again after it."""
    if average is None:
        yield
        return
    params = list(model.parameters())
    with torch.no_grad():
        current = [p.detach().clone() for p in params]
        for p, avg in zip(params, average, strict=True):
            p.copy_(avg)
    try:
        yield
    finally:
        with torch.no_grad():
            for p, cur in zip(params, current, strict=True):
                p.copy_(cur)


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig) -> Any:
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, factor=0.5, patience=cfg.plateau_patience
        )
    return None


def _metrics_bytes(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _write_metrics(path: Path, lines: list[dict[str, Any]]) -> None:
    atomic_write_bytes(path, _metrics_bytes(lines))


@torch.no_grad()
def _zero_denormals(model: MADE, optimiser: torch.optim.Optimizer) -> None:
    """Set denormal values in the weights and the optimiser's state to exactly zero.

    (``torch.set_flush_denormal`` would reach only the calling thread, not the worker threads
    of multi-threaded kernels, and would change a process-wide setting.) Clearing them once an
    epoch keeps them from piling up, at the cost of one pass over the parameters per epoch."""
    tensors = list(model.parameters())
    for state in optimiser.state.values():
        tensors += [v for v in state.values() if torch.is_tensor(v) and v.dim() > 0]
    for t in tensors:
        if t.is_floating_point():
            t.masked_fill_(t.abs() < torch.finfo(t.dtype).tiny, 0.0)


def fit(
    model: MADE,
    train: torch.Tensor,
    valid: torch.Tensor,
    config: TrainConfig,
    *,
    train_context: torch.Tensor | None = None,
    valid_context: torch.Tensor | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    extra: dict[str, Any] | None = None,
    on_step: Callable[[dict[str, Any]], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Train ``model`` on ``train`` (``(N, *input_shape)`` integers on the model's device).

    Args:
        train_context, valid_context: conditioning vectors for a model with ``context_size``.
        run_dir: if given, rank 0 writes ``checkpoint.pt`` (everything needed to resume) and
            ``metrics.jsonl`` after every epoch, and ``best.pt`` whenever validation improves.
            ``extra`` is stored in both checkpoints.
        resume: continue from ``run_dir/checkpoint.pt``: the remaining epochs then give the same
            result as an uninterrupted run on the same device.
        on_step: called with ``{"step", "epoch", "loss", "examples"}`` after every step.
        on_epoch: called with each epoch's record.

    Raises ``NonFiniteLossError`` before a NaN or infinite loss reaches the weights; the last
    checkpoint is then the last good state. At the end the best epoch's weights are restored.

    With ``config.average_weights`` the validation NLL, ``best.pt`` and the weights returned
    are those of the weights' moving average; ``checkpoint.pt`` holds both. With
    ``config.time_limit`` the loop stops after the epoch that passes it (``stop_reason``).

    Denormal floats are cleared from the weights and optimiser state after every epoch: a
    weight decaying geometrically towards zero, as weight decay with Adagrad makes idle ones
    do, would otherwise slow every matrix product several times over.
    """
    rank, world = _world()
    # validate once; the loop then skips per-batch checks
    train, train_context = model.validate(train, train_context)
    valid, valid_context = model.validate(valid, valid_context)
    run_dir = Path(run_dir) if run_dir is not None else None
    write = run_dir is not None and rank == 0
    if not resume:
        _start_from_data(model, train)
    optimiser = make_optimizer(model, config)
    loop = _Loop(
        optimiser, _scheduler(optimiser, config), make_generator(config.seed, _BATCH_STREAM)
    )
    if config.average_weights:
        loop.average = [p.detach().clone() for p in model.parameters()]
    if model.net.dropout > 0:  # on the data's device, seeded: a resumed run drops the same units
        loop.dropout = torch.Generator(device=train.device)
        loop.dropout.manual_seed(derive_seed(config.seed, _DROPOUT_STREAM))
        model.net.dropout_generator = loop.dropout
    check_noise(model.config, config)
    if config.noise > 0:  # seeded on the CPU, saved to resume
        loop.noise = make_generator(config.seed, _NOISE_STREAM)
    check_mixture_masks(model.config, config)
    if config.mixture_masks > 1:  # seeded on the CPU, saved to resume
        loop.mixture = make_generator(config.seed, _MIXTURE_STREAM)
    loop.best_state = copy.deepcopy(model.state_dict())
    if resume:
        _restore(loop, model, run_dir, train.device, write)
    # chosen on the global batch, so data-parallel ranks compute as one process does
    fast = training_path(model, config.precision, min(config.batch_size, len(train)))
    if fast.premasked:
        model.zero_unused_weights()  # and the kernel keeps them zero (see training_path)
    objective: nn.Module = _Objective(model, fast)
    if world > 1:
        objective = nn.parallel.DistributedDataParallel(objective, forward_sync_buffers=False)
    result = loop.result
    start_epoch = result.resumed_from or 1
    reason = _stop_reason(config, loop)
    if reason is not None:  # resuming a run that had already stopped
        result.stopped_early, result.stop_reason = True, reason
        start_epoch = config.epochs + 1
    result.precision = str(fast.dtype).removeprefix("torch.")
    try:
        _epochs(loop, objective, model, train, valid, train_context, valid_context, config,
                start_epoch, run_dir if write else None, extra, on_step, on_epoch)  # fmt: skip
    except BaseException as exc:  # the last epoch's files are on disk before this goes on
        try:
            loop.writer.wait()
        except BaseException as failed:
            exc.add_note(f"writing the last epoch's files failed too: {failed!r}")
        raise
    loop.writer.wait()
    if loop.best_state is None:
        raise MissingBestError(
            f"{run_dir / 'best.pt'} (the weights of epoch {result.best_epoch}, the best) is "
            "missing and no later epoch was better, so the run cannot report its best model; "
            "train it again ({flag:overwrite})"
        )
    model.load_state_dict(loop.best_state)
    model.eval()  # the model returned scores and samples; dropout, if any, is off
    if config.calibrate:
        _calibrate(model, valid, loop, run_dir if write else None, extra)
    return result


def _calibrate(
    model: MADE, valid: torch.Tensor, loop: _Loop, run_dir: Path | None,
    extra: dict[str, Any] | None,
) -> None:  # fmt: skip
    """Fit the best weights' conditionals to the validation rows (``made.calibration``), and
    write ``best.pt`` again with the factors beside the weights as trained: loading it gives
    the calibrated model, resuming it the trained one (which is then calibrated again, to
    the same factors)."""
    assert loop.best_state is not None
    logs = calibrate(model, valid).tolist()
    loop.result.calibration = logs
    if run_dir is not None:
        best = checkpoint_payload(model, loop.best_state, epoch=loop.result.best_epoch,
                                  **(extra or {}), calibration=logs)  # fmt: skip
        atomic_write_bytes(run_dir / "best.pt", checkpoint_bytes(best))


def _epochs(
    loop: _Loop, objective: nn.Module, model: MADE, train: torch.Tensor, valid: torch.Tensor,
    train_context: torch.Tensor | None, valid_context: torch.Tensor | None,
    config: TrainConfig, start_epoch: int, run_dir: Path | None, extra: dict[str, Any] | None,
    on_step: Callable[[dict[str, Any]], None] | None,
    on_epoch: Callable[[dict[str, Any]], None] | None,
) -> None:  # fmt: skip
    """The epochs from ``start_epoch`` on: train (as ``objective`` computes), validate (the
    averaged weights, if kept, in the weights' dtype), keep the best, checkpoint into
    ``run_dir`` (None: write nothing), stop when told to."""
    result, optimiser, n = loop.result, loop.optimiser, train.shape[0]
    for epoch in range(start_epoch, config.epochs + 1):
        model.train()
        started = time.perf_counter()
        total = _train_epoch(loop, objective, model, train, train_context, config, epoch,
                             on_step)  # fmt: skip
        _zero_denormals(model, optimiser)
        seconds = time.perf_counter() - started
        result.train_seconds += seconds
        model.eval()
        with _averaged(model, loop.average):
            valid_nll = evaluate_nll(
                model, valid, valid_context,
                ensemble=min(config.eval_ensemble, model.num_masks),
                batch_size=config.eval_batch_size,
            ).nll  # fmt: skip
            # until min_epochs every epoch is the best so far: its weights are kept
            improved = valid_nll < result.best_valid_nll or epoch <= config.min_epochs
            if improved:
                loop.best_state = copy.deepcopy(model.state_dict())
        record = {
            "epoch": epoch, "step": loop.step, "train_loss": total / n, "valid_nll": valid_nll,
            "lr": optimiser.param_groups[0]["lr"], "seconds": seconds,
            "examples_per_second": n / seconds if seconds > 0 else float("inf"),
        }  # fmt: skip
        if loop.scheduler is not None:
            loop.scheduler.step(
                valid_nll
            ) if config.schedule == "plateau" else loop.scheduler.step()
        if improved:
            result.best_valid_nll, result.best_epoch, loop.bad_epochs = valid_nll, epoch, 0
        else:
            loop.bad_epochs += 1
        result.history.append(record)
        loop.metrics.append(record)
        if run_dir is not None:
            _save(loop, model, run_dir, epoch, improved, extra or {})
        if on_epoch is not None:
            on_epoch(record)
        reason = _stop_reason(config, loop)
        if reason is not None:
            result.stopped_early, result.stop_reason = True, reason
            break


class _Writer:
    """Writes each epoch's files on a background thread while the next epoch trains: the
    training thread serialises them (digest included), and this thread writes and flushes
    them to disk, which is mostly waiting. One write at a time, in order; ``wait`` waits for
    it and raises what it raised.

    ``wait`` waits on an event the job sets when it ends, not on ``Thread.join``: a join that
    a signal interrupts (Ctrl-C, SIGTERM) can leave the thread looking finished, and the
    next join return at once while the write goes on (5 times in 20 on Python 3.11), so a
    stopped run said "nothing to resume" and exited before its last checkpoint was on disk.
    """

    def __init__(self) -> None:
        self._done: threading.Event | None = None
        self._error: BaseException | None = None

    def submit(self, job: Callable[[], None]) -> None:
        self.wait()
        done = self._done = threading.Event()

        def run() -> None:
            try:
                job()
            except BaseException as exc:  # raised again on the training thread by wait()
                self._error = exc
            finally:
                done.set()

        # not a daemon: an interpreter that exits on an error still finishes the write
        threading.Thread(target=run, name="made-checkpoint-writer").start()

    def wait(self) -> None:
        if self._done is not None:
            self._done.wait()  # interrupted, it is waited on again: ``_done`` is kept
            self._done = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


@dataclass
class _Loop:
    """Everything the training loop carries from step to step, and saves to resume."""

    optimiser: torch.optim.Optimizer
    scheduler: Any
    batches: torch.Generator  # draws each epoch's batch order
    result: FitResult = field(default_factory=FitResult)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    step: int = 0
    bad_epochs: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    average: list[torch.Tensor] | None = None  # the weights' moving average, if kept
    dropout: torch.Generator | None = None  # draws the dropped units, if any
    noise: torch.Generator | None = None  # draws the noise on real dimensions, if any
    mixture: torch.Generator | None = None  # draws each step's masks (mixture_masks > 1)
    writer: _Writer = field(default_factory=_Writer)  # writes the run directory's files


def _stop_reason(config: TrainConfig, loop: _Loop) -> str | None:
    """Why the loop stops before its last epoch now, or None."""
    if config.patience is not None and loop.bad_epochs >= config.patience:
        return "patience"
    if config.time_limit is not None and loop.result.train_seconds >= config.time_limit:
        return "time_limit"
    return None


def check_noise(model_config: MADEConfig, config: TrainConfig) -> None:
    """Refuse ``noise`` for a model without a real-valued dimension, where it would change
    nothing (``SettingError``: the command line names the flag)."""
    if config.noise > 0 and not model_config.real_dims:
        raise SettingError("noise", config.noise, "perturbs real-valued dimensions, and this "
                           "model has none (its dimensions are binary or categorical)")  # fmt: skip


def check_mixture_masks(model_config: MADEConfig, config: TrainConfig) -> None:
    """Refuse ``mixture_masks`` above the model's number of masks (``SettingError``: the
    command line names the flag)."""
    if config.mixture_masks > model_config.num_masks:
        raise SettingError("mixture_masks", config.mixture_masks,
                           f"mixes that many of the model's masks, and it has "
                           f"{model_config.num_masks} (see {{flag:num_masks}})")  # fmt: skip


def _jitter(
    rows: torch.Tensor, real: list[int], std: float, generator: torch.Generator,
    batch: int, rank: int, world: int,
) -> torch.Tensor:  # fmt: skip
    """``rows`` (rank ``rank``'s share of a global batch of ``batch`` rows) with Gaussian
    noise of ``std`` added to the real dimensions ``real`` (``TrainConfig.noise``; a missing
    value, NaN, stays missing). The noise is drawn on the CPU for the whole global batch from
    ``generator`` (the loop's own, saved in its checkpoints), so a resumed run, and every
    rank of a data-parallel one, draws what a single uninterrupted run would."""
    flat = rows.reshape(len(rows), -1).clone()
    noise = torch.randn(batch, len(real), generator=generator, dtype=torch.float64)
    flat[:, real] += (std * noise[rank::world]).to(flat.device, flat.dtype)
    return flat.view_as(rows)


def _train_epoch(
    loop: _Loop, objective: nn.Module, model: MADE, train: torch.Tensor,
    context: torch.Tensor | None, config: TrainConfig, epoch: int,
    on_step: Callable[[dict[str, Any]], None] | None,
) -> float:  # fmt: skip
    """One pass over ``train`` in a fresh random order; returns the summed NLL (nats)."""
    rank, world = _world()
    total = 0.0
    order = torch.randperm(train.shape[0], generator=loop.batches).to(train.device)
    real = list(model.config.real_dims)  # the dimensions noise perturbs, if it is on
    for index in order.split(config.batch_size):
        shard = index[rank::world]  # this rank's share of the global batch
        ctx = None if context is None else context[shard]
        rows = train[shard]
        if loop.noise is not None:
            rows = _jitter(rows, real, config.noise, loop.noise, index.numel(), rank, world)
        if loop.mixture is None:
            nll_sum = objective(rows, ctx)
        else:  # every rank draws the same masks: one generator, one state
            drawn = torch.randperm(model.num_masks, generator=loop.mixture)
            nll_sum = objective(rows, ctx, drawn[: config.mixture_masks].tolist())
        # DDP averages gradients over ranks, so scale by world / global batch size: the
        # result is exactly the gradient of the global batch's mean NLL.
        loss = nll_sum * (world / index.numel())
        batch_nll = nll_sum.detach().clone()
        if world > 1:
            dist.all_reduce(batch_nll)  # every rank sees the same value, and stops together
        batch_nll = float(batch_nll) / index.numel()
        if not math.isfinite(batch_nll):
            raise NonFiniteLossError(
                f"the loss became {batch_nll} at epoch {epoch}, step {loop.step + 1}; the "
                "weights were not updated with it (try a lower {flag:lr} or {flag:grad_clip})"
            )
        loop.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        loop.optimiser.step()
        loop.step += 1
        if loop.average is not None:
            _update_average(loop.average, model, loop.step)
        if model.num_masks > 1 and loop.mixture is None and loop.step % config.mask_every == 0:
            model.next_mask()
        total += batch_nll * index.numel()
        info = {"step": loop.step, "epoch": epoch, "loss": batch_nll, "examples": index.numel()}
        if loop.step % config.log_every == 0:
            loop.metrics.append({**info, "lr": loop.optimiser.param_groups[0]["lr"]})
        if on_step is not None:
            on_step(info)
    return total


def _save(
    loop: _Loop, model: MADE, run_dir: Path, epoch: int, improved: bool, extra: dict[str, Any]
) -> None:
    """The epoch's checkpoint (everything needed to resume), ``best.pt`` when it improved,
    and ``metrics.jsonl``, each written atomically, in that order, by the loop's writer:
    from a snapshot taken now, so the next epoch may change the weights while they are
    written."""
    result = loop.result
    best = None
    if improved:  # loop.best_state is the improved weights (averaged, if kept), copied
        best = checkpoint_payload(model, loop.best_state, epoch=epoch, **extra)
    state = checkpoint_payload(
        model, epoch=epoch, **extra,
        train_state={
            "epoch": epoch, "step": loop.step, "bad_epochs": loop.bad_epochs,
            "optimizer": loop.optimiser.state_dict(),
            "scheduler": loop.scheduler.state_dict() if loop.scheduler is not None else None,
            "generator": loop.batches.get_state(), "history": result.history,
            "metrics": loop.metrics, "best_epoch": result.best_epoch,
            "best_valid_nll": result.best_valid_nll, "train_seconds": result.train_seconds,
            "average": loop.average,
            "dropout": loop.dropout.get_state() if loop.dropout is not None else None,
            "noise": loop.noise.get_state() if loop.noise is not None else None,
            "mixture": loop.mixture.get_state() if loop.mixture is not None else None,
        },
    )  # fmt: skip
    files = [(run_dir / "checkpoint.pt", checkpoint_bytes(state))]
    if best is not None:
        files.insert(0, (run_dir / "best.pt", checkpoint_bytes(best)))
    files.append((run_dir / "metrics.jsonl", _metrics_bytes(loop.metrics)))

    def write() -> None:
        for path, data in files:
            atomic_write_bytes(path, data)

    loop.writer.submit(write)


def _restore(
    loop: _Loop, model: MADE, run_dir: Path | None, device: torch.device, write: bool
) -> None:
    """Load ``run_dir/checkpoint.pt`` into the model and the loop, as the epoch it saved
    left them."""
    if run_dir is None or not (run_dir / "checkpoint.pt").is_file():
        raise ValueError(f"nothing to resume: no checkpoint.pt in {run_dir}")
    saved, payload = load_checkpoint(run_dir / "checkpoint.pt", map_location=device)
    state, result = payload.get("train_state"), loop.result
    if not isinstance(state, dict):
        raise ValueError(f"{run_dir / 'checkpoint.pt'} holds no training state to resume from")
    if _architecture(saved) != _architecture(model):
        raise ValueError(
            f"{run_dir / 'checkpoint.pt'} holds another model than the one being trained "
            "(its settings or its data's shape differ)"
        )
    try:
        _restore_state(loop, model, saved, state, device)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:
        raise ValueError(
            f"{run_dir / 'checkpoint.pt'} holds a training state made cannot resume from "
            f"({brief(exc)}); train again ({{flag:overwrite}})"
        ) from None
    loop.best_state = _best_state(run_dir, result.best_epoch, result.resumed_from - 1, model, loop)
    if write:  # drop the lines the killed epoch wrote after its checkpoint
        _write_metrics(run_dir / "metrics.jsonl", loop.metrics)


def _restore_state(
    loop: _Loop, model: MADE, saved: MADE, state: dict[str, Any], device: torch.device
) -> None:
    """The weights, optimiser, schedule, generators and history a checkpoint saved."""
    result = loop.result
    model.load_state_dict(saved.state_dict())
    loop.optimiser.load_state_dict(state["optimizer"])
    if loop.scheduler is not None:
        loop.scheduler.load_state_dict(state["scheduler"])
    loop.batches.set_state(state["generator"])
    loop.step, loop.bad_epochs = int(state["step"]), int(state["bad_epochs"])
    result.history = list(state["history"])
    result.best_epoch = int(state["best_epoch"])
    result.best_valid_nll = float(state["best_valid_nll"])
    result.train_seconds = float(state["train_seconds"])
    result.resumed_from = int(state["epoch"]) + 1
    loop.metrics = list(state["metrics"])
    if loop.average is not None:
        if state.get("average") is None:
            raise ValueError("it holds no average of the weights")
        loop.average = [t.to(device) for t in state["average"]]
        if [a.shape for a in loop.average] != [p.shape for p in model.parameters()]:
            raise ValueError("its average of the weights has other shapes than the model")
    if loop.dropout is not None:
        loop.dropout.set_state(state["dropout"])
    if loop.noise is not None:
        if state.get("noise") is None:
            raise ValueError("it holds no state of the noise generator")
        loop.noise.set_state(state["noise"])
    if loop.mixture is not None:
        if state.get("mixture") is None:
            raise ValueError("it holds no state of the mixture's mask generator")
        loop.mixture.set_state(state["mixture"])


def _architecture(model: MADE) -> dict[str, Any]:
    """A model's settings but its seed (its masks and weights come from the checkpoint)."""
    return {k: v for k, v in model.config.to_dict().items() if k != "seed"}


def _best_state(
    run_dir: Path, best_epoch: int, epoch: int, model: MADE, loop: _Loop
) -> dict[str, torch.Tensor] | None:
    """The best epoch's weights when resuming: from ``best.pt``, or the checkpoint's own
    (already in ``model``) when the last epoch was the best; None when they are lost. The
    weights as trained: a calibration ``best.pt`` carries is not applied."""
    if (run_dir / "best.pt").is_file():
        saved, payload = load_checkpoint(run_dir / "best.pt", model.output.weight.device,
                                         calibrated=False)  # fmt: skip
        if payload.get("epoch") == best_epoch and _architecture(saved) == _architecture(model):
            return saved.state_dict()
    if best_epoch == epoch:
        with _averaged(model, loop.average):
            return copy.deepcopy(model.state_dict())
    return None
