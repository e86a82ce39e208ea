"""Speed of made against the tutorial recipe's MADE, side by side in one process.

For the reference configuration (Shapes: 400 binary dims, hidden [512, 512]) and for 784 dims
(binarized MNIST when --mnist points at it, else random binary images of the same size;
hidden [500]) it measures, alternating the two implementations, with repeats:

- training examples per second over whole epochs (batch 128, Adam lr 1e-3);
- evaluation examples per second (exact NLL of the test split);
- the time to draw 100 samples.

The tutorial side (benchmarks/common.py: two logits per pixel, cross-entropy) multiplies the
masks into the weights on every call, feeds a ``DataLoader(TensorDataset(...))`` that indexes
one example at a time, and samples with D full passes. Ratios are the headline; the machine
and thread count are printed with them.

    python benchmarks/speed.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import TutorialMADE, machine, save_json, stats, tutorial_epoch, tutorial_loader  # noqa: E402

from made import MADE, TrainConfig, evaluate_nll  # noqa: E402
from made.data import load_data  # noqa: E402
from made.train import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = ROOT.parent / "shared" / "data" / "binarized_mnist.npz"
BATCH = 128


def alternate(a: Callable[[], float], b: Callable[[], float], repeats: int) -> tuple[list, list]:
    """Run ``a`` and ``b`` in turn ``repeats`` times (after one warm-up each), collecting
    what each returns, so that both see the same machine conditions."""
    a(), b()
    out_a, out_b = [], []
    for _ in range(repeats):
        out_a.append(a())
        out_b.append(b())
    return out_a, out_b


def train_throughput(train: np.ndarray, hidden: list[int], repeats: int) -> dict[str, Any]:
    """Training examples per second over whole epochs: tutorial, then made."""
    flat = train.reshape(len(train), -1)
    tutorial = TutorialMADE(flat.shape[1], hidden, seed=0)
    loader = tutorial_loader(flat, BATCH)
    s_opt = torch.optim.Adam(tutorial.parameters(), lr=1e-3)
    ours = MADE(flat.shape[1], hidden, seed=0)
    cfg = TrainConfig(epochs=1, batch_size=BATCH, lr=1e-3, eval_batch_size=4096)
    x = torch.from_numpy(flat)
    n = len(flat)

    def tutorial_run() -> float:
        start = time.perf_counter()
        tutorial_epoch(tutorial, loader, s_opt)
        return n / (time.perf_counter() - start)

    def made_run() -> float:
        return n / fit(ours, x, x[:10], cfg).history[0]["seconds"]

    s, m = alternate(tutorial_run, made_run, repeats)
    return _pair(s, m)


def eval_throughput(test: np.ndarray, hidden: list[int], repeats: int) -> dict[str, Any]:
    """Exact-NLL examples per second over the test split."""
    flat = test.reshape(len(test), -1)
    tutorial = TutorialMADE(flat.shape[1], hidden, seed=0).eval()
    loader = tutorial_loader(flat, 1024, shuffle=False)
    ours = MADE(flat.shape[1], hidden, seed=0).eval()
    x = torch.from_numpy(flat)
    n = len(flat)

    @torch.no_grad()
    def tutorial_run() -> float:
        start = time.perf_counter()
        float(torch.cat([tutorial.nll(xb) for (xb,) in loader]).mean())
        return n / (time.perf_counter() - start)

    def made_run() -> float:
        start = time.perf_counter()
        evaluate_nll(ours, x)
        return n / (time.perf_counter() - start)

    s, m = alternate(tutorial_run, made_run, repeats)
    return _pair(s, m)


def sample_time(d: int, hidden: list[int], n: int, repeats: int) -> dict[str, Any]:
    """Seconds to draw ``n`` samples: D full passes against made's incremental sampler."""
    tutorial = TutorialMADE(d, hidden, seed=0).eval()
    ours = MADE(d, hidden, seed=0).eval()

    def tutorial_run() -> float:
        torch.manual_seed(0)  # the tutorial sampler draws from the global generator
        start = time.perf_counter()
        tutorial.sample(n)
        return time.perf_counter() - start

    def made_run() -> float:
        start = time.perf_counter()
        ours.sample(n, generator=torch.Generator().manual_seed(0))
        return time.perf_counter() - start

    s, m = alternate(tutorial_run, made_run, repeats)
    return {"tutorial_seconds": stats(s), "made_seconds": stats(m),
            "ratio": statistics.median(s) / statistics.median(m)}  # fmt: skip


