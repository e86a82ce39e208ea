"""End-to-end: the `made` command trains, evaluates and samples; errors are one line, status 2."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from made.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    code = main(["train", "--epochs", "2", "--hidden", "32", "--masks", "2", "--out", str(out),
                 "--device", "cpu", "--quiet"])  # fmt: skip
    assert code == 0
    return out


RUN_FILES = {"made-run.json", "config.json", "checkpoint.pt", "best.pt", "metrics.jsonl",
             "loss.png", "samples.png", "summary.json"}  # fmt: skip


def test_train_with_no_arguments_runs_the_reference_experiment(tmp_path, monkeypatch, capsys):
    # The reference recipe (Shapes, 512,512, batch 128, Adam 3e-3) with one epoch, in ./runs
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--epochs", "1"]) == 0
    run = tmp_path / "runs" / "latest"
    assert {p.name for p in run.iterdir()} == RUN_FILES
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["hidden_sizes"] == [512, 512] and config["data"]["source"] == "shapes"
    assert config["train"]["batch_size"] == 128 and config["train"]["lr"] == 3e-3
    assert config["recipe"] == "reference" and config["model"]["activation"] == "gelu"
    assert config["model"]["direct_connections"] and config["train"]["average_weights"]
    assert config["made_version"] and config["model"]["seed"] == 0
    assert config["train"]["precision"] == "auto"  # the hardware decides: see summary.json
    summary = json.loads((run / "summary.json").read_text())
    assert summary["precision"] in ("float32", "bfloat16")
    out = capsys.readouterr().out
    assert "test NLL" in out and f"({summary['precision']} products)" in out


def test_train_precision_is_an_option(tmp_path, capsys):
    out = tmp_path / "r"
    argv = ["train", "--epochs", "1", "--hidden", "16", "--precision", "float32", "--out",
            str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads((out / "summary.json").read_text())["precision"] == "float32"
    assert json.loads((out / "config.json").read_text())["train"]["precision"] == "float32"


def test_train_rows_trains_on_a_subset_and_the_run_records_it(tmp_path):
    out = tmp_path / "r"
    code = main(["train", "--data", "bars-and-stripes", "--train-rows", "300", "--epochs", "1",
                 "--hidden", "8", "--out", str(out), "--device", "cpu", "--quiet"])  # fmt: skip
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["train_rows"] == 300
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["epoch"] == 1
    summary = json.loads((out / "summary.json").read_text())  # the recipe sized to the subset
    assert summary["choices"]["dropout"]["why"].startswith("300 training rows of 64 dimensions")


def test_train_writes_a_complete_run(run_dir):
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("test_nll", "test_bits_per_dim", "best_epoch", "epochs", "train_seconds",
                "examples_per_second"):  # fmt: skip
        assert key in summary
    assert summary["test_bits_per_dim"] == pytest.approx(summary["test_nll"] / (400 * np.log(2)))
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    epochs = [line for line in lines if "valid_nll" in line]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for e in epochs:
        assert {"train_loss", "valid_nll", "lr", "examples_per_second"} <= set(e)
    assert any("loss" in line and "valid_nll" not in line for line in lines)  # step lines
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["num_masks"] == 2 and config["data"]["source"] == "shapes"
    assert (run_dir / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["train"],
        ["eval"],
        ["sample"],
        ["score"],
        ["inpaint"],
        ["data"],
        ["data", "list"],
        ["data", "show"],
        ["data", "export"],
    ],
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: made" in capsys.readouterr().out


def test_eval_reproduces_the_summary(run_dir, capsys):
    assert main(["eval", str(run_dir), "--ensemble", "2", "--json", "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert report["nll"] == pytest.approx(summary["test_nll"], rel=1e-6)
    assert report["num_examples"] == 4491


def test_sample_to_npy(run_dir, tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main(["sample", str(run_dir), "-n", "7", "--out", str(out), "--device", "cpu"]) == 0
    s = np.load(out)
    assert s.shape == (7, 1, 20, 20) and set(np.unique(s)) <= {0, 1}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval", "/nonexistent/run"], "no run directory or checkpoint at /nonexistent/run"),
        (["train", "--device", "tpu"], "--device tpu must be auto, cpu or cuda"),
        (["eval", "RUN", "--ensemble", "3", "--device", "cpu"], "number of masks (2)"),
        (["sample", "RUN", "--out", "x.gif", "--device", "cpu"], "must end in .png or .npy"),
    ],
)
def test_errors_are_one_line_with_status_2(argv, message, run_dir, capsys):
    argv = [str(run_dir) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("made: error: ") and message in err and err.count("\n") == 1


def test_existing_output_is_not_overwritten_silently(run_dir, tmp_path, capsys):
    before = (run_dir / "summary.json").read_text()
    assert main(["train", "--epochs", "1", "--out", str(run_dir), "--device", "cpu"]) == 2
    assert "already exists and is not empty; pass --overwrite" in capsys.readouterr().err
    assert (run_dir / "summary.json").read_text() == before
    other = tmp_path / "precious"
    other.mkdir()
    (other / "thesis.tex").write_text("years of work")
    assert main(["train", "--out", str(other), "--overwrite"]) == 2
    assert "not a made run directory" in capsys.readouterr().err
    assert (other / "thesis.tex").exists()


def test_cuda_request_without_cuda(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["train", "--device", "cuda", "--out", str(tmp_path / "x")]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_console_script_and_module_entry_point():
    for cmd in (["made", "--version"], [sys.executable, "-m", "made", "--version"]):
        exe = (
            cmd
            if cmd[0] != "made"
            else [str(__import__("pathlib").Path(sys.executable).with_name("made")), "--version"]
        )
        out = subprocess.run(exe, capture_output=True, text=True, check=True)
        assert out.stdout.startswith("made ")
    bad = subprocess.run(
        [sys.executable, "-m", "made", "train", "--epochs", "0"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "expected a positive int" in bad.stderr


def test_data_list_names_every_set(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("shapes", "bars-and-stripes", "binarized-mnist", "fashion-mnist", "digits"):
        assert name in out
    assert "1x20x20" in out and "10,479 train / 4,491 test" in out


def test_data_show_and_export_round_trip(tmp_path, capsys):
    png, npz = tmp_path / "grid.png", tmp_path / "bars.npz"
    assert main(["data", "show", "bars-and-stripes", "-n", "16", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["data", "export", "shapes", "--out", str(npz)]) == 0
    from made.data import load_data

    original, exported = load_data("shapes"), load_data(str(npz))
    for split in ("train", "valid", "test"):
        assert np.array_equal(original.splits[split], exported.splits[split])
        assert np.array_equal(original.labels[split], exported.labels[split])
    assert exported.notes == ["inferred 2 categories for each of the 400 features"]


def test_data_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n0,1\n0,-3\n")
    out = str(tmp_path / "x.png")
    assert main(["data", "show", str(bad), "--categories", "2", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.csv: line 3, b is -3; categories are numbered" in err
    assert main(["data", "show", str(bad), "--column-type", "c=real", "--out", out]) == 2
    assert capsys.readouterr().err == (
        f"made: error: {bad}: no column 'c' to type (columns: a, b)\n"
    )
    assert main(["data", "export", "nope", "--out", str(tmp_path / "x.npz")]) == 2
    assert "not a data set name" in capsys.readouterr().err


def test_train_on_a_user_file_with_inferred_categories(tmp_path, capsys):
    x = np.random.default_rng(0).integers(0, 3, (300, 6))
    np.save(tmp_path / "tab.npy", x)
    out = tmp_path / "run"
    argv = [
        "train",
        "--data",
        str(tmp_path / "tab.npy"),
        "--hidden",
        "16",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "inferred 3 categories for each of the 6 features" in printed
    assert json.loads((out / "config.json").read_text())["model"]["num_categories"] == 3


def test_score_writes_one_row_per_example_in_file_order(run_dir, tmp_path, capsys):
    from made.data import generate_shapes

    x, _ = generate_shapes(50, seed=9)
    x[7] = 1 - x[7]  # an inverted image: far less likely than any real shape
    np.save(tmp_path / "new.npy", x)
    out = tmp_path / "scores.csv"
    argv = ["score", str(run_dir), "--data", str(tmp_path / "new.npy"), "--out", str(out),
            "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    rows = list(csv.DictReader(out.open()))
    assert [int(r["index"]) for r in rows] == list(range(50))
    nll = np.array([float(r["nll_nats"]) for r in rows])
    assert int(np.argmax(nll)) == 7
    assert "most anomalous rows: 7 (" in capsys.readouterr().out
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((5, 30), dtype=np.uint8))
    assert main(["score", str(run_dir), "--data", str(wrong), "--out", str(out)]) == 2
    assert "has 30 features per example but the model was trained on 400" in capsys.readouterr().err


def test_conditional_training_and_class_samples(tmp_path, capsys):
    out = tmp_path / "cond"
    argv = ["train", "--data", "digits", "--conditional", "--hidden", "32", "--epochs", "2",
            "--out", str(out), "--device", "cpu", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["context_size"] == 10 and config["conditional"] is True
    npy = tmp_path / "threes.npy"
    assert main(["sample", str(out), "-n", "5", "--class", "3", "--out", str(npy)]) == 0
    assert np.load(npy).shape == (5, 1, 8, 8)
    assert main(["eval", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["num_examples"] == 180
    assert main(["sample", str(out), "--class", "10", "--out", str(npy)]) == 2
    assert "--class must be in 0..9" in capsys.readouterr().err
    assert main(["train", "--data", "bars-and-stripes", "--conditional", "--epochs", "1",
                 "--out", str(tmp_path / "x")]) == 2  # fmt: skip
    assert "has no class labels" in capsys.readouterr().err


def test_resume_without_a_checkpoint(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "none"), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err


def test_torchrun_trains_data_parallel_and_only_rank_0_writes(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "made", "train", "--data", "bars-and-stripes", "--hidden", "32", "--epochs",
           "1", "--device", "cpu", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p.name for p in out.iterdir()} == RUN_FILES
    assert done.stdout.count("test NLL") == 1  # one report, from rank 0
    assert "x 2 processes" in done.stdout


def test_inpaint_draws_a_picture_and_keeps_what_was_observed(tmp_path, capsys):
    run = tmp_path / "oa"
    argv = ["train", "--data", "digits", "--hidden", "32", "--epochs", "1", "--masks", "2",
            "--order-agnostic", "--out", str(run), "--device", "cpu", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    for spec in ("top", "bottom", "left", "right", "random"):
        out = tmp_path / f"{spec}.png"
        assert main(["inpaint", str(run), "--region", spec, "-n", "3", "--samples", "2",
                     "--out", str(out), "--device", "cpu"]) == 0  # fmt: skip
        assert out.read_bytes()[:4] == b"\x89PNG"
    region = np.zeros((1, 8, 8), dtype=bool)
    region[0, 2:5, 2:5] = True
    np.save(tmp_path / "hole.npy", region)
    assert main(["inpaint", str(run), "--region", str(tmp_path / "hole.npy"), "--out",
                 str(tmp_path / "hole.png"), "--device", "cpu"]) == 0  # fmt: skip
    assert main(["inpaint", str(run), "--region", "middle", "--out", str(tmp_path / "x.png")]) == 2
    assert (
        "--region middle must be top, bottom, left, right, random or a .npy file"
        in capsys.readouterr().err
    )


def test_inpaint_warns_for_a_single_ordering_model(run_dir, tmp_path, capsys):
    # run_dir has 2 masks but one ordering: the top half is a prefix of the natural ordering
    assert main(["inpaint", str(run_dir), "--region", "bottom", "-n", "2", "--out",
                 str(tmp_path / "ok.png"), "--device", "cpu"]) == 0  # fmt: skip
    assert "warning" not in capsys.readouterr().err
    assert main(["inpaint", str(run_dir), "--region", "top", "-n", "2", "--out",
                 str(tmp_path / "warn.png"), "--device", "cpu"]) == 0  # fmt: skip
    assert "made: warning: this model has one ordering" in capsys.readouterr().err


def test_score_hide_gives_exact_marginals(tmp_path, capsys):
    run = tmp_path / "oa"
    argv = ["train", "--data", "digits", "--hidden", "32", "--epochs", "1", "--masks", "3",
            "--order-agnostic", "--out", str(run), "--device", "cpu", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    from made import load_checkpoint
    from made.data import load_data

    x = load_data("digits").original["all"][:40]
    np.save(tmp_path / "d.npy", x)
    out = tmp_path / "m.csv"
    argv = ["score", str(run), "--data", str(tmp_path / "d.npy"), "--hide", "right",
            "--out", str(out), "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    assert "marginal of 32 observed dims" in capsys.readouterr().out
    model, _ = load_checkpoint(run / "best.pt")
    keep = torch.zeros(1, 8, 8, dtype=torch.bool)
    keep[..., :4] = True
    with torch.no_grad():
        expected = -model.log_marginal(torch.from_numpy(x), keep, ensemble=3).double()
    got = torch.tensor([float(r["nll_nats"]) for r in csv.DictReader(out.open())])
    assert torch.allclose(got.double(), expected, atol=1e-5)


def test_score_a_split_the_source_does_not_have_is_refused_in_one_line(run_dir, tmp_path, capsys):
    # Shapes has train and test files; its validation rows are carved from train
    out = tmp_path / "s.csv"
    code = main(["score", str(run_dir), "--split", "valid", "--out", str(out), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "internal error" not in err and err.count("\n") == 1
    assert "shapes has no valid split of its own" in err and "--split train or test" in err


def test_score_hide_errors_name_the_hide_option(run_dir, tmp_path, capsys):
    out = str(tmp_path / "s.csv")
    assert main(["score", str(run_dir), "--hide", "middle", "--out", out, "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "--hide middle must be top, bottom, left, right, random or a .npy file" in err
    assert "--mask" not in err
