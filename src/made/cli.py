"""The ``made`` command: the only place that parses arguments, prints, and picks a device.

Each command reads its options, calls the library (``runs``, ``scoring``, ``regions``,
``export``) and says what happened. Options that give settings map to them through one table
(``OPTIONS``); the library names settings in its messages and this module names the flags.

Usage and input errors exit with status 2 and one readable line (``--debug`` shows the
traceback); internal errors exit with 1; an interrupted run exits with 130 (143 for SIGTERM)
after saying how to resume it.
"""

from __future__ import annotations

import argparse
import json
import math
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
    ONE_HOT,
    OPTIMIZERS,
    ORDERINGS,
    PRECISIONS,
    SCHEDULES,
    DataConfig,
)
from .data import NAMED_SETS, Dataset, load_data
from .data.groups import numpy_rng
from .data.load import SPLITS, UNSEEN, table_cells
from .devices import resolve_device
from .errors import MadeError, brief, render
from .evaluate import NLLResult, bits_per_dim, evaluate_nll
from .export import (
    CELL_SUFFIXES,
    GRID_SAMPLES,
    either,
    export_data,
    sample_suffixes,
    write_cells,
    write_samples,
)
from .fileio import check_not_input
from .impute import gaps, impute
from .model import MADE
from .plots import plot_columns, save_inpainting_grid, save_sample_grid
from .recipes import RECIPES, recipe
from .regions import REGIONS, image_shape, inpaint, region
from .rundir import RUN_FILES, is_run_directory
from .runs import (
    RunRequest,
    RunSettings,
    class_context,
    class_cycle,
    data_contexts,
    load_run,
    nll_in_data_units,
    one_hot_groups,
    read_settings,
    run_data,
    table_schema,
    train_run,
)
from .scoring import score_rows, table_text, write_scores
from .selection import Trial
from .settings import DATA_SETTINGS
from .train import NonFiniteLossError
from .version import __version__

__all__ = ["OPTIONS", "build_parser", "main"]

# Inpainting figures show at most this many examples, with this many completions each.
GRID_EXAMPLES = 16
GRID_COMPLETIONS = 8

# The one table from options to settings: every option that gives a setting, and the
# setting's name (``made.settings``). An option left out of the command line gives nothing.
OPTIONS = {
    "data": "source", "binarize": "binarize", "categories": "num_categories",
    "column_type": "column_types", "delimiter": "delimiter", "header": "header",
    "na_values": "na_values", "not_na": "not_na", "train_rows": "train_rows",
    "one_hot": "one_hot",
    "seed": "seed", "recipe": "recipe", "conditional": "conditional",
    "hidden": "hidden_sizes", "masks": "num_masks", "order_agnostic": "order_agnostic",
    "ordering": "ordering", "hidden_degrees": "hidden_degrees", "activation": "activation",
    "direct_connections": "direct_connections", "dropout": "dropout",
    "components": "num_components", "epochs": "epochs", "batch_size": "batch_size",
    "lr": "lr", "output_lr_scale": "output_lr_scale", "average_weights": "average_weights",
    "optimizer": "optimizer", "weight_decay": "weight_decay", "grad_clip": "grad_clip",
    "schedule": "schedule", "patience": "patience", "min_epochs": "min_epochs",
    "mask_every": "mask_every",
    "mixture_masks": "mixture_masks", "mask_biases": "mask_biases",
    "time_limit": "time_limit", "precision": "precision", "noise": "noise",
    "calibrate": "calibrate",
}  # fmt: skip
_FLAGS = {setting: "--" + dest.replace("_", "-") for dest, setting in OPTIONS.items()}
# Settings of the library's that no option of a run gives, and the flag closest to each.
_FLAGS.update({"out": "--out", "overwrite": "--overwrite", "resume": "--resume",
               "device": "--device", "region": "--region", "hide": "--hide"})  # fmt: skip


def _flag(setting: str) -> str:
    """The flag that gives ``setting`` (its name, where no flag does)."""
    return _FLAGS.get(setting, setting)


def _show(setting: str, value: Any) -> str:
    """A setting's value as its flag takes it."""
    if setting == "time_limit" and isinstance(value, int | float):
        return f"{value / 60:g}"  # seconds in the settings, minutes on the command line
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "''"
    if value is None:
        return "none"
    return str(value).lower() if isinstance(value, bool) else (str(value) or "''")


def _message(exc: BaseException) -> str:
    """An error as the command line says it: one line, naming flags rather than settings."""
    if isinstance(exc, MadeError):
        return brief(ValueError(exc.render(_flag, _show)), 1000)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return render(brief(exc, 1000), _flag)


class UsageError(Exception):
    """A problem with what the user asked for (exit status 2)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same orderly stop as Ctrl-C (with the resume hint)."""


# ------------------------------------------------------------------- argument types
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
_seed = _bounded_int(0, LIMITS["seed"])


def _minutes(text: str) -> float:
    """A positive number of minutes, as seconds (what ``TrainConfig.time_limit`` holds)."""
    return _positive_float(text) * 60.0


def _ints(text: str) -> list[int]:
    """Comma-separated ints (blank items skipped; none at all is an empty list)."""
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from None


def _layer_sizes(text: str) -> list[int]:
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


def _categories(text: str) -> int | tuple[int, ...]:
    values = _ints(text)
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}")
    if any(v < 2 or v > LIMITS["categories"] for v in values):
        raise argparse.ArgumentTypeError(
            f"category counts must be between 2 and {LIMITS['categories']:,}, got {text!r}"
        )
    return values[0] if len(values) == 1 else tuple(values)


class _Deprecated(argparse.Action):
    """An old spelling of an option: works, and says which spelling replaces it."""

    def __init__(self, option_strings: list[str], dest: str, instead: str, **kw: Any) -> None:
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kw)
        self.instead = instead

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        print(f"made: {option} is deprecated; use {self.instead}", file=sys.stderr)
        setattr(namespace, self.dest, values)


