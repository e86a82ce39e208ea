"""The ``made`` command: the only place that parses arguments, prints, and picks a device.

Usage and input errors exit with status 2 and one readable line (``--debug`` shows the
traceback); internal errors exit with 1; an interrupted run exits with 130 after saying how to
resume it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shlex
import signal
import sys
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch

from .config import (
    ACTIVATIONS,
    BINARIZE,
    HEADERS,
    HIDDEN_DEGREES,
    LIMITS,
    OPTIMIZERS,
    ORDERINGS,
    PRECISIONS,
    SCHEDULES,
    DataConfig,
    TrainConfig,
)
from .data import NAMED_SETS, Dataset, load_data
from .data.load import SPLITS
from .devices import resolve_device
from .errors import SettingError, brief
from .evaluate import evaluate_nll
from .export import batch_rows, write_csv, write_npy
from .fileio import atomic_write, atomic_write_bytes, check_not_input
from .model import MADE
from .plots import plot_columns, save_sample_grid
from .recipes import RECIPES, recipe
from .rundir import RUN_FILES, is_run_directory
from .runs import (
    RESUMABLE_CHANGES,
    RunSettings,
    class_context,
    data_contexts,
    load_run,
    read_settings,
    require_source,
    settings_changes,
    table_schema,
    train_run,
    write_table,
)
from .train import NonFiniteLossError
from .version import __version__

__all__ = ["main"]


class UsageError(Exception):
    """A problem with what the user asked for (exit status 2)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same orderly stop as Ctrl-C (with the resume hint)."""


# Pictures hold at most this many samples, and inpainting figures this many examples and
# completions per example: enough to look at, and bounded whatever -n asks.
GRID_SAMPLES = 400
GRID_EXAMPLES = 16
GRID_COMPLETIONS = 8


# ------------------------------------------------------------------------------- helpers
def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from None


def _int_list(text: str) -> list[int]:
    values = _ints(text)
    if not values:
        raise argparse.ArgumentTypeError(
            f"expected one or more comma-separated layer sizes, got {text!r}"
        )
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    if any(v > LIMITS["hidden_size"] for v in values):
        raise argparse.ArgumentTypeError(
            f"sizes must be at most {LIMITS['hidden_size']:,}, got {text!r}"
        )
    return values


def _categories(text: str) -> list[int]:
    values = _ints(text)
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}")
    if any(v < 2 or v > LIMITS["categories"] for v in values):
        raise argparse.ArgumentTypeError(
            f"category counts must be between 2 and {LIMITS['categories']:,}, got {text!r}"
        )
    return values


def _ranged(convert: type, ok: Any, what: str) -> Any:
    """An argparse type: ``convert(text)`` for which ``ok(value)`` holds, or a one-line error
    saying what was expected (NaN fails every range)."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def _bounded_int(low: int, high: int) -> Any:
    return _ranged(int, lambda v: low <= v <= high, f"an int in {low}..{high}")


_positive_int = _ranged(int, lambda v: 0 < v <= LIMITS["count"],
                       f"a positive int (at most {LIMITS['count']:,})")  # fmt: skip
_positive_float = _ranged(float, lambda v: 0 < v < float("inf"), "a positive number")
_non_negative_float = _ranged(float, lambda v: 0 <= v < float("inf"), "a number >= 0")
_unit_interval = _ranged(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def _minutes(text: str) -> float:
    """A positive number of minutes, as seconds (what ``TrainConfig.time_limit`` holds)."""
    return _positive_float(text) * 60.0


_seed = _bounded_int(0, LIMITS["seed"])


def _data_config(args: argparse.Namespace) -> DataConfig:
    cats = args.categories
    return DataConfig(
        source=args.data,
        seed=args.seed,
        binarize=args.binarize,
        num_categories=None if cats is None else (cats[0] if len(cats) == 1 else tuple(cats)),
        column_types=tuple(args.column_type or ()),
        delimiter=args.delimiter,
        header=args.header,
    )


def _add_data_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--binarize",
        default="auto",
        choices=BINARIZE,
        help="turn grey levels into 0/1 (default: the source's own choice)",
    )
    p.add_argument(
        "--categories",
        type=_categories,
        default=None,
        metavar="K[,K...]",
        help="declared categories (one for all features, or one per feature); "
        "default: inferred from the data",
    )
    p.add_argument(
        "--column-type",
        action="append",
        default=None,
        metavar="NAME=KIND",
        help="for tables (CSV): make a column (by name or number) categorical or real instead "
        "of its inferred type; repeat for more columns",
    )
    p.add_argument(
        "--delimiter",
        default=None,
        metavar="CHAR",
        help="the CSV delimiter (default: detected among , ; tab and |)",
    )
    p.add_argument(
        "--header",
        default="auto",
        choices=HEADERS,
        help="whether a CSV's first line names its columns (default: auto, which refuses a "
        "numeric first line that looks like a header)",
    )


