"""Positive skewed columns on a log scale: how much log-normal gain a column needs.

``made.data.scales`` models a positive real column as ``log(value)`` where a log-normal
fits its training values better than a normal by more than ``LOG_MIN_GAIN`` nats a value.
Here that bound is chosen on held-out likelihood: each table is split 70/30 (per seed),
``MADEDensity()`` with its defaults fits the 70% once per distinct set of columns a bound
puts on a log scale (``off``: none, the values' own scale everywhere) and scores the 30% in
the table's own units. Tables: tables.py's (scikit-learn's, statsmodels', palmerpenguins and
R's named ones) and those drawn at random from R's data sets as real_tables.py draws them
(seeds 7, 11 and 23) that hold a column some bound puts on a log scale.

    OMP_NUM_THREADS=1 python benchmarks/log_scale.py --json benchmarks/results/log_scale.json

Two fits at once, one thread each (``--workers``). Prints each table's held-out
log-likelihood per row under each bound, and the mean difference from ``off`` over the
tables with the number better and worse.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json  # noqa: E402

BOUNDS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5)


def _frame(name: str) -> Any:
    import tables as named

    if "/" in name:
        from real_tables import load

        package, item = name.split("/", 1)
        return load(package, item)
    loaders = {**named.TABLES, **named.HELD_BACK, **named.TINY}
    try:
        return loaders[name]()
    except ImportError:
        return None


def _split(frame: Any, seed: int) -> tuple[Any, Any]:
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(0.7 * len(frame))
    return frame.iloc[order[:cut]], frame.iloc[order[cut:]]


def _fit_score(train: Any, test: Any, bound: float, seed: int) -> tuple[float, float, list[str]]:
    """(held-out mean log-likelihood per row, fit seconds, the columns on a log scale)."""
    import made.data.scales as scales
    from made.sklearn import MADEDensity

    scales.LOG_MIN_GAIN = bound
    start = time.perf_counter()
    density = MADEDensity(random_state=seed).fit(train)
    seconds = time.perf_counter() - start
    scores = density.score_samples(test)
    logged = [c.name for c in density.schema_.columns if c.log]
    return float(np.mean(scores[np.isfinite(scores)])), seconds, logged


def one(task: tuple[str, int]) -> dict[str, Any] | None:
    """One table and seed: ``off`` and each bound that puts a different set of columns on a
    log scale (a bound whose set another has is that one's fit)."""
    import made.data.scales as scales

    name, seed = task
    warnings.simplefilter("ignore")
    frame = _frame(name)
    if frame is None:
        return None
    train, test = _split(frame, seed)
    try:
        off, off_s, _ = _fit_score(train, test, math.inf, seed)
        import made.sklearn

        probe = made.sklearn.MADEDensity(max_epochs=1, n_models=1, hidden_sizes=(8,))
        scales.LOG_MIN_GAIN = -math.inf  # every column a log scale can hold, with its gain
        probe.fit(train)
        gains = {}
        for c in probe.schema_.columns:
            if c.log:
                values = pd.to_numeric(train[c.name], errors="coerce").to_numpy(np.float64)
                gains[c.name] = scales.log_gain(values)
    except Exception as exc:  # noqa: BLE001 - a table made refuses is reported, not fatal
        return {"table": name, "seed": seed, "error": repr(exc)[:200]}
    result: dict[str, Any] = {"table": name, "seed": seed, "rows": len(frame), "off": off,
                              "off_seconds": off_s, "gains": gains, "bounds": {}}  # fmt: skip
    done: dict[tuple[str, ...], dict[str, Any]] = {(): {"loglik": off, "seconds": off_s}}
    for bound in BOUNDS:
        chosen = tuple(sorted(k for k, g in gains.items() if g > bound))
        if chosen not in done:
            ll, s, logged = _fit_score(train, test, bound, seed)
            done[chosen] = {"loglik": ll, "seconds": s, "logged": logged}
        result["bounds"][str(bound)] = done[chosen]
    print(
        f"{name:28s} seed {seed} off {off:9.3f} "
        + " ".join(f"{b}: {result['bounds'][str(b)]['loglik'] - off:+7.3f}" for b in BOUNDS)
        + f"  gains {', '.join(f'{k} {g:.2f}' for k, g in gains.items())}",
        flush=True,
    )
    return result


def main() -> None:
    import multiprocessing

    import tables as named
    from real_tables import pick

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0, help="splits from this seed on")
    parser.add_argument("--drawn", default="7,11,23", help="real_tables.py's draws (seeds)")
    parser.add_argument("--count", type=int, default=30, help="tables drawn per seed")
    parser.add_argument("--tables", default=None, help="these tables only (comma-separated)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--key", default="bounds")

    args = parser.parse_args()
    names = [*named.TABLES, *named.HELD_BACK, *named.TINY]
    for seed in (int(s) for s in args.drawn.split(",") if s):
        names += [f"{p}/{i}" for p, i in pick(args.count, seed)]
    names = args.tables.split(",") if args.tables else list(dict.fromkeys(names))
    tasks = [(n, s) for n in names for s in range(args.first_seed, args.first_seed + args.seeds)]
    info = machine()
    print(f"machine: {info}", flush=True)
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        found = [r for r in pool.imap(one, tasks) if r is not None]
    rows = [r for r in found if "error" not in r and r["gains"]]
    for bound in BOUNDS:
        diffs = [r["bounds"][str(bound)]["loglik"] - r["off"] for r in rows]
        per_table: dict[str, list[float]] = {}
        for r, d in zip(rows, diffs, strict=True):
            per_table.setdefault(r["table"], []).append(d)
        means = [statistics.mean(v) for v in per_table.values()]
        median = statistics.median(means) if means else math.nan
        print(f"bound {bound}: {len(means)} tables, mean {statistics.mean(means):+.3f} "
              f"median {median:+.3f} nats a row; better on {sum(m > 0 for m in means)}, worse "
              f"on {sum(m < 0 for m in means)}", flush=True)  # fmt: skip
    if args.json:
        record = {"machine": info, "date": time.strftime("%Y-%m-%d"), "runs": found}
        merge_json(args.json, args.key, record)


if __name__ == "__main__":
    main()