# -------------------------------------------------------------------- settings given
def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line gives, by name (options left out give nothing)."""
    given = {}
    for dest, setting in OPTIONS.items():
        value = getattr(args, dest, None)
        if value is not None:
            lists = ("column_type", "na_values", "not_na")
            given[setting] = tuple(value) if dest in lists else value
    return given


def _data_config(args: argparse.Namespace, given: dict[str, Any] | None = None) -> DataConfig:
    """The data options given (``_given(args)``, unless passed), as a ``DataConfig`` (the
    rest at its defaults)."""
    given = _given(args) if given is None else given
    return DataConfig(**{k: v for k, v in given.items() if k in DATA_SETTINGS})


def _request(args: argparse.Namespace) -> RunRequest:
    """What `made train` asks for: the auto recipe with --data, else the reference one."""
    given = _given(args)
    name = given.get("recipe") or ("auto" if "source" in given else "reference")
    conditional = bool(given.get("conditional", False))
    return RunRequest(_data_config(args, given), name, given, conditional)


# ---------------------------------------------------------------------------- helpers
def _seed_of(args: argparse.Namespace) -> int:
    """``--seed``, 0 when it is not given."""
    return 0 if args.seed is None else args.seed


def _out_path(out: str | None, run_dir: Path, name: str) -> Path:
    """``--out`` as given, else ``name`` inside the run directory: made writes nowhere the
    user did not name."""
    return Path(out) if out is not None else run_dir / name


def _model(args: argparse.Namespace) -> tuple[torch.device, MADE, dict[str, Any], Path]:
    device = resolve_device(args.device)
    model, payload, run_dir = load_run(args.run, device)
    return device, model, payload, run_dir


def _data_of(
    args: argparse.Namespace, run_dir: Path, payload: dict, model: MADE,
    gaps_anywhere: bool = False, mark_unseen: bool = False,
) -> Dataset:  # fmt: skip
    """``--data`` if given, else the run's own data (``gaps_anywhere``, ``mark_unseen``: see
    ``run_data``)."""
    data = _data_config(args) if args.data else None
    read = run_data(run_dir, payload, model, data, gaps_anywhere, mark_unseen)
    if read.file_columns is not None:  # what was read is not the file as it stands: said
        for note in read.notes:
            if note.startswith("columns matched by name"):
                print(f"made: {note}", file=sys.stderr)
    return read


def _ensemble(args: argparse.Namespace, model: MADE) -> int | None:
    """``--ensemble K``, by default every mask of a multi-mask model (as its run reported)."""
    if args.ensemble is None:
        return model.num_masks if model.num_masks > 1 else None
    if args.ensemble > model.num_masks:
        raise UsageError(
            f"--ensemble {args.ensemble} exceeds the model's number of masks ({model.num_masks})"
        )
    return args.ensemble


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


def _suffix(out: Path, allowed: tuple[str, ...]) -> None:
    if out.suffix not in allowed:
        raise UsageError(f"--out must end in {either(allowed)}; got {out.name}")


def _notes(data: Dataset, indent: str = "") -> None:
    for note in data.notes:
        print(f"{indent}data: {render(note, _flag)}", flush=True)


def _distributed() -> tuple[int, int, int]:
    """``(rank, world size, local rank)``; initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0"))


# ------------------------------------------------------------------------------ train
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


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


class _Progress:
    """What `made train` shows while it runs: the recipe's choices, a header, a progress bar
    of steps (on a terminal), one line per epoch, and what --overwrite kept."""

    def __init__(self, resume: bool, out: Path, device: torch.device, world: int,
                 quiet: bool) -> None:  # fmt: skip
        self.resume, self.out, self.device, self.world = resume, out, device, world
        self.quiet = quiet
        self.settings: RunSettings | None = None
        self.bar: Any = None

    def on_settings(self, settings: RunSettings) -> None:
        """Keep the settings the run trains with, and say what its recipe chose and why."""
        self.settings = settings
        if self.quiet or self.resume:
            return
        cfg, model = settings.train, settings.model
        limit = f", time limit {cfg.time_limit / 60:g} min" if cfg.time_limit else ""
        patience = f", patience {cfg.patience}" if cfg.patience else ""
        print(
            f"recipe {settings.recipe}: hidden {_show('hidden_sizes', model['hidden_sizes'])}, "
            f"{model['activation']}, dropout {model.get('dropout', 0.0):g}, "
            f"{cfg.optimizer} lr {cfg.lr:g} (output x{cfg.output_lr_scale:g}), "
            f"{f'weight decay {cfg.weight_decay:g}, ' if cfg.weight_decay else ''}"
            f"{'averaged weights, ' if cfg.average_weights else ''}up to {cfg.epochs} epochs"
            f"{patience}{limit}",
            flush=True,
        )
        for key, why in settings.choices.items():
            print(f"  {key}: {why}", flush=True)

    def on_choose(self, names: list[str]) -> None:
        """Say that the validation split chooses the settings first, and among what."""
        if not self.quiet:
            print(f"auto: few rows per dimension, so the validation split chooses among "
                  f"{len(names)} candidates, each trained until validation stops improving "
                  f"(each as long as a run): {'; '.join(names)}", flush=True)  # fmt: skip

    def on_trial(self, trial: Trial) -> None:
        """Say how a candidate the validation split is choosing among did."""
        if not self.quiet:
            print(f"choosing on validation: {trial.candidate}: {trial.valid_nll:.4f} nats at "
                  f"best in {trial.epochs} epochs ({trial.seconds:.0f} s)", flush=True)  # fmt: skip

    def on_start(self, data: Dataset, model: MADE, first_epoch: int) -> None:
        from tqdm.auto import tqdm

        assert self.settings is not None
        n = {s: len(v) for s, v in data.splits.items()}
        if not self.quiet:
            print(
                f"made {__version__}: {'resuming' if self.resume else 'training'} on "
                f"{data.name} {tuple(data.shape)} ({n['train']} train, {n['valid']} valid, "
                f"{n['test']} test) on {self.device}"
                + (f" x {self.world} processes" if self.world > 1 else "")
                + (f" from epoch {first_epoch}" if self.resume else ""),
                flush=True,
            )  # fmt: skip
            _notes(data, "  ")
        # one epoch's steps: a run that stops on validation has no known length
        steps = -(-n["train"] // self.settings.train.batch_size)
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
            shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8
                                            else "")  # fmt: skip
            print(f"made: --overwrite kept what made did not write in {self.out}: {shown}",
                  flush=True)  # fmt: skip

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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


