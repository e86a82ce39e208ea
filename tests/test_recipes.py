"""The settings that win (issue 15): the weights' moving average, the output layer's learning
rate, dropout, the time limit, the recipes and how `made train` applies and records them, and
the warning for a run that ends far from converged."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import whole_and_resumed

from made import MADE, TrainConfig, evaluate_nll, load_checkpoint
from made.cli import main
from made.data import load_data
from made.recipes import AUTO_TINY_MIN_EPOCHS, RECIPES, recipe
from made.runs import convergence_warnings
from made.train import FitResult, fit, make_optimizer


@pytest.fixture(scope="module")
def data():
    return load_data("bars-and-stripes", seed=0)


def _flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_averaged_weights_are_the_moving_average_of_every_step(data):
    # the model returned holds 1/(1 + 0.1 t)-weighted averages of the weights after each step
    model = MADE(data.shape, [32], seed=1)
    average = _flat(model).clone()
    steps = []

    def track(info):
        steps.append(info["step"])
        average.lerp_(_flat(model), 1.0 / (1.0 + 0.1 * info["step"]))

    cfg = TrainConfig(epochs=1, batch_size=50, lr=1e-2, average_weights=True)
    result = fit(model, data.train[:500], data.valid[:100], cfg, on_step=track)
    assert steps == list(range(1, 11)) and result.best_epoch == 1
    assert torch.allclose(_flat(model), average, atol=1e-6)
    assert evaluate_nll(model, data.valid[:100]).nll == pytest.approx(result.best_valid_nll)


def test_the_output_layer_learns_at_its_own_rate(data):
    # Adam's first step moves every weight by about lr: the output layer's by lr x scale
    moved = {}
    for scale in (1.0, 3.0):
        model = MADE(data.shape, [32], direct_connections=True, seed=1)
        before = [p.detach().clone() for p in model.parameters()]
        opt = make_optimizer(model, TrainConfig(lr=1e-3, output_lr_scale=scale))
        model.log_prob(data.train[:64]).mean().neg().backward()
        opt.step()
        moved[scale] = {
            name: (p.detach() - b).abs().max().item()
            for (name, p), b in zip(model.named_parameters(), before, strict=True)
        }
    for name, delta in moved[3.0].items():
        top = name.startswith(("net.output", "net.direct"))
        assert delta == pytest.approx(moved[1.0][name] * (3.0 if top else 1.0), rel=1e-3), name


def test_dropout_keeps_the_autoregressive_structure_and_is_off_in_evaluation(data):
    model = MADE(6, [64, 64], dropout=0.5, direct_connections=True, seed=0)
    model.net.dropout_generator = torch.Generator().manual_seed(0)
    model.train()
    x = torch.randint(0, 2, (1, 6)).float()
    enc = model.layout.encode(x.long(), torch.float32).requires_grad_(True)
    out = model.net(enc)
    for t in range(6):  # output t (ordering natural) depends on inputs < t only
        (grad,) = torch.autograd.grad(out[0, t], enc, retain_graph=True)
        assert torch.all(grad[0, t:] == 0)
    assert not torch.equal(model.net(enc), out)  # training: units are dropped at random
    model.eval()
    assert torch.equal(model.net(enc), model.net(enc))
    with pytest.raises(ValueError, match="dropout"):
        MADE(6, [8], dropout=1.0)


def test_resume_is_exact_with_dropout_and_averaged_weights(data, tmp_path):
    cfg = TrainConfig(epochs=3, batch_size=64, lr=3e-3, seed=5, average_weights=True,
                      output_lr_scale=3.0)  # fmt: skip
    train, valid = data.train[:640], data.valid[:200]
    whole, full, resumed, part = whole_and_resumed(
        lambda: MADE(data.shape, [48], dropout=0.3, seed=3), train, valid, cfg, tmp_path
    )
    assert [h["valid_nll"] for h in part.history] == [h["valid_nll"] for h in full.history]
    assert torch.equal(_flat(resumed), _flat(whole))
    best, _ = load_checkpoint(tmp_path / "whole" / "best.pt")  # best.pt: the averaged weights
    assert not best.training and torch.equal(_flat(best), _flat(whole))


def test_a_time_limit_stops_after_the_epoch_that_passes_it(data):
    model = MADE(data.shape, [16], seed=0)
    cfg = TrainConfig(epochs=50, time_limit=1e-9)  # any epoch takes longer than this
    result = fit(model, data.train[:200], data.valid[:50], cfg)
    assert len(result.history) == 1 and result.stop_reason == "time_limit"


def _history(nll):
    return [{"epoch": i + 1, "valid_nll": v} for i, v in enumerate(nll)]


def test_a_run_that_ends_still_improving_is_called_far_from_converged():
    still = FitResult(history=_history([100, 80, 70, 64, 60]), stop_reason="epochs")
    assert "far from converged" in convergence_warnings(still)[0]
    timed = FitResult(history=_history([100, 80, 70, 64, 60]), stop_reason="time_limit")
    assert "time limit" in convergence_warnings(timed)[0]
    flat = FitResult(history=_history([100, 60, 59.9, 59.8, 59.8]), stop_reason="epochs")
    assert convergence_warnings(flat) == []
    stopped = FitResult(history=_history([100, 60, 61, 62]), stop_reason="patience")
    assert convergence_warnings(stopped) == []


def test_recipes_are_complete_and_the_tutorial_is_the_tutorial():
    for name in RECIPES:
        r = recipe(name, 1000, 64)
        TrainConfig(**r.train)  # every value valid
        assert {"hidden_sizes", "activation", "direct_connections", "dropout"} <= set(r.model)
    tutorial = recipe("tutorial")
    assert tutorial.model["activation"] == "relu" and not tutorial.model["direct_connections"]
    assert tutorial.train["lr"] == 1e-3 and tutorial.train["output_lr_scale"] == 2.0
    assert not tutorial.train["average_weights"] and tutorial.train["epochs"] == 20
    small, large = recipe("auto", 400, 784), recipe("auto", 50_000, 784)
    assert small.model["dropout"] > large.model["dropout"] and small.reasons["dropout"]
    with pytest.raises(ValueError, match="sized to the data"):
        recipe("auto")
    with pytest.raises(ValueError, match="recipe must be one of"):
        recipe("best")


def test_a_small_table_trains_in_small_batches_sized_to_its_rows():
    """Batches of 8 under 200 training rows of at most 16 dimensions, 16 up to 400 training
    rows, 32 from there up to 100,000 cells, then 128: each boundary on both sides
    (benchmarks/README.md has the held-out evidence)."""
    sizes = {(199, 16): 8, (200, 16): 16, (199, 17): 16, (21, 2): 8, (399, 10): 16,
             (400, 10): 32, (10_000, 10): 32, (10_001, 10): 128, (100, 784): 16,
             (200, 784): 128}  # fmt: skip
    for (rows, dims), batch in sizes.items():
        r = recipe("auto", rows, dims)
        assert r.train["batch_size"] == batch, (rows, dims)
        assert r.reasons.get("batch_size", "").startswith(str(batch)) or batch == 128
        # where batches of 8 are, a model of a mixture chooses its best epoch from epoch 20
        # on; one model alone, from the first
        assert r.train.get("min_epochs", 0) == 0
        member = recipe("auto", rows, dims, mixture=True).train.get("min_epochs", 0)
        assert member == (AUTO_TINY_MIN_EPOCHS if batch == 8 else 0), (rows, dims)
    assert "400" in recipe("auto", 400, 10).reasons["batch_size"]
    assert "200" in recipe("auto", 199, 10).reasons["batch_size"]


def test_a_small_narrow_table_trains_a_narrower_network():
    """Two layers of 256 for a small table (at most 100,000 training cells, from 5 rows per
    dimension) of at most 12 dimensions, else 512 (benchmarks/README.md has the held-out
    evidence): each boundary on both sides."""
    widths = {(275, 8): 256, (275, 12): 256, (275, 13): 512, (8_333, 12): 256,
              (8_334, 12): 512, (59, 12): 512, (60, 12): 256, (20_000, 4): 4000}  # fmt: skip
    for (rows, dims), width in widths.items():
        r = recipe("auto", rows, dims)
        assert r.model["hidden_sizes"][0] == width, (rows, dims)
    assert recipe("auto", 59, 12).model["dropout"] == 0.5  # few rows: the mixture's rule
    assert "<= 12 dimensions" in recipe("auto", 275, 8).reasons["hidden_sizes"]


@pytest.fixture
def small_file(tmp_path):
    x = (np.random.default_rng(0).random((300, 12)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    return tmp_path / "x.npy"


def _train(argv, capsys):
    code = main(["train", "--device", "cpu", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_made_train_with_data_uses_the_auto_recipe_and_records_its_choices(small_file, capsys):
    out = small_file.parent / "run"
    code, printed, _ = _train(["--data", small_file, "--out", out, "--epochs", "2",
                               "--hidden", "16"], capsys)  # fmt: skip
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    auto = recipe("auto", 240, 12)
    assert config["recipe"] == summary["recipe"] == "auto"
    assert config["model"]["dropout"] == auto.model["dropout"]  # sized: not given
    assert config["model"]["hidden_sizes"] == [16] and config["train"]["epochs"] == 2  # given
    assert "hidden_sizes" not in summary["choices"] and "epochs" not in summary["choices"]
    assert summary["choices"]["dropout"]["value"] == auto.model["dropout"]
    assert "training rows" in summary["choices"]["dropout"]["why"]
    assert "recipe auto:" in printed and "dropout: " in printed


def test_options_given_override_the_recipe(small_file, capsys):
    out = small_file.parent / "run"
    argv = ["--data", small_file, "--out", out, "--epochs", "1", "--recipe", "tutorial",
            "--lr", "0.01", "--direct-connections", "--dropout", "0.2"]  # fmt: skip
    assert _train(argv, capsys)[0] == 0
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"] == "tutorial" and config["choices"] == {}
    assert config["train"]["lr"] == 0.01 and config["model"]["direct_connections"] is True
    assert config["model"]["dropout"] == 0.2 and config["model"]["activation"] == "relu"
    assert config["train"]["output_lr_scale"] == 2.0


def test_a_run_stopped_by_its_time_limit_warns_and_resumes_with_a_longer_one(
    small_file, capsys
):  # fmt: skip
    out = small_file.parent / "run"
    argv = ["--data", small_file, "--out", out, "--hidden", "16", "--time-limit", "1e-9"]
    code, _, err = _train(argv, capsys)
    summary = json.loads((out / "summary.json").read_text())
    assert code == 0 and summary["stop_reason"] == "time_limit" and summary["epochs"] == 1
    assert "warning: the run trained a single epoch" in err and "--resume" in err
    code, _, err = _train(["--out", out, "--resume", "--time-limit", "60", "--epochs", "3"],
                          capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["epochs"] == 3