def _add_data_options(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument(
        "--data",
        default=default,
        metavar="NAME|PATH",
        help="a data set name (see `made data list`) or a .npy/.npz/.csv/.amat/.pkl file or "
        "a folder of PNGs" + (f" (default: {default})" if default else " (default: the run's)"),
    )
    _add_data_source_options(p)


def _out_path(out: str | None, run_dir: Path, name: str) -> Path:
    """``--out`` as given, else ``name`` inside the run directory: made writes nowhere the
    user did not name."""
    return Path(out) if out is not None else run_dir / name


def _load_model(run: str, device: torch.device) -> tuple[MADE, dict[str, Any], Path]:
    try:
        return load_run(run, device)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _run_data(
    args: argparse.Namespace, run_dir: Path, model: MADE, payload: dict[str, Any]
) -> tuple[Dataset, bool]:
    """The data a command scores: ``--data`` if given, else the run's own, a table encoded as
    in training; and whether the model is class-conditional."""
    settings = read_settings(run_dir) if (run_dir / "config.json").is_file() else None
    schema = table_schema(payload)
    if args.data is not None:
        cfg = _data_config(args)
        if schema is not None and (cfg.column_types or cfg.num_categories is not None):
            raise UsageError("this model was trained on a table: its column types are fixed")
        data = load_data(cfg, schema=schema)
    elif settings is not None:
        require_source(settings.data, run_dir)
        data = load_data(settings.data, schema=schema)
    else:
        raise UsageError(f"{run_dir} has no config.json; pass --data NAME|PATH")
    if data.num_dims != model.num_dims:
        raise UsageError(
            f"{data.name} has {data.num_dims} features per example but the model was trained "
            f"on {model.num_dims}"
        )
    return data, model.config.context_size > 0


def _model_and_data(
    args: argparse.Namespace,
) -> tuple[torch.device, MADE, Path, Dataset, bool, Any]:
    """What eval and score start from: device, model, run directory, data, conditional?,
    ensemble."""
    device = resolve_device(args.device)
    model, payload, run_dir = _load_model(args.run, device)
    data, conditional = _run_data(args, run_dir, model, payload)
    return device, model, run_dir, data, conditional, _ensemble(args, model)


def _ensemble(args: argparse.Namespace, model: MADE) -> int | None:
    """``--ensemble K``, by default every mask of a multi-mask model (as its run reported)."""
    if args.ensemble is None:
        return model.num_masks if model.num_masks > 1 else None
    if args.ensemble > model.num_masks:
        raise UsageError(
            f"--ensemble {args.ensemble} exceeds the model's number of masks ({model.num_masks})"
        )
    return args.ensemble


def _log(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, flush=True)


def _distributed() -> tuple[int, int, int]:
    """``(rank, world size, local rank)``; initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0"))


# -------------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    rank, world, local_rank = _distributed()
    try:
        return _train(args, rank, world, local_rank)
    finally:
        if world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.barrier()  # nobody tears the group down while another rank still uses it
                dist.destroy_process_group()


# The options a recipe sets, and the setting each gives (an option given overrides it).
_RECIPE_OPTIONS = {
    "hidden": "hidden_sizes", "activation": "activation", "dropout": "dropout",
    "direct_connections": "direct_connections", "epochs": "epochs",
    "batch_size": "batch_size", "lr": "lr", "optimizer": "optimizer",
    "output_lr_scale": "output_lr_scale", "average_weights": "average_weights",
    "patience": "patience", "time_limit": "time_limit", "masks": "num_masks",
    "order_agnostic": "order_agnostic",
}  # fmt: skip


def _settings(args: argparse.Namespace) -> RunSettings:
    """The run settings the command line asks for: the recipe's, with every option given
    in its place. For the auto recipe, train_run sizes the settings left to it to the data."""
    given = getattr(args, "given", set())
    name = args.recipe or ("auto" if "data" in given else "reference")
    base = recipe(name, 1, 1) if name == "auto" else recipe(name)  # auto: sized later
    values, given_keys = {**base.model, **base.train}, set()
    for option, key in _RECIPE_OPTIONS.items():
        value = getattr(args, option)
        if value is not None:  # given: these options have no default of their own
            values[key] = value
            given_keys.add(key)
    sized = tuple(key for key in base.reasons if key not in given_keys)
    return RunSettings(
        data=_data_config(args),
        model={
            "hidden_sizes": values["hidden_sizes"],
            "num_masks": values["num_masks"],
            "order_agnostic": values["order_agnostic"],
            "direct_connections": values["direct_connections"],
            "ordering": args.ordering,
            "hidden_degrees": args.hidden_degrees,
            "activation": values["activation"],
            "dropout": values["dropout"],
            "num_components": args.components,
            "seed": args.seed,
        },
        train=TrainConfig(
            epochs=values["epochs"], batch_size=values["batch_size"], lr=values["lr"],
            optimizer=values["optimizer"], weight_decay=args.weight_decay,
            grad_clip=args.grad_clip, schedule=args.schedule, patience=values["patience"],
            mask_every=args.mask_every, eval_ensemble=values["num_masks"], seed=args.seed,
            output_lr_scale=values["output_lr_scale"],
            average_weights=values["average_weights"], time_limit=values["time_limit"],
            precision=args.precision,
        ),
        conditional=args.conditional,
        recipe=name,
        sized=sized,
    )  # fmt: skip


# The settings each option of `made train` sets, to tell which a --resume may not change.
_OPTION_FIELDS = {
    "data": ("data.source",), "binarize": ("data.binarize",),
    "categories": ("data.num_categories",), "column_type": ("data.column_types",),
    "delimiter": ("data.delimiter",), "header": ("data.header",),
    "hidden": ("model.hidden_sizes",), "masks": ("model.num_masks", "train.eval_ensemble"),
    "order_agnostic": ("model.order_agnostic",), "ordering": ("model.ordering",),
    "hidden_degrees": ("model.hidden_degrees",), "activation": ("model.activation",),
    "direct_connections": ("model.direct_connections",),
    "components": ("model.num_components",), "conditional": ("conditional",),
    "seed": ("data.seed", "model.seed", "train.seed"), "epochs": ("train.epochs",),
    "batch_size": ("train.batch_size",), "lr": ("train.lr",),
    "optimizer": ("train.optimizer",), "weight_decay": ("train.weight_decay",),
    "output_lr_scale": ("train.output_lr_scale",), "dropout": ("model.dropout",),
    "average_weights": ("train.average_weights",), "time_limit": ("train.time_limit",),
    "recipe": ("recipe",),
    "grad_clip": ("train.grad_clip",), "schedule": ("train.schedule",),
    "patience": ("train.patience",), "mask_every": ("train.mask_every",),
    "precision": ("train.precision",),
}  # fmt: skip


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "''"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _resumed_settings(args: argparse.Namespace, out: Path) -> RunSettings | None:
    """The run's own settings, with what a resume may change (a larger --epochs, the data's
    new path); any other option given must equal the run's, or this refuses naming it."""
    if not (out / "config.json").is_file():
        return None  # train_run says there is nothing to resume
    saved, asked = read_settings(out), _settings(args)
    given = getattr(args, "given", set())
    owner = {key: dest for dest in given for key in _OPTION_FIELDS.get(dest, ())}
    for key, old, new in settings_changes(saved, asked):
        dest = owner.get(key)
        if dest is None or key in RESUMABLE_CHANGES:
            continue
        raise UsageError(
            f"--{dest.replace('_', '-')} {_shown(new)} differs from this run's {_shown(old)}; a "
            "resumed run keeps its own settings (only --epochs and --time-limit may be raised)"
        )
    data = replace(saved.data, source=asked.data.source) if "data" in given else saved.data
    train = saved.train
    if "epochs" in given:
        train = replace(train, epochs=args.epochs)
    if "time_limit" in given:
        train = replace(train, time_limit=args.time_limit)
    return replace(saved, data=data, train=train)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