def _train(args: argparse.Namespace, rank: int, world: int, local_rank: int) -> int:
    device = resolve_device(args.device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    out = Path(args.out)
    quiet = args.quiet or rank != 0
    if args.resume and args.overwrite:
        raise UsageError("--resume continues a run and --overwrite replaces it: give one")
    progress = _Progress(args.resume, out, device, world, quiet)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        summary, result = train_run(
            out, _request(args), device=device, resume=args.resume, overwrite=args.overwrite,
            write=rank == 0, on_start=progress.on_start, on_step=progress.on_step,
            on_epoch=progress.on_epoch, on_kept=progress.on_kept,
            on_settings=progress.on_settings, on_trial=progress.on_trial,
            on_choose=progress.on_choose,
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
            stopped = render(exc.template, _flag)
            print(f"made: training stopped: {stopped}; {_saved(out)}", file=sys.stderr)
        return 1
    finally:
        progress.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if not quiet:
        _report(summary, result, out)
    if rank == 0:
        for warning in summary["warnings"]:
            print(f"made: warning: {warning}; continue it with `{_resume_command(out)} --epochs "
                  "N` (or --time-limit MINUTES)", file=sys.stderr)  # fmt: skip
    return 0


def _eval_with_new_values(
    model: MADE, x: torch.Tensor, ctx: Any, ensemble: int | None, data: Dataset,
    new: np.ndarray, split: str,
) -> NLLResult:  # fmt: skip
    """``evaluate_nll``'s mean of a table's rows, some holding values the model never saw
    (``new``: their log-probabilities, NaN elsewhere), scored as ``made score`` scores them
    (``Scores.with_novel``), in the model's units (before ``nll_offset``)."""
    assert data.schema is not None
    if not np.isfinite(new[~np.isnan(new)]).all():
        raise UsageError(
            f"{data.name}: the {split} split holds a value of probability zero under the "
            "model (a number that is not whole in a column of whole numbers, or a value a "
            "model saved before shares for new values cannot score), so its mean NLL is "
            "infinite; made score scores each row and names the cell"
        )
    held = torch.from_numpy(~np.isnan(new))
    scores = score_rows(model, x, ctx, ensemble=ensemble, leave_out=held)
    nll = scores.with_novel(data.schema, new).nll
    note = next(n for n in data.notes if UNSEEN in n)
    print(f"{note}; {int(held.any(dim=1).sum())} of the {split} split's rows scored by the "
          "share the model keeps for values it never saw", file=sys.stderr)  # fmt: skip
    mean = float(nll.mean())
    return NLLResult(mean, bits_per_dim(mean, model.num_dims), len(nll))


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
    logs = summary.get("calibration") or []
    moved = sum(1 for v in logs if v != 0)
    cal = f", {moved} of {len(logs)} conditionals calibrated on validation" if logs else ""
    print(
        f"test NLL {summary['test_nll']:.4f} nats/example, "
        f"{summary['test_bits_per_dim']:.4f} bits/dim{ens}{cal}{gap}"
    )
    stop = {"patience": " (validation stopped improving)",
            "time_limit": " (time limit reached)"}.get(result.stop_reason, "")  # fmt: skip
    print(
        f"best epoch {result.best_epoch}/{len(result.history)}{stop}, "
        f"{result.train_seconds:.1f} s training ({result.precision} products); wrote {out}/: "
        + " ".join(name for name in RUN_FILES if (out / name).is_file())
    )


# ------------------------------------------------------------------------------- eval
def cmd_eval(args: argparse.Namespace) -> int:
    device, model, payload, run_dir = _model(args)
    data = _data_of(args, run_dir, payload, model, mark_unseen=True)
    ensemble = _ensemble(args, model)
    x = data.tensor(args.split, device)
    conditional = model.config.context_size > 0
    ctx = data_contexts(data, True, device)[args.split] if conditional else None
    start = time.perf_counter()
    new = data.novel.get(args.split)
    if new is None:
        result = evaluate_nll(model, x, ctx, ensemble=ensemble)
    else:  # values the model never saw: each scored by the share its column keeps for one
        result = _eval_with_new_values(model, x, ctx, ensemble, data, new, args.split)
    if data.groups is not None:  # bits per dimension of the source's: one-hot groups' bits
        result = replace(result, bits_per_dim=bits_per_dim(result.nll, data.source_dims))
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
    if (own := nll_in_data_units(data, result.nll, args.split)) is not None:
        report["nll_original_units"] = own
    if args.json:
        print(json.dumps(report))
        return 0
    own = report.get("nll_original_units")
    print(
        f"{data.name}/{args.split}: NLL {result.nll:.4f} nats/example, "
        f"{result.bits_per_dim:.4f} bits/dim over {result.num_examples} examples "
        f"(ensemble {report['ensemble']}, {seconds:.2f} s)"
        + (
            ""
            if own is None
            else f"; {own:.4f} nats "
            + ("over the bits" if data.groups else "in the table's own units")
        )
    )
    return 0


# ----------------------------------------------------------------------------- sample
def cmd_sample(args: argparse.Namespace) -> int:
    _, model, payload, run_dir = _model(args)
    schema = table_schema(payload)
    out = _out_path(args.out, run_dir, "sampled.png" if schema is None else "sampled.csv")
    _suffix(out, sample_suffixes(schema))
    classes, k = payload.get("classes") or [], model.config.context_size
    if k > 0 and args.class_ is not None and not 0 <= args.class_ < k:
        raise UsageError(f"--class must be in 0..{k - 1} for this model; got {args.class_}")
    if k == 0 and args.class_ is not None:
        raise UsageError("--class needs a class-conditional model (made train --conditional)")
    check_not_input(out, _run_inputs(args.run, run_dir), "--out")
    n = args.n
    if out.suffix == ".png" and n > GRID_SAMPLES:
        print(f"made: a picture shows at most {GRID_SAMPLES} samples: drawing {GRID_SAMPLES} of "
              f"the {n:,} asked (--out FILE.npy keeps any number)", file=sys.stderr)  # fmt: skip
        n = GRID_SAMPLES
    name = f", class {classes[args.class_]}" if args.class_ is not None and classes else ""
    write_samples(
        out, model, n, torch.Generator().manual_seed(_seed_of(args)),
        ensemble=_ensemble(args, model),
        context=class_cycle(k, args.class_) if k > 0 else None, schema=schema,
        groups=one_hot_groups(payload), title=f"{n} samples{name}",
    )  # fmt: skip
    print(f"wrote {n:,} samples to {out}")
    return 0


# ------------------------------------------------------------------------------ score
def cmd_score(args: argparse.Namespace) -> int:
    device, model, payload, run_dir = _model(args)
    data = _data_of(args, run_dir, payload, model, mark_unseen=True)
    ensemble = _ensemble(args, model)
    out = _out_path(args.out, run_dir, "scores.csv")
    _suffix(out, (".csv",))
    check_not_input(out, [*_run_inputs(args.run, run_dir), args.data, args.hide], "--out")
    split = "all" if "all" in data.original else args.split  # the source's rows, its order
    if split not in data.original:
        kept = " or ".join(s for s in SPLITS if s in data.original)
        raise UsageError(
            f"{data.name} has no {split} split of its own (its {split} rows were carved from "
            f"another split, so they have no place in a file to report); use --split {kept}"
        )
    x = torch.from_numpy(np.array(data.original[split])).to(device)  # a copy: files are read-only
    ctx = None
    if model.config.context_size > 0:
        labels = data.original_labels.get(split)
        if labels is None:
            raise UsageError(f"{data.name} has no labels, which this conditional model needs")
        ctx = class_context(torch.from_numpy(labels), model.config.context_size).to(device)
    try:
        model.validate(x)
    except ValueError as exc:
        raise UsageError(f"{args.data or data.name}: {exc}") from None
    observed = None
    if args.hide is not None and data.groups is not None:
        raise UsageError(
            "--hide hides pixels of a picture; this model reads its binary columns "
            "as one-hot groups (trained with --one-hot off, it scores any part)"
        )
    if args.hide is not None:  # score the marginal of the part left visible
        observed = ~region(args.hide, model.input_shape, 1, _seed_of(args), "hide")[0]
    # A table under one ordering: its score is a sum of one term per column, kept to name
    # the columns that make a row unlikely.
    terms = data.schema is not None and observed is None and ensemble is None and ctx is None
    # a value the model never saw (in a column scored): scored by the share its column
    # keeps for one (made.data.novel; in a marginal, as impossible)
    unseen = {cell: text for cell, text in data.unseen.items()
              if observed is None or bool(observed.reshape(-1)[cell[1]])}  # fmt: skip
    new = data.novel.get("all")
    if new is not None and observed is not None:  # only the cells scored, each impossible
        scored = observed.reshape(-1).cpu().numpy()[None, :]
        new = np.where(~np.isnan(new) & scored, -math.inf, math.nan)
    leave_out = None if new is None or observed is not None else torch.from_numpy(~np.isnan(new))
    scores = score_rows(model, x, ctx, ensemble=ensemble, observed=observed, terms=terms,
                        leave_out=leave_out)  # fmt: skip
    rows = x.cpu().numpy() if data.schema is not None else None
    unscored = None if leave_out is None else leave_out.numpy()  # no log-scale Jacobian there
    if observed is not None and rows is not None:
        unscored = np.broadcast_to(~observed.reshape(1, -1).cpu().numpy(), rows.shape)
    scores = scores.in_data_units(data.schema, rows, unscored)  # its own units, as eval's
    if data.groups is not None:  # over the bits (a group's "other" category: its patterns')
        scores = scores.over_bits(data.groups.log_other(data.original[split]),
                                  data.groups.num_bits)  # fmt: skip
    if data.schema is not None:
        scores = scores.with_novel(data.schema, new)
    if unseen:
        assert new is not None
        zero = int(np.isneginf(new).sum())
        print(next(n for n in data.notes if UNSEEN in n)
              + "; scored by the share the model keeps for values it never saw"
              + (f" ({zero} of probability zero" + (" in a marginal" if observed is not None
                 else "") + ": NLL inf)" if zero else ""))  # fmt: skip
    source = None  # the rows as the file writes them, every column: to join the scores on
    if data.schema is not None and split == "all":
        config = _data_config(args) if args.data else read_settings(run_dir).data
        source = table_cells(config)
        if len(source[1]) != len(rows):
            source = None
    write_scores(out, scores, data.schema, rows, unseen, source)
    top = scores.most_anomalous()
    if data.schema is not None:
        shown = {(top.index(i), j): text for (i, j), text in unseen.items() if i in top}
        _print_top_rows(data.schema, rows[top], top, scores.nll[top].tolist(),
                        None if scores.terms is None else scores.terms[top], shown)  # fmt: skip
    where = split if observed is None else f"{split}, marginal of {scores.dims} observed dims"
    units = (" in the data's own units" if data.schema is not None
             and data.schema.in_own_units else "")  # fmt: skip
    possible = scores.nll[torch.isfinite(scores.nll)]  # an impossible row's inf says nothing
    impossible = len(scores.nll) - len(possible)
    mean = float(possible.mean()) if len(possible) else float("inf")
    print(
        f"scored {len(scores.nll)} examples of {data.name} ({where}) into {out}: mean NLL "
        f"{mean:.4f} nats{units}"
        + (f" over the {len(possible)} possible rows ({impossible} impossible)" if impossible
           else "")
        + "; most anomalous rows: "
        + ", ".join(f"{i} ({float(scores.nll[i]):.2f})" for i in top)
    )  # fmt: skip
    return 0


def _print_top_rows(
    schema: Any, rows: Any, index: list[int], nll: list[float], terms: Any = None,
    shown: dict[tuple[int, int], str] | None = None,
) -> None:  # fmt: skip
    """The highest-scoring rows of a table, each with its values (``shown``: text shown
    instead of a decoded value, by position in ``rows``) and, given each column's term of
    the score (``terms``), the three largest, for a first look."""
    print("highest-scoring rows (index, NLL in nats, then the row):")
    decoded = table_text(schema, rows, shown)
    for k, (i, score, values) in enumerate(zip(index, nll, decoded, strict=True)):
        cells = ", ".join(f"{n}={v}" for n, v in zip(schema.names, values, strict=True))
        print(f"  {i}  {score:.2f}  {cells}")
        if terms is not None:
            largest = torch.argsort(terms[k], descending=True)[:3].tolist()
            shown = ", ".join(f"{schema.names[j]} {float(terms[k, j]):.2f}" for j in largest)
            print(f"      largest terms -log p(column | columns before it): {shown}")


# ----------------------------------------------------------------------------- impute
def cmd_impute(args: argparse.Namespace) -> int:
    _, model, payload, run_dir = _model(args)
    schema = table_schema(payload)
    if schema is None:
        raise UsageError("impute fills the gaps of a table; this model was not trained on one "
                         "(inpaint fills in pictures)")  # fmt: skip
    if args.data is None:
        raise UsageError("impute fills the gaps of a table: give it with --data FILE.csv")
    out = _out_path(args.out, run_dir, "imputed.csv")
    _suffix(out, CELL_SUFFIXES)
    check_not_input(out, [*_run_inputs(args.run, run_dir), args.data], "--out")
    data = _data_of(args, run_dir, payload, model, gaps_anywhere=True, mark_unseen=True)
    x = data.original["all"]  # any gap is filled; a category never seen, kept
    new = data.novel.get("all")
    unknown = np.zeros(x.shape, dtype=bool) if new is None else ~np.isnan(new)
    holes = gaps(schema, x)  # (a category never seen is encoded as a category, no gap)
    if data.unseen:
        print(
            next(n for n in data.notes if UNSEEN in n) + "; those cells are kept, and "
            "drawn as gaps are for the cells after them to condition on",
            file=sys.stderr,
        )
    g = torch.Generator().manual_seed(_seed_of(args))
    filled = impute(model, schema, x, g, ensemble=_ensemble(args, model), unknown=unknown)
    decoded = schema.decode(filled, samples=True)
    names, rows = table_cells(_data_config(args))  # the source's cells, every column
    for i, j in zip(*np.nonzero(holes), strict=True):  # the gaps, each filled in its column
        rows[i][data.file_column(j)] = decoded[i][j]
    modelled = {data.file_column(j): j for j in range(len(schema.columns))}
    write_cells(out, names, rows, [schema.json_value(modelled[i]) if i in modelled else None
                                   for i in range(len(names))])  # fmt: skip
    print(f"filled {int(holes.sum()):,} missing values in {int(holes.any(1).sum()):,} "
          f"rows of {data.name} into {out}")  # fmt: skip
    return 0


# ---------------------------------------------------------------------------- inpaint
def cmd_inpaint(args: argparse.Namespace) -> int:
    _, model, payload, run_dir = _model(args)
    if table_schema(payload) is not None:
        raise UsageError(
            "inpaint draws pictures; for a table, condition on observed columns with "
            "MADE.sample(observed=..., is_observed=...) in Python"
        )
    if one_hot_groups(payload) is not None:
        raise UsageError("inpaint draws pictures; this model reads binary columns as one-hot "
                         "groups, which are not a picture's pixels")  # fmt: skip
    data = _data_of(args, run_dir, payload, model)
    if model.config.context_size > 0:
        raise UsageError("inpaint does not support class-conditional models yet")
    out = _out_path(args.out, run_dir, "inpaint.png")
    _suffix(out, (".png",))
    check_not_input(out, [*_run_inputs(args.run, run_dir), args.data, args.region], "--out")
    image_shape(model.input_shape)  # refused before anything is drawn
    if args.n > GRID_EXAMPLES or args.samples > GRID_COMPLETIONS:
        print(f"made: a picture shows at most {GRID_EXAMPLES} examples with "
              f"{GRID_COMPLETIONS} completions each: drawing {min(args.n, GRID_EXAMPLES)} x "
              f"{min(args.samples, GRID_COMPLETIONS)}", file=sys.stderr)  # fmt: skip
    n, k = min(args.n, GRID_EXAMPLES), min(args.samples, GRID_COMPLETIONS)
    x = data.tensor(args.split)
    g = torch.Generator().manual_seed(_seed_of(args))
    index = torch.randperm(len(x), generator=g)[:n]
    ensemble = model.num_masks if model.num_masks > 1 and args.ensemble else None
    done = inpaint(model, x[index], args.region, k, g, ensemble=ensemble, seed=_seed_of(args))
    for message in done.warnings:
        print(f"made: warning: {message}", file=sys.stderr)
    save_inpainting_grid(
        done.originals,
        done.hidden,
        done.completions,
        out,
        num_categories=model.max_categories,
        title=f"{data.name}: the {args.region} part filled in by the model",
    )
    print(f"wrote {len(index)} examples x {k} completions to {out}")
    return 0


# ------------------------------------------------------------------------------- data
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
        ".csv (or .tsv, .txt, .jsonl; gzipped too), .xlsx, .amat, a Shapes .pkl, a folder of "
        "images (.png, .jpg, ...)."
    )
    return 0


def _default_out(out: str | None, default: str) -> Path:
    """``--out``, or ``default`` in the current folder when it was not given; a file already
    at ``default`` is refused: a name the user did not give may be theirs (their own
    ``data.npz``), and made replaces no file it was not told to write."""
    if out is not None:
        return Path(out)
    if os.path.lexists(default):
        raise UsageError(
            f"{default} exists, and --out was not given: made replaces no file it was not told "
            f"to write; give --out PATH (--out {default} replaces it)"
        )
    return Path(default)


def cmd_data_show(args: argparse.Namespace) -> int:
    out = _default_out(args.out, "examples.png")
    _suffix(out, (".png",))
    check_not_input(out, [args.data], "--out")
    data = load_data(_data_config(args))
    if data.schema is not None:  # a table: a histogram or bar chart per column, its units
        plot_columns(data.schema, data.splits[args.split], out, title=f"{data.name}/{args.split}")
        _notes(data)
        print(f"wrote the {len(data.schema.columns)} columns of {data.name}/{args.split} to {out}")
        return 0
    x = data.tensor(args.split)
    g = torch.Generator().manual_seed(_seed_of(args))
    index = torch.randperm(len(x), generator=g)[: min(args.n, GRID_SAMPLES)]
    if args.n > GRID_SAMPLES:
        print(f"made: a picture shows at most {GRID_SAMPLES} examples", file=sys.stderr)
    kmax = int(max(np.atleast_1d(data.num_categories)))
    if data.groups is not None:  # the examples' bits, as the source holds them
        x, kmax = torch.from_numpy(data.groups.decode(x.numpy(), numpy_rng(g))), 2
    title = f"{data.name}: {len(index)} {args.split} examples"
    save_sample_grid(x[index], out, num_categories=kmax, title=title)
    _notes(data)
    print(f"wrote {len(index)} examples of {data.name}/{args.split} to {out}")
    return 0


def cmd_data_export(args: argparse.Namespace) -> int:
    out = _default_out(args.out, "data.npz")
    check_not_input(out, [args.data], "--out")
    data = load_data(_data_config(args), groups=None)  # the bits, as the source holds them
    what = export_data(data, out)
    _notes(data)
    print(f"wrote {data.name} ({what}) to {out}")
    return 0


# ----------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with usage errors in one line: what was wrong, and where the usage is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _recipes_say(setting: str) -> str:
    """What the recipes set ``setting`` to, for a flag's help (read from ``made.recipes``)."""
    said = []
    for name in ("reference", "tutorial"):
        r = recipe(name)
        value = {**r.model, **r.train}.get(setting)
        if value is not None:
            said.append(f"{name}: {_show(setting, value)}")
    autos = [recipe("auto", n, d) for n, d in ((100, 400), (10_000, 400), (50_000, 784))]
    values = list(dict.fromkeys(_show(setting, {**r.model, **r.train}.get(setting))
                                for r in autos))  # fmt: skip
    said.append("auto: " + (values[0] if len(values) == 1 else "sized to the data, "
                            + " or ".join(values)))  # fmt: skip
    return "; ".join(said)


def _source_options(parser: argparse.ArgumentParser) -> None:
    """How a data source is read: binarisation, categories, a table's types and format."""
    parser.add_argument(
        "--binarize",
        default=None,
        choices=BINARIZE,
        help="turn grey levels into 0/1 (default: the source's own choice)",
    )
    parser.add_argument("--categories", type=_categories, default=None, metavar="K[,K...]",
                        help="declared categories (one for all features, or one per "
                        "feature); default: inferred from the data")  # fmt: skip
    parser.add_argument(
        "--column-type",
        action="append",
        default=None,
        metavar="NAME=KIND",
        help="for tables (CSV): make a column (by name or number) "
        "categorical or real instead of its inferred type (log or linear: real, on a log "
        "scale or on its own); repeat for more",
    )
    parser.add_argument(
        "--delimiter",
        default=None,
        metavar="CHAR",
        help="the CSV delimiter (default: detected among , ; tab and |)",
    )
    parser.add_argument("--na-values", action="append", default=None, metavar="TEXT",
                        help="for tables: a cell meaning a missing value, beyond NA, NaN, empty, "
                        "null, None and ? (repeat for more; --na-values=-999 for one that "
                        "starts with -)")  # fmt: skip
    parser.add_argument("--not-na", action="append", default=None, metavar="TEXT",
                        help="for tables: a cell read as missing by default that is a value "
                        "in this table (--not-na None where None means none; repeat for "
                        "more)")  # fmt: skip
    parser.add_argument("--one-hot", default=None, choices=ONE_HOT,
                        help="for binary arrays: auto (the default) models each group of "
                        "neighbouring columns of which no row holds two 1s as one categorical "
                        "variable; off models every bit on its own")  # fmt: skip
    parser.add_argument("--header", default=None, choices=HEADERS,
                        help="whether a CSV's first line names its columns (default: auto, "
                        "which refuses a numeric first line that looks like a header)")  # fmt: skip


def _common(data_default: str | None = None) -> dict[str, argparse.ArgumentParser]:
    """The options several commands share, declared once (argparse parents)."""
    run = _Parser(add_help=False)
    run.add_argument("run", help="a run directory or a checkpoint file")
    device = _Parser(add_help=False)
    device.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    seed = _Parser(add_help=False)
    seed.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="seed of the data's splits and of everything drawn (default: 0)",
    )
    data = _Parser(add_help=False)
    data.add_argument("--data", default=None, metavar="NAME|PATH",
                      help="a data set name (see `made data list`) or a .npy/.npz/.csv/.tsv/"
                      ".amat/.pkl file (a table gzipped too) or a folder of images (default: "
                      + (data_default or "the run's") + ")")  # fmt: skip
    source = _Parser(add_help=False)
    for parser in (data, source):
        _source_options(parser)
    ensemble = _Parser(add_help=False)
    ensemble.add_argument("--ensemble", type=_positive_int, default=None,
                          help="the mixture of masks 0..K-1, as probabilities (default: all "
                          "of a multi-mask model's masks)")  # fmt: skip
    return {"run": run, "device": device, "seed": seed, "source": source, "data": data,
            "ensemble": ensemble}  # fmt: skip


