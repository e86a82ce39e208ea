"""Run directories: everything one training run leaves behind, and how to start, resume and
read one. The command line is a thin layer over this module; this module never prints.

A run directory holds ``made-run.json`` (the marker that made wrote it), ``config.json``
(every setting and the data's fingerprint), ``checkpoint.pt`` (the latest epoch, with
everything needed to resume), ``best.pt`` (best validation NLL), ``metrics.jsonl``,
``loss.png``, ``samples.png`` (for a table: its columns, test rows against samples, with the
samples in ``samples.csv``) and ``summary.json``; ``made.rundir`` keeps the list.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .checkpoint import checkpoint_epoch, load_checkpoint
from .config import DataConfig, MADEConfig, TrainConfig
from .data import NAMED_SETS, Dataset, TableSchema, load_data
from .data.fingerprint import fingerprint, fingerprint_changes
from .devices import resolve_device
from .errors import brief
from .evaluate import evaluate_nll
from .fileio import DamagedFileError, atomic_write_bytes, read_json, write_json
from .model import MADE
from .plots import plot_columns, plot_loss, save_sample_grid
from .recipes import recipe
from .rundir import (
    MARKER,
    RUN_FILES,
    RunError,
    check_marker,
    check_new_run_directory,
    clear_run_directory,
    remove_stale,
    run_lock,
    write_marker,
)
from .train import FitResult, fit
from .version import __version__

__all__ = [
    "RUN_FILES",
    "RESUMABLE_CHANGES",
    "RunError",
    "RunSettings",
    "absolute_source",
    "class_context",
    "data_contexts",
    "load_run",
    "read_record",
    "read_settings",
    "require_source",
    "resolve_device",
    "settings_changes",
    "table_schema",
    "train_run",
    "write_table",
]


@dataclass(frozen=True)
class RunSettings:
    """What a run needs beyond its data: the model's architecture (everything of
    ``MADEConfig`` that the data does not fix), the optimisation, and whether the model is
    class-conditional (the data's labels, one-hot, as context).

    ``recipe`` names the recipe the settings came from (``made.recipes``); ``sized`` lists
    the settings (``MADEConfig`` or ``TrainConfig`` field names) the auto recipe is still to
    size to the data, which ``train_run`` does once the data is read, recording why in
    ``choices``."""

    data: DataConfig
    model: dict[str, Any]
    train: TrainConfig
    conditional: bool = False
    recipe: str = "custom"
    sized: tuple[str, ...] = ()
    choices: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "made_version": __version__,
            "data": self.data.to_dict(),
            "model": self.model,
            "train": self.train.to_dict(),
            "conditional": self.conditional,
            "recipe": self.recipe,
            "choices": self.choices,
        }


def read_record(run_dir: Path) -> dict[str, Any]:
    """A run's ``config.json`` as a dict (``RunError`` for a missing or damaged one)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise RunError(f"{run_dir} has no config.json: not a made run directory")
    try:
        record = read_json(path, "a run configuration")
    except DamagedFileError as exc:
        raise RunError(str(exc)) from None
    if not isinstance(record, dict):
        raise RunError(f"{path} is not a readable run configuration (not a JSON object)")
    return record


def read_settings(run_dir: Path, record: dict[str, Any] | None = None) -> RunSettings:
    """The settings a run was started with, from its ``config.json`` (or ``record``, that
    file already read)."""
    path = Path(run_dir) / "config.json"
    raw = read_record(run_dir) if record is None else record
    try:
        model = dict(raw["model"])
        if all(key in model for key in _DATA_FIXED):  # the model it built, checked whole
            MADEConfig.from_dict(model)
        return RunSettings(
            data=DataConfig.from_dict(raw["data"]),
            model={k: v for k, v in model.items() if k not in _DATA_FIXED},
            train=TrainConfig.from_dict(raw["train"]),
            conditional=_flag(raw.get("conditional", False)),
            recipe=str(raw.get("recipe", "custom"))[:64],
            choices={str(k): str(v) for k, v in dict(raw.get("choices", {})).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise RunError(f"{path} is not a readable run configuration ({brief(exc)})") from None


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"conditional must be true or false; got {str(value)[:40]}")
    return value


_DATA_FIXED = ("input_shape", "num_categories", "context_size")


def class_context(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """One-hot class vectors ``(N, num_classes)`` as floats: the context of a
    class-conditional model."""
    return F.one_hot(labels.long(), num_classes).float()


def data_contexts(
    data: Dataset, conditional: bool, device: torch.device | str
) -> dict[str, torch.Tensor | None]:
    """Each split's context: one-hot labels for a conditional run, else None."""
    if not conditional:
        return {s: None for s in ("train", "valid", "test")}
    if not data.labels or not data.classes:
        raise RunError(f"{data.name} has no class labels, so a conditional model cannot be trained")
    out = {}
    for split in ("train", "valid", "test"):
        labels = data.label_tensor(split, device)
        if labels is None:
            raise RunError(f"{data.name} has no labels for its {split} split")
        out[split] = class_context(labels, len(data.classes))
    return out


def settings_changes(saved: RunSettings, other: RunSettings) -> list[tuple[str, Any, Any]]:
    """``(section.field, saved value, other value)`` for every setting that differs."""

    def flat(s: RunSettings) -> dict[str, Any]:
        d = s.to_dict()
        out = {"conditional": d["conditional"], "recipe": d["recipe"]}
        for section in ("data", "model", "train"):
            out.update({f"{section}.{k}": v for k, v in d[section].items()})
        return out

    a, b = flat(saved), flat(other)
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


# What a resumed run may change: the data's path (checked by fingerprint), a larger epoch
# count, and the time limit.
RESUMABLE_CHANGES = ("data.source", "train.epochs", "train.time_limit")


def _resume_settings(saved: RunSettings, asked: RunSettings | None, done: int) -> RunSettings:
    """The settings a resumed run continues with: its own, with the changes in
    ``RESUMABLE_CHANGES`` the only ones allowed (``epochs`` no lower than ``done``)."""
    if asked is None:
        return saved
    for key, old, new in settings_changes(saved, asked):
        if key not in RESUMABLE_CHANGES:
            raise RunError(
                f"{key.split('.')[-1]} is {new!r} but this run was trained with {old!r}; a "
                "resumed run keeps its own settings (only epochs may be raised)"
            )
        if key == "train.epochs":
            if new < done:
                raise RunError(
                    f"epochs {new} is below the {done} epochs this run has already trained"
                )
            if saved.train.schedule == "cosine":
                raise RunError(
                    f"this run's cosine schedule is fixed to its {old} epochs; it cannot be "
                    "extended"
                )
    return replace(
        saved,
        data=replace(saved.data, source=asked.data.source),
        train=replace(saved.train, epochs=asked.train.epochs, time_limit=asked.train.time_limit),
    )


def size_to_data(settings: RunSettings, data: Dataset) -> RunSettings:
    """``settings`` with the settings in ``settings.sized`` chosen by their recipe for
    ``data`` (its training rows and dimensions), and why, in ``choices``."""
    if not settings.sized:
        return settings
    chosen = recipe(settings.recipe, len(data.splits["train"]), math.prod(data.shape))
    model, train = dict(settings.model), settings.train
    for key in settings.sized:
        if key in chosen.model:
            model[key] = chosen.model[key]
        else:
            train = replace(train, **{key: chosen.train[key]})
        if key == "num_masks":  # validation scores the mixture of all the masks
            train = replace(train, eval_ensemble=chosen.model[key])
    choices = {key: chosen.reasons[key] for key in settings.sized}
    return replace(settings, model=model, train=train, sized=(), choices=choices)


def absolute_source(cfg: DataConfig) -> DataConfig:
    """``cfg`` with a file source made absolute, so a run's record of it works from any
    folder (named sets stay names)."""
    if cfg.source in NAMED_SETS or not Path(cfg.source).exists():
        return cfg
    return replace(cfg, source=str(Path(cfg.source).absolute()))


def require_source(cfg: DataConfig, run_dir: Path) -> None:
    """Refuse a run's recorded data file that is no longer there, saying where it was."""
    if cfg.source not in NAMED_SETS and not Path(cfg.source).exists():
        raise RunError(
            f"this run ({run_dir}) was trained on {cfg.source}, which is not there; pass --data"
        )


def _data_paths(cfg: DataConfig) -> list[Path]:
    return [] if cfg.source in NAMED_SETS else [Path(cfg.source)]


def _recorded_table(record: dict[str, Any], run_dir: Path) -> TableSchema | None:
    """The table schema a run's record holds (None for data that is not a table)."""
    table = record.get("table")
    try:
        return None if table is None else TableSchema.from_dict(table)
    except (ValueError, TypeError, AttributeError) as exc:
        raise RunError(f"{run_dir / 'config.json'} holds a damaged table ({brief(exc)})") from None


def _data_changes(record: dict[str, Any], prints: dict[str, Any], run_dir: Path) -> list[str]:
    """How the data differs from the fingerprint a run recorded."""
    if "fingerprint" not in record:
        raise RunError(f"{run_dir} records no fingerprint of its data, so it cannot be resumed")
    try:
        return fingerprint_changes(record["fingerprint"], prints)
    except (KeyError, TypeError, AttributeError) as exc:
        raise RunError(
            f"{run_dir / 'config.json'} holds a damaged fingerprint ({brief(exc)})"
        ) from None


def train_run(
    out: str | Path,
    settings: RunSettings | None,
    *,
    device: torch.device | str = "cpu",
    resume: bool = False,
    overwrite: bool = False,
    write: bool = True,
    on_start: Callable[[Dataset, MADE, int], None] | None = None,
    on_step: Callable[[dict[str, Any]], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_kept: Callable[[list[str]], None] | None = None,
    on_settings: Callable[[RunSettings], None] | None = None,
) -> tuple[dict[str, Any], FitResult]:
    """Train one run into ``out`` and return ``(summary, fit result)``.

    With ``resume`` training continues from ``out/checkpoint.pt`` under the run's own
    settings; ``settings``, if given, must equal them except for a larger ``epochs`` and the
    data's path, and the data must have the fingerprint the run recorded. ``write=False``
    (ranks other than 0 under torchrun) trains without touching the directory.
    ``on_start(data, model, first_epoch)`` is called once the data and model are ready;
    ``on_kept(names)`` with the files ``overwrite`` left because made did not write them;
    ``on_settings(settings)`` with the settings the run trains with (the auto recipe's sized
    to the data), before training starts.
    A writing run holds the directory's lock throughout (see ``made.rundir``).
    """
    out = Path(out)
    done, recorded = 0, {}  # recorded: the resumed run's config.json, read once
    if resume:
        if not (out / "checkpoint.pt").is_file():
            raise RunError(f"nothing to resume: {out} has no checkpoint.pt")
        if not check_marker(out):
            raise RunError(
                f"{out} has no {MARKER}: it was not written by this version of made, so it "
                "cannot be resumed safely"
            )
        done = checkpoint_epoch(out / "checkpoint.pt")
        recorded = read_record(out)
        saved = read_settings(out, recorded)
        settings = _resume_settings(saved, settings, done)
        if settings.data.source == saved.data.source:
            require_source(settings.data, out)
    elif settings is None:
        raise ValueError("settings are required unless resuming")
    elif write:  # refuses at once, before the data is read
        check_new_run_directory(out, overwrite, _data_paths(settings.data))
    assert settings is not None
    settings = replace(settings, data=absolute_source(settings.data))
    # Everything that can be wrong with the data or the settings fails here, before the run
    # directory is created or cleared: the data is read and checked, the model built and the
    # splits placed on the device and checked against it.
    # A resumed table is encoded as the run began, whatever its file holds now.
    schema = _recorded_table(recorded, out) if resume else None
    data = load_data(settings.data, schema=schema)
    if not resume:
        settings = size_to_data(settings, data)
    prints = fingerprint(data.splits, data.labels)
    if resume:
        changes = _data_changes(recorded, prints, out)
        if changes:
            raise RunError(
                f"{settings.data.source} is not the data this run was trained on: "
                + "; ".join(changes)
            )
    contexts = data_contexts(data, settings.conditional, device)
    model_cfg = MADEConfig(
        input_shape=data.shape,
        num_categories=data.num_categories,
        context_size=len(data.classes) if settings.conditional else 0,
        **settings.model,
    )
    if on_settings is not None:
        on_settings(settings)
    model = MADE.from_config(model_cfg).to(device)
    splits = {s: data.tensor(s, device) for s in ("train", "valid", "test")}
    for s, x in splits.items():
        splits[s], contexts[s] = model.validate(x, contexts[s])
    config = {
        **settings.to_dict(),
        "model": model_cfg.to_dict(),
        "classes": list(data.classes),
        "data_notes": data.notes,
        "fingerprint": prints,
        **({"table": data.schema.to_dict()} if data.schema is not None else {}),
        "device": str(device),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    with run_lock(out) if write else nullcontext():
        if write and resume:  # the run's record, with the epochs or the data path it now has
            remove_stale(out)  # what a killed run left half written
            config = {**recorded, "data": config["data"], "train": config["train"]}
            write_json(out / "config.json", config)
        elif write:
            kept = clear_run_directory(out)
            if kept and on_kept is not None:
                on_kept(kept)
            write_marker(out)
            write_json(out / "config.json", config)
        return _train_and_report(
            out, settings, data, model, splits, contexts, device, resume, write, done,
            on_start, on_step, on_epoch,
        )  # fmt: skip


def _train_and_report(
    out: Path, settings: RunSettings, data: Dataset, model: MADE, split: dict[str, torch.Tensor],
    contexts: dict[str, torch.Tensor | None], device: torch.device | str, resume: bool,
    write: bool, done: int, on_start: Callable[[Dataset, MADE, int], None] | None,
    on_step: Callable[[dict[str, Any]], None] | None,
    on_epoch: Callable[[dict[str, Any]], None] | None,
) -> tuple[dict[str, Any], FitResult]:  # fmt: skip
    """Fit, then evaluate the best weights on the test split and write the run's report."""
    if on_start is not None:
        on_start(data, model, done + 1)
    extra: dict[str, Any] = {"classes": list(data.classes) if settings.conditional else []}
    if data.schema is not None:
        extra["table"] = data.schema.to_dict()
    result = fit(
        model, split["train"], split["valid"], settings.train,
        train_context=contexts["train"], valid_context=contexts["valid"],
        run_dir=out if write else None, resume=resume, extra=extra,
        on_step=on_step, on_epoch=on_epoch,
    )  # fmt: skip
    ensemble = model.num_masks if model.num_masks > 1 else None
    test = evaluate_nll(model, split["test"], contexts["test"], ensemble=ensemble)
    summary = {
        "data": data.name,
        "test_nll": test.nll,
        "test_bits_per_dim": test.bits_per_dim,
        "test_ensemble": ensemble or 1,
        "best_epoch": result.best_epoch,
        "best_valid_nll": result.best_valid_nll,
        "epochs": len(result.history),
        "stopped_early": result.stopped_early,
        "stop_reason": result.stop_reason,
        "precision": result.precision,
        "recipe": settings.recipe,
        "choices": {key: {"value": _setting(settings, key), "why": why}
                    for key, why in settings.choices.items()},
        "warnings": convergence_warnings(result),
        "train_seconds": result.train_seconds,
        "examples_per_second": (
            len(split["train"]) * len(result.history) / result.train_seconds
            if result.train_seconds > 0 else None
        ),
        "true_entropy": data.entropy,
        **_original_units(data, test.nll),
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "device": str(device),
    }  # fmt: skip
    if write:
        g = torch.Generator().manual_seed(settings.train.seed)
        ctx = None
        if settings.conditional:  # ten samples per class, row by row
            labels = torch.arange(100) % len(data.classes)
            ctx = class_context(labels, len(data.classes)).to(device)
        samples = model.sample(100, ctx, generator=g, ensemble=ensemble)
        if data.schema is not None:  # a table: the samples as CSV, and beside the data
            write_table(out / "samples.csv", data.schema, samples.cpu().numpy())
            plot_columns(data.schema, data.splits["train"], out / "samples.png",
                         title=f"training rows and 100 samples, {data.name}",
                         samples=samples.cpu().numpy())  # fmt: skip
        else:
            save_sample_grid(
                samples,
                out / "samples.png",
                num_categories=model.max_categories,
                title=f"100 samples, {data.name}",
            )
        plot_loss(result.history, out / "loss.png", floor=data.entropy, test_nll=test.nll)
        atomic_write_bytes(out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    return summary, result


def _setting(settings: RunSettings, key: str) -> Any:
    return settings.model[key] if key in settings.model else getattr(settings.train, key)


# A run that stopped on its epoch cap or time limit is called far from converged when its
# validation NLL fell by more than this fraction over its last fifth of epochs.
UNCONVERGED_GAIN = 0.02


def convergence_warnings(result: FitResult) -> list[str]:
    """Why the model a run returns may be far from what its data allows, if it may be."""
    nll = [r["valid_nll"] for r in result.history]
    if result.stop_reason == "patience" or not nll:
        return []
    if len(nll) == 1:
        return ["the run trained a single epoch, too few to tell whether it converged"]
    k = max(1, len(nll) // 5)
    before, recent = min(nll[:-k]), min(nll[-k:])
    gain = before - recent
    if gain <= UNCONVERGED_GAIN * abs(before):
        return []
    why = "its time limit" if result.stop_reason == "time_limit" else "its last epoch"
    return [
        f"far from converged: the validation NLL was still falling when the run reached {why} "
        f"({gain:.3g} nats better over its last {k} of {len(nll)} epochs)"
    ]


def _original_units(data: Dataset, nll: float) -> dict[str, float]:
    """For a table with real columns: the test NLL in the data's own units (the model sees
    standardised values; the standardisation's log-Jacobian converts)."""
    if data.schema is None or not data.schema.has_real:
        return {}
    return {"test_nll_original_units": nll + data.schema.log_scale}


def write_table(
    path: Path, schema: TableSchema, x: Any, extra: dict[str, list[str]] | None = None
) -> None:
    """Rows ``x`` (codes and standardised values) as a CSV in the table's own units and
    names, atomically; ``extra`` columns (name -> one text per row) come first."""
    extra = extra or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*extra, *schema.names])
    for i, row in enumerate(schema.decode(x)):
        writer.writerow([*(column[i] for column in extra.values()), *row])
    atomic_write_bytes(path, buffer.getvalue().encode())


def table_schema(payload: dict[str, Any]) -> TableSchema | None:
    """The table schema a checkpoint carries, if its model was trained on a table."""
    table = payload.get("table")
    return None if table is None else TableSchema.from_dict(table)


def load_run(run: str | Path, device: torch.device | str = "cpu") -> tuple[MADE, dict, Path]:
    """``(model, checkpoint payload, run directory)`` for a run directory (its ``best.pt``)
    or a checkpoint file, with the model in eval mode."""
    path = Path(run)
    if path.is_dir():
        ckpt = path / "best.pt"
        if not ckpt.is_file():
            raise RunError(f"{path} has no best.pt: is it a made run directory?")
    elif path.is_file():
        ckpt = path
    else:
        raise RunError(f"no run directory or checkpoint at {path}")
    model, payload = load_checkpoint(ckpt, map_location=device)
    model.eval()
    return model, payload, ckpt.parent
