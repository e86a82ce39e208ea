"""Which settings win: the tutorial recipe, made's recipes and the best tuned setting, per set.

Four recipes on each set, as `made train` runs them (``made.recipes``): ``tutorial`` (the
recipe MADE tutorials use), ``reference`` (the default without --data: 20 epochs of the
settings chosen on Shapes), ``auto`` (the default with --data: sized to the data, trained
until validation stops improving) and ``tuned`` (the setting that won on each set's
validation split among all those tried; its settings are listed in TUNED). Sets: Shapes,
scikit-learn's digits, and small stand-ins for a user's own tables: 400 and 2,000 rows of
binarized MNIST (``../shared/data/binarized_mnist.npz``) and of binarised Fashion-MNIST
(Debian's dataset-fashion-mnist), each split 90/10 into train and validation and scored on
the full official test split. A set whose source is missing is skipped with a note.

It writes a run directory per (set, recipe) under --out, the figures to --json, and two
pictures: validation NLL against training time per set, and the sample grids side by side.

    python benchmarks/quality.py                 # everything (about 5 minutes on 2 cores)
    python benchmarks/quality.py --quick         # Shapes and digits, 10 epochs at most
    python benchmarks/quality.py --sets digits --epochs 2   # any subset, shorter
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json, pick_device, portable  # noqa: E402

from made.config import PRECISIONS, DataConfig  # noqa: E402
from made.data import NAMED_SETS, load_data  # noqa: E402
from made.fileio import save_figure  # noqa: E402
from made.runs import RunRequest, RunSettings, read_record, train_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "binarized_mnist.npz"
# name -> (source, rows kept from its train and validation splits; 0: the set as it is)
SETS: dict[str, tuple[str, int]] = {
    "shapes": ("shapes", 0), "digits": ("digits", 0),
    "mnist-400": (str(MNIST), 400), "mnist-2000": (str(MNIST), 2000),
    "fashion-400": ("fashion-mnist", 400), "fashion-2000": ("fashion-mnist", 2000),
}  # fmt: skip
RECIPES = ("tutorial", "reference", "auto", "tuned")
# The winner on each set's validation split among the settings tried (auto's settings with
# these changes); where auto itself won, nothing changes.
TUNED: dict[str, dict[str, dict[str, Any]]] = {
    "shapes": {"model": {}, "train": {}},
    "digits": {"model": {"dropout": 0.5, "num_masks": 8, "order_agnostic": True},
               "train": {"eval_ensemble": 8}},
    "mnist-400": {"model": {}, "train": {}},
    "mnist-2000": {"model": {"hidden_sizes": [1024], "num_masks": 1, "order_agnostic": False},
                   "train": {"eval_ensemble": 1}},
    "fashion-400": {"model": {}, "train": {}},
    "fashion-2000": {"model": {"dropout": 0.0, "num_masks": 1, "order_agnostic": False},
                     "train": {"weight_decay": 1e-3, "eval_ensemble": 1}},
}  # fmt: skip


def source(name: str, folder: Path) -> str:
    """The data source of set ``name``: a named set or path, or for a subset a file of its
    rows written under ``folder`` (train/validation 90/10, the official test split)."""
    src, rows = SETS[name]
    if not rows:
        return src
    path = folder / f"{name}.npz"
    if not path.is_file():
        data = load_data(src)  # binarised as made reads it, validation carved if need be
        pool = np.concatenate([data.splits["train"], data.splits["valid"]])
        pick = np.random.default_rng(0).permutation(len(pool))[:rows]
        k = rows // 10
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, train_data=pool[pick[k:]], valid_data=pool[pick[:k]],
                 test_data=data.splits["test"])  # fmt: skip
    return str(path)


def missing(name: str) -> str | None:
    src = SETS[name][0]
    if src in NAMED_SETS:
        return NAMED_SETS[src].missing()
    return None if Path(src).is_file() else f"{src} not found"


def settings_for(name: str, which: str, data_source: str, epochs: int | None,
                 precision: str = "auto") -> RunSettings:  # fmt: skip
    """The settings `made train --data SET --recipe R` would run (tuned: auto's, changed)."""
    data = DataConfig(source=data_source)
    loaded = load_data(data)
    request = RunRequest(data, "auto" if which == "tuned" else which)
    settings = request.resolve(len(loaded.splits["train"]), loaded.num_dims)
    if which == "tuned" or epochs is not None:  # settings fixed here: nothing left to choose
        settings = dataclasses.replace(settings, candidates={})
    if which == "tuned":
        change = TUNED[name]
        settings = dataclasses.replace(
            settings, model={**settings.model, **change["model"]},
            train=dataclasses.replace(settings.train, **change["train"]), recipe="tuned",
        )  # fmt: skip
    if precision != settings.train.precision:
        settings = dataclasses.replace(
            settings, train=dataclasses.replace(settings.train, precision=precision)
        )
    if epochs is not None:
        settings = dataclasses.replace(
            settings,
            train=dataclasses.replace(settings.train, epochs=min(settings.train.epochs, epochs)),
        )
    return settings


def run_one(name: str, which: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train one (set, recipe) pair into ``--out/set-recipe`` and return its entry."""
    device = pick_device(args.device)
    settings = settings_for(name, which, source(name, args.out / "data"), args.epochs,
                            args.precision)  # fmt: skip
    out = args.out / f"{name}-{which}"
    summary, result = train_run(out, settings, device=device, overwrite=True)
    clock, curve = 0.0, []
    for h in result.history:
        clock += h["seconds"]
        curve.append([h["epoch"], clock, h["valid_nll"]])
    print(f"  {name:13s} {which:9s} {result.precision:8s} test NLL {summary['test_nll']:8.3f} nats "
          f"(valid {summary['best_valid_nll']:.3f}), best epoch {summary['best_epoch']}"
          f"/{summary['epochs']}, {summary['train_seconds']:.0f} s", flush=True)  # fmt: skip
    record = read_record(out)  # the settings it trained with: auto may have chosen them
    return {
        "data": name,
        "recipe": which,
        "model": {k: v for k, v in record["model"].items() if k in settings.model},
        "train": record["train"],
        **({"selection": record["selection"]} if "selection" in record else {}),
        "test_nll": summary["test_nll"],
        "best_valid_nll": summary["best_valid_nll"],
        "test_bits_per_dim": summary["test_bits_per_dim"],
        "test_ensemble": summary["test_ensemble"],
        "best_epoch": summary["best_epoch"],
        "epochs": summary["epochs"],
        "train_seconds": summary["train_seconds"],
        "precision": result.precision,
        "examples_per_second": summary["examples_per_second"],
        "curve": curve,
        "run_dir": portable(out),
        "machine": machine(device),
        "date": time.strftime("%Y-%m-%d"),
    }


def plot_curves(entries: list[dict[str, Any]], path: Path) -> None:
    """One panel per data set: validation NLL against training seconds, per recipe."""
    sets = list(dict.fromkeys(e["data"] for e in entries))
    cols = min(3, len(sets))
    rows = -(-len(sets) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.7 * rows), dpi=110,
                             squeeze=False)  # fmt: skip
    for ax in axes.flat[len(sets) :]:
        ax.axis("off")
    for ax, name in zip(axes.flat[: len(sets)], sets, strict=True):
        for e in (e for e in entries if e["data"] == name):
            _, seconds, valid = zip(*e["curve"], strict=True)
            line = ax.plot(seconds, valid, marker=".", label=f"{e['recipe']} (validation)")[0]
            ax.plot([seconds[-1]], [e["test_nll"]], marker="*", ms=12, color=line.get_color(),
                    ls="none", label=f"{e['recipe']} test {e['test_nll']:.2f}")  # fmt: skip
        ax.set_title(name)
        ax.set_xlabel("training time (s)")
        ax.set_ylabel("NLL (nats per example)")
        lo = min(min(c[2] for c in e["curve"]) for e in entries if e["data"] == name)
        ax.set_ylim(lo * 0.97, lo * 1.5)  # the first epochs are far above; the end matters
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def tile_samples(entries: list[dict[str, Any]], path: Path) -> None:
    """Every run's ``samples.png``: a row per data set, a column per recipe."""
    sets = list(dict.fromkeys(e["data"] for e in entries))
    recipes = list(dict.fromkeys(e["recipe"] for e in entries))
    fig, axes = plt.subplots(len(sets), len(recipes), dpi=110, squeeze=False,
                             figsize=(3.4 * len(recipes), 3.5 * len(sets)))  # fmt: skip
    for ax in axes.flat:
        ax.axis("off")
    for e in entries:
        ax = axes[sets.index(e["data"]), recipes.index(e["recipe"])]
        ax.imshow(Image.open(ROOT / e["run_dir"] / "samples.png"))
        ax.set_title(f"{e['data']}, {e['recipe']} (test {e['test_nll']:.1f})", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated from {SETS}")
    parser.add_argument("--recipes", default=",".join(RECIPES), help=",".join(RECIPES))
    parser.add_argument("--quick", action="store_true", help="Shapes and digits, <= 10 epochs")
    parser.add_argument("--epochs", type=int, default=None, help="cap every recipe's epochs")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="the training steps' products (TrainConfig.precision)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-quality")
    parser.add_argument("--json", type=Path, default=None, help="merge the figures into this")
    parser.add_argument("--figures", type=Path, default=None,
                        help="folder for quality-curves.png and quality-samples.png "
                             "(default: --out)")  # fmt: skip
    args = parser.parse_args()
    sets = [s for s in args.sets.split(",") if s]
    if args.quick:
        sets = [s for s in sets if s in ("shapes", "digits")]
        args.epochs = min(args.epochs or 10, 10)
    for name in sets:
        if name not in SETS:
            raise SystemExit(f"unknown set {name!r}; choose from {SETS}")
    recipes = [r for r in args.recipes.split(",") if r]
    print(f"machine: {machine(pick_device(args.device))}")
    entries = []
    for name in sets:
        why = missing(name)
        if why:
            print(f"  {name}: skipped ({why})")
            continue
        for which in recipes:
            entry = run_one(name, which, args)
            entries.append(entry)
            if args.json:
                merge_json(args.json, f"{name}/{which}" + ("/quick" if args.quick else ""), entry)
    if not entries:
        raise SystemExit("nothing was run")
    figures = args.figures or args.out
    figures.mkdir(parents=True, exist_ok=True)
    plot_curves(entries, figures / "quality-curves.png")
    tile_samples(entries, figures / "quality-samples.png")
    print("\n| data | recipe | test NLL (nats) | valid NLL | epochs (best) | training time |")
    print("|---|---|---:|---:|---:|---:|")
    for e in entries:
        print(f"| {e['data']} | {e['recipe']} | {e['test_nll']:.2f} | "
              f"{e['best_valid_nll']:.2f} | {e['epochs']} ({e['best_epoch']}) | "
              f"{e['train_seconds']:.0f} s |")  # fmt: skip
    print(f"\nfigures: {figures / 'quality-curves.png'}, {figures / 'quality-samples.png'}")
    if args.json:
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
