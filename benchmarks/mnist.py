"""Binarized MNIST, the MADE paper's benchmark (Germain et al. 2015, Table 6).

Each experiment trains one model with made's own training loop (a run directory under --out,
resumable with --resume), chooses its epoch on the validation split only, and then scores the
test split once per reported model: for a multi-mask model, once per ensemble size (the
mixture of masks 0..K-1, averaged as probabilities). The figures, the command, the training
time and the machine go into --json (one entry per experiment, others kept).

    python benchmarks/mnist.py single      # 1 hidden layer of 500, one mask (the paper's setting)
    python benchmarks/mnist.py wide        # the same with 4000 units
    python benchmarks/mnist.py agnostic    # the same net, order/connectivity-agnostic, 128 masks
    python benchmarks/mnist.py connectivity  # the same net, connectivity-agnostic, 32 masks
    python benchmarks/mnist.py connectivity-mixture-biases  # trained as a mixture, biases per mask
    python benchmarks/mnist.py single-softplus connectivity-softplus  # both with softplus units
    python benchmarks/mnist.py best        # our best model (a long run: use --device cuda)
    python benchmarks/mnist.py --table     # the results file as a Markdown table

--epochs, --hidden, --masks and --ensembles override an experiment's settings (the suite's own
test runs every experiment that way on tiny data).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json, pick_device, portable  # noqa: E402

from made import MADE, TrainConfig, evaluate_nll  # noqa: E402
from made.config import DataConfig  # noqa: E402
from made.data import Dataset  # noqa: E402
from made.fileio import save_figure  # noqa: E402
from made.runs import RunSettings, read_settings, train_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "binarized_mnist.npz"
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "mnist.json"

# Published test NLL in nats per image on the same fixed binarisation (MADE paper, Table 6).
PUBLISHED = {
    "MADE, 1 hidden layer of 500, 1 mask": 88.40,
    "MADE, 1 hidden layer of 500, 32 masks": 88.04,
    "MADE, 2 hidden layers of 8000, 32 masks": 86.64,
    "NADE, 1 hidden layer (fixed order)": 88.33,
    "EoNADE, 2 hidden layers": 85.10,
    "DARN": 84.13,
}


@dataclass(frozen=True)
class Experiment:
    """One reported setting: the model and optimisation, and the ensembles to test."""

    description: str
    model: dict[str, Any]
    train: dict[str, Any]
    ensembles: tuple[int, ...] = (1,)
    targets: dict[int, float] = field(default_factory=dict)


# Settings were chosen on the validation split (see benchmarks/README.md). Every
# experiment shares the network's input/output form and the optimiser's base settings.
_NET = {"hidden_sizes": [500], "direct_connections": True}
_ADAM = {"epochs": 300, "batch_size": 100, "lr": 1e-3, "schedule": "plateau"}
_MIXTURE = {"plateau_patience": 3, "patience": 15, "eval_ensemble": 8}
_SINGLE = {**_ADAM, "weight_decay": 1e-4, "plateau_patience": 2}  # one mask, Adam
# connectivity-mixture's optimiser: 8 of the masks trained a step by their mixture's NLL
_MIXTURE8 = {**_ADAM, **_MIXTURE, "weight_decay": 1e-4, "mixture_masks": 8}
EXPERIMENTS = {
    "single": Experiment(
        "the paper's single-mask setting: 1 hidden layer of 500 units, one mask, "
        "direct input-to-output connections",
        model={**_NET, "ordering": "natural"},
        train={**_SINGLE, "patience": 12},
        ensembles=(1,),
        targets={1: 88.0},
    ),
    "single-softplus": Experiment(
        "the single-mask setting with softplus hidden units (which the paper's grid had)",
        model={**_NET, "ordering": "natural", "activation": "softplus"},
        train={**_SINGLE, "patience": 12},
        ensembles=(1,),
        targets={1: 88.0},
    ),
    "adagrad": Experiment(
        "the paper's single-mask setting with the paper's optimiser: Adagrad (lr 0.01, no "
        "weight decay, constant rate), stopping after 30 epochs without improvement",
        model={**_NET, "ordering": "natural"},
        train={
            "epochs": 1000,
            "batch_size": 100,
            "lr": 0.01,
            "optimizer": "adagrad",
            "schedule": "constant",
            "patience": 30,
        },  # fmt: skip
        ensembles=(1,),
        targets={1: 88.0},
    ),
    "wide": Experiment(
        "the single-mask setting with a wider layer: 1 hidden layer of 4000 units, one mask, "
        "direct input-to-output connections",
        model={**_NET, "hidden_sizes": [4000], "ordering": "natural"},
        train={**_SINGLE, "epochs": 40, "patience": 8},
        ensembles=(1,),
        targets={1: 88.0},
    ),
    "wide-connectivity": Experiment(
        "wide, trained connectivity-agnostically over 32 masks in the natural pixel order: "
        "does the mixture gain where 500 units no longer bound one mask?",
        model={**_NET, "hidden_sizes": [4000], "num_masks": 32, "ordering": "natural"},
        train={**_SINGLE, "epochs": 60, "patience": 8, "eval_ensemble": 8},
        ensembles=(1, 8, 32),
    ),
    "agnostic": Experiment(
        "order- and connectivity-agnostic training of the same network over 128 masks "
        "(a new mask every step); test ensembles of 1, 8, 32 and 128 masks",
        model={**_NET, "num_masks": 128, "order_agnostic": True},
        train={**_ADAM, **_MIXTURE},
        ensembles=(1, 8, 32, 128),
    ),
    "connectivity": Experiment(
        "connectivity-agnostic training of the same network over 32 masks in the natural "
        "pixel order (a new mask every step); test ensembles of 1, 8 and 32 masks",
        model={**_NET, "num_masks": 32, "ordering": "natural"},
        train={**_ADAM, **_MIXTURE, "weight_decay": 1e-4},
        ensembles=(1, 8, 32),
    ),
    "connectivity-mixture": Experiment(
        "connectivity, each step training the mixture of 8 of the 32 masks by its own NLL "
        "(mixture_masks=8): the masks specialise as a mixture's components do",
        model={**_NET, "num_masks": 32, "ordering": "natural"},
        train=_MIXTURE8,
        ensembles=(1, 8, 32),
    ),
    "connectivity-mixture-biases": Experiment(
        "connectivity-mixture with each mask's own biases for every unit (mask_biases): "
        "the components differ by more than their connectivity",
        model={**_NET, "num_masks": 32, "ordering": "natural", "mask_biases": True},
        train=_MIXTURE8,
        ensembles=(1, 8, 32),
    ),
    "connectivity-mixture-biases-reversed": Experiment(
        "connectivity-mixture-biases in the reversed pixel order: its margin over single-reversed",
        model={**_NET, "num_masks": 32, "ordering": "reversed", "mask_biases": True},
        train=_MIXTURE8,
        ensembles=(1, 8, 32),
    ),
    "connectivity-mixture16": Experiment(
        "connectivity-mixture with 16 of the 32 masks in each step's mixture",
        model={**_NET, "num_masks": 32, "ordering": "natural"},
        train={**_MIXTURE8, "mixture_masks": 16},
        ensembles=(1, 8, 32),
    ),
    "single-reversed": Experiment(
        "single in the reversed pixel order (bottom right first)",
        model={**_NET, "ordering": "reversed"},
        train={**_SINGLE, "patience": 12},
        ensembles=(1,),
    ),
    "connectivity-mixture-reversed": Experiment(
        "connectivity-mixture in the reversed pixel order: its margin over single-reversed",
        model={**_NET, "num_masks": 32, "ordering": "reversed"},
        train=_MIXTURE8,
        ensembles=(1, 8, 32),
    ),
    "single-gelu-avg": Experiment(
        "single with GELU units and averaged weights (the auto recipe's): the one-mask "
        "reference for connectivity-mixture-gelu-avg",
        model={**_NET, "ordering": "natural", "activation": "gelu"},
        train={**_SINGLE, "patience": 12, "average_weights": True},
        ensembles=(1,),
    ),
    "connectivity-mixture-gelu-avg": Experiment(
        "connectivity-mixture with GELU units and averaged weights",
        model={**_NET, "num_masks": 32, "ordering": "natural", "activation": "gelu"},
        train={**_MIXTURE8, "average_weights": True},
        ensembles=(1, 8, 32),
    ),
    "single-dropout": Experiment(
        "single with dropout 0.2 on the hidden units: the one-mask reference for "
        "connectivity-mixture-dropout",
        model={**_NET, "ordering": "natural", "dropout": 0.2},
        train={**_SINGLE, "patience": 12},
        ensembles=(1,),
    ),
    "connectivity-mixture-dropout": Experiment(
        "connectivity-mixture with dropout 0.2 on the hidden units: every model here "
        "overfits by 5 nats, does the mixture gain more once each mask is regularised?",
        model={**_NET, "num_masks": 32, "ordering": "natural", "dropout": 0.2},
        train=_MIXTURE8,
        ensembles=(1, 8, 32),
    ),
    "connectivity-softplus": Experiment(
        "connectivity with softplus hidden units: does the mixture gain over single-softplus?",
        model={**_NET, "num_masks": 32, "ordering": "natural", "activation": "softplus"},
        train={**_ADAM, **_MIXTURE, "weight_decay": 1e-4},
        ensembles=(1, 8, 32),
    ),
    "connectivity-nodecay": Experiment(
        "connectivity, without weight decay: the mixture of masks as the only regulariser",
        model={**_NET, "num_masks": 32, "ordering": "natural"},
        train={**_ADAM, **_MIXTURE, "weight_decay": 0.0},
        ensembles=(1, 8, 32),
    ),
    "best": Experiment(
        "our best model: 2 hidden layers of 2000, order-agnostic over 128 masks; "
        "test ensembles of 1, 8, 32 and 128 masks",
        model={**_NET, "hidden_sizes": [2000, 2000], "num_masks": 128, "order_agnostic": True},
        train={**_ADAM, **_MIXTURE, "epochs": 500, "lr": 5e-4, "patience": 20},
        ensembles=(1, 8, 32, 128),
        targets={128: 85.5},
    ),
}


def run_experiment(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train (or resume) one experiment, score the test split per ensemble, return the entry."""
    exp = EXPERIMENTS[name]
    model = dict(exp.model)
    train = dict(exp.train)
    ensembles = exp.ensembles
    if args.hidden is not None:
        model["hidden_sizes"] = [int(h) for h in args.hidden.split(",")]
    if args.masks is not None:
        model["num_masks"] = args.masks
        model["order_agnostic"] = args.masks > 1 and model.get("order_agnostic", False)
    if args.epochs is not None:
        train["epochs"] = args.epochs
    if args.ensembles is not None:
        ensembles = tuple(int(k) for k in args.ensembles.split(","))
    masks = model.get("num_masks", 1)
    if max(ensembles) > masks:
        raise SystemExit(f"{name}: ensembles {list(ensembles)} need up to {max(ensembles)} masks; "
                         f"the model has {masks}")  # fmt: skip
    train["eval_ensemble"] = min(train.get("eval_ensemble", 1), masks)
    device = pick_device(args.device)
    out = args.out / name
    settings = RunSettings(
        data=DataConfig(source=str(args.data)), model=model, train=TrainConfig(**train)
    )
    resume = args.resume and (out / "checkpoint.pt").is_file()
    print(f"{name}: {exp.description}\n  run directory {out}" + (" (resumed)" if resume else ""))
    started: dict[str, Any] = {}

    def keep(data: Dataset, model: MADE, first_epoch: int) -> None:
        started.update(data=data, model=model)  # fit leaves the model at its best epoch

    summary, result = train_run(out, None if resume else settings, device=device,
                                resume=resume, overwrite=not resume, on_start=keep)  # fmt: skip
    test = started["data"].tensor("test", device)
    scores = {}
    for k in ensembles:
        start = time.perf_counter()
        nll = evaluate_nll(started["model"], test, ensemble=k).nll
        scores[str(k)] = {"test_nll": nll, "eval_seconds": time.perf_counter() - start}
        print(f"  test NLL, {k:>3} mask(s): {nll:8.3f} nats")
    settings = read_settings(out)  # what the run really used, also when it was resumed
    return {
        "description": exp.description,
        "command": "python benchmarks/mnist.py "
        + " ".join(portable(a, "DIR") if a.startswith("/") else a for a in sys.argv[1:]),
        "model": settings.model,
        "train": settings.train.to_dict(),
        "best_epoch": summary["best_epoch"],
        "epochs": summary["epochs"],
        "best_valid_nll": summary["best_valid_nll"],
        "train_seconds": summary["train_seconds"],
        "num_parameters": summary["num_parameters"],
        "test": scores,
        "targets": {str(k): v for k, v in exp.targets.items()},
        "curve": [
            [h["epoch"], h["seconds"], h["train_loss"], h["valid_nll"]] for h in result.history
        ],  # fmt: skip
        "machine": machine(device),
        "date": time.strftime("%Y-%m-%d"),
    }


