"""Positive skewed columns on a log scale (``made.data.scales``): chosen by likelihood,
encoded and decoded exactly, and scored in the column's own units."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import write_csv

from made.cli import main
from made.data import TableSchema, infer_schema
from made.data.scales import log_gain, prefers_log
from made.runs import load_run, table_schema


def test_a_log_scale_is_chosen_where_a_log_normal_fits_better_and_not_by_units():
    g = np.random.default_rng(0)
    money = g.lognormal(3.0, 1.0, 500)
    assert prefers_log(money)
    assert not prefers_log(g.normal(100.0, 10.0, 500))  # symmetric: its own scale
    # scale-free: grams or kilograms, the same gain
    assert log_gain(money * 1000) == pytest.approx(log_gain(money), abs=1e-9)
    assert log_gain(money * 1e-300) == pytest.approx(log_gain(money), abs=1e-6)
    # a log scale cannot hold a 0 or a negative value; too few values leave it to chance
    assert not prefers_log(np.append(money, 0.0)) and not prefers_log(np.append(money, -1.0))
    assert not prefers_log(money[:5]) and not prefers_log(np.full(50, 3.0))
    assert prefers_log(np.append(money, math.nan))  # gaps are left out
    # the gain is the two fits' maximum log-likelihoods per value, in the values' units
    u = np.log(money)
    normal = -0.5 * math.log(2 * math.pi * math.e * money.var())
    log_normal = -0.5 * math.log(2 * math.pi * math.e * u.var()) - u.mean()
    assert log_gain(money) == pytest.approx(log_normal - normal, abs=1e-9)


def _money_rows(n=400, seed=0):
    g = np.random.default_rng(seed)
    money = np.round(g.lognormal(3.0, 1.0, n), 2)
    height = np.round(g.normal(170.0, 10.0, n), 6)
    return money, height, [[f"{m:.2f}", f"{h:.6f}"] for m, h in zip(money, height, strict=True)]


def test_a_column_on_a_log_scale_encodes_dequantises_and_decodes_in_its_own_units():
    money, height, rows = _money_rows()
    schema = infer_schema(["money", "height"], rows, "t.csv")
    fitted = schema.with_statistics(schema.encode(rows, "t.csv", 2))
    col, other = fitted.columns
    assert col.log and not other.log
    assert "money=real on a 0.01 grid on a log scale, height=real" in fitted.describe()
    assert TableSchema.from_dict(fitted.to_dict()) == fitted
    # standardised on the log: the statistics are log(money)'s; the range is money's
    assert col.mean == pytest.approx(np.log(money).mean()) and col.low == money.min()
    x = fitted.encode(rows, "t.csv", 2)
    assert np.allclose(x[:, 0], (np.log(money) - col.mean) / col.std)
    assert np.allclose(fitted.standardise(np.column_stack([money, height])), x)
    assert fitted.values_of(0, x[:, 0]).tolist() == money.tolist()  # exactly, on its grid
    # dequantised in money's own units: a grid point's interval [v, v + 0.01)
    scored = col.own_units(fitted.dequantise(x)[:, 0])
    assert np.allclose(scored, money + 0.005)
    trained = col.own_units(fitted.dequantise(x, torch.Generator().manual_seed(0))[:, 0])
    assert (trained >= money - 1e-9).all() and (trained < money + 0.01).all()
    assert fitted.values_of(0, fitted.dequantise(x)[:, 0]).tolist() == money.tolist()
    # samples are bounded in money's units, above 0 and on its grid
    low, high = col.bounds()
    assert 0 < low < money.min() and high > money.max()
    ratio = (money.max() / money.min()) ** 0.05
    assert low == pytest.approx(money.min() - math.ceil((money.min() - money.min() / ratio)
                                                        / 0.01) * 0.01)  # fmt: skip
    lo, hi = fitted.sample_bounds()
    ends = col.own_units(np.array([lo[0].item(), hi[0].item()]))
    assert ends == pytest.approx([low, high + 0.999 * 0.01])  # to the last point's interval's end
    # a held-out 0 or negative value reads far out, not as NaN
    far = fitted.standardise(np.array([[0.0, 170.0], [-3.0, 170.0]]))
    assert np.isfinite(far).all() and (far[:, 0] < -100).all()


def test_a_density_on_a_log_scale_integrates_to_one_in_the_columns_units():
    """One real column: ``score_samples`` is a density over money itself, so it integrates to
    1 over money (not over its log), and ``explain``'s terms sum to the score."""
    from made.sklearn import MADEDensity

    money = np.random.default_rng(1).lognormal(3.0, 1.0, 300)
    density = MADEDensity(hidden_sizes=(16,), max_epochs=5, n_models=1, random_state=0)
    density.fit(pd.DataFrame({"money": money}))
    assert density.schema_.columns[0].log
    grid = np.exp(np.linspace(math.log(money.min() / 1e3), math.log(money.max() * 1e3), 100_001))
    col = density.schema_.columns[0]
    assert col.novel == pytest.approx(0.05 / (len(money) + 0.1))  # kept for a value <= 0
    mass = np.trapezoid(np.exp(density.score_samples(pd.DataFrame({"money": grid}))), grid)
    assert mass == pytest.approx(1.0 - col.novel, abs=2e-3)  # the positive values' share
    rows = pd.DataFrame({"money": money[:20]})
    assert np.allclose(-density.explain(rows).sum(1), density.score_samples(rows))
    # a held-out value a log scale cannot hold is one outcome, of the share the column keeps
    # (without it, 0 read as the smallest float scored about -250,000 nats)
    low = density.score_samples(pd.DataFrame({"money": [0.0, -5.0]}))
    share = math.log1p(-col.novel_gap) + math.log(col.novel)
    assert low == pytest.approx([share, share])
    assert np.isfinite(density.score_samples(pd.DataFrame({"money": [0.0, 20.0]}))).all()


