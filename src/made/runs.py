"""Run directories: everything one training run leaves behind, and how to start, resume and
read one. The command line is a thin layer over this module; this module never prints.

A run directory holds ``config.json`` (every setting), ``checkpoint.pt`` (the latest epoch,
with everything needed to resume), ``best.pt`` (best validation NLL), ``metrics.jsonl``,
``loss.png``, ``samples.png`` (for a table: its columns, test rows against samples, with
the samples in ``samples.csv``) and ``summary.json``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from . import __version__
from .checkpoint import checkpoint_epoch, load_checkpoint
from .config import DataConfig, MADEConfig, TrainConfig
from .data import Dataset, TableSchema, load_data
from .evaluate import evaluate_nll
from .fileio import atomic_write_bytes
from .model import MADE
from .plots import plot_columns, plot_loss, save_sample_grid
from .train import FitResult, fit

__all__ = [
    "RUN_FILES",
    "RunError",
    "RunSettings",
    "class_context",
    "data_contexts",
    "load_run",
    "read_settings",
    "resolve_device",
    "table_schema",
    "train_run",
    "write_table",
]

RUN_FILES = ("config.json", "checkpoint.pt", "best.pt", "metrics.jsonl", "loss.png",
             "samples.png", "summary.json")  # fmt: skip


class RunError(ValueError):
    """A run directory that cannot be used as asked (exists, missing, incomplete)."""


@dataclass(frozen=True)
class RunSettings:
    """What a run needs beyond its data: the model's architecture (everything of
    ``MADEConfig`` that the data does not fix), the optimisation, and whether the model is
    class-conditional (the data's labels, one-hot, as context)."""

    data: DataConfig
    model: dict[str, Any]
    train: TrainConfig
    conditional: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "made_version": __version__,
            "data": self.data.to_dict(),
            "model": self.model,
            "train": self.train.to_dict(),
            "conditional": self.conditional,
        }


def read_settings(run_dir: Path) -> RunSettings:
    """The settings a run was started with, from its ``config.json``."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise RunError(f"{run_dir} has no config.json: not a made run directory")
    try:
        raw = json.loads(path.read_text())
        model = dict(raw["model"])
        return RunSettings(
            data=DataConfig.from_dict(raw["data"]),
            model={k: v for k, v in model.items() if k not in _DATA_FIXED},
            train=TrainConfig.from_dict(raw["train"]),
            conditional=bool(raw.get("conditional", False)),
        )
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path} is not a readable run configuration ({exc})") from None


_DATA_FIXED = ("input_shape", "num_categories", "context_size")


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``"auto"`` (CUDA when there is one, else the CPU), ``"cpu"`` or ``"cuda"`` as a device;
    under torchrun, ``local_rank`` picks this process's GPU. ``ValueError`` for anything else
    or for CUDA on a machine without it."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for but this machine has no CUDA device")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if name != "cpu":
        raise ValueError(f"--device must be auto, cpu or cuda; got {name!r}")
    return torch.device("cpu")


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


def _check_directory(out: Path, overwrite: bool) -> None:
    """Refuse an output directory that may not be used, without touching it."""
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise RunError(
                f"{out} already exists and is not empty; pass --overwrite to replace it or "
                "--resume to continue it"
            )
        if not (out / "config.json").is_file():
            raise RunError(f"refusing to --overwrite {out}: it is not a made run directory")


def _prepare_directory(out: Path) -> None:
    """Empty (a checked run directory) or create ``out``."""
    if out.exists():
        for name in os.listdir(out):
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
    out.mkdir(parents=True, exist_ok=True)


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
) -> tuple[dict[str, Any], FitResult]:
    """Train one run into ``out`` and return ``(summary, fit result)``.

    With ``resume`` the settings are read from ``out/config.json`` (``settings`` is ignored)
    and training continues from ``out/checkpoint.pt``. ``write=False`` (ranks other than 0
    under torchrun) trains without touching the directory. ``on_start(data, model,
    first_epoch)`` is called once the data and model are ready.
    """
    out = Path(out)
    if resume:
        if not (out / "checkpoint.pt").is_file():
            raise RunError(f"nothing to resume: {out} has no checkpoint.pt")
        settings = read_settings(out)
    elif settings is None:
        raise ValueError("settings are required unless resuming")
    elif write:
        _check_directory(out, overwrite)  # refuses at once, before the data is read
    assert settings is not None
    # Everything that can be wrong with the data or settings fails here, before the run
    # directory is created or cleared.
    schema = None
    if resume:  # a table is encoded as the run began, whatever its file holds now
        table = json.loads((out / "config.json").read_text()).get("table")
        schema = None if table is None else TableSchema.from_dict(table)
    data = load_data(settings.data, schema=schema)
    contexts = data_contexts(data, settings.conditional, device)
    model_cfg = MADEConfig(
        input_shape=data.shape,
        num_categories=data.num_categories,
        context_size=len(data.classes) if settings.conditional else 0,
        **settings.model,
    )
    model = MADE.from_config(model_cfg).to(device)
    if write and not resume:
        _prepare_directory(out)
        config = {
            **settings.to_dict(),
            "model": model_cfg.to_dict(),
            "classes": list(data.classes),
            "data_notes": data.notes,
            **({"table": data.schema.to_dict()} if data.schema is not None else {}),
            "device": str(device),
            "torch_version": torch.__version__,
            "threads": torch.get_num_threads(),
        }
        atomic_write_bytes(out / "config.json", (json.dumps(config, indent=2) + "\n").encode())
    split = {s: data.tensor(s, device) for s in ("train", "valid", "test")}
    if on_start is not None:
        first = 1
        if resume:
            first = checkpoint_epoch(out / "checkpoint.pt") + 1  # fit loads the rest
        on_start(data, model, first)
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
