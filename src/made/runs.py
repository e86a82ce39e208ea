"""Run directories: everything one training run leaves behind, and how to start, resume and
read one. The command line is a thin layer over this module; this module never prints.

A run directory holds ``made-run.json`` (the marker that made wrote it), ``config.json``
(every setting and the data's fingerprint), ``checkpoint.pt`` (the latest epoch, with
everything needed to resume), ``best.pt`` (best validation NLL), ``metrics.jsonl``,
``loss.png``, ``samples.png`` (for a table: its columns, test rows against samples, with the
samples in ``samples.csv``) and ``summary.json``; ``made.rundir`` keeps the list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import checkpoint_epoch, load_checkpoint
from .config import DataConfig, MADEConfig, TrainConfig
from .data import NAMED_SETS, Dataset, TableSchema, load_data
from .data.fingerprint import fingerprint, fingerprint_changes
from .data.groups import OneHotGroups, numpy_rng
from .errors import brief
from .evaluate import bits_per_dim, evaluate_nll
from .export import write_table
from .fileio import DamagedFileError, atomic_write_bytes, read_json, write_json
from .impute import table_samples
from .model import MADE
from .plots import plot_columns, plot_loss, save_sample_grid
from .recipes import AUTO_CHOOSE_BUDGETS
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
from .selection import Trial, successive_halving
from .settings import DATA_FIXED, MODEL_SETTINGS, TRAIN_SETTINGS, Resolved, resolve
from .settings import resume as resume_changes
from .train import FitResult, NonFiniteLossError, check_mixture_masks, check_noise, fit
from .version import __version__

__all__ = [
    "RUN_FILES",
    "RunError",
    "RunRequest",
    "RunSettings",
    "absolute_source",
    "class_context",
    "class_cycle",
    "data_contexts",
    "load_run",
    "nll_in_data_units",
    "read_record",
    "read_settings",
    "require_source",
    "resumed_settings",
    "run_data",
    "table_schema",
    "train_run",
    "write_table",
]


@dataclass(frozen=True)
class RunSettings:
    """What a run trains with beyond its data: the model's architecture (everything of
    ``MADEConfig`` that the data does not fix), the optimisation, and whether the model is
    class-conditional (the data's labels, one-hot, as context). ``recipe`` names the recipe
    the settings came from (``made.recipes``), ``choices`` why it chose what it sized to the
    data. A ``RunRequest`` becomes one once the data is read (``made.settings.resolve``).
    ``candidates``: the settings the validation split is still to choose among (the auto
    recipe on few rows per dimension; ``made.selection``; a caller that changes the model
    or the epochs after resolving should clear them); ``selection``: the trials that chose
    these settings, once it has."""

    data: DataConfig
    model: dict[str, Any]
    train: TrainConfig
    conditional: bool = False
    recipe: str = "custom"
    choices: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, Resolved] = field(default_factory=dict)
    selection: tuple[Trial, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "made_version": __version__,
            "data": self.data.to_dict(),
            "model": self.model,
            "train": self.train.to_dict(),
            "conditional": self.conditional,
            "recipe": self.recipe,
            "choices": self.choices,
            **({"selection": [t.to_dict() for t in self.selection]} if self.selection else {}),
        }

    def candidate(self, name: str) -> RunSettings:
        """These settings with candidate ``name``'s (none left to choose): its model, the
        training settings it sets (its weight decay) and validation scoring its masks; the
        rest of the training as these settings have it (a caller may have changed it since
        they were resolved)."""
        option = self.candidates[name]
        own = {key: getattr(option.train, key) for key, why in option.choices.items()
               if why == name and hasattr(option.train, key)}  # fmt: skip
        train = replace(self.train, eval_ensemble=option.train.eval_ensemble, **own)
        return replace(self, model=option.model, train=train, choices=option.choices,
                       candidates={})  # fmt: skip

    def flat(self) -> dict[str, Any]:
        """Every setting by name (the data's, the model's, the training's; ``seed`` is the
        run's one seed), with ``conditional`` and ``recipe``."""
        return {**self.model, **self.train.to_dict(), **self.data.to_dict(),
                "conditional": self.conditional, "recipe": self.recipe}  # fmt: skip


@dataclass(frozen=True)
class RunRequest:
    """What a user asks of a run before its data is read: the data, a recipe, the settings
    given by name (``MADEConfig``, ``TrainConfig`` and ``DataConfig`` field names, as
    ``made.settings`` lists them; each replaces the recipe's value), and whether the model
    is class-conditional. The command line makes one from its flags; so can any caller."""

    data: DataConfig
    recipe: str = "auto"
    given: dict[str, Any] = field(default_factory=dict)
    conditional: bool = False

    def resolve(self, num_train: int, num_dims: int) -> RunSettings:
        """The settings the run trains with on data of ``num_train`` training rows of
        ``num_dims`` dimensions (``made.settings.resolve``)."""
        chosen = resolve(
            self.recipe,
            {k: v for k, v in self.given.items() if k in MODEL_SETTINGS or k in TRAIN_SETTINGS},
            num_train,
            num_dims,
        )
        return RunSettings(self.data, chosen.model, chosen.train, self.conditional,
                           self.recipe, chosen.choices, chosen.candidates)  # fmt: skip


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
        if all(key in model for key in DATA_FIXED):  # the model it built, checked whole
            MADEConfig.from_dict(model)
        return RunSettings(
            data=DataConfig.from_dict(raw["data"]),
            model={k: v for k, v in model.items() if k not in DATA_FIXED},
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


def resumed_settings(saved: RunSettings, request: RunRequest | None, done: int) -> RunSettings:
    """The settings a resumed run continues with: its own, with the changes the request's
    given settings ask for where a resume allows them (``made.settings.resume``)."""
    if request is None:
        return saved
    changes = resume_changes(saved.flat(), request.given, done)
    train = replace(saved.train, **{k: v for k, v in changes.items() if k != "source"})
    data = replace(saved.data, source=changes.get("source", saved.data.source))
    return replace(saved, data=data, train=train)


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
            f"this run ({run_dir}) was trained on {cfg.source}, which is not there; give its "
            "new path ({flag:source})"
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


def _recorded_groups(record: dict[str, Any], where: str) -> OneHotGroups | None:
    """The one-hot groups a run's record or checkpoint (``where``, for the message) holds
    (None: its data is read as it is); ``RunError`` for damaged ones."""
    try:
        return one_hot_groups(record)
    except (ValueError, TypeError, KeyError) as exc:
        raise RunError(f"{where} holds damaged one-hot groups ({brief(exc)})") from None


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
    settings: RunSettings | RunRequest | None,
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
    on_trial: Callable[[Trial], None] | None = None,
    on_choose: Callable[[list[str]], None] | None = None,
) -> tuple[dict[str, Any], FitResult]:
    """Train one run into ``out`` and return ``(summary, fit result)``.

    ``settings``: a ``RunRequest`` (resolved once the data is read) or ``RunSettings``. With
    ``resume`` training continues from ``out/checkpoint.pt`` under the run's own settings,
    changed only as a ``RunRequest``'s given settings may change them
    (``made.settings.resume``), and the data must have the fingerprint the run recorded.
    ``write=False``
    (ranks other than 0 under torchrun) trains without touching the directory.
    ``on_start(data, model, first_epoch)`` is called once the data and model are ready;
    ``on_kept(names)`` with the files ``overwrite`` left because made did not write them;
    ``on_settings(settings)`` with the settings the run trains with (the auto recipe's sized
    to the data), before training starts; ``on_choose(names)`` with the candidates the
    validation split is about to choose among (``made.selection``), and ``on_trial(trial)``
    with each trial as it ends, before that.
    A writing run holds the directory's lock throughout (see ``made.rundir``).
    """
    out = Path(out)
    done, recorded = 0, {}  # recorded: the resumed run's config.json, read once
    if resume:
        settings, recorded, done = _resumed(out, settings)
    elif settings is None:
        raise ValueError("settings are required unless resuming")
    elif write:  # refuses at once, before the data is read
        check_new_run_directory(out, overwrite, _data_paths(settings.data))
    assert settings is not None
    # Everything that can be wrong with the data or the settings fails here, before the run
    # directory is created or cleared.
    settings, data, model, splits, contexts, config = _prepared(
        out, settings, recorded, device, on_settings, on_trial, on_choose
    )
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


def _resumed(
    out: Path, request: RunSettings | RunRequest | None
) -> tuple[RunSettings, dict[str, Any], int]:
    """A resumed run's settings (its own, with the changes ``request`` may make), its
    ``config.json`` and the epochs it has trained."""
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
    if isinstance(request, RunSettings):
        raise ValueError("a resumed run keeps its own settings: give a RunRequest of the "
                         "changes (or None)")  # fmt: skip
    settings = resumed_settings(saved, request, done)
    if settings.data.source == saved.data.source:
        require_source(settings.data, out)
    return settings, recorded, done


def _prepared(
    out: Path, settings: RunSettings | RunRequest, recorded: dict[str, Any],
    device: torch.device | str, on_settings: Callable[[RunSettings], None] | None,
    on_trial: Callable[[Trial], None] | None = None,
    on_choose: Callable[[list[str]], None] | None = None,
) -> tuple[RunSettings, Dataset, MADE, dict[str, torch.Tensor],
           dict[str, torch.Tensor | None], dict[str, Any]]:  # fmt: skip
    """The data read and checked (against a resumed run's fingerprint), the settings
    resolved (and chosen on validation, where the recipe leaves candidates), the model
    built and the splits on the device, checked against it; and the run's record.
    ``recorded``: a resumed run's ``config.json`` (empty for a new run), whose table schema
    encodes the data as the run began, whatever its file holds now."""
    resume = bool(recorded)
    settings = replace(settings, data=absolute_source(settings.data))
    data = load_data(settings.data, schema=_recorded_table(recorded, out) if resume else None,
                     groups=_recorded_groups(recorded, str(out / "config.json")) if resume
                     else "find")  # fmt: skip
    if isinstance(settings, RunRequest):
        settings = settings.resolve(len(data.splits["train"]), data.num_dims)
    prints = fingerprint(data.splits, data.labels)
    changes = _data_changes(recorded, prints, out) if resume else []
    if changes:
        raise RunError(f"{settings.data.source} is not the data this run was trained on: "
                       + "; ".join(changes))  # fmt: skip
    contexts = data_contexts(data, settings.conditional, device)
    splits = {s: data.tensor(s, device) for s in ("train", "valid", "test")}
    if settings.candidates and data.schema is None:  # a table's settings: tables' evidence
        if on_choose is not None:
            on_choose(list(settings.candidates))
        settings = choose_settings(settings, data, splits, contexts, device, on_trial)
    model_cfg = model_config(data, settings)
    check_noise(model_cfg, settings.train)  # before the run directory is written
    check_mixture_masks(model_cfg, settings.train)
    if on_settings is not None:
        on_settings(settings)
    model = MADE.from_config(model_cfg).to(device)
    for s, x in splits.items():
        splits[s], contexts[s] = model.validate(x, contexts[s])
    config = {
        **settings.to_dict(),
        "model": model_cfg.to_dict(),
        "classes": list(data.classes),
        "data_notes": data.notes,
        "fingerprint": prints,
        **({"table": data.schema.to_dict()} if data.schema is not None else {}),
        **({"groups": data.groups.to_dict()} if data.groups is not None else {}),
        "device": str(device),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    return settings, data, model, splits, contexts, config


def model_config(data: Dataset, settings: RunSettings) -> MADEConfig:
    """The model ``settings`` build on ``data`` (which fixes its shape, categories, context,
    missing and fixed dimensions)."""
    return MADEConfig(
        input_shape=data.shape,
        num_categories=data.num_categories,
        context_size=len(data.classes) if settings.conditional else 0,
        missing=data.missing,
        fixed=data.fixed,
        **settings.model,
    )


def choose_settings(
    settings: RunSettings, data: Dataset, splits: dict[str, torch.Tensor],
    contexts: dict[str, torch.Tensor | None], device: torch.device | str,
    on_trial: Callable[[Trial], None] | None = None,
) -> RunSettings:  # fmt: skip
    """The candidate of ``settings`` that the validation split chooses (``made.selection``,
    rungs of ``AUTO_CHOOSE_BUDGETS`` epochs), with the trials and why. ``splits``: the
    data's splits on ``device``, as the run itself trains on them.
    Each trial trains afresh in memory (nothing is written), stopping early as a run does; a
    trial that diverges ranks last."""
    train, valid = splits["train"], splits["valid"]

    def train_for(name: str, budget: int) -> tuple[float, int]:
        option = settings.candidate(name)
        model = MADE.from_config(model_config(data, option)).to(device)
        # ranked on the trained model's validation NLL: nothing to calibrate
        config = replace(option.train, epochs=min(budget, option.train.epochs), calibrate=False)
        try:
            result = fit(model, train, valid, config, train_context=contexts["train"],
                         valid_context=contexts["valid"])  # fmt: skip
        except NonFiniteLossError:
            return float("nan"), 0
        return result.best_valid_nll, len(result.history)

    choice = successive_halving(list(settings.candidates), train_for, AUTO_CHOOSE_BUDGETS,
                                on_trial)  # fmt: skip
    chosen = settings.candidate(choice.winner)
    keys = [key for key, name in chosen.choices.items() if name == choice.winner]
    why = {key: f"{choice.winner}: " + (choice.why() if i == 0 else "the same choice")
           for i, key in enumerate(keys)}  # fmt: skip
    return replace(chosen, choices={**chosen.choices, **why}, selection=choice.trials)


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
    if data.groups is not None:
        extra["groups"] = data.groups.to_dict()
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
        "test_bits_per_dim": bits_per_dim(test.nll, data.source_dims),
        "test_ensemble": ensemble or 1,
        "best_epoch": result.best_epoch,
        "best_valid_nll": result.best_valid_nll,
        "epochs": len(result.history),
        "stopped_early": result.stopped_early,
        "stop_reason": result.stop_reason,
        "precision": result.precision,
        # the log factors that fitted each dimension's width to the validation rows
        "calibration": result.calibration,
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
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "device": str(device),
    }  # fmt: skip
    own = nll_in_data_units(data, test.nll, "test")
    if own is not None:
        summary["test_nll_original_units"] = own
    if write:
        g = torch.Generator().manual_seed(settings.train.seed)
        ctx = None
        if settings.conditional:  # ten samples per class, row by row
            labels = torch.arange(100) % len(data.classes)
            ctx = class_context(labels, len(data.classes)).to(device)
        if data.schema is not None:  # a table: the samples as CSV, and beside the data
            rows = table_samples(model, data.schema, 100, g, ensemble=ensemble)
            write_table(out / "samples.csv", data.schema, rows, samples=True)
            plot_columns(data.schema, data.splits["train"], out / "samples.png",
                         title=f"training rows and 100 samples, {data.name}",
                         samples=rows)  # fmt: skip
        else:
            samples = model.sample(100, ctx, generator=g, ensemble=ensemble)
            if data.groups is not None:  # as the data's bits
                samples = torch.from_numpy(data.groups.decode(samples.cpu().numpy(), numpy_rng(g)))
            save_sample_grid(
                samples,
                out / "samples.png",
                num_categories=2 if data.groups is not None else model.max_categories,
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


def nll_in_data_units(data: Dataset, nll: float, split: str) -> float | None:
    """For a table: the mean NLL of ``split``'s rows in the data's own units (the model sees
    standardised values, some on a log scale, and each categorical column keeps a share for
    values never seen: ``TableSchema.nll_offsets`` converts), as a run's summary and ``made
    eval`` report it; for binary columns read as one-hot groups, of the rows' bits where a
    row holds two 1s in a group (its "other" category's share of that pattern:
    ``OneHotGroups.log_other``); None where there is no other unit."""
    if data.groups is not None:
        other = data.groups.log_other(data.splits[split])
        return nll + float(other.mean()) if other.any() else None
    if data.schema is None or not data.schema.in_own_units:
        return None
    new = data.novel.get(split)
    leave_out = None if new is None else ~np.isnan(new)
    return nll + float(data.schema.nll_offsets(data.splits[split], leave_out).mean())


def table_schema(payload: dict[str, Any]) -> TableSchema | None:
    """The table schema a checkpoint carries, if its model was trained on a table."""
    table = payload.get("table")
    return None if table is None else TableSchema.from_dict(table)


def one_hot_groups(payload: dict[str, Any]) -> OneHotGroups | None:
    """The one-hot groups a checkpoint (or a run's record) carries, if its model read binary
    columns as groups (``made.data.groups``)."""
    groups = payload.get("groups")
    return None if groups is None else OneHotGroups.from_dict(groups)


def run_data(
    run_dir: Path,
    payload: dict[str, Any],
    model: MADE,
    data: DataConfig | None = None,
    gaps_anywhere: bool = False,
    mark_unseen: bool = False,
) -> Dataset:
    """The data a command reads with a trained model: ``data`` if given, else the run's own
    (from its ``config.json``), a table encoded exactly as in training (``gaps_anywhere``:
    rows to impute, ``mark_unseen``: rows to score, see ``load_data``); refused when its
    examples do not have the model's dimensions."""
    schema = table_schema(payload)
    groups = _recorded_groups(payload, "the checkpoint")
    if data is not None:
        if groups is not None and data.one_hot == "off":
            raise RunError("this model reads its binary columns as one-hot groups, fixed when it "
                           "was trained ({flag:one_hot} off applies to a new run)")  # fmt: skip
        if schema is not None and (data.column_types or data.num_categories is not None):
            raise RunError("this model was trained on a table: its column types are fixed")
        loaded = load_data(data, schema=schema, gaps_anywhere=gaps_anywhere,
                           mark_unseen=mark_unseen, groups=groups)  # fmt: skip
    elif (run_dir / "config.json").is_file():
        settings = read_settings(run_dir)
        require_source(settings.data, run_dir)
        loaded = load_data(settings.data, schema=schema, gaps_anywhere=gaps_anywhere,
                           mark_unseen=mark_unseen, groups=groups)  # fmt: skip
    else:
        raise RunError(f"{run_dir} has no config.json; give the data ({{flag:source}})")
    if loaded.num_dims != model.num_dims:
        raise RunError(
            f"{loaded.name} has {loaded.num_dims} features per example but the model was "
            f"trained on {model.num_dims}"
        )
    return loaded


def class_cycle(num_classes: int, fixed: int | None = None) -> Callable[[int, int], torch.Tensor]:
    """The context of samples ``start:stop`` of a class-conditional model: class ``fixed``,
    or every class in turn, as one-hot rows made a batch at a time."""

    def context(start: int, stop: int) -> torch.Tensor:
        labels = torch.arange(start, stop) % num_classes
        if fixed is not None:
            labels = torch.full_like(labels, fixed)
        return class_context(labels, num_classes)

    return context


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
