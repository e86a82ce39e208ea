"""Values a categorical column never held in training (``made.data.novel``): each is scored by
the share its column keeps for one, and the density over every value, new ones included,
still sums to one."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from made.cli import main
from made.data import Column, TableSchema
from made.data.novel import OFF_WHOLE, PRIOR, novel_cell, novel_statistics
from made.runs import load_run, table_schema

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")
from made.sklearn import MADEDensity  # noqa: E402


def _frame(n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    species = rng.choice(["a", "b", "c"], n)
    count = (rng.poisson(2, n) + (species == "a") * 2).astype(float)
    count[:6] = np.nan  # gaps: the column's missing outcome
    count[6] = 9  # a value one row holds: a new value, had that row been left out
    return pd.DataFrame({"species": species, "count": count})


def _density() -> MADEDensity:
    return MADEDensity(column_types={"count": "categorical"}, hidden_sizes=(16,),
                       max_epochs=5, random_state=0).fit(_frame())  # fmt: skip


def test_the_share_for_new_values_is_good_turings_on_the_values_held_once():
    column = Column("c", "categorical", ("x", "y", "z", "NA"), numeric=False, missing=True)
    codes = np.array([0, 0, 1, 2, 3, 3, 0])  # y and z held once; 3 is the gap
    stats = novel_statistics(column, codes)
    assert stats["novel"] == pytest.approx((2 + PRIOR) / (7 + 2 * PRIOR)) and stats["common"] == 0
    boolean = Column("b", "categorical", ("False", "True"), numeric=False, boolean=True)
    assert novel_statistics(boolean, np.array([0, 1, 1]))["novel"] == 0.0
    counts = Column("n", "categorical", ("1", "2", "5"))
    stats = novel_statistics(counts, np.array([0, 1, 1, 2]))
    assert stats["mean"] == pytest.approx(2.5)
    assert stats["std"] == pytest.approx(np.std([1, 2, 2, 5]))
    # a whole number the column never held: read as the nearest it did, by the columns after
    held = Column("n", "categorical", ("1", "2", "5"), mean=2.5, std=1.5, novel=0.1, common=1)
    assert novel_cell(held, "4")[1] == 2 and novel_cell(held, "-3")[1] == 0
    # not a whole number: one outcome, off the whole numbers (it had probability zero)
    assert novel_cell(held, "2.5") == (pytest.approx(math.log(0.1 * OFF_WHOLE)), 1)
    assert novel_cell(held, "2.5")[0] == novel_cell(held, "-0.001")[0]
    assert novel_cell(held, "3")[0] > novel_cell(held, "9")[0] > novel_cell(held, "40")[0]
    text = Column("t", "categorical", ("x", "y"), numeric=False, novel=0.1, common=1)
    assert novel_cell(text, "w") == (pytest.approx(math.log(0.1)), 1)
    # a schema saved before the share existed keeps none: such a value is impossible
    old = TableSchema.from_dict({"columns": [{"name": "t", "kind": "categorical",
                                              "values": ["x", "y"], "numeric": False,
                                              "mean": 0.0, "std": 1.0}]})  # fmt: skip
    assert novel_cell(old.columns[0], "w")[0] == -math.inf


def test_a_table_with_new_values_still_sums_to_one():
    """Every species, a new one and a gap (the species had none) included, with every whole
    number of the count (those held, those not, the gap) and one off the whole numbers
    (2.5: one outcome for them all): the probabilities sum to one, the shares for new
    values included."""
    density = _density()
    kind, count = density.schema_.columns
    assert count.kind == "categorical" and count.novel > 0 and count.novel_gap == 0
    assert kind.novel_gap == pytest.approx(PRIOR / (150 + 2 * PRIOR))
    species = ["a", "b", "c", "a new one", None]
    counts = [np.nan, *range(-60, 70), 2.5]
    every = pd.DataFrame([(s, c) for s in species for c in counts], columns=["species", "count"])
    p = np.exp(density.score_samples(every))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    # the rows of values held alone sum to what the two columns keep for them
    held = [k for k in range(-60, 70) if str(k) in count.values]
    known = every["count"].isin(held) | every["count"].isna()
    seen = every["species"].isin(["a", "b", "c"]) & known
    kept = (1 - kind.novel) * (1 - kind.novel_gap) * (1 - count.novel)
    assert p[seen.to_numpy()].sum() == pytest.approx(kept, abs=1e-9)


def test_new_values_score_as_likely_as_their_share_says():
    density = _density()
    rows = pd.DataFrame({"species": ["a", "zebra", "a", "a", "a"],
                         "count": [2.0, 2.0, 12.0, 30.0, 2.5]})  # fmt: skip
    scores = density.score_samples(rows)
    assert np.isfinite(scores[:4]).all()  # was -inf: nothing ranked, a mean of -inf
    assert scores[0] > scores[1]  # a new species is less likely than a common one
    assert scores[2] > scores[3]  # a count just past those held, more than one far out
    # 2.5 in a column of whole numbers: off them, by their share (it scored -inf)
    assert scores[0] > scores[4] > -np.inf
    terms = density.explain(rows)
    species, count = density.schema_.columns  # not a gap, and new
    assert terms[1, 0] == pytest.approx(-math.log((1 - species.novel_gap) * species.novel))
    assert terms[4, 1] == pytest.approx(-math.log(count.novel * OFF_WHOLE))
    assert np.isfinite(density.score(rows))  # GridSearchCV's criterion, finite


def test_made_score_scores_a_new_category_by_its_share(tmp_path, capsys):
    rng = np.random.default_rng(3)
    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "x", "kind"])
        for i in range(300):
            kind = rng.choice(["up", "down"])
            w.writerow([f"C-{i * 7919 % 1000:03d}", f"{rng.normal() + (kind == 'up'):.4f}", kind])
    run = tmp_path / "run"
    argv = ["train", "--data", str(path), "--out", str(run), "--hidden", "16", "--epochs",
            "5", "--device", "cpu", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    model, payload, _ = load_run(run)
    schema = table_schema(payload)
    kind = schema.columns[1]
    assert 0 < kind.novel < 0.001  # no value held once: PRIOR / (the training rows + 2 PRIOR)
    novel = tmp_path / "novel.csv"
    novel.write_text("id,x,kind\nA-17,0.50,sideways\nB-2,0.5,up\n")
    out = tmp_path / "scores.csv"
    capsys.readouterr()
    argv = ["score", str(run), "--data", str(novel), "--out", str(out), "--device", "cpu"]
    assert main(argv) == 0
    assert "scored by the share the model keeps for values it never saw" in capsys.readouterr().out
    with open(out) as f:
        read = list(csv.DictReader(f))
    got = [float(r["nll_nats_data_units"]) for r in read]
    # each row as the file writes it, the identifier the model left out included, to join on
    assert [[r["id"], r["x"], r["kind"]] for r in read] == [["A-17", "0.50", "sideways"],
                                                            ["B-2", "0.5", "up"]]  # fmt: skip
    # x's term as the model gives it, then the new kind's share (kind is the last column)
    x = torch.tensor([[(0.5 - schema.columns[0].mean) / schema.columns[0].std, 1.0]])
    terms = model.conditional_log_probs(x.to(model.dtype)).detach().double()
    expected = (
        -float(terms[0, 0]) + schema.nll_offset + math.log1p(-kind.novel) - math.log(kind.novel)
    )
    assert got[0] == pytest.approx(expected, abs=1e-4)
    assert got[1] == pytest.approx(-float(terms.sum()) + schema.nll_offset, abs=1e-4)


def test_a_gap_where_a_real_column_had_none_scores_its_share_exactly():
    """A real column's new gap is a probability, not a density: its row's score is the
    share, with no standardisation Jacobian (``log std``) left over from the term it
    replaces (it was: the score of a gap moved with the column's units)."""
    g = np.random.default_rng(3)
    for scale in (1.0, 1000.0):
        frame = pd.DataFrame({"height": g.normal(170.0, 10.0, 200) * scale})
        density = MADEDensity(hidden_sizes=(8,), max_epochs=2, n_models=1, random_state=0)
        density.fit(frame)
        col = density.schema_.columns[0]
        assert not col.missing and not col.log
        gap = density.score_samples(pd.DataFrame({"height": [np.nan]}))
        assert gap == pytest.approx([math.log(col.novel_gap)])
