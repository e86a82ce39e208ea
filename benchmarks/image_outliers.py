"""Which score MADEDensity should rank images by: likelihood, or likelihood plus PNG size.

made's outlier score for images is chosen here, on evidence: every task fits one
``MADEDensity`` (its defaults, ``image_shape`` given) on the normal images of its training
split and ranks its test images by both candidate scores of that one model:

- ``likelihood``: the log-density, ``score_samples``;
- ``complexity``: the log-density plus the image's PNG size in nats (Serra et al., 2020;
  ``made.complexity``).

AUROC says how well a score ranks the anomalies last. The tasks (images available offline):

- ``digits-one``: scikit-learn's digits (8x8, 0-16), each digit in turn normal, the other
  nine the anomalies (mean over the ten).
- ``digits-17-vs-49``: normal 1 and 7, anomalies 4 and 9.
- ``digits-low-vs-high``: normal 0-4, anomalies 5-9.
- ``fashion-one``: Fashion-MNIST (Debian's dataset-fashion-mnist, binarised), each class in
  turn normal, 1,000 training images, 500 normal and 500 anomalous test images (mean over the
  ten).
- ``fashion-clothes-vs-rest``: normal the five garments worn on the body (T-shirt, trouser,
  pullover, dress, coat), anomalies the rest (sandal, shirt, sneaker, bag, ankle boot);
  2,000 training images.
- ``mnist-vs-fashion``: binarized MNIST (``../shared/data/binarized_mnist.npz``) normal,
  Fashion-MNIST the anomalies; 2,000 training images.
- ``fashion-vs-mnist``: the other way round.

    python benchmarks/image_outliers.py --json benchmarks/results/image_outliers.json
    python benchmarks/image_outliers.py --quick                # two digits tasks, a smoke run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anomaly import MNIST, Split, _images  # noqa: E402
from common import machine, merge_json  # noqa: E402

from made.sklearn import MADEDensity  # noqa: E402

SCORES = ("likelihood", "complexity")


def normal_set(x: np.ndarray, y: np.ndarray, normal: tuple[int, ...], seed: int,
               train_n: int | None = None, test_n: int | None = None) -> Split:  # fmt: skip
    """Normal classes ``normal``: their rows split 70/30 (or ``train_n`` / ``test_n`` of
    them), the other classes' rows the anomalies (as many as the normal test rows)."""
    rng = np.random.default_rng(seed)
    is_normal = np.isin(y, normal)
    inside = rng.permutation(np.flatnonzero(is_normal))
    outside = rng.permutation(np.flatnonzero(~is_normal))
    cut = int(0.7 * len(inside)) if train_n is None else train_n
    train, test_in = inside[:cut], inside[cut:]
    test_in = test_in[:test_n] if test_n is not None else test_in
    outside = outside[: len(test_in)]
    test = np.concatenate([x[test_in], x[outside]])
    labels = np.concatenate([np.zeros(len(test_in)), np.ones(len(outside))])
    return x[train], test, labels


