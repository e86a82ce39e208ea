"""End-to-end: the `made` command trains, evaluates and samples; errors are one line, status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from made.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    code = main(
        [
            "train",
            "--epochs",
            "2",
            "--hidden",
            "32",
            "--masks",
            "2",
            "--out",
            str(out),
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert code == 0
    return out


def test_train_writes_a_complete_run(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "config.json",
        "checkpoint.pt",
        "best.pt",
        "metrics.jsonl",
        "loss.png",
        "samples.png",
        "summary.json",
    } <= names
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in (
        "test_nll",
        "test_bits_per_dim",
        "best_epoch",
        "epochs",
        "train_seconds",
        "examples_per_second",
    ):
        assert key in summary
    assert summary["test_bits_per_dim"] == pytest.approx(summary["test_nll"] / (400 * np.log(2)))
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["num_masks"] == 2 and config["data"]["source"] == "shapes"
    assert (run_dir / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
        (["train", "--device", "tpu"], "--device must be auto, cpu or cuda"),
        (["eval", "RUN", "--ensemble", "3", "--device", "cpu"], "exceeds the model's 2 masks"),
        (["sample", "RUN", "--out", "x.gif", "--device", "cpu"], "must end in .png or .npy"),
    ],
)
def test_errors_are_one_line_with_status_2(argv, message, run_dir, capsys):
    argv = [str(run_dir) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("made: error: ") and message in err and err.count("\n") == 1


def test_existing_output_is_not_overwritten_silently(run_dir, capsys):
    before = (run_dir / "summary.json").read_text()
    assert main(["train", "--epochs", "1", "--out", str(run_dir), "--device", "cpu"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (run_dir / "summary.json").read_text() == before


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
    assert main(["data", "show", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.csv: line 3, b is -3; categories are numbered" in err
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
