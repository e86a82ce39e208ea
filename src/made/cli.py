"""The ``made`` command: the only place that parses arguments, prints, and picks a device.

Usage and input errors exit with status 2 and one readable line (``--debug`` shows the
traceback); internal errors exit with 1.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .checkpoint import load_checkpoint, save_checkpoint
from .config import DataConfig, TrainConfig
from .data import NAMED_SETS, load_data
from .evaluate import evaluate_nll
from .fileio import atomic_write_bytes
from .model import MADE
from .plots import plot_loss, save_sample_grid
from .train import fit

__all__ = ["main"]


class UsageError(Exception):
    """A problem with what the user asked for (exit status 2)."""


# ------------------------------------------------------------------------------- helpers
def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for but this machine has no CUDA device")
    if name not in ("cpu", "cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda; got {name!r}")
    return torch.device(name)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}")
    return value


def _data_config(args: argparse.Namespace) -> DataConfig:
    cats = args.categories
    return DataConfig(
        source=args.data,
        seed=args.seed,
        binarize=args.binarize,
        num_categories=None if cats is None else (cats[0] if len(cats) == 1 else tuple(cats)),
    )


def _add_data_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--binarize",
        default="auto",
        choices=["auto", "threshold", "stochastic", "none"],
        help="turn grey levels into 0/1 (default: the source's own choice)",
    )
    p.add_argument(
        "--categories",
        type=_int_list,
        default=None,
        metavar="K[,K...]",
        help="declared categories (one for all features, or one per feature); "
        "default: inferred from the data",
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


def _write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode())


def _run_files(run: str) -> tuple[Path, Path]:
    """``RUN`` as (run directory, checkpoint): a run directory (its best.pt) or a .pt file."""
    path = Path(run)
    if path.is_dir():
        ckpt = path / "best.pt"
        if not ckpt.is_file():
            raise UsageError(f"{path} has no best.pt: is it a finished made run directory?")
        return path, ckpt
    if path.is_file():
        return path.parent, path
    raise UsageError(f"no run directory or checkpoint at {path}")


def _load_run(run: str, device: torch.device) -> tuple[MADE, dict[str, Any], Path]:
    run_dir, ckpt = _run_files(run)
    try:
        model, payload = load_checkpoint(ckpt, map_location=device)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    model.eval()
    return model, payload, run_dir


def _log(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, flush=True)


# -------------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    device = _device(args.device)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        if not args.overwrite:
            raise UsageError(
                f"{out} already exists and is not empty; pass --overwrite to replace it"
            )
        shutil.rmtree(out)
    data_cfg = _data_config(args)
    data = load_data(data_cfg)
    model = MADE(
        input_shape=data.shape,
        hidden_sizes=args.hidden,
        num_categories=data.num_categories,
        num_masks=args.masks,
        order_agnostic=args.order_agnostic,
        direct_connections=args.direct_connections,
        seed=args.seed,
    ).to(device)
    train_cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        eval_ensemble=args.masks,
        seed=args.seed,
    )
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "made_version": __version__,
        "data": data_cfg.to_dict(),
        "model": model.config.to_dict(),
        "train": train_cfg.to_dict(),
        "device": str(device),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    _write_json(out / "config.json", config)
    train_x, valid_x, test_x = (data.tensor(s, device) for s in ("train", "valid", "test"))
    _log(
        args,
        f"made {__version__}: training on {data.name} {tuple(data.shape)} "
        f"({len(train_x)} train, {len(valid_x)} valid, {len(test_x)} test) on {device}",
    )
    for note in data.notes:
        _log(args, f"  data: {note}")

    from tqdm.auto import tqdm  # progress on a terminal only (disable=None)

    bar = tqdm(total=train_cfg.epochs, unit="epoch", disable=None if not args.quiet else True)
    metrics = open(out / "metrics.jsonl", "w", buffering=1)  # noqa: SIM115 - closed below

    def on_epoch(record: dict[str, Any], m: MADE) -> None:
        metrics.write(json.dumps(record) + "\n")
        save_checkpoint(
            out / "checkpoint.pt", m, epoch=record["epoch"], train_config=train_cfg.to_dict()
        )
        bar.update(1)
        bar.set_postfix(
            loss=f"{record['train_loss']:.3f}",
            valid=f"{record['valid_nll']:.3f}",
            ex_s=f"{record['examples_per_second']:.0f}",
        )
        if bar.disable:
            _log(
                args,
                f"epoch {record['epoch']:3d}  train {record['train_loss']:.4f}  "
                f"valid {record['valid_nll']:.4f} nats  "
                f"{record['examples_per_second']:.0f} ex/s",
            )

    try:
        result = fit(model, train_x, valid_x, train_cfg, on_epoch=on_epoch)
    finally:
        bar.close()
        metrics.close()

    save_checkpoint(
        out / "best.pt", model, epoch=result.best_epoch, train_config=train_cfg.to_dict()
    )
    test = evaluate_nll(model, test_x, ensemble=args.masks if args.masks > 1 else None)
    samples = model.sample(100, generator=torch.Generator().manual_seed(args.seed))
    save_sample_grid(
        samples,
        out / "samples.png",
        num_categories=model.max_categories,
        title=f"100 samples, {data.name}",
    )
    plot_loss(result.history, out / "loss.png", floor=data.entropy, test_nll=test.nll)
    summary = {
        "data": data.name,
        "test_nll": test.nll,
        "test_bits_per_dim": test.bits_per_dim,
        "test_ensemble": args.masks,
        "best_epoch": result.best_epoch,
        "best_valid_nll": result.best_valid_nll,
        "epochs": len(result.history),
        "train_seconds": result.train_seconds,
        "examples_per_second": sum(len(train_x) for _ in result.history) / result.train_seconds,
        "true_entropy": data.entropy,
        "num_parameters": sum(p.numel() for p in model.parameters()),
    }
    _write_json(out / "summary.json", summary)
    gap = (
        ""
        if data.entropy is None
        else f" (true entropy {data.entropy:.4f}; gap {test.nll - data.entropy:.4f})"
    )
    _log(args, f"test NLL {test.nll:.4f} nats/example, {test.bits_per_dim:.4f} bits/dim{gap}")
    _log(
        args,
        f"best epoch {result.best_epoch}/{len(result.history)}, "
        f"{result.train_seconds:.1f} s training; wrote {out}/: config.json checkpoint.pt "
        f"best.pt metrics.jsonl loss.png samples.png summary.json",
    )
    return 0


# --------------------------------------------------------------------------------- eval
def cmd_eval(args: argparse.Namespace) -> int:
    device = _device(args.device)
    model, payload, run_dir = _load_run(args.run, device)
    config_path = run_dir / "config.json"
    if args.data is None:
        if not config_path.is_file():
            raise UsageError(f"{run_dir} has no config.json; pass --data NAME|PATH")
        data_cfg = DataConfig.from_dict(json.loads(config_path.read_text())["data"])
    else:
        data_cfg = _data_config(args)
    data = load_data(data_cfg)
    name = data.name
    if data.num_dims != model.num_dims:
        raise UsageError(
            f"the data has {data.num_dims} features per example but the model was trained "
            f"on {model.num_dims}"
        )
    x = data.tensor(args.split, device)
    if args.ensemble is not None and args.ensemble > model.num_masks:
        raise UsageError(f"--ensemble {args.ensemble} exceeds the model's {model.num_masks} masks")
    start = time.perf_counter()
    result = evaluate_nll(model, x, ensemble=args.ensemble)
    seconds = time.perf_counter() - start
    report = {
        "data": name,
        "split": args.split,
        "ensemble": args.ensemble or 1,
        "nll": result.nll,
        "bits_per_dim": result.bits_per_dim,
        "num_examples": result.num_examples,
        "seconds": seconds,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"{name}/{args.split}: NLL {result.nll:.4f} nats/example, "
            f"{result.bits_per_dim:.4f} bits/dim over {result.num_examples} examples "
            f"(ensemble {report['ensemble']}, {seconds:.2f} s)"
        )
    return 0


# ------------------------------------------------------------------------------- sample
def cmd_sample(args: argparse.Namespace) -> int:
    device = _device(args.device)
    model, _, _ = _load_run(args.run, device)
    out = Path(args.out)
    if out.suffix not in (".png", ".npy"):
        raise UsageError(f"--out must end in .png or .npy; got {out.name}")
    samples = model.sample(args.n, generator=torch.Generator().manual_seed(args.seed))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        np.save(out, samples.cpu().numpy().astype(np.int64))
    else:
        save_sample_grid(
            samples, out, num_categories=model.max_categories, title=f"{args.n} samples"
        )
    print(f"wrote {args.n} samples to {out}")
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
    data = load_data(_data_config(args))
    x = data.tensor(args.split)
    g = torch.Generator().manual_seed(args.seed)
    index = torch.randperm(len(x), generator=g)[: args.n]
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


def cmd_data_export(args: argparse.Namespace) -> int:
    data = load_data(_data_config(args))
    out = Path(args.out)
    if out.suffix != ".npz":
        raise UsageError(f"--out must end in .npz; got {out.name}")
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
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="made", description="MADE: exact density models for binary and categorical data."
    )
    parser.add_argument("--version", action="version", version=f"made {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "train",
        help="train a MADE and write a run directory",
        description="Train a MADE; writes config.json, checkpoint.pt, best.pt, "
        "metrics.jsonl, loss.png, samples.png and summary.json into --out.",
    )
    _add_data_options(p, "shapes")
    p.add_argument(
        "--hidden",
        type=_int_list,
        default=[512, 512],
        help="hidden layer sizes, comma-separated (default: 512,512)",
    )
    p.add_argument("--epochs", type=_positive_int, default=20)
    p.add_argument("--batch-size", type=_positive_int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--masks",
        type=_positive_int,
        default=1,
        help="number of masks (connectivity-agnostic training; test uses all)",
    )
    p.add_argument("--order-agnostic", action="store_true", help="a new ordering per mask")
    p.add_argument("--direct-connections", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.add_argument("--out", default="runs/latest", help="run directory (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="exact NLL of a trained model on a data split")
    p.add_argument("run", help="a run directory or a checkpoint file")
    _add_data_options(p, None)
    p.add_argument("--seed", type=int, default=0, help="seed of generated data and splits")
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.add_argument(
        "--ensemble",
        type=_positive_int,
        default=None,
        help="average the probabilities of this many masks",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("sample", help="draw samples from a trained model")
    p.add_argument("run", help="a run directory or a checkpoint file")
    p.add_argument("-n", type=_positive_int, default=100, help="number of samples")
    p.add_argument("--out", default="samples.png", help="a .png grid or a .npy array")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("data", help="list, look at and export data sets")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    q = dsub.add_parser("list", help="every named data set: shape, splits, origin, status")
    q.set_defaults(func=cmd_data_list)
    for action, helptext, func, default_out in (
        ("show", "write a grid of examples (.png)", cmd_data_show, "examples.png"),
        ("export", "write the splits and labels as .npz", cmd_data_export, "data.npz"),
    ):
        q = dsub.add_parser(action, help=helptext)
        q.add_argument("data", metavar="NAME|PATH")
        q.add_argument("--out", default=default_out, help="default: %(default)s")
        q.add_argument("--seed", type=int, default=0, help="seed of generated data and splits")
        _add_data_source_options(q)
        if action == "show":
            q.add_argument("-n", type=_positive_int, default=100, help="number of examples")
            q.add_argument("--split", default="train", choices=["train", "valid", "test"])
        q.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, ValueError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"made: error: {exc}", file=sys.stderr)
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