def _switch(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    """``--name`` / ``--no-name``; unset (None) leaves the recipe's value."""
    parser.add_argument(name, action=argparse.BooleanOptionalAction, default=None, help=help)


def _add_train(sub: Any) -> argparse.ArgumentParser:
    c = _common("shapes")
    p = sub.add_parser(
        "train", parents=[c["data"], c["seed"], c["device"]],
        help="train a MADE and write a run directory",
        description="Train a MADE. Settings come from a recipe (--recipe), and any option "
        "given overrides the recipe's value. With no arguments: the reference experiment "
        "(Shapes) under the reference recipe. With --data: the auto recipe, which trains "
        "until validation stops improving and sizes the network and its dropout to the data. "
        "Writes made-run.json, config.json, checkpoint.pt, best.pt, metrics.jsonl, loss.png, "
        "samples.png and summary.json into --out. Under torchrun it trains data-parallel.",
    )  # fmt: skip
    add = p.add_argument
    add("--train-rows", type=_positive_int, default=None, metavar="N",
        help="train on a random N rows of the training split, drawn with --seed (validation "
        "and test splits unchanged)")  # fmt: skip
    add(
        "--recipe",
        choices=RECIPES,
        default=None,
        help="where unset options come from: auto (sized to the data; the default with "
        "--data), reference (the default without), tutorial (the MADE tutorials' recipe, for "
        "comparison); see docs/cli.md",
    )
    add(
        "--hidden",
        type=_layer_sizes,
        default=None,
        help=f"hidden layer sizes, comma-separated ({_recipes_say('hidden_sizes')})",
    )
    add(
        "--epochs",
        type=_positive_int,
        default=None,
        help=f"at most this many epochs ({_recipes_say('epochs')})",
    )
    add("--batch-size", type=_positive_int, default=None, help=_recipes_say("batch_size"))
    add("--lr", type=_positive_float, default=None, help=f"learning rate ({_recipes_say('lr')})")
    add(
        "--output-lr-scale",
        type=_positive_float,
        default=None,
        help="the output layer learns at this multiple of --lr "
        f"({_recipes_say('output_lr_scale')})",
    )
    _switch(
        p,
        "--average-weights",
        f"validate and keep a moving average of the weights ({_recipes_say('average_weights')})",
    )
    add(
        "--dropout",
        type=_unit_interval,
        default=None,
        help=f"drop hidden units with this probability while training ({_recipes_say('dropout')})",
    )
    add(
        "--time-limit",
        type=_minutes,
        default=None,
        metavar="MINUTES",
        help="stop after the epoch that passes this much training time "
        f"({_recipes_say('time_limit')})",
    )
    add("--optimizer", choices=OPTIMIZERS, default=None, help=_recipes_say("optimizer"))
    add(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="what training steps multiply in: auto (the default: bfloat16 on a CPU with "
        "native bfloat16 products, AVX512-BF16 or AMX, when the products are large enough to "
        "gain, else float32), float32 or bfloat16; weights, the optimiser, validation and "
        "every score stay float32",
    )
    add("--weight-decay", type=_non_negative_float, default=None, help="default: 0")
    _switch(
        p,
        "--calibrate",
        "after training, fit each dimension's conditional's width to the validation rows "
        f"({_recipes_say('calibrate')}; best.pt keeps the weights as trained and the factors "
        "beside them)",
    )
    add(
        "--noise",
        type=_non_negative_float,
        default=None,
        metavar="STD",
        help="Gaussian noise added afresh at every step to a table's real columns, in "
        "standard deviations of each column (default: 0; 0.3 gains on a small table of "
        "many real columns, loses on others: docs/sklearn.md)",
    )
    add(
        "--grad-clip",
        type=_positive_float,
        default=None,
        help="clip the gradient norm to this value (default: none)",
    )
    add(
        "--schedule",
        choices=SCHEDULES,
        default=None,
        help="learning-rate schedule (default: constant)",
    )
    add(
        "--patience",
        type=_positive_int,
        default=None,
        help="stop after this many epochs without a better validation NLL "
        f"({_recipes_say('patience')})",
    )
    add(
        "--min-epochs",
        type=_bounded_int(0, LIMITS["count"]),
        default=None,
        help="choose the best epoch from this one on, patience counting from it (default 0: "
        "one model is left to its validation split)",
    )
    add(
        "--masks",
        type=_bounded_int(1, LIMITS["num_masks"]),
        default=None,
        help="connectivity-agnostic training over this many masks; validation and test use "
        f"their mixture ({_recipes_say('num_masks')})",
    )
    add(
        "--mask-every",
        type=_positive_int,
        default=None,
        help="use the next mask every this many steps (default: 1)",
    )
    add(
        "--mixture-masks",
        type=_positive_int,
        default=None,
        help="train the mixture of this many of the masks a step, by its own NLL, so the "
        "masks specialise as a mixture's components do (default: 1, each mask alone)",
    )
    _switch(
        p,
        "--order-agnostic",
        f"a new ordering per mask (one mask has one ordering; {_recipes_say('order_agnostic')})",
    )
    add("--ordering", default=None, choices=ORDERINGS, help="default: natural")
    add("--hidden-degrees", default=None, choices=HIDDEN_DEGREES, help="default: random")
    add("--activation", default=None, choices=ACTIVATIONS, help=_recipes_say("activation"))
    _switch(
        p,
        "--direct-connections",
        f"a masked linear term from inputs to outputs ({_recipes_say('direct_connections')})",
    )
    _switch(
        p,
        "--mask-biases",
        "with --masks K > 1: each mask its own bias for every unit (K x units parameters); "
        "with --mixture-masks, the mixture of masks gains more (default: off)",
    )
    add(
        "--components",
        type=_bounded_int(1, LIMITS["num_components"]),
        default=None,
        help="the density of real-valued columns: 1 for a Gaussian, C > 1 for a mixture of "
        f"C Gaussians ({_recipes_say('num_components')})",
    )
    add(
        "--conditional",
        action="store_true",
        default=None,
        help="class-conditional: the data's labels (one-hot) feed every layer",
    )
    add("--out", default="runs/latest", help="run directory (default: %(default)s)")
    add(
        "--overwrite",
        action="store_true",
        help="replace a run directory made wrote: only made's own files are removed",
    )
    add(
        "--resume",
        action="store_true",
        help="continue the run in --out from its checkpoint, with its own settings and data "
        "(checked against the run's fingerprint of it); a larger --epochs or --time-limit "
        "extends the run, and --data may give the data's new path; other options must equal "
        "the run's",
    )
    add("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_train)
    return p  # fmt: skip


def _add_reading_commands(sub: Any) -> None:
    """eval, sample, score and inpaint: commands that read a trained run."""
    c = _common()
    p = sub.add_parser("eval", parents=[c["run"], c["data"], c["seed"], c["ensemble"],
                                         c["device"]],
                       help="exact NLL of a trained model on a data split")  # fmt: skip
    p.add_argument("--split", default="test", choices=SPLITS)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("sample", parents=[c["run"], c["seed"], c["ensemble"], c["device"]],
                       help="draw samples from a trained model")  # fmt: skip
    p.add_argument("-n", type=_positive_int, default=100, help="number of samples")
    p.add_argument("--out", default=None,
                   help="a .png grid or a .npy array (a table: .csv or .npy; default: "
                   "RUN/sampled.png, or RUN/sampled.csv)")  # fmt: skip
    p.add_argument(
        "--class",
        dest="class_",
        type=int,
        default=None,
        help="class index for a conditional model (default: every class in turn)",
    )
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("score", parents=[c["run"], c["data"], c["seed"], c["ensemble"],
                                          c["device"]],
                       help="per-example NLL of a data file (anomaly scores) as CSV")  # fmt: skip
    p.add_argument("--split", default="test", choices=SPLITS,
                   help="which split, for sources that have splits (default: test)")  # fmt: skip
    p.add_argument(
        "--hide",
        default=None,
        metavar="REGION",
        help="score the exact marginal of what is left after hiding REGION (top, "
        "bottom, left, right: that half; random; or a .npy mask, True = hidden)",
    )
    p.add_argument("--out", default=None, help="a .csv file (default: RUN/scores.csv)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("impute", parents=[c["run"], c["data"], c["seed"], c["ensemble"],
                                           c["device"]],
                       help="fill a table's missing values from the model (CSV or JSON "
                            "records)")  # fmt: skip
    p.add_argument("--out", default=None,
                   help="the table, gaps filled, as .csv or .jsonl (JSON records) (default: "
                        "RUN/imputed.csv)")  # fmt: skip
    p.set_defaults(func=cmd_impute)

    p = sub.add_parser("inpaint", parents=[c["run"], c["data"], c["seed"], c["device"]],
                       help="fill in a hidden part of examples (a picture)")  # fmt: skip
    p.add_argument("--split", default="test", choices=SPLITS)
    p.add_argument(
        "--region",
        default="bottom",
        metavar="|".join(REGIONS) + "|FILE.npy",
        help="the part to fill in: top, bottom, left, right, random, or a .npy "
        "boolean array of the data's shape, True = fill in (default: %(default)s)",
    )
    p.add_argument("--mask", dest="region", action=_Deprecated, instead="--region")
    p.add_argument("-n", type=_positive_int, default=8, help="number of examples")
    p.add_argument("--samples", type=_positive_int, default=3, help="completions per example")
    p.add_argument("--no-ensemble", dest="ensemble", action="store_false",
                   help="use the current mask only, not a mixture of all masks")  # fmt: skip
    p.add_argument("--out", default=None, help="a .png file (default: RUN/inpaint.png)")
    p.set_defaults(func=cmd_inpaint)


def _add_data(sub: Any) -> None:
    c = _common()
    p = sub.add_parser("data", help="list, look at and export data sets")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    q = dsub.add_parser("list", help="every named data set: shape, splits, origin, status")
    q.set_defaults(func=cmd_data_list)
    q = dsub.add_parser(
        "show",
        parents=[c["source"], c["seed"]],
        help="write a grid of examples, or a table's column histograms (.png)",
    )
    q.add_argument("data", metavar="NAME|PATH")
    q.add_argument(
        "--out",
        default=None,
        help="a .png file (default: examples.png, where no file has that name)",
    )
    q.add_argument("-n", type=_positive_int, default=100, help="number of examples")
    q.add_argument("--split", default="train", choices=SPLITS)
    q.set_defaults(func=cmd_data_show)
    q = dsub.add_parser(
        "export",
        parents=[c["source"], c["seed"]],
        help="write the splits and labels as .npz (a table: also as .csv)",
    )
    q.add_argument("data", metavar="NAME|PATH")
    q.add_argument(
        "--out",
        default=None,
        help="a .npz file, or .csv for a table (default: data.npz, where no file has that name)",
    )
    q.set_defaults(func=cmd_data_export)


def build_parser() -> argparse.ArgumentParser:
    """The ``made`` command's parser: one sub-command per job."""
    parser = _Parser(prog="made", description="MADE: exact density models for binary, "
                     "categorical, real-valued and mixed data.")  # fmt: skip
    parser.add_argument("--version", action="version", version=f"made {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)  # fmt: skip
    parser.set_defaults(train_parser=_add_train(sub))
    _add_reading_commands(sub)
    _add_data(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
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
        print(f"made: internal error: {type(exc).__name__}: {brief(exc, 1000)} (rerun with "
              "--debug)", file=sys.stderr)  # fmt: skip
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