class _Progress:
    """What `made train` shows while it runs: a header, a progress bar of steps (on a
    terminal), one line per epoch, and what --overwrite kept."""

    def __init__(self, args: argparse.Namespace, out: Path, device: torch.device, world: int,
                 quiet: bool, settings: RunSettings | None) -> None:  # fmt: skip
        self.args, self.out, self.device, self.world = args, out, device, world
        self.quiet, self.settings = quiet, settings
        self.bar: Any = None

    def on_settings(self, settings: RunSettings) -> None:
        """Keep the settings the run trains with, and say what its recipe chose and why."""
        self.settings = settings
        if self.quiet or self.args.resume:
            return
        cfg, model = settings.train, settings.model
        limit = f", time limit {cfg.time_limit / 60:g} min" if cfg.time_limit else ""
        patience = f", patience {cfg.patience}" if cfg.patience else ""
        print(
            f"recipe {settings.recipe}: hidden {_shown(model['hidden_sizes'])}, "
            f"{model['activation']}, dropout {model.get('dropout', 0.0):g}, "
            f"{cfg.optimizer} lr {cfg.lr:g} (output x{cfg.output_lr_scale:g}), "
            f"{'averaged weights, ' if cfg.average_weights else ''}up to {cfg.epochs} epochs"
            f"{patience}{limit}",
            flush=True,
        )
        for key, why in settings.choices.items():
            print(f"  {key}: {why}", flush=True)

    def on_start(self, data: Dataset, model: MADE, first_epoch: int) -> None:
        from tqdm.auto import tqdm

        assert self.settings is not None
        cfg, resume = self.settings.train, self.args.resume
        n = {s: len(v) for s, v in data.splits.items()}
        if not self.quiet:
            print(
                f"made {__version__}: {'resuming' if resume else 'training'} on {data.name} "
                f"{tuple(data.shape)} ({n['train']} train, {n['valid']} valid, {n['test']} "
                f"test) on {self.device}" + (f" x {self.world} processes" if self.world > 1 else "")
                + (f" from epoch {first_epoch}" if resume else ""),
                flush=True,
            )  # fmt: skip
            for note in data.notes:
                print(f"  data: {note}", flush=True)
        # one epoch's steps: a run that stops on validation has no known length
        steps = -(-n["train"] // cfg.batch_size)
        self.bar = tqdm(total=steps, unit="step", disable=True if self.quiet else None, leave=False)

    def on_step(self, info: dict[str, Any]) -> None:
        self.bar.update(1)
        if self.bar.n % 10 == 0:
            self.bar.set_postfix(epoch=info["epoch"], loss=f"{info['loss']:.3f}")

    def on_epoch(self, record: dict[str, Any]) -> None:
        line = (
            f"epoch {record['epoch']:3d}  train {record['train_loss']:.4f}  valid "
            f"{record['valid_nll']:.4f} nats  {record['examples_per_second']:.0f} ex/s"
        )
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line)
            self.bar.reset()
        elif not self.quiet:
            print(line, flush=True)

    def on_kept(self, names: list[str]) -> None:
        if not self.quiet:
            shown = ", ".join(names[:8]) + (
                f", ... ({len(names)} in all)" if len(names) > 8 else ""
            )
            print(f"made: --overwrite kept what made did not write in {self.out}: {shown}",
                  flush=True)  # fmt: skip

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _train(args: argparse.Namespace, rank: int, world: int, local_rank: int) -> int:
    device = resolve_device(args.device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    out = Path(args.out)
    quiet = args.quiet or rank != 0
    if args.resume and args.overwrite:
        raise UsageError("--resume continues a run and --overwrite replaces it: give one")
    settings = _resumed_settings(args, out) if args.resume else _settings(args)
    progress = _Progress(args, out, device, world, quiet, settings)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        summary, result = train_run(
            out, settings, device=device, resume=args.resume, overwrite=args.overwrite,
            write=rank == 0, on_start=progress.on_start, on_step=progress.on_step,
            on_epoch=progress.on_epoch, on_kept=progress.on_kept,
            on_settings=progress.on_settings,
        )  # fmt: skip
    except KeyboardInterrupt as exc:
        progress.close()
        if rank == 0:
            what = "terminated" if isinstance(exc, Terminated) else "interrupted"
            print(f"made: {what}; {_saved(out)}", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except NonFiniteLossError as exc:
        progress.close()
        if rank == 0:
            print(f"made: training stopped: {exc}; {_saved(out)}", file=sys.stderr)
        return 1
    finally:
        progress.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if not quiet:
        _report(summary, result, out)
    if rank == 0:
        for warning in summary["warnings"]:
            print(
                f"made: warning: {warning}; continue it with `{_resume_command(out)} --epochs N` "
                "(or --time-limit MINUTES)",
                file=sys.stderr,
            )
    return 0


def _resume_command(out: Path) -> str:
    """The command that resumes the run in ``out``, quoted for a POSIX shell (a path with
    spaces, quotes or newlines pastes as it is)."""
    return f"made train --out {shlex.quote(str(out))} --resume"


def _saved(out: Path) -> str:
    """What a stopped run left to continue from: its last checkpoint (only if it is there),
    and the command that resumes it."""
    try:
        resumable = (out / "checkpoint.pt").is_file() and is_run_directory(out)
    except OSError:
        resumable = False
    if not resumable:
        return "no epoch had completed, so there is nothing to resume"
    return (
        f"the last completed epoch is saved in {out / 'checkpoint.pt'}; continue with: "
        f"{_resume_command(out)}"
    )


def _report(summary: dict[str, Any], result: Any, out: Path) -> None:
    """The end of `made train`: the test NLL and what was written."""
    gap = ""
    if summary["true_entropy"] is not None:
        gap = (
            f" (true entropy {summary['true_entropy']:.4f}; gap "
            f"{summary['test_nll'] - summary['true_entropy']:.4f})"
        )
    k = summary["test_ensemble"]
    ens = f", mixture of {k} masks" if k > 1 else ""
    print(
        f"test NLL {summary['test_nll']:.4f} nats/example, "
        f"{summary['test_bits_per_dim']:.4f} bits/dim{ens}{gap}"
    )
    stop = {"patience": " (validation stopped improving)",
            "time_limit": " (time limit reached)"}.get(result.stop_reason, "")  # fmt: skip
    print(
        f"best epoch {result.best_epoch}/{len(result.history)}{stop}, "
        f"{result.train_seconds:.1f} s training ({result.precision} products); wrote {out}/: "
        + " ".join(name for name in RUN_FILES if (out / name).is_file())
    )


# --------------------------------------------------------------------------------- eval
def cmd_eval(args: argparse.Namespace) -> int:
    device, model, _, data, conditional, ensemble = _model_and_data(args)
    x = data.tensor(args.split, device)
    ctx = data_contexts(data, True, device)[args.split] if conditional else None
    start = time.perf_counter()
    result = evaluate_nll(model, x, ctx, ensemble=ensemble)
    seconds = time.perf_counter() - start
    report = {
        "data": data.name,
        "split": args.split,
        "ensemble": ensemble or 1,
        "nll": result.nll,
        "bits_per_dim": result.bits_per_dim,
        "num_examples": result.num_examples,
        "seconds": seconds,
        "examples_per_second": result.num_examples / seconds if seconds > 0 else None,
    }
    if data.schema is not None and data.schema.has_real:
        report["nll_original_units"] = result.nll + data.schema.log_scale
    if args.json:
        print(json.dumps(report))
    else:
        own = report.get("nll_original_units")
        print(
            f"{data.name}/{args.split}: NLL {result.nll:.4f} nats/example, "
            f"{result.bits_per_dim:.4f} bits/dim over {result.num_examples} examples "
            f"(ensemble {report['ensemble']}, {seconds:.2f} s)"
            + (f"; {own:.4f} nats in the table's own units" if own is not None else "")
        )
    return 0


# ------------------------------------------------------------------------------- sample
def cmd_sample(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    model, payload, run_dir = _load_model(args.run, device)
    schema = table_schema(payload)
    out = _out_path(args.out, run_dir, "sampled.png" if schema is None else "sampled.csv")
    allowed = (".png", ".npy") if schema is None else (".csv", ".npy")
    if out.suffix not in allowed:
        raise UsageError(f"--out must end in {' or '.join(allowed)}; got {out.name}")
    classes = payload.get("classes") or []
    ctx: _Classes | None = None
    if model.config.context_size > 0:
        k = model.config.context_size
        if args.class_ is not None and not 0 <= args.class_ < k:
            raise UsageError(f"--class must be in 0..{k - 1} for this model; got {args.class_}")
        ctx = _Classes(k, args.class_)
    elif args.class_ is not None:
        raise UsageError("--class needs a class-conditional model (made train --conditional)")
    check_not_input(out, _run_inputs(args.run, run_dir), "--out")
    n = args.n
    if out.suffix == ".png" and n > GRID_SAMPLES:
        print(f"made: a picture shows at most {GRID_SAMPLES} samples: drawing {GRID_SAMPLES} of "
              f"the {n:,} asked (--out FILE.npy keeps any number)", file=sys.stderr)  # fmt: skip
        n = GRID_SAMPLES
    g = torch.Generator().manual_seed(args.seed)
    ensemble = _ensemble(args, model)

    def draw(start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop``: drawn a batch at a time from one generator, so memory
        stays at one batch whatever ``-n`` is."""
        c = None if ctx is None else ctx[start:stop].to(device)
        return model.sample(stop - start, c, generator=g, ensemble=ensemble).cpu().numpy()

    batch = batch_rows(model.num_dims)
    if out.suffix == ".npy":  # categories as ints; a table's codes and standardised values
        dtype = np.float64 if model.has_real else np.int64
        write_npy(out, (n, *model.input_shape), dtype, draw, batch)
    elif schema is not None:  # a table in its own units and category names
        write_csv(out, schema.names, n, lambda a, b: schema.decode(draw(a, b)), batch)
    else:
        name = f", class {classes[args.class_]}" if args.class_ is not None and classes else ""
        out.parent.mkdir(parents=True, exist_ok=True)
        save_sample_grid(
            torch.from_numpy(draw(0, n)), out, num_categories=model.max_categories,
            title=f"{n} samples{name}",
        )  # fmt: skip
    print(f"wrote {n:,} samples to {out}")
    return 0


class _Classes:
    """The context of samples ``a:b`` (``ctx[a:b]``): one class, or every class in turn, as
    one-hot vectors made a batch at a time rather than for all ``-n`` samples at once."""

    def __init__(self, k: int, fixed: int | None) -> None:
        self.k, self.fixed = k, fixed

    def __getitem__(self, index: slice) -> torch.Tensor:
        labels = torch.arange(index.start, index.stop) % self.k
        if self.fixed is not None:
            labels = torch.full_like(labels, self.fixed)
        return class_context(labels, self.k)


def _run_inputs(run: str, run_dir: Path) -> list[Path]:
    """What a command reading a run reads: its checkpoint, its config and the data it
    records (never to be written over)."""
    inputs = [run_dir / "best.pt", run_dir / "config.json"]
    if Path(run).is_file():
        inputs.append(Path(run))
    try:
        inputs.append(Path(read_settings(run_dir).data.source))
    except ValueError:
        pass
    return inputs


# -------------------------------------------------------------------------------- score
def cmd_score(args: argparse.Namespace) -> int:
    device, model, run_dir, data, conditional, ensemble = _model_and_data(args)
    out = _out_path(args.out, run_dir, "scores.csv")
    if out.suffix != ".csv":
        raise UsageError(f"--out must end in .csv; got {out.name}")
    check_not_input(out, [*_run_inputs(args.run, run_dir), args.data, args.hide], "--out")
    # Score the examples as the source holds them, in its own order.
    split = "all" if "all" in data.original else args.split
    if split not in data.original:
        kept = " or ".join(s for s in SPLITS if s in data.original)
        raise UsageError(
            f"{data.name} has no {split} split of its own (its {split} rows were carved from "
            f"another split, so they have no place in a file to report); use --split {kept}"
        )
    x = torch.from_numpy(np.array(data.original[split])).to(device)  # a copy: files are read-only
    ctx = None
    if conditional:
        labels = data.original_labels.get(split)
        if labels is None:
            raise UsageError(f"{data.name} has no labels, which this conditional model needs")
        ctx = class_context(torch.from_numpy(labels), model.config.context_size).to(device)
    try:
        model.validate(x)
    except ValueError as exc:
        raise UsageError(f"{args.data or data.name}: {exc}") from None
    dims = model.num_dims
    keep = None
    if args.hide is not None:  # score the marginal of the part left visible
        hidden = _hidden_region(args.hide, model.input_shape, 1, args.seed, "--hide")
        keep = (~hidden).reshape(dims).to(device)
        dims = int(keep.sum())
        if dims == 0:
            raise UsageError("--hide leaves nothing to score")

    # A table under one ordering: its score is a sum of one term per column, kept to name
    # the columns that make a row unlikely.
    per_column = data.schema is not None and keep is None and ensemble is None and ctx is None

    def score(i: int) -> torch.Tensor:
        xb, cb = x[i : i + 1024], None if ctx is None else ctx[i : i + 1024]
        if per_column:
            return -model.conditional_log_probs(xb).reshape(len(xb), -1)
        if keep is None:
            return -model.log_prob(xb, cb, ensemble=ensemble, validate=False)
        try:
            return -model.log_marginal(xb, keep, cb, ensemble=ensemble)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    with torch.no_grad():
        scored = torch.cat([score(i) for i in range(0, len(x), 1024)])
    terms = scored.double().cpu() if per_column else None
    nll = (scored.sum(dim=1) if per_column else scored).double().cpu()
    bits = nll / (dims * np.log(2))

    def write(f: Any) -> None:
        text = io.TextIOWrapper(f, newline="", encoding="utf-8")
        w = csv.writer(text)
        w.writerow(["index", "nll_nats", "bits_per_dim"])
        for i, (a, b) in enumerate(zip(nll.tolist(), bits.tolist(), strict=True)):
            w.writerow([i, f"{a:.6f}", f"{b:.6f}"])
        text.flush()
        text.detach()

    top = torch.argsort(nll, descending=True)[:5].tolist()
    if data.schema is not None:  # each row beside its score, in the table's own units
        columns = {"index": [str(i) for i in range(len(nll))],
                   "nll_nats": [f"{v:.6f}" for v in nll.tolist()],
                   "bits_per_dim": [f"{v:.6f}" for v in bits.tolist()]}  # fmt: skip
        if terms is not None:
            names = data.schema.names
            columns["largest_term"] = [names[int(j)] for j in terms.argmax(dim=1).tolist()]
        write_table(out, data.schema, x.cpu().numpy(), columns)
        print_top_rows(data.schema, x[top].cpu().numpy(), top, nll[top].tolist(),
                       None if terms is None else terms[top])  # fmt: skip
    else:
        atomic_write(out, write)
    where = split if keep is None else f"{split}, marginal of {dims} observed dims"
    print(
        f"scored {len(nll)} examples of {data.name} ({where}) into {out}: mean NLL "
        f"{float(nll.mean()):.4f} nats; most anomalous rows: "
        + ", ".join(f"{i} ({float(nll[i]):.2f})" for i in top)
    )
    return 0


def print_top_rows(
    schema: Any, rows: Any, index: list[int], nll: list[float], terms: Any = None
) -> None:
    """The highest-scoring rows of a table, each with its values and, given each column's
    term of the score (``terms``), the three largest, for a first look."""
    print("highest-scoring rows (index, NLL in nats, then the row):")
    for k, (i, score, values) in enumerate(zip(index, nll, schema.decode(rows), strict=True)):
        cells = ", ".join(f"{n}={v}" for n, v in zip(schema.names, values, strict=True))
        print(f"  {i}  {score:.2f}  {cells}")
        if terms is not None:
            largest = torch.argsort(terms[k], descending=True)[:3].tolist()
            shown = ", ".join(f"{schema.names[j]} {float(terms[k, j]):.2f}" for j in largest)
            print(f"      largest terms -log p(column | columns before it): {shown}")


# ------------------------------------------------------------------------------ inpaint
def _hidden_region(
    spec: str, shape: tuple[int, ...], n: int, seed: int, option: str = "--mask"
) -> torch.Tensor:
    """Boolean ``(n, *shape)``: True where the model fills in (``option`` names the
    command-line option the region came from, in messages)."""
    if spec in ("top", "bottom", "left", "right"):
        if len(shape) < 2:
            raise UsageError(f"{option} {spec} needs image-shaped data; this model's is {shape}")
        h, w = shape[-2], shape[-1]
        region = torch.zeros(shape, dtype=torch.bool)
        if spec == "top":
            region[..., : h // 2, :] = True
        elif spec == "bottom":
            region[..., h // 2 :, :] = True
        elif spec == "left":
            region[..., :, : w // 2] = True
        else:
            region[..., :, w // 2 :] = True
        return region.expand(n, *shape)
    if spec == "random":
        g = torch.Generator().manual_seed(seed)
        return torch.rand((n, *shape), generator=g) < 0.5
    path = Path(spec)
    if path.suffix != ".npy" or not path.is_file():
        raise UsageError(
            f"{option} must be top, bottom, left, right, random or a .npy file; got {spec!r}"
        )
    try:
        region = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable .npy mask ({exc})") from None
    if region.size != int(np.prod(shape)):
        raise UsageError(f"{path}: a mask of {region.size} values for data of shape {shape}")
    return torch.from_numpy(region.astype(bool).reshape(shape)).expand(n, *shape)


def cmd_inpaint(args: argparse.Namespace) -> int:
    import warnings

    device = resolve_device(args.device)
    model, payload, run_dir = _load_model(args.run, device)
    if table_schema(payload) is not None:
        raise UsageError(
            "inpaint draws pictures; for a table, condition on observed columns with "
            "MADE.sample(observed=..., observed_mask=...) in Python"
        )
    data, conditional = _run_data(args, run_dir, model, payload)
    if conditional:
        raise UsageError("inpaint does not support class-conditional models yet")
    out = _out_path(args.out, run_dir, "inpaint.png")
    if out.suffix != ".png":
        raise UsageError(f"--out must end in .png; got {out.name}")
    check_not_input(out, [*_run_inputs(args.run, run_dir), args.data, args.mask], "--out")
    if args.n > GRID_EXAMPLES or args.samples > GRID_COMPLETIONS:
        print(f"made: a picture shows at most {GRID_EXAMPLES} examples with "
              f"{GRID_COMPLETIONS} completions each: drawing {min(args.n, GRID_EXAMPLES)} x "
              f"{min(args.samples, GRID_COMPLETIONS)}", file=sys.stderr)  # fmt: skip
    n_shown, k = min(args.n, GRID_EXAMPLES), min(args.samples, GRID_COMPLETIONS)
    shape = model.input_shape
    side = int(round(model.num_dims**0.5))
    if len(shape) >= 2 and model.num_dims == shape[-2] * shape[-1]:
        image = shape[-2:]
    elif side * side == model.num_dims:
        image = (side, side)
    else:
        raise UsageError(
            f"inpaint draws pictures of one-channel images; the data has shape {shape}"
        )
    x_all = data.tensor(args.split)
    g = torch.Generator().manual_seed(args.seed)
    index = torch.randperm(len(x_all), generator=g)[:n_shown]
    originals = x_all[index].long()
    hidden = _hidden_region(args.mask, (1, *image), len(index), args.seed)
    observed = (~hidden).reshape(len(index), -1)
    values = originals.reshape(len(index), -1).repeat_interleave(k, dim=0).to(device)
    mask = observed.repeat_interleave(k, dim=0).to(device)
    ensemble = model.num_masks if model.num_masks > 1 and args.ensemble else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        completions = model.sample(len(values), generator=g, ensemble=ensemble,
                                   observed=values, observed_mask=mask)  # fmt: skip
    for message in dict.fromkeys(str(w.message) for w in caught):  # each once, in order
        print(f"made: warning: {message}", file=sys.stderr)
    completions = completions.reshape(len(index), k, *model.input_shape).cpu()
    out.parent.mkdir(parents=True, exist_ok=True)
    from .plots import save_inpainting_grid

    n = len(index)
    save_inpainting_grid(
        originals.reshape(n, 1, *image), hidden.reshape(n, 1, *image),
        completions.reshape(n, k, 1, *image), out, num_categories=model.max_categories,
        title=f"{data.name}: the {args.mask} part filled in by the model",
    )  # fmt: skip
    print(f"wrote {len(index)} examples x {k} completions to {out}")
    return 0


# --------------------------------------------------------------------------------- data
def cmd_data_list(args: argparse.Namespace) -> int:
    rows = [("name", "shape", "splits", "status", "origin")]
    for s in NAMED_SETS.values():
        rows.append((s.name, "x".join(map(str, s.shape)), s.sizes, s.status(), s.origin))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)), end="  ")
        print(f"{r[4]}  [{r[3]}]")
    print(
        "\nA PATH works wherever a name does: .npy, .npz (train/valid/test keys or one array), "
        ".csv, .amat, a Shapes .pkl, or a folder of .png images."
    )
    return 0


def cmd_data_show(args: argparse.Namespace) -> int:
    check_not_input(args.out, [args.data], "--out")
    data = load_data(_data_config(args))
    if data.schema is not None:
        return _show_table(args, data)
    x = data.tensor(args.split)
    g = torch.Generator().manual_seed(args.seed)
    index = torch.randperm(len(x), generator=g)[: min(args.n, GRID_SAMPLES)]
    if args.n > GRID_SAMPLES:
        print(f"made: a picture shows at most {GRID_SAMPLES} examples", file=sys.stderr)
    out = Path(args.out)
    if out.suffix != ".png":
        raise UsageError(f"--out must end in .png; got {out.name}")
    kmax = int(max(np.atleast_1d(data.num_categories)))
    title = f"{data.name}: {len(index)} {args.split} examples"
    save_sample_grid(x[index], out, num_categories=kmax, title=title)
    for note in data.notes:
        print(f"data: {note}")
    print(f"wrote {len(index)} examples of {data.name}/{args.split} to {out}")
    return 0


def _show_table(args: argparse.Namespace, data: Dataset) -> int:
    """A table: one histogram (real) or bar chart (categorical) per column, in its units."""
    out = Path(args.out)
    if out.suffix != ".png":
        raise UsageError(f"--out must end in .png; got {out.name}")
    assert data.schema is not None
    plot_columns(data.schema, data.splits[args.split], out, title=f"{data.name}/{args.split}")
    for note in data.notes:
        print(f"data: {note}")
    print(f"wrote the {len(data.schema.columns)} columns of {data.name}/{args.split} to {out}")
    return 0


def cmd_data_export(args: argparse.Namespace) -> int:
    check_not_input(args.out, [args.data], "--out")
    data = load_data(_data_config(args))
    out = Path(args.out)
    if data.schema is not None and out.suffix == ".csv":  # the whole table, in its own order
        write_table(out, data.schema, data.original["all"])
        print(f"wrote {data.name} ({len(data.original['all'])} rows, "
              f"{len(data.schema.columns)} columns) to {out}")  # fmt: skip
        return 0
    if out.suffix != ".npz":
        tables = " (or .csv for a table)" if data.schema is not None else ""
        raise UsageError(f"--out must end in .npz{tables}; got {out.name}")
    arrays = {s: np.ascontiguousarray(data.splits[s]) for s in ("train", "valid", "test")}
    arrays.update({f"{s}_labels": np.asarray(y) for s, y in data.labels.items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(out, buffer.getvalue())
    sizes = ", ".join(f"{s} {len(arrays[s])}" for s in ("train", "valid", "test"))
    for note in data.notes:
        print(f"data: {note}")
    print(f"wrote {data.name} ({sizes}; shape {tuple(data.shape)}) to {out}")
    return 0


# ------------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with usage errors in one line: what was wrong, and where the usage is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _switch(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    """``--name`` / ``--no-name``; unset (None) leaves the recipe's value."""
    parser.add_argument(name, action=argparse.BooleanOptionalAction, default=None, help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="made",
        description="MADE: exact density models for binary, categorical, real-valued and "
        "mixed data.",
    )
    parser.add_argument("--version", action="version", version=f"made {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "train", help="train a MADE and write a run directory",
        description="Train a MADE. Settings come from a recipe (--recipe), and any option "
        "given overrides the recipe's value. With no arguments: the reference experiment "
        "(Shapes, hidden 512,512, batch 128, 20 epochs) under the reference recipe. With "
        "--data: the auto recipe, which trains until validation stops improving and sizes "
        "the network and its dropout to the data. Writes made-run.json, config.json, "
        "checkpoint.pt, best.pt, metrics.jsonl, loss.png, samples.png and summary.json "
        "into --out. Under torchrun it trains data-parallel.",
    )  # fmt: skip
    _add_data_options(p, "shapes")
    p.add_argument(
        "--recipe",
        choices=RECIPES,
        default=None,
        help="where unset options come from: auto (sized to the data; the default with "
        "--data), reference (the default without), tutorial (the MADE tutorials' recipe, "
        "for comparison); see docs/cli.md",
    )
    p.add_argument(
        "--hidden",
        type=_int_list,
        default=None,
        help="hidden layer sizes, comma-separated (reference: 512,512; auto: sized to the data)",
    )
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="at most this many epochs (reference: 20; auto: 1000)")  # fmt: skip
    p.add_argument("--batch-size", type=_positive_int, default=None, help="recipes: 128")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (reference: 3e-3; auto: 3e-3, or 1e-3 from 20,000 "
                   "training rows; tutorial: 1e-3)")  # fmt: skip
    p.add_argument(
        "--output-lr-scale",
        type=_positive_float,
        default=None,
        help="the output layer learns at this multiple of --lr (reference and auto: 3)",
    )
    _switch(p, "--average-weights", "validate and keep a moving average of the weights "
            "(reference and auto: yes)")  # fmt: skip
    p.add_argument(
        "--dropout",
        type=_unit_interval,
        default=None,
        help="drop hidden units with this probability while training (auto: sized to the "
        "data; reference: 0)",
    )
    p.add_argument(
        "--time-limit",
        type=_minutes,
        default=None,
        metavar="MINUTES",
        help="stop after the epoch that passes this much training time (auto: 40)",
    )
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None)
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="what training steps multiply in: auto (bfloat16 on a CPU with native bfloat16 "
        "products, AVX512-BF16 or AMX, else float32), float32 or bfloat16; weights, the "
        "optimiser, validation and every score stay float32",
    )
    p.add_argument("--weight-decay", type=_non_negative_float, default=0.0)
    p.add_argument(
        "--grad-clip",
        type=_positive_float,
        default=None,
        help="clip the gradient norm to this value",
    )
    p.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="constant",
        help="learning-rate schedule (default: %(default)s)",
    )
    p.add_argument(
        "--patience",
        type=_positive_int,
        default=None,
        help="stop after this many epochs without a better validation NLL (auto: 10)",
    )
    p.add_argument(
        "--masks",
        type=_bounded_int(1, LIMITS["num_masks"]),
        default=None,
        help="connectivity-agnostic training over this many masks; validation and "
        "test use their mixture (auto: 8 for few rows per dimension, else 1)",
    )
    p.add_argument(
        "--mask-every",
        type=_positive_int,
        default=1,
        help="use the next mask every this many steps (default: 1)",
    )
    _switch(p, "--order-agnostic", "a new ordering per mask (auto: with 8 masks)")
    p.add_argument("--ordering", default="natural", choices=ORDERINGS)
    p.add_argument("--hidden-degrees", default="random", choices=HIDDEN_DEGREES)
    p.add_argument("--activation", default=None, choices=ACTIVATIONS,
                   help="reference and auto: gelu; tutorial: relu")  # fmt: skip
    _switch(p, "--direct-connections", "a masked linear term from inputs to outputs "
            "(reference and auto: yes)")  # fmt: skip
    p.add_argument(
        "--components",
        type=_bounded_int(1, LIMITS["num_components"]),
        default=1,
        help="the density of real-valued columns: 1 for a Gaussian, C > 1 for a mixture of "
        "C Gaussians (default: %(default)s)",
    )
    p.add_argument(
        "--conditional",
        action="store_true",
        help="class-conditional: the data's labels (one-hot) feed every layer",
    )
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.add_argument("--out", default="runs/latest", help="run directory (default: %(default)s)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a run directory made wrote: only made's own files are removed",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its checkpoint, with its own settings and data "
        "(checked against the run's fingerprint of it); a larger --epochs or --time-limit "
        "extends the run, and "
        "--data may give the data's new path; other options must equal the run's",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_train)
    parser.set_defaults(train_parser=p)

    p = sub.add_parser("eval", help="exact NLL of a trained model on a data split")
    p.add_argument("run", help="a run directory or a checkpoint file")
    _add_data_options(p, None)
    p.add_argument("--seed", type=_seed, default=0, help="seed of generated data and splits")
    p.add_argument("--split", default="test", choices=SPLITS)
    p.add_argument(
        "--ensemble",
        type=_positive_int,
        default=None,
        help="average the probabilities of this many masks (a mixture)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("sample", help="draw samples from a trained model")
    p.add_argument("run", help="a run directory or a checkpoint file")
    p.add_argument("-n", type=_positive_int, default=100, help="number of samples")
    p.add_argument(
        "--out", default=None, help="a .png grid or a .npy array (default: RUN/sampled.png)"
    )
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument(
        "--ensemble",
        type=_positive_int,
        default=None,
        help="sample the mixture of masks 0..K-1 (default: all of a multi-mask model's masks)",
    )
    p.add_argument(
        "--class",
        dest="class_",
        type=int,
        default=None,
        help="class index for a conditional model (default: every class in turn)",
    )
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("score", help="per-example NLL of a data file (anomaly scores) as CSV")
    p.add_argument("run", help="a run directory or a checkpoint file")
    _add_data_options(p, None)
    p.add_argument("--seed", type=_seed, default=0, help="seed of generated data")
    p.add_argument(
        "--split",
        default="test",
        choices=SPLITS,
        help="which split, for sources that have splits (default: test)",
    )
    p.add_argument("--ensemble", type=_positive_int, default=None)
    p.add_argument(
        "--hide",
        default=None,
        metavar="REGION",
        help="score the exact marginal of what is left after hiding REGION (top, bottom, "
        "left, right: that half; random; or a .npy mask, True = hidden)",
    )
    p.add_argument("--out", default=None, help="a .csv file (default: RUN/scores.csv)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("inpaint", help="fill in a hidden part of examples (a picture)")
    p.add_argument("run", help="a run directory or a checkpoint file")
    _add_data_options(p, None)
    p.add_argument("--split", default="test", choices=SPLITS)
    p.add_argument(
        "--mask",
        default="bottom",
        help="the part to fill in: top, bottom, left, right, random, or a .npy "
        "boolean array of the data's shape, True = fill in (default: %(default)s)",
    )
    p.add_argument("-n", type=_positive_int, default=8, help="number of examples")
    p.add_argument("--samples", type=_positive_int, default=3, help="completions per example")
    p.add_argument(
        "--no-ensemble",
        dest="ensemble",
        action="store_false",
        help="use the current mask only, not a mixture of all masks",
    )
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--out", default=None, help="a .png file (default: RUN/inpaint.png)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_inpaint)

    p = sub.add_parser("data", help="list, look at and export data sets")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    q = dsub.add_parser("list", help="every named data set: shape, splits, origin, status")
    q.set_defaults(func=cmd_data_list)
    for action, helptext, func, default_out in (
        (
            "show",
            "write a grid of examples, or a table's column histograms (.png)",
            cmd_data_show,
            "examples.png",
        ),
        (
            "export",
            "write the splits and labels as .npz (a table: also as .csv)",
            cmd_data_export,
            "data.npz",
        ),
    ):
        q = dsub.add_parser(action, help=helptext)
        q.add_argument("data", metavar="NAME|PATH")
        q.add_argument("--out", default=default_out, help="default: %(default)s")
        q.add_argument("--seed", type=_seed, default=0, help="seed of generated data and splits")
        _add_data_source_options(q)
        if action == "show":
            q.add_argument("-n", type=_positive_int, default=100, help="number of examples")
            q.add_argument("--split", default="train", choices=SPLITS)
        q.set_defaults(func=func)
    return parser


def _given_options(train_parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The options of `made train` that the command line gives (default or not): argparse
    fills in a default only where the namespace lacks the attribute, so parsing into a
    namespace pre-set to a sentinel leaves the sentinel exactly where nothing was given."""
    unset = object()
    rest = argv[argv.index("train") + 1 :]
    # An append action appends to what the namespace holds, so its sentinel is None, its default.
    start = {a.dest: None if isinstance(a, argparse._AppendAction) else unset
             for a in train_parser._actions if a.dest != "help"}  # fmt: skip
    ns = argparse.Namespace(**start)
    train_parser.parse_args(rest, ns)
    return {dest for dest, sentinel in start.items() if getattr(ns, dest) is not sentinel}


# The flag that sets each setting, where it is not the setting's own name with dashes.
_FLAGS = {"hidden_sizes": "--hidden", "num_masks": "--masks", "num_components": "--components"}


def _message(exc: BaseException) -> str:
    """An error as the command line says it: one line, naming flags rather than settings."""
    if isinstance(exc, SettingError):
        flag = _FLAGS.get(exc.setting, "--" + exc.setting.replace("_", "-"))
        return brief(ValueError(f"{flag} {exc.value} {exc.problem}"), 1000)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return brief(exc, 1000)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command == "train":
        args.given = _given_options(args.train_parser, argv)
    try:
        return int(args.func(args))
    except (UsageError, ValueError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"made: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("made: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error: say so, in one line unless --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"made: internal error: {type(exc).__name__}: {exc} (rerun with --debug)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
