"""Calibrated conditionals (``made.calibration``): each conditional's width or temperature
refitted on held-out rows, exactly where the grid and prior say, and nothing else moved."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from conftest import random_data

from made import MADE
from made.calibration import PRIOR_SD, calibrate

GRID = np.linspace(-1.0, 2.0, 121)


def _one_gaussian(log_scale: float) -> MADE:
    # D=1: the conditional is the output bias alone, a Gaussian of mean 0 and this scale
    model = MADE(1, [4], num_categories=0, num_components=1, seed=0).double()
    with torch.no_grad():
        model.net.output.weight.zero_()
        model.net.output.bias.copy_(torch.tensor([0.0, log_scale]))
    return model


def test_a_too_narrow_conditional_is_widened_to_the_held_out_rows_spread():
    rows = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    model = _one_gaussian(math.log(0.5))
    (shift,) = calibrate(model, rows).tolist()
    # the maximum-likelihood scale is the rows' RMS (about 1); the prior barely moves it
    # at 20,000 rows; the grid is in steps of 0.025
    best = math.log(rows.pow(2).mean().sqrt().item()) - math.log(0.5)
    assert shift == pytest.approx(best, abs=0.0125 + 1e-9)
    assert model.net.output.bias[1].item() == pytest.approx(math.log(0.5) + shift)


def test_the_prior_holds_a_factor_from_a_few_rows_near_one():
    rows = torch.tensor([[2.0], [-2.0]], dtype=torch.float64)  # RMS 2: log-factor 0.69 alone
    model = _one_gaussian(0.0)
    (shift,) = calibrate(model, rows).tolist()
    # maximise -2 log s - 4 / s^2 - (log s)^2 / (2 sd^2) on the grid, by brute force
    fit = -2 * GRID - 4 * np.exp(-2 * GRID) - GRID**2 / (2 * PRIOR_SD**2)
    assert shift == pytest.approx(GRID[np.argmax(fit)])
    assert 0 < shift < math.log(2)


def test_an_overconfident_category_is_given_its_temperature():
    # D=1, 3 categories: logits (4, 0, 0) say 96% for category 0; the rows hold it half the time
    model = MADE(1, [4], num_categories=[3], seed=0).double()
    with torch.no_grad():
        model.net.output.weight.zero_()
        model.net.output.bias.copy_(torch.tensor([4.0, 0.0, 0.0]))
    rows = torch.tensor([[0]] * 10 + [[1]] * 5 + [[2]] * 5)
    (log_t,) = calibrate(model, rows).tolist()
    t = np.exp(GRID)[:, None]
    logp = np.log(np.exp(np.array([4.0, 0, 0]) / t) / np.exp(np.array([4.0, 0, 0]) / t).sum(1,
                  keepdims=True))  # fmt: skip
    fit = 10 * logp[:, 0] + 5 * logp[:, 1] + 5 * logp[:, 2] - GRID**2 / (2 * PRIOR_SD**2)
    assert log_t == pytest.approx(GRID[np.argmax(fit)]) and log_t > 0
    probs = model.log_prob(torch.tensor([[0], [1], [2]])).exp()
    assert probs.sum().item() == pytest.approx(1.0)  # still a distribution, flatter
    assert probs[0] < 0.96 and torch.allclose(model.net.output.bias, torch.tensor(
        [4.0, 0.0, 0.0], dtype=torch.float64) * math.exp(-log_t))  # fmt: skip


@pytest.mark.parametrize("cards", [[0, 3, 0, 2], [2, 2, 2, 2]])
def test_held_out_likelihood_never_falls_and_nothing_else_moves(cards):
    model = MADE(4, [16, 16], num_categories=cards, num_components=3,
                 ordering=[2, 0, 3, 1], seed=1).double()  # fmt: skip
    rows = random_data(model, 64, torch.Generator().manual_seed(0))
    hidden = [p.clone() for p in model.net.hidden.parameters()]
    before = model.conditional_log_probs(rows).sum(0)
    logs = calibrate(model, rows)
    after = model.conditional_log_probs(rows).sum(0)
    # each dimension's held-out sum is at least what it was (a factor of 1 is on the grid)
    assert (after >= before - 1e-9).all() and (logs != 0).any()
    assert torch.equal(after[logs == 0], before[logs == 0])
    assert all(torch.equal(a, b) for a, b in zip(hidden, model.net.hidden.parameters(),
                                                 strict=True))  # fmt: skip
    if 0 not in cards:  # a binary model sums to one over its 16 rows after
        every = torch.tensor([[(i >> b) & 1 for b in range(4)] for i in range(16)])
        assert model.log_prob(every).exp().sum().item() == pytest.approx(1.0)


def test_gaps_do_not_count():
    model = MADE(2, [8], num_categories=[0, 0], missing=[1], seed=2).double()
    rows = torch.tensor([[0.1, float("nan")], [0.3, float("nan")], [-0.2, 0.5]],
                        dtype=torch.float64)  # fmt: skip
    bias = model.net.output.bias.clone()
    logs = calibrate(model, rows)
    assert logs[1] == 0  # one value present in dimension 1: too few to say anything
    assert torch.equal(model.net.output.bias[model.layout.scale_units(1)],
                       bias[model.layout.scale_units(1)])  # fmt: skip


def test_a_row_of_probability_zero_is_left_out_and_dropout_is_off():
    # dimension 1 took one value in training (fixed at 0): a row with a 1 there has
    # probability zero, and would make every factor's fit -inf alike
    model = MADE(3, [8], num_categories=[0, 2, 0], fixed=[(1, 0)], dropout=0.5,
                 seed=4).double()  # fmt: skip
    model.train()
    g = torch.Generator().manual_seed(0)
    rows = torch.stack([torch.randn(30, generator=g, dtype=torch.float64), torch.zeros(30),
                        torch.randn(30, generator=g, dtype=torch.float64) * 3], 1)  # fmt: skip
    bad = rows[:1].clone()
    bad[0, 1] = 1
    twin = copy.deepcopy(model)
    logs = calibrate(model, torch.cat([rows, bad]))
    assert torch.equal(logs, calibrate(twin, rows)) and logs[2] > 0
    assert model.training  # left in the mode it was in


def test_a_mixture_of_masks_is_calibrated_as_the_mixture_it_scores():
    # each factor moves every mask's conditional of its dimension; the rows' likelihood under
    # the mixture of the masks (what scores use) never falls, and the current mask stays
    model = MADE(3, [16], num_categories=[0, 3, 2], num_components=2, num_masks=4,
                 order_agnostic=True, seed=2).double()  # fmt: skip
    model.set_mask(2)
    rows = random_data(model, 40, torch.Generator().manual_seed(1))
    before = model.log_prob(rows, ensemble=4).sum()
    logs = calibrate(model, rows)
    after = model.log_prob(rows, ensemble=4).sum()
    assert after >= before - 1e-9 and logs.any() and model.mask_index == 2
    # a factor of 1 is on the grid: each step alone could only have kept or raised it, so
    # undoing the last dimension's factor gives no more than the calibrated mixture
    last = int(torch.nonzero(logs).max())
    from made.calibration import _apply

    _apply(model, last, -float(logs[last]))
    assert model.log_prob(rows, ensemble=4).sum() <= after + 1e-9


def test_the_estimator_calibrates_each_fold_model_on_its_held_out_fold():
    pytest.importorskip("sklearn")
    pd = pytest.importorskip("pandas")
    from made.sklearn import MADEDensity

    rng = np.random.default_rng(0)
    values = rng.normal(size=(60, 2)) @ np.array([[1.0, 0.5], [0.0, 1.0]])
    table = pd.DataFrame({"a": values[:, 0], "b": values[:, 1],
                          "c": pd.Categorical(rng.choice(["x", "y", "z"], 60))})  # fmt: skip
    kwargs = {"hidden_sizes": (8,), "max_epochs": 3, "n_models": 2, "random_state": 0}
    plain = MADEDensity(calibrate=False, **kwargs).fit(table)
    fitted = MADEDensity(**kwargs).fit(table)
    assert fitted.get_params()["calibrate"] is True
    x = fitted.schema_.dequantise(fitted._encoded(table)[0])
    rng_fit = np.random.RandomState(0)  # the fit's own draws: its seed, then its row order
    rng_fit.randint(2**31 - 1)
    order = rng_fit.permutation(len(table))
    for k, (a, b) in enumerate(zip(plain.models_, fitted.models_, strict=True)):
        held = torch.as_tensor(x[fitted._split([order], k, 2)[1]])
        with torch.no_grad():  # the same weights but the outputs calibrated on the fold
            assert a.log_prob(held).sum() < b.log_prob(held).sum()
            pairs = zip(a.net.hidden.parameters(), b.net.hidden.parameters(), strict=True)
            assert all(torch.equal(p, q) for p, q in pairs)


def _table_run(tmp_path, **given):
    from conftest import write_csv

    from made.config import DataConfig
    from made.runs import RunRequest

    rng = np.random.default_rng(0)
    rows = [[f"{rng.normal(3, 1):.3f}", "ab"[int(rng.integers(2))], f"{rng.normal():.3f}"]
            for _ in range(150)]  # fmt: skip
    path = write_csv(tmp_path / "t.csv", ["x", "c", "y"], rows)
    return RunRequest(DataConfig(source=str(path)),
                      given={"epochs": 3, "hidden_sizes": (16,), **given})  # fmt: skip


def test_made_train_calibrates_a_table_and_best_pt_keeps_the_trained_weights(tmp_path):
    """The CLI's runs calibrate tables as MADEDensity does (one rule: ``resolve``'s
    ``table``): ``best.pt`` holds the best epoch's weights as trained with the factors
    beside them, loading it gives the calibrated model, and the summary scores that."""
    from made.checkpoint import load_checkpoint
    from made.evaluate import evaluate_nll
    from made.runs import load_data, train_run

    request = _table_run(tmp_path)
    summary, result = train_run(tmp_path / "run", request)
    logs = result.calibration
    assert logs is not None and any(v != 0 for v in logs)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["calibrate"]
    loaded, payload = load_checkpoint(tmp_path / "run" / "best.pt")
    raw, _ = load_checkpoint(tmp_path / "run" / "best.pt", calibrated=False)
    assert payload["calibration"] == logs
    again = copy.deepcopy(raw)
    valid, _ = again.validate(torch.as_tensor(load_data(request.data).splits["valid"]))
    calibrate(again, valid)
    for a, b in zip(loaded.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)  # the factors, applied to the weights as trained
    assert not torch.equal(loaded.net.output.bias, raw.net.output.bias)
    test, _ = loaded.validate(torch.as_tensor(load_data(request.data).splits["test"]))
    assert summary["test_nll"] == pytest.approx(evaluate_nll(loaded, test).nll, rel=1e-6)


def test_a_resumed_run_is_calibrated_once_not_twice(tmp_path):
    """Resuming a finished run restores the weights as trained and fits the same factors
    again: calibrating the calibrated weights would move them further."""
    from made.checkpoint import load_checkpoint
    from made.runs import train_run

    request = _table_run(tmp_path)
    _, first = train_run(tmp_path / "run", request)
    before, _ = load_checkpoint(tmp_path / "run" / "best.pt")
    _, second = train_run(tmp_path / "run", request, resume=True)
    assert second.calibration == first.calibration
    after, payload = load_checkpoint(tmp_path / "run" / "best.pt")
    assert payload["calibration"] == first.calibration
    for a, b in zip(before.parameters(), after.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_run_told_not_to_calibrate_is_left_as_trained_and_only_auto_calibrates(tmp_path):
    from made.checkpoint import load_checkpoint
    from made.runs import train_run
    from made.settings import resolve

    _, result = train_run(tmp_path / "run", _table_run(tmp_path, calibrate=False))
    assert result.calibration is None
    assert "calibration" not in load_checkpoint(tmp_path / "run" / "best.pt")[1]
    assert resolve("auto", {}, 1000, 784).train.calibrate is True  # images too
    assert resolve("auto", {"calibrate": False}, 1000, 8).train.calibrate is False
    # the tutorial's and the reference experiment's recipes stay as published
    assert resolve("tutorial").train.calibrate is False
    assert resolve("reference").train.calibrate is False


def test_an_image_run_calibrates_its_pixels_temperatures(tmp_path):
    from made.config import DataConfig
    from made.runs import RunRequest, train_run

    request = RunRequest(DataConfig(source="bars-and-stripes"),
                         given={"epochs": 2, "hidden_sizes": (16,)})  # fmt: skip
    summary, result = train_run(tmp_path / "run", request)
    assert result.calibration is not None and len(result.calibration) == 64
    assert summary["calibration"] == result.calibration


def test_made_train_says_what_it_calibrated_and_no_calibrate_turns_it_off(tmp_path, capsys):
    from made.cli import main

    source = _table_run(tmp_path).data.source
    flags = ["train", "--data", source, "--epochs", "2", "--hidden", "16"]
    assert main([*flags, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    moved = sum(1 for v in summary["calibration"] if v != 0)
    assert f"{moved} of 3 conditionals calibrated on validation" in out
    assert main([*flags, "--out", str(tmp_path / "b"), "--no-calibrate"]) == 0
    assert "calibrated" not in capsys.readouterr().out
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["calibration"] is None
