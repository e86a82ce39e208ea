"""Anomaly detection and held-out likelihood: made against what scikit-learn users reach for.

Every method fits the normal rows of a task's training split and scores its test rows (higher:
more normal); AUROC and average precision say how well the scores rank the anomalies last.
The methods: made (``made.sklearn.MADEDensity`` with its defaults, told the image shape on
the image tasks, so that it ranks images by likelihood corrected for their PNG size, its
``outlier_score="auto"``; ``--made-score likelihood`` ranks by likelihood alone),
``IsolationForest``,
``LocalOutlierFactor(novelty=True)``, ``GaussianMixture`` (components chosen by BIC) and
``KernelDensity`` (bandwidth chosen by 3-fold cross-validated likelihood), the last four on
standardised features, as their users would run them. Tasks, from data available offline:

- ``digits``: scikit-learn's digits (8x8, values 0-16); each digit in turn is normal, the
  other nine are anomalies (mean over the ten).
- ``fashion``: Fashion-MNIST (Debian's dataset-fashion-mnist, binarised), each class in turn
  normal, 1,000 training rows, 500 normal and 500 anomalous test rows (mean over the ten).
- ``mnist-vs-fashion``: binarized MNIST (``../shared/data/binarized_mnist.npz``, which has no
  labels, so no one-class split by digit) is normal; binarised Fashion-MNIST images are the
  anomalies (2,000 training rows, 500 + 500 test rows).
- ``wine``, ``breast-cancer``: scikit-learn's tables; each wine class in turn is normal (mean
  over the three), and benign tumours are normal with malignant ones the anomalies.
- ``wine-corrupted``, ``breast-cancer-corrupted``: all classes normal; the anomalies are test
  rows with one column replaced by that column's value from another row (a plausible value
  in the wrong context, which a per-column check cannot see).

Each task runs over ``--seeds`` splits and seeds; the table gives the mean and the spread
(min-max over seeds). ``--loglik`` adds the held-out log-likelihood (nats per row, in the
data's own units) of made, GaussianMixture and KernelDensity on the real-valued tables.

    python benchmarks/anomaly.py --json benchmarks/results/anomaly.json   # about 40 minutes
    python benchmarks/anomaly.py --quick                                   # a smoke run
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity, LocalOutlierFactor
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_json, machine, merge_json  # noqa: E402

from made.data import load_data  # noqa: E402
from made.sklearn import MADEDensity  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "binarized_mnist.npz"
# the tasks whose rows are images, and their (height, width)
IMAGE_SHAPES = {"digits": (8, 8), "fashion": (28, 28), "mnist-vs-fashion": (28, 28)}
METHODS = ("made", "IsolationForest", "LocalOutlierFactor", "GaussianMixture", "KernelDensity")

# A task's split: (train rows, test rows, test labels with 1 for an anomaly)
Split = tuple[np.ndarray, np.ndarray, np.ndarray]


class Scored:
    """A fitted method: ``score`` is its ``score_samples`` in the data's own units (higher:
    more normal), ``outlier`` what ranks rows as outliers (made's ``decision_function``)."""

    def __init__(self, name: str, train: np.ndarray, seed: int,
                 image_shape: tuple[int, int] | None = None,
                 made_score: str = "auto") -> None:  # fmt: skip
        self.name = name
        self.scaler = StandardScaler().fit(train)
        # the standardisation's log-Jacobian: a density of scaled rows -> of the rows
        self.log_scale = float(np.log(self.scaler.scale_).sum())
        z = self.scaler.transform(train)
        if name == "made":
            self.model: Any = MADEDensity(
                random_state=seed,
                image_shape=image_shape,
                outlier_score=made_score,
                **MADE_OPTIONS,
            ).fit(train)
        elif name == "IsolationForest":
            self.model = IsolationForest(random_state=seed).fit(z)
        elif name == "LocalOutlierFactor":
            self.model = LocalOutlierFactor(novelty=True).fit(z)
        elif name == "GaussianMixture":
            self.model = gmm_by_bic(z, seed)
        else:
            self.model = _kde_by_cv(z)

    def score(self, x: np.ndarray) -> np.ndarray:
        if self.name == "made":
            return self.model.score_samples(x)
        return self.model.score_samples(self.scaler.transform(x)) - self.log_scale

    def outlier(self, x: np.ndarray) -> np.ndarray:
        if self.name == "made":
            return self.model.decision_function(x)
        return self.score(x)


def gmm_by_bic(z: np.ndarray, seed: int) -> GaussianMixture:
    """The GaussianMixture with the lowest BIC over 1-8 components (full covariances up to
    64 features, diagonal beyond; a small ridge keeps binary features' covariances sound)."""
    kind = "full" if z.shape[1] <= 64 else "diag"
    best = None
    for k in (1, 2, 3, 4, 6, 8):
        if k > len(z) // 5:
            break
        gmm = GaussianMixture(k, covariance_type=kind, reg_covar=1e-3, random_state=seed)
        gmm.fit(z)
        bic = gmm.bic(z)
        if best is None or bic < best[0]:
            best = (bic, gmm)
    assert best is not None
    return best[1]


def _kde_by_cv(z: np.ndarray) -> KernelDensity:
    """A Gaussian KernelDensity with its bandwidth chosen by 3-fold held-out likelihood."""
    bandwidths = np.logspace(-1.5, 1.0, 11) * np.sqrt(z.shape[1]) / 4
    search = GridSearchCV(KernelDensity(), {"bandwidth": bandwidths}, cv=3)
    return search.fit(z).best_estimator_


# ----------------------------------------------------------------------------------- tasks
def _one_class(x: np.ndarray, y: np.ndarray, normal: int, seed: int, train_n: int | None = None,
               test_n: int | None = None) -> Split:  # fmt: skip
    """Normal class ``normal``: its rows split 70/30 (or ``train_n`` / ``test_n`` of them),
    the other classes' rows (as many as the normal test rows, or all) the anomalies."""
    rng = np.random.default_rng(seed)
    inside = rng.permutation(np.flatnonzero(y == normal))
    outside = rng.permutation(np.flatnonzero(y != normal))
    cut = int(0.7 * len(inside)) if train_n is None else train_n
    train, test_in = inside[:cut], inside[cut:]
    if test_n is not None:
        test_in, outside = test_in[:test_n], outside[:test_n]
    test = np.concatenate([x[test_in], x[outside]])
    labels = np.concatenate([np.zeros(len(test_in)), np.ones(len(outside))])
    return x[train], test, labels


def _corrupted(x: np.ndarray, seed: int) -> Split:
    """All rows normal, split 70/30; the anomalies are copies of the test rows with one
    column each taken from another test row."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    cut = int(0.7 * len(x))
    train, test = x[order[:cut]], x[order[cut:]]
    bad = test.copy()
    columns = rng.integers(0, x.shape[1], len(bad))
    donors = rng.permutation(len(bad))
    bad[np.arange(len(bad)), columns] = test[donors, columns]
    labels = np.concatenate([np.zeros(len(test)), np.ones(len(bad))])
    return train, np.concatenate([test, bad]), labels


def _images(name: str) -> tuple[np.ndarray, np.ndarray]:
    data = load_data(name)
    x = np.concatenate([data.splits[s].reshape(len(data.splits[s]), -1) for s in ("train", "test")])
    y = np.concatenate([data.labels["train"], data.labels["test"]])
    return x.astype(np.float64), y


def tasks(quick: bool) -> dict[str, Callable[[int], Iterator[Split]]]:
    """Each task: a function of the seed yielding its splits (one per normal class)."""
    digits = load_digits()
    wine, cancer = load_wine(), load_breast_cancer()
    out: dict[str, Callable[[int], Iterator[Split]]] = {}
    classes = (0, 1) if quick else range(10)
    out["digits"] = lambda seed: (_one_class(digits.data, digits.target, c, seed) for c in classes)
    out["wine"] = lambda seed: (
        _one_class(wine.data, wine.target, c, seed) for c in range(1 if quick else 3)
    )
    # breast cancer: target 1 is benign (normal), 0 malignant
    out["breast-cancer"] = lambda seed: iter([_one_class(cancer.data, cancer.target, 1, seed)])
    out["wine-corrupted"] = lambda seed: iter([_corrupted(wine.data, seed)])
    out["breast-cancer-corrupted"] = lambda seed: iter([_corrupted(cancer.data, seed)])
    if quick:
        return out
    try:
        fx, fy = _images("fashion-mnist")
    except Exception as exc:  # the Debian package is missing
        print(f"  fashion and mnist-vs-fashion: skipped ({exc})")
        return out
    out["fashion"] = lambda seed: (
        _one_class(fx, fy, c, seed, train_n=1000, test_n=500) for c in range(10)
    )
    if MNIST.is_file():
        mnist = np.load(MNIST)
        mx = np.concatenate([mnist["train_data"], mnist["test_data"]]).astype(np.float64)

        def vs_fashion(seed: int) -> Iterator[Split]:
            rng = np.random.default_rng(seed)
            rows = rng.permutation(len(mx))
            train, test_in = mx[rows[:2000]], mx[rows[2000:2500]]
            test_out = fx[rng.permutation(len(fx))[:500]]
            labels = np.concatenate([np.zeros(500), np.ones(500)])
            yield train, np.concatenate([test_in, test_out]), labels

        out["mnist-vs-fashion"] = vs_fashion
    return out


# ------------------------------------------------------------------------------- running
# MADEDensity's parameters beyond its defaults (--made-max-epochs: a smoke test's few epochs)
MADE_OPTIONS: dict[str, Any] = {}


def run_task(
    name: str,
    splits: Callable[[int], Iterator[Split]],
    seeds: int,
    made_score: str = "auto",
    methods: tuple[str, ...] = METHODS,
) -> dict[str, Any]:
    """Every method on every split of every seed: AUROC, AP and seconds, per seed averaged
    over the task's splits."""
    per_seed: dict[str, dict[str, list[float]]] = {
        m: {"auroc": [], "ap": [], "fit_seconds": [], "score_seconds": []} for m in methods
    }
    for seed in range(seeds):
        sums: dict[str, dict[str, list[float]]] = {m: {k: [] for k in per_seed[m]} for m in methods}
        for part, (train, test, labels) in enumerate(splits(seed)):
            print(f"  {name}: seed {seed}, split {part + 1}", end="\r", flush=True, file=sys.stderr)
            for method in methods:
                start = time.perf_counter()
                fitted = Scored(method, train, seed, IMAGE_SHAPES.get(name), made_score)
                fitted_at = time.perf_counter()
                normal = fitted.outlier(test)
                done = time.perf_counter()
                anomaly = -np.nan_to_num(normal, neginf=-1e300)  # -inf: impossible, most anomalous
                sums[method]["auroc"].append(roc_auc_score(labels, anomaly))
                sums[method]["ap"].append(average_precision_score(labels, anomaly))
                sums[method]["fit_seconds"].append(fitted_at - start)
                sums[method]["score_seconds"].append(done - fitted_at)
        for method in methods:
            for key, values in sums[method].items():
                per_seed[method][key].append(float(np.mean(values)))
    result = {}
    for method, values in per_seed.items():
        result[method] = {key: {"mean": statistics.mean(v), "min": min(v), "max": max(v)}
                          for key, v in values.items()}  # fmt: skip
    return result


def loglik(seeds: int) -> dict[str, Any]:
    """Held-out log-likelihood (nats per row, the data's own units) on the real tables: all
    classes' features, split 70/30."""
    out: dict[str, Any] = {}
    for name, bunch in (("wine", load_wine()), ("breast-cancer", load_breast_cancer())):
        scores: dict[str, list[float]] = {
            m: [] for m in ("made", "GaussianMixture", "KernelDensity")
        }
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(bunch.data))
            cut = int(0.7 * len(order))
            train, test = bunch.data[order[:cut]], bunch.data[order[cut:]]
            for method in scores:
                scores[method].append(float(Scored(method, train, seed).score(test).mean()))
        out[name] = {m: {"mean": statistics.mean(v), "min": min(v), "max": max(v)}
                     for m, v in scores.items()}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few tasks, one seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", default=None, help="comma-separated task names")
    parser.add_argument("--no-loglik", action="store_true")
    parser.add_argument(
        "--made-score",
        default="auto",
        choices=("auto", "likelihood"),
        help="made's outlier score on the image tasks (auto: complexity)",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    parser.add_argument(
        "--made-max-epochs",
        type=int,
        default=None,
        help="at most this many epochs for made (a smoke run; default: its own)",
    )
    args = parser.parse_args()
    if args.made_max_epochs is not None:
        MADE_OPTIONS["max_epochs"] = args.made_max_epochs
    seeds = 1 if args.quick else args.seeds
    info = machine()
    print(f"machine: {info}", flush=True)
    methods = tuple(args.methods.split(","))
    if unknown := set(methods) - set(METHODS):
        parser.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    chosen = tasks(args.quick)
    if args.tasks:
        chosen = {k: v for k, v in chosen.items() if k in args.tasks.split(",")}
    suffix = ("/quick" if args.quick else "") + (
        "" if args.made_score == "auto" else f"/made-{args.made_score}"
    )
    # tasks run before (another --tasks subset) stay in the file; each is written when done
    old = load_json(args.json)
    results: dict[str, Any] = {"machine": info, "date": time.strftime("%Y-%m-%d"),
                               "tasks": dict(old.get("tasks" + suffix, {}))}  # fmt: skip
    print("\n| task | " + " | ".join(methods) + " |")
    print("|---|" + "---:|" * len(methods))
    for name, splits in chosen.items():
        res = run_task(name, splits, seeds, args.made_score, methods)
        # a --methods subset replaces those methods' results and keeps the others'
        results["tasks"][name] = {**results["tasks"].get(name, {}), **res, "seeds": seeds,
                                  "made_score": args.made_score}  # fmt: skip
        if args.json:
            merge_json(args.json, "tasks" + suffix, results["tasks"])
        cells = [f"{res[m]['auroc']['mean']:.3f}" for m in methods]
        print(f"| {name} (AUROC) | " + " | ".join(cells) + " |", flush=True)
    # the mean over the tasks in the results, for the methods every one of them has
    common = [m for m in METHODS if all(m in r for r in results["tasks"].values())]
    if results["tasks"] and common:
        means = {m: statistics.mean(r[m]["auroc"]["mean"] for r in results["tasks"].values())
                 for m in common}  # fmt: skip
        results["mean_auroc"] = means
        print(f"| mean over the {len(results['tasks'])} tasks in the results | "
              + " | ".join(f"{means.get(m, math.nan):.3f}" for m in methods) + " |")  # fmt: skip
    if not args.no_loglik:
        results["loglik"] = ll = {**loglik(seeds), "seeds": seeds}
        print("\nheld-out log-likelihood, nats per row (higher is better)")
        for name, r in ll.items():
            if name == "seeds":
                continue
            print(f"  {name}: " + ", ".join(f"{m} {v['mean']:.2f}" for m, v in r.items()))
    if args.json:
        for key, value in results.items():
            if key != "tasks":
                merge_json(args.json, key + suffix, value)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