def tasks(quick: bool) -> dict[str, tuple[tuple[int, int], Callable[[int], Iterator[Split]]]]:
    """Each task: (image shape, a function of the seed yielding its splits)."""
    digits = load_digits()
    dx, dy = digits.data, digits.target
    out: dict[str, tuple[tuple[int, int], Callable[[int], Iterator[Split]]]] = {
        "digits-one": (
            (8, 8),
            lambda seed: (normal_set(dx, dy, (c,), seed) for c in range(2 if quick else 10)),
        ),
        "digits-17-vs-49": (
            (8, 8),
            lambda seed: iter(
                [
                    normal_set(
                        dx[np.isin(dy, (1, 7, 4, 9))], dy[np.isin(dy, (1, 7, 4, 9))], (1, 7), seed
                    )
                ]
            ),
        ),  # fmt: skip
        "digits-low-vs-high": (
            (8, 8),
            lambda seed: iter([normal_set(dx, dy, (0, 1, 2, 3, 4), seed)]),
        ),
    }
    if quick:
        return out
    try:
        fx, fy = _images("fashion-mnist")
    except Exception as exc:  # the Debian package is missing
        print(f"  the Fashion-MNIST tasks: skipped ({exc})")
        return out
    out["fashion-one"] = (
        (28, 28),
        lambda seed: (normal_set(fx, fy, (c,), seed, 1000, 500) for c in range(10)),
    )
    out["fashion-clothes-vs-rest"] = (
        (28, 28),
        lambda seed: iter([normal_set(fx, fy, (0, 1, 2, 3, 4), seed, 2000, 500)]),
    )
    if MNIST.is_file():
        mnist = np.load(MNIST)
        mx = np.concatenate([mnist["train_data"], mnist["test_data"]]).astype(np.float64)
        both = np.concatenate([mx, fx])
        source = np.concatenate([np.zeros(len(mx), int), np.ones(len(fx), int)])
        out["mnist-vs-fashion"] = (
            (28, 28),
            lambda seed: iter([normal_set(both, source, (0,), seed, 2000, 500)]),
        )
        out["fashion-vs-mnist"] = (
            (28, 28),
            lambda seed: iter([normal_set(both, source, (1,), seed, 2000, 500)]),
        )
    return out


def run_task(
    shape: tuple[int, int], splits: Callable[[int], Iterator[Split]], seeds: int
) -> dict[str, Any]:
    """Both scores of one fitted model per split: AUROC per seed (the mean over the task's
    splits), with the fit seconds."""
    per_seed: dict[str, list[float]] = {s: [] for s in SCORES}
    seconds: list[float] = []
    for seed in range(seeds):
        aurocs: dict[str, list[float]] = {s: [] for s in SCORES}
        for train, test, labels in splits(seed):
            start = time.perf_counter()
            model = MADEDensity(random_state=seed, image_shape=shape,
                                outlier_score="complexity").fit(train)  # fmt: skip
            seconds.append(time.perf_counter() - start)
            normal = {"likelihood": model.score_samples(test),
                      "complexity": model.decision_function(test)}  # fmt: skip
            for score, values in normal.items():
                anomaly = -np.nan_to_num(values, neginf=-1e300)
                aurocs[score].append(float(roc_auc_score(labels, anomaly)))
        for score in SCORES:
            per_seed[score].append(statistics.mean(aurocs[score]))
    out: dict[str, Any] = {
        s: {"mean": statistics.mean(v), "min": min(v), "max": max(v)} for s, v in per_seed.items()
    }
    out["fit_seconds"] = statistics.mean(seconds)
    out["seeds"] = seeds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the digits tasks, one seed")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--tasks", default=None, help="comma-separated task names")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    seeds = 1 if args.quick else args.seeds
    info = machine()
    print(f"machine: {info}", flush=True)
    chosen = tasks(args.quick)
    if args.tasks:
        chosen = {k: v for k, v in chosen.items() if k in args.tasks.split(",")}
    key = "quick" if args.quick else "tasks"
    results: dict[str, Any] = {}
    print("\n| task | likelihood | complexity | fit s |\n|---|---:|---:|---:|")
    for name, (shape, splits) in chosen.items():
        results[name] = res = run_task(shape, splits, seeds)
        print(f"| {name} | {res['likelihood']['mean']:.3f} | {res['complexity']['mean']:.3f} "
              f"| {res['fit_seconds']:.1f} |", flush=True)  # fmt: skip
        if args.json:
            merge_json(args.json, key, results)
    if results:
        means = {s: statistics.mean(r[s]["mean"] for r in results.values()) for s in SCORES}
        print(f"| mean over {len(results)} tasks | {means['likelihood']:.3f} | "
              f"{means['complexity']:.3f} | |")  # fmt: skip
        if args.json:
            merge_json(args.json, "machine", info)
            merge_json(args.json, "date", time.strftime("%Y-%m-%d"))
            merge_json(args.json, "mean_auroc" + ("/quick" if args.quick else ""), means)
            print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
