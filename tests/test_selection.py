"""Settings chosen on evidence (issue 28): on few rows per dimension the auto recipe lets the
validation split choose among a few candidates by successive halving, says what won and why,
and records it; a resumed run keeps the choice; given settings and tables are left alone."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import made.runs
from made.cli import main
from made.config import DataConfig
from made.recipes import AUTO_CANDIDATES, AUTO_CHOSEN, auto_candidates
from made.runs import RunRequest, read_record, train_run
from made.selection import successive_halving
from made.settings import resolve


# --------------------------------------------------------------------- successive halving
def test_halving_keeps_the_better_half_each_rung_and_the_best_wins():
    # scores per (candidate, budget): "slow" is worst at the short budget, best at the long
    scores = {("a", 2): 5.0, ("b", 2): 3.0, ("c", 2): 4.0, ("d", 2): float("nan"),
              ("b", 8): 2.5, ("c", 8): 1.0}  # fmt: skip
    calls = []

    def train_for(name: str, budget: int) -> tuple[float, int]:
        calls.append((name, budget))
        return scores[(name, budget)], budget - 1

    seen = []
    choice = successive_halving(["a", "b", "c", "d"], train_for, [2, 8], seen.append)
    assert calls == [("a", 2), ("b", 2), ("c", 2), ("d", 2), ("b", 8), ("c", 8)]
    assert choice.winner == "c"
    assert [t.candidate for t in seen] == [c for c, _ in calls]
    assert [(t.rung, t.budget, t.epochs) for t in choice.trials][-1] == (1, 8, 7)
    # the diverged one ranks last; every candidate is named with its last score
    why = choice.why()
    assert why.index("c 1.00") < why.index("b 2.50") < why.index("a 5.00") < why.index("d div")
    # a diverged trial is recorded as JSON can hold it (config.json refuses NaN)
    diverged = next(t for t in choice.trials if t.candidate == "d")
    assert json.loads(json.dumps(diverged.to_dict(), allow_nan=False))["valid_nll"] is None


def test_halving_breaks_ties_for_the_earlier_candidate_and_stops_at_one():
    choice = successive_halving(["x", "y", "z"], lambda n, b: (1.0, b), [3, 9, 27])
    assert choice.winner == "x"
    assert [(t.candidate, t.budget) for t in choice.trials] == [
        ("x", 3), ("y", 3), ("z", 3), ("x", 9), ("y", 9)]  # fmt: skip
    assert successive_halving(["only"], lambda n, b: 1 / 0, [3]).trials == ()
    with pytest.raises(ValueError, match="budgets"):
        successive_halving(["x", "y"], lambda n, b: (1.0, b), [])


# ---------------------------------------------------------------------------- the recipe
def test_auto_leaves_a_choice_only_on_few_rows_per_dimension_and_nothing_given():
    few = resolve("auto", {}, 1400, 180)  # the 180-dimension set's shape
    assert list(few.candidates) == list(auto_candidates(1400, 180))
    first = next(iter(few.candidates.values()))
    # its own choice first (with the candidates' weight decay)
    assert first.model == few.model
    assert first.train == dataclasses.replace(few.train, weight_decay=1e-4)
    for name, option in few.candidates.items():
        assert option.model["dropout"] == AUTO_CANDIDATES[name]["dropout"]
        assert option.model["order_agnostic"] == (option.model["num_masks"] > 1)
        assert option.train.eval_ensemble == option.model["num_masks"]
        assert option.choices["num_masks"] == name
        # several masks: each its own biases (better on the stand-ins, benchmarks/README.md)
        assert option.model["mask_biases"] == (option.model["num_masks"] > 1)
    # under 5 rows per dimension the size rule's own (8 orderings, dropout) comes first, as
    # the candidate that adds each mask's biases to it
    fewer = resolve("auto", {}, 1000, 784)
    first = next(iter(fewer.candidates.values()))
    assert first.model == {**fewer.model, "mask_biases": True} and not fewer.model["mask_biases"]
    assert resolve("auto", {}, 100_000, 180).candidates == {}  # many rows per dimension
    assert resolve("auto", {}, 30_000, 784).candidates == {}  # a large set
    assert resolve("reference", {}, 1400, 180).candidates == {}
    for key, value in [("dropout", 0.1), ("epochs", 5), ("hidden_sizes", [64]),
                       ("time_limit", 60.0), ("mask_biases", False)]:  # fmt: skip
        assert key in AUTO_CHOSEN and resolve("auto", {key: value}, 1400, 180).candidates == {}
    assert resolve("auto", {"lr": 1e-3}, 1400, 180).candidates  # other settings: still chosen
    # the candidates' weight decay unless one is given; a given one is kept in every candidate
    assert {o.train.weight_decay for o in few.candidates.values()} == {1e-4}
    assert few.train.weight_decay == 0.0  # the size rule's own, where nothing is chosen
    given = resolve("auto", {"weight_decay": 0.0}, 1400, 180)
    assert {o.train.weight_decay for o in given.candidates.values()} == {0.0}
    assert all("weight_decay" not in o.choices for o in given.candidates.values())


# ---------------------------------------------------------------------------------- a run
@pytest.fixture
def short_rungs(monkeypatch):
    monkeypatch.setattr(made.runs, "AUTO_CHOOSE_BUDGETS", (2, 3))


def _binary(tmp_path, rows: int = 120, dims: int = 6):
    rng = np.random.default_rng(0)
    z = rng.random(rows) < 0.5
    x = (rng.random((rows, dims)) < np.where(z[:, None], 0.85, 0.15)).astype(np.uint8)
    path = tmp_path / "bits.npy"
    np.save(path, x)
    return path


def test_a_run_chooses_on_validation_says_why_and_resume_keeps_the_choice(
    tmp_path, short_rungs, capsys
):
    path = _binary(tmp_path)
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--out", str(out), "--patience", "3",
                 "--device", "cpu"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert printed.startswith(
        "auto: few rows per dimension, so the validation split chooses "
        f"among {len(AUTO_CANDIDATES)} candidates"
    )  # said first
    record = read_record(out)
    trials = record["selection"]
    assert len(trials) == len(AUTO_CANDIDATES) + math.ceil(len(AUTO_CANDIDATES) / 2)
    for t in trials:  # each trial said as it ended
        assert f"choosing on validation: {t['candidate']}: {t['valid_nll']:.4f} nats" in printed
    winner = min((t for t in trials if t["rung"] == 1), key=lambda t: t["valid_nll"])
    winner = winner["candidate"]
    for key, value in AUTO_CANDIDATES[winner].items():  # the run trained the winner
        assert {**record["model"], **record["train"]}[key] == value
    assert record["choices"]["hidden_sizes"].startswith(f"{winner}: best of 4 candidates")
    assert f"hidden_sizes: {winner}: best of 4 candidates" in printed
    assert "adam lr 0.003 (output x3), weight decay 0.0001, " in printed  # the winner's decay
    summary = json.loads((out / "summary.json").read_text())
    assert summary["choices"]["dropout"]["value"] == AUTO_CANDIDATES[winner]["dropout"]
    again = []
    train_run(out, RunRequest(DataConfig(source=str(path)),
                              given={"epochs": summary["epochs"] + 1}),
              resume=True, on_trial=again.append)  # fmt: skip
    assert again == [] and read_record(out)["selection"] == trials
    assert read_record(out)["model"] == record["model"]


def test_a_table_is_not_chosen_for(tmp_path, short_rungs):
    """A table's settings were chosen on tables (made.recipes); given settings are left
    alone too (``test_auto_leaves_a_choice_only_on_few_rows_per_dimension...``)."""
    rng = np.random.default_rng(0)
    table = tmp_path / "t.csv"
    rows = ["a,b"] + [f"{rng.integers(3)},{'x' if rng.random() < 0.5 else 'y'}"
                      for _ in range(60)]  # fmt: skip
    table.write_text("\n".join(rows) + "\n")
    trials = []
    request = RunRequest(DataConfig(source=str(table)), given={"patience": 2})
    assert request.resolve(54, 2).candidates  # the recipe would leave a choice...
    train_run(tmp_path / "t", request, on_trial=trials.append)
    assert trials == []  # ...but a table keeps tables' settings
    assert "selection" not in json.loads((tmp_path / "t" / "config.json").read_text())