def table(results: dict[str, Any]) -> str:
    """The results file as a Markdown table, the published figures below ours."""
    rows = ["| model | test NLL (nats) | masks at test | epochs (best) | training time | "
            "hardware |", "|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for name, entry in results.items():
        threads = entry["machine"]["threads"]
        hw = entry["machine"].get("gpu") or (
            f"{entry['machine']['cpu']}, {threads} thread{'s' if threads != 1 else ''}"
        )
        hidden = entry["model"]["hidden_sizes"]
        for k, score in entry["test"].items():
            rows.append(
                f"| made `{name}` {hidden} | {score['test_nll']:.2f} | {k} | "
                f"{entry['epochs']} ({entry['best_epoch']}) | "
                f"{entry['train_seconds'] / 60:.0f} min | {hw} |"
            )
    for label, nll in PUBLISHED.items():
        rows.append(f"| {label} (published) | {nll:.2f} | | | | |")
    return "\n".join(rows)


def plot(results: dict[str, Any], path: Path) -> None:
    """Validation NLL against training time per experiment, the test NLL of each ensemble
    size as a star at the end, and the paper's figures as dashed lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 6), dpi=110)
    colours = plt.get_cmap("tab20").colors  # a colour each: the default cycle repeats after 10
    lows = []
    for i, (name, entry) in enumerate(results.items()):
        minutes = [t / 60 for t in itertools.accumulate(c[1] for c in entry["curve"])]
        valid = [c[3] for c in entry["curve"]]
        ens = entry["train"].get("eval_ensemble", 1)
        line = ax.plot(minutes, valid, label=f"{name}: validation ({ens} mask(s))",
                       color=colours[(2 * i) % 20 + (2 * i) // 20 % 2])[0]  # fmt: skip
        for k, score in entry["test"].items():
            ax.plot([minutes[-1]], [score["test_nll"]], marker="*", ms=10, ls="none",
                    color=line.get_color())  # fmt: skip
            ax.annotate(f"{k}: {score['test_nll']:.1f}", (minutes[-1], score["test_nll"]),
                        textcoords="offset points", xytext=(6, -3), fontsize=7)  # fmt: skip
            lows.append(score["test_nll"])
        lows.append(min(valid))
    for nll in PUBLISHED.values():
        ax.axhline(nll, ls="--", lw=0.7, color="grey")
    listing = "\n".join(f"{nll:.2f}  {label}" for label, nll in PUBLISHED.items())
    # beside the axes, under the legend: inside, they hid the curves
    ax.text(1.02, 0.0, "published (dashed):\n" + listing, transform=ax.transAxes, fontsize=7,
            va="bottom", color="dimgrey")  # fmt: skip
    ax.set_ylim(min([*lows, *PUBLISHED.values()]) - 1, max(lows) + 15)
    ax.set_xscale("log")  # the runs take 5 to 53 minutes; most curves turn in the first few
    ax.set_xlabel("training time (minutes, log scale)")
    ax.set_ylabel("NLL (nats per image)")
    ax.set_title("binarized MNIST: validation curves, test NLL per ensemble size (stars)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="*", choices=[*EXPERIMENTS, []],
                        help="which to run (default: none; see --table)")  # fmt: skip
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-mnist")
    parser.add_argument("--resume", action="store_true", help="continue runs already in --out")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--hidden", default=None, help="override: hidden sizes, e.g. 500")
    parser.add_argument("--masks", type=int, default=None, help="override: number of masks")
    parser.add_argument("--ensembles", default=None, help="override: e.g. 1,8,32")
    parser.add_argument("--table", action="store_true", help="print the results as Markdown")
    parser.add_argument("--plot", type=Path, default=None, help="draw the results file here")
    parser.add_argument("--if-available", action="store_true",
                        help="skip quietly (status 0) when the data file is missing")  # fmt: skip
    args = parser.parse_args()
    if args.experiment and not args.data.is_file():
        message = f"no binarized MNIST at {args.data}; pass --data PATH to the .npz"
        if args.if_available:
            print(f"skipped: {message}")
            return
        raise SystemExit(message)
    for name in args.experiment:
        merge_json(args.json, name, run_experiment(name, args))
        print(f"  wrote {args.json} [{name}]")
    if args.table or args.plot or not args.experiment:
        if not args.json.is_file():
            raise SystemExit(f"no results yet at {args.json}")
        results = json.loads(args.json.read_text())
        if args.plot:
            plot(results, args.plot)
            print(f"drew {args.plot}")
        if args.table or not args.experiment:
            print(table(results))


if __name__ == "__main__":
    main()