def _cli_scores(tmp_path, name, rows):
    data = write_csv(tmp_path / f"{name}.csv", ["money", "height"], rows)
    run = tmp_path / name
    argv = ["train", "--data", str(data), "--out", str(run), "--hidden", "16", "--epochs", "3",
            "--device", "cpu", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert main(["score", str(run), "--device", "cpu"]) == 0
    with open(run / "scores.csv") as f:
        scored = np.array([float(r["nll_nats_data_units"]) for r in csv.DictReader(f)])
    summary = json.loads((run / "summary.json").read_text())
    return scored, summary["test_nll_original_units"]


def test_scores_on_a_log_scale_are_in_the_tables_own_units(tmp_path, capsys):
    """The same prices in dollars and in cents: the model reads the same standardised logs,
    so each row's NLL in the table's own units differs by exactly log 100 (a density per cent
    is a hundredth of one per dollar), in ``made score`` and in the run's test NLL. Without
    the log's Jacobian the two would be equal."""
    money, height, rows = _money_rows(300, seed=2)
    cents = [[str(int(round(m * 100))), h] for m, (_, h) in zip(money, rows, strict=True)]
    dollars, test_dollars = _cli_scores(tmp_path, "dollars", rows)
    in_cents, test_cents = _cli_scores(tmp_path, "cents", cents)
    capsys.readouterr()
    assert np.allclose(in_cents - dollars, math.log(100), atol=2e-3)
    assert test_cents - test_dollars == pytest.approx(math.log(100), abs=2e-3)
    # a price of 0, which the log cannot hold, is scored by the column's share for one, and
    # said; the row's other cell keeps its term
    zero = write_csv(tmp_path / "zero.csv", ["money", "height"], [["0.00", rows[0][1]], rows[1]])
    assert main(["score", str(tmp_path / "dollars"), "--data", str(zero), "--out",
                 str(tmp_path / "zero-scores.csv"), "--device", "cpu"]) == 0  # fmt: skip
    printed = capsys.readouterr()
    assert "money is '0.00'" in printed.out + printed.err
    with open(tmp_path / "zero-scores.csv") as f:
        nll = [float(r["nll_nats_data_units"]) for r in csv.DictReader(f)]
    money_col = table_schema(load_run(tmp_path / "dollars")[1]).columns[0]
    assert money_col.log and np.isfinite(nll).all()
    assert nll[0] - nll[1] < -math.log(money_col.novel) + 20  # the share, not -250,000


def test_a_scale_can_be_given_and_is_refused_where_it_cannot_hold(tmp_path):
    """``NAME=linear`` keeps a skewed column on its own scale, ``NAME=log`` puts a symmetric
    one on a log scale, through the CSV reader and the estimator alike; a log scale given to a
    column holding 0 is refused, naming the column and the value."""
    from made.data import DataError
    from made.sklearn import MADEDensity

    money, height, rows = _money_rows()
    chosen = infer_schema(["money", "height"], rows, "t.csv", ["money=linear", "height=log"])
    fitted = chosen.with_statistics(chosen.encode(rows, "t.csv", 2))
    assert [c.log for c in fitted.columns] == [False, True]
    assert [c.scale for c in fitted.columns] == ["linear", "log"]
    assert "money=real on a 0.01 grid, height=real on a log scale" in fitted.describe()
    assert TableSchema.from_dict(fitted.to_dict()) == fitted
    frame = pd.DataFrame({"money": money, "height": height})
    density = MADEDensity(hidden_sizes=(8,), max_epochs=1, n_models=1, random_state=0)
    density.set_params(column_types={"money": "linear", "height": "log"}).fit(frame)
    assert [c.log for c in density.schema_.columns] == [False, True]
    zero = [["0.00", rows[0][1]], *rows[1:]]
    typed = infer_schema(["money", "height"], zero, "t.csv", ["money=log"])
    with pytest.raises(DataError, match="column 'money' is typed log, but holds 0 among"):
        typed.with_statistics(typed.encode(zero, "t.csv", 2), "t.csv")
    with pytest.raises(DataError, match="NAME=log or NAME=linear"):
        infer_schema(["money", "height"], rows, "t.csv", ["money=logarithmic"])
    data = write_csv(tmp_path / "t.csv", ["money", "height"], rows)
    argv = ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
            "--column-type", "money=linear", "--device", "cpu", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    given = table_schema(load_run(tmp_path / "run")[1])
    assert given is not None and [c.scale for c in given.columns] == ["linear", ""]
    assert not given.columns[0].log  # skewed, and kept on its own scale as asked