def _pair(s: list[float], m: list[float]) -> dict[str, Any]:
    return {"tutorial_examples_per_second": stats(s), "made_examples_per_second": stats(m),
            "ratio": statistics.median(m) / statistics.median(s)}  # fmt: skip


Case = tuple[str, np.ndarray, np.ndarray, list[int]]


def configurations(mnist: Path, limit: int | None) -> list[Case]:
    """(name, train, test, hidden) for the reference configuration and for 784 dims."""
    shapes = load_data("shapes")
    cases = [("reference: Shapes, 400 dims, hidden [512, 512]", shapes.splits["train"],
              shapes.splits["test"], [512, 512])]  # fmt: skip
    if mnist.is_file():
        data = load_data(str(mnist))
        train, test, label = data.splits["train"], data.splits["test"], "binarized MNIST"
    else:
        rng = np.random.default_rng(0)
        train = (rng.random((50_000, 784)) < 0.13).astype(np.uint8)
        test = (rng.random((10_000, 784)) < 0.13).astype(np.uint8)
        label = "random binary data"
    cases.append((f"784 dims ({label}), hidden [500]", train, test, [500]))
    if limit is not None:
        cases = [(name, tr[:limit], te[:limit], h) for name, tr, te, h in cases]
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 examples, 3 repeats")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="examples per split at most")
    parser.add_argument("--mnist", type=Path, default=DEFAULT_MNIST)
    parser.add_argument("-n", type=int, default=100, help="samples per draw")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.repeats = min(args.repeats, 3)
        args.limit = min(args.limit or 10_000, 10_000)
    info = machine()
    print(f"machine: {info}")
    print(f"median [min, max] of {args.repeats} alternating repeats; ratio = made / "
          "tutorial for throughput, tutorial / made for time\n")  # fmt: skip
    results: dict[str, Any] = {"machine": info, "repeats": args.repeats, "limit": args.limit,
                               "cases": []}  # fmt: skip
    rows = []
    for name, train, test, hidden in configurations(args.mnist, args.limit):
        d = int(np.prod(train.shape[1:]))
        tr = train_throughput(train, hidden, args.repeats)
        ev = eval_throughput(test, hidden, args.repeats)
        sa = sample_time(d, hidden, args.n, args.repeats)
        results["cases"].append({"name": name, "dims": d, "hidden": hidden, "train": tr,
                                 "eval": ev, "sample": sa})  # fmt: skip
        for what, r, unit, key in (("train", tr, "ex/s", "examples_per_second"),
                                   ("eval", ev, "ex/s", "examples_per_second"),
                                   (f"{args.n} samples", sa, "s", "seconds")):  # fmt: skip
            s, m = r[f"tutorial_{key}"], r[f"made_{key}"]
            rows.append((name, what, unit, s, m, r["ratio"]))
    print("| configuration | measure | tutorial | made | ratio |")
    print("|---|---|---:|---:|---:|")
    for name, what, unit, s, m, ratio in rows:
        print(f"| {name} | {what} ({unit}) | {_fmt(s)} | {_fmt(m)} | {ratio:.1f}x |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        save_json(args.json, results)
        print(f"\nwrote {args.json}")


def _fmt(s: dict[str, float]) -> str:
    digits = 3 if s["median"] < 10 else 0
    return f"{s['median']:.{digits}f} [{s['min']:.{digits}f}, {s['max']:.{digits}f}]"


if __name__ == "__main__":
    main()
