"""Quality on the built-in Shapes set and other real sets, two recipes each.

``reference`` is the experiment this project starts from (hidden [512, 512], batch 128, Adam
lr 1e-3, 20 epochs, one mask); ``best`` is made's recommended recipe (one wide layer, a higher
rate, order-agnostic training over 8 masks scored as their mixture, early stopping on the
validation split). Both run on Shapes, binarised Fashion-MNIST (Debian's
dataset-fashion-mnist; skipped with a note when missing) and scikit-learn's digits.

It writes a run directory per (data set, recipe) under --out, the figures to --json, and two
pictures: validation NLL against training time per data set (the test NLL of the chosen epoch
marked at the end) and the sample grids side by side.

    python benchmarks/quality.py                 # everything (about 25 minutes on 2 cores)
    python benchmarks/quality.py --quick         # Shapes and digits, 10 epochs at most
    python benchmarks/quality.py --sets digits --epochs 2   # any subset, shorter
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json, pick_device, portable  # noqa: E402

from made import TrainConfig  # noqa: E402
from made.config import DataConfig  # noqa: E402
from made.data import NAMED_SETS  # noqa: E402
from made.runs import RunSettings, train_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SETS = ("shapes", "fashion-mnist", "digits")
RECIPES: dict[str, dict[str, Any]] = {
    "reference": {
        "model": {"hidden_sizes": [512, 512]},
        "train": {"epochs": 20, "batch_size": 128, "lr": 1e-3},
    },
    "best": {
        "model": {"hidden_sizes": [1024], "num_masks": 8, "order_agnostic": True},
        "train": {
            "epochs": 40,
            "batch_size": 128,
            "lr": 5e-3,
            "schedule": "cosine",
            "patience": 8,
            "eval_ensemble": 8,
        },  # fmt: skip
    },
}


def run_one(data: str, recipe: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train one (data set, recipe) pair into ``--out/data-recipe`` and return its entry."""
    spec = RECIPES[recipe]
    train = dict(spec["train"])
    if args.epochs is not None:
        train["epochs"] = min(train["epochs"], args.epochs)
    device = pick_device(args.device)
    settings = RunSettings(
        data=DataConfig(source=data), model=dict(spec["model"]), train=TrainConfig(**train)
    )
    out = args.out / f"{data}-{recipe}"
    summary, result = train_run(out, settings, device=device, overwrite=True)
    clock, curve = 0.0, []
    for h in result.history:
        clock += h["seconds"]
        curve.append([h["epoch"], clock, h["valid_nll"]])
    print(f"  {data:14s} {recipe:9s} test NLL {summary['test_nll']:8.3f} nats "
          f"({summary['test_bits_per_dim']:.4f} bits/dim), best epoch {summary['best_epoch']}"
          f"/{summary['epochs']}, {summary['train_seconds']:.0f} s")  # fmt: skip
    return {
        "data": data,
        "recipe": recipe,
        "model": spec["model"],
        "train": train,
        "test_nll": summary["test_nll"],
        "test_bits_per_dim": summary["test_bits_per_dim"],
        "test_ensemble": summary["test_ensemble"],
        "best_epoch": summary["best_epoch"],
        "epochs": summary["epochs"],
        "train_seconds": summary["train_seconds"],
        "examples_per_second": summary["examples_per_second"],
        "curve": curve,
        "run_dir": portable(out),
        "machine": machine(device),
        "date": time.strftime("%Y-%m-%d"),
    }


def plot_curves(entries: list[dict[str, Any]], path: Path) -> None:
    """One panel per data set: validation NLL against training seconds, per recipe."""
    sets = list(dict.fromkeys(e["data"] for e in entries))
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 3.6), dpi=110,
                             squeeze=False)  # fmt: skip
    for ax, name in zip(axes[0], sets, strict=True):
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
    fig.savefig(path)
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
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated from {SETS}")
    parser.add_argument("--recipes", default=",".join(RECIPES), help="reference,best")
    parser.add_argument("--quick", action="store_true", help="Shapes and digits, <= 10 epochs")
    parser.add_argument("--epochs", type=int, default=None, help="cap every recipe's epochs")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-quality")
    parser.add_argument("--json", type=Path, default=None, help="merge the figures into this")
    parser.add_argument("--figures", type=Path, default=None,
                        help="folder for quality-curves.png and quality-samples.png "
                             "(default: --out)")  # fmt: skip
    args = parser.parse_args()
    sets = [s for s in args.sets.split(",") if s]
    if args.quick:
        sets = [s for s in sets if s != "fashion-mnist"]
        args.epochs = min(args.epochs or 10, 10)
    for name in sets:
        if name not in SETS:
            raise SystemExit(f"unknown set {name!r}; choose from {SETS}")
    recipes = [r for r in args.recipes.split(",") if r]
    print(f"machine: {machine(pick_device(args.device))}")
    entries = []
    for name in sets:
        missing = NAMED_SETS[name].missing()
        if missing:
            print(f"  {name}: skipped ({missing})")
            continue
        for recipe in recipes:
            entry = run_one(name, recipe, args)
            entries.append(entry)
            if args.json:
                merge_json(args.json, f"{name}/{recipe}" + ("/quick" if args.quick else ""), entry)
    if not entries:
        raise SystemExit("nothing was run")
    figures = args.figures or args.out
    figures.mkdir(parents=True, exist_ok=True)
    plot_curves(entries, figures / "quality-curves.png")
    tile_samples(entries, figures / "quality-samples.png")
    print("\n| data | recipe | test NLL (nats) | bits/dim | epochs (best) | training time |")
    print("|---|---|---:|---:|---:|---:|")
    for e in entries:
        print(f"| {e['data']} | {e['recipe']} | {e['test_nll']:.2f} | "
              f"{e['test_bits_per_dim']:.4f} | {e['epochs']} ({e['best_epoch']}) | "
              f"{e['train_seconds']:.0f} s |")  # fmt: skip
    print(f"\nfigures: {figures / 'quality-curves.png'}, {figures / 'quality-samples.png'}")
    if args.json:
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
