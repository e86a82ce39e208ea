"""Nothing a user owns is lost, and nothing comes back silently wrong: one section per class of
failure (issue 13), each test written to fail on the behaviour it replaces."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_csv

from made import MADE, TrainConfig, load_checkpoint, save_checkpoint
from made.cli import main
from made.data import load_data
from made.train import MissingBestError, fit

TRAIN = ["train", "--hidden", "8", "--device", "cpu", "--quiet"]


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's project: a git folder, sources and a data file; the working directory."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print('mine')\n")
    np.save(tmp_path / "data.npy", np.random.default_rng(0).integers(0, 2, (60, 6)))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------- 1. never delete what made did not write
@pytest.mark.parametrize("out", [".", "", "./"])
def test_out_that_is_the_current_directory_is_refused(project, out, capsys):
    before = _tree(project)
    code, _, err = _cli([*TRAIN, "--data", "data.npy", "--out", out, "--overwrite"], capsys)
    assert code == 2 and "is the current directory" in err
    assert _tree(project) == before  # .git, src and the data itself untouched


def test_out_holding_the_data_home_or_root_is_refused(project, monkeypatch, capsys):
    before = _tree(project)
    inner = project / "sub"
    inner.mkdir()
    np.save(inner / "d.npy", np.zeros((30, 4), dtype=int))
    code, _, err = _cli([*TRAIN, "--data", inner / "d.npy", "--out", inner, "--overwrite"],
                        capsys)  # fmt: skip
    assert code == 2 and "holds the data" in err
    monkeypatch.setenv("HOME", str(project))
    code, _, err = _cli([*TRAIN, "--data", "data.npy", "--out", project, "--overwrite"], capsys)
    assert code == 2 and ("home directory" in err or "current directory" in err)
    code, _, err = _cli([*TRAIN, "--data", "data.npy", "--out", "/", "--overwrite"], capsys)
    assert code == 2 and "filesystem root" in err
    assert {k: v for k, v in _tree(project).items() if not k.startswith("sub")} == before


def test_a_config_json_does_not_make_a_folder_a_run(project, capsys):
    folder = project / "results"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "notes.txt").write_text("my notes")
    code, _, err = _cli([*TRAIN, "--data", "data.npy", "--out", folder, "--overwrite"], capsys)
    assert code == 2 and "not a made run directory (no made-run.json)" in err
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "notes.txt"]


def test_overwrite_removes_only_what_made_wrote(project, capsys):
    run = project / "runs" / "a"
    assert _cli([*TRAIN, "--data", "data.npy", "--out", run, "--epochs", "1"], capsys)[0] == 0
    (run / "notes.txt").write_text("what I saw")
    (run / "analysis").mkdir()
    (run / "analysis" / "plot.py").write_text("# mine")
    (run / "scores.csv").write_text("made wrote this one")  # a default output of `made score`
    first = (run / "config.json").read_bytes()
    argv = ["train", "--hidden", "8", "--device", "cpu", "--data", "data.npy", "--out", run,
            "--epochs", "2", "--overwrite"]  # fmt: skip
    code, out, _ = _cli(argv, capsys)
    assert code == 0
    assert "--overwrite kept what made did not write" in out and "analysis/, notes.txt" in out
    assert (run / "notes.txt").read_text() == "what I saw"
    assert (run / "analysis" / "plot.py").read_text() == "# mine"
    assert not (run / "scores.csv").exists()  # made's own file: removed with the old run
    assert (run / "config.json").read_bytes() != first
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


# ----------------------------------------------- 2. resume continues the same run, or says why not
@pytest.fixture
def run(project, capsys):
    out = project / "runs" / "r"
    assert _cli([*TRAIN, "--data", "data.npy", "--out", out, "--epochs", "2"], capsys)[0] == 0
    return out


RESUME = ["train", "--resume", "--device", "cpu", "--quiet", "--out"]


@pytest.mark.parametrize(
    "option, message",
    [
        (["--hidden", "16"], "--hidden 16 differs from this run's 8"),
        (["--lr", "0.01"], "--lr 0.01 differs from this run's 0.003"),
        (["--dropout", "0.1"], "--dropout 0.1 differs from this run's 0.0"),
        (["--recipe", "tutorial"], "--recipe tutorial differs from this run's auto"),
        (["--seed", "3"], "--seed 3 differs from this run's 0"),
        (["--no-direct-connections"], "--direct-connections false differs from this run's true"),
        (["--epochs", "1"], "epochs 1 is below the 2 epochs this run has already trained"),
        (["--overwrite"], "--resume continues a run and --overwrite replaces it"),
    ],
)
def test_resume_refuses_options_that_differ_from_the_run(run, option, message, capsys):
    before = _tree(run)
    code, _, err = _cli([*RESUME, run, *option], capsys)
    assert code == 2 and message in err, err
    assert _tree(run) == before


def test_resume_accepts_the_run_s_own_options_and_a_larger_epochs(run, capsys):
    assert _cli([*RESUME, run, "--hidden", "8", "--lr", "0.003"], capsys)[0] == 0
    assert _cli([*RESUME, run, "--epochs", "3"], capsys)[0] == 0
    assert json.loads((run / "summary.json").read_text())["epochs"] == 3
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 3


def test_resume_refuses_changed_data_and_names_the_change(run, project, capsys):
    data = project / "data.npy"
    x = np.load(data)
    np.save(data, 1 - x)  # same shape, other values
    code, _, err = _cli([*RESUME, run], capsys)
    assert code == 2 and "is not the data this run was trained on" in err
    assert "has the same shape but other values" in err
    np.save(data, np.zeros((60, 7), dtype=int))  # another width: no internal error
    code, _, err = _cli([*RESUME, run], capsys)
    assert code == 2 and "has shape (" in err and "internal error" not in err


def test_a_run_travels_and_says_where_its_data_was(run, project, tmp_path_factory, capsys):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    os.chdir(elsewhere)  # the run's data path was relative to the project folder
    config = json.loads((run / "config.json").read_text())
    assert Path(config["data"]["source"]).is_absolute()
    assert _cli(["eval", run, "--device", "cpu"], capsys)[0] == 0
    moved = elsewhere / "moved.npy"
    shutil.move(project / "data.npy", moved)
    code, _, err = _cli(["eval", run, "--device", "cpu"], capsys)
    assert code == 2 and f"was trained on {project / 'data.npy'}, which is not there" in err
    assert "give its new path (--data)" in err
    assert _cli(["eval", run, "--data", moved, "--device", "cpu"], capsys)[0] == 0
    code, _, err = _cli([*RESUME, run], capsys)
    assert code == 2 and "which is not there; give its new path (--data)" in err
    assert _cli([*RESUME, run, "--data", moved, "--epochs", "3"], capsys)[0] == 0  # data moved
    assert json.loads((run / "config.json").read_text())["data"]["source"] == str(moved)


def test_a_resumed_run_never_reports_an_untrained_model(run, project, capsys):
    # a finished run whose best.pt was deleted: the summary comes from the best weights that
    # exist (the checkpoint's, when the last epoch was the best), or the run says it cannot
    one = project / "runs" / "one"
    assert _cli([*TRAIN, "--data", "data.npy", "--out", one, "--epochs", "1"], capsys)[0] == 0
    # `run` as if its second epoch had not bettered its first (which epoch wins is chance)
    model, payload = load_checkpoint(run / "checkpoint.pt")
    own = ("format", "made_version", "model_config", "model_state", "dtype")
    extra = {k: v for k, v in payload.items() if k not in own}
    extra["train_state"]["best_epoch"] = 1
    save_checkpoint(run / "checkpoint.pt", model, **extra)
    for folder in (one, run):
        summary = (folder / "summary.json").read_text()
        _, state = load_checkpoint(folder / "checkpoint.pt")
        best, epochs = state["train_state"]["best_epoch"], state["epoch"]
        (folder / "best.pt").unlink()
        code, _, err = _cli([*RESUME, folder], capsys)
        if best == epochs:
            assert code == 0, err
            again = json.loads((folder / "summary.json").read_text())["test_nll"]
            assert again == pytest.approx(json.loads(summary)["test_nll"])
        else:
            assert code == 2 and "is missing and no later epoch was better" in err
            assert (folder / "summary.json").read_text() == summary
    assert folder == run and best < epochs  # both cases were seen


def test_lost_best_weights_are_reported_not_replaced(tmp_path):
    train = torch.zeros(500, 1, 8, 8, dtype=torch.long)
    valid = torch.ones(100, 1, 8, 8, dtype=torch.long)
    cfg = TrainConfig(epochs=20, lr=1e-2, patience=2)
    first = fit(MADE((1, 8, 8), [16], seed=0), train, valid, cfg, run_dir=tmp_path)
    assert first.best_epoch < len(first.history)  # stopped early: the best is not the last
    (tmp_path / "best.pt").unlink()
    with pytest.raises(MissingBestError, match="is missing and no later epoch was better"):
        fit(MADE((1, 8, 8), [16], seed=0), train, valid, cfg, run_dir=tmp_path, resume=True)


# -------------------------------------------------------------- 3. one run per directory at a time
def _stale_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_second_run_into_a_busy_directory_is_refused(project, capsys):
    out = project / "busy"
    argv = [sys.executable, "-m", "made", *TRAIN, "--data", "bars-and-stripes", "--epochs", "200",
            "--out", str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        while not (out / "metrics.jsonl").is_file():  # progress: its first epoch is written
            assert first.poll() is None, first.stderr.read()
            time.sleep(0.01)
        code, _, err = _cli([*TRAIN, "--data", "bars-and-stripes", "--out", out, "--overwrite"],
                            capsys)  # fmt: skip
        assert code == 2 and f"is in use by process {first.pid}" in err, err
        assert err.count("\n") == 1
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the killed run left its lock: stale (its process is gone), so the next run takes it over
    assert (out / "made-run.lock").is_file()
    again = [*TRAIN, "--data", "bars-and-stripes", "--out", out, "--overwrite", "--epochs", "1"]
    code, _, err = _cli(again, capsys)
    assert code == 0, err
    assert not (out / "made-run.lock").exists()  # released at the end


def test_a_lock_left_by_a_dead_process_is_taken_over(project, capsys):
    out = project / "stale"
    out.mkdir()
    lock = {"pid": _stale_pid(), "host": os.uname().nodename, "started": "1", "time": "then"}
    (out / "made-run.lock").write_text(json.dumps(lock))
    assert _cli([*TRAIN, "--data", "data.npy", "--out", out, "--epochs", "1"], capsys)[0] == 0
    assert not (out / "made-run.lock").exists()


# --------------------------------------------------------------- 4. outputs never overwrite inputs
def test_outputs_never_overwrite_inputs(run, project, capsys):
    data = project / "data.npy"
    before = data.read_bytes()
    for argv in (
        ["score", run, "--data", data, "--out", data],
        ["score", run, "--out", data],  # the run's own data, by default
        ["sample", run, "--out", data],
        ["sample", run, "--out", run / "best.pt"],
        ["inpaint", run, "--region", "random", "--out", run / "config.json"],
        ["data", "export", data, "--out", data],
    ):
        argv = [*argv, "--device", "cpu"] if argv[0] != "data" else argv
        code, _, err = _cli(argv, capsys)
        assert code == 2, argv
        assert "which this command reads; made never" in err or "--out must end in" in err, err
    assert data.read_bytes() == before
    table = project / "t.csv"
    table.write_text("a,b\n" + "".join(f"{i % 3},{i % 2}\n" for i in range(40)))
    text = table.read_bytes()
    assert (
        _cli([*TRAIN, "--data", table, "--out", project / "trun", "--epochs", "1"], capsys)[0] == 0
    )
    code, _, err = _cli(["score", project / "trun", "--data", table, "--out", table,
                         "--device", "cpu"], capsys)  # fmt: skip
    assert code == 2 and "which this command reads" in err
    assert table.read_bytes() == text


# ------------------------------------------------------------------ 5. memory is bounded by design
MEMORY_CAP = """
import resource, sys
import numpy as np
from made.cli import main
# the cap: this Python's data segment once made is imported (VmData), plus a margin
status = open("/proc/self/status").read().splitlines()
base = int(next(line for line in status if line.startswith("VmData")).split()[1]) << 10
cap = base + (int(sys.argv[3]) << 20)
resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
n = int(sys.argv[4])
code = main(["sample", sys.argv[1], "-n", str(n), "--out", sys.argv[2], "--device", "cpu"])
try:  # the same samples held at once need more than the cap allows: the cap is real
    np.ones((n, 64), dtype=np.int64).sum()
except MemoryError:
    print("the whole array is refused")
sys.exit(code)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_sampling_streams_under_a_memory_cap(tmp_path, capsys):
    run = tmp_path / "run"
    assert _cli(["train", "--data", "bars-and-stripes", "--hidden", "8", "--epochs", "1", "--out",
                 run, "--device", "cpu", "--quiet"], capsys)[0] == 0  # fmt: skip
    n = 300_000  # 300,000 x 64 int64 = 146 MiB of samples: more than the cap allows at once
    out = tmp_path / "s.npy"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", MEMORY_CAP, str(run), str(out), "100", str(n)],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "the whole array is refused" in done.stdout
    samples = np.load(out, mmap_mode="r")
    assert samples.shape == (n, 1, 8, 8) and samples.dtype == np.int64
    assert set(np.unique(samples[-1000:])) <= {0, 1}


def test_pictures_show_a_grid_s_worth_and_say_so(tmp_path, capsys):
    run = tmp_path / "run"
    assert _cli(["train", "--data", "bars-and-stripes", "--hidden", "8", "--epochs", "1", "--out",
                 run, "--device", "cpu", "--quiet"], capsys)[0] == 0  # fmt: skip
    code, out, err = _cli(["sample", run, "-n", "10000000", "--out", tmp_path / "s.png",
                           "--device", "cpu"], capsys)  # fmt: skip
    assert code == 0 and "a picture shows at most 400 samples" in err
    assert "wrote 400 samples" in out
    code, out, err = _cli(["inpaint", run, "--region", "random", "-n", "100000", "--samples", "100",
                           "--out", tmp_path / "i.png", "--device", "cpu"], capsys)  # fmt: skip
    assert code == 0 and "a picture shows at most 16 examples with 8 completions" in err


def test_huge_category_values_and_identifier_columns_are_refused_before_allocating(
    tmp_path, capsys
):
    np.save(tmp_path / "big.npy", np.array([[0, 2**40], [1, 0]] * 10))
    code, _, err = _cli([*TRAIN, "--data", tmp_path / "big.npy", "--out", tmp_path / "r"], capsys)
    assert code == 2 and "is 1.09951e+12; categories are codes 0..65535 at most" in err
    ids = tmp_path / "ids.csv"
    ids.write_text("id,x\n" + "".join(f"user{i % 1500},{i % 2}\n" for i in range(3000)))
    # as it is, free text (left out); typed categorical, refused before anything is allocated
    code, _, err = _cli([*TRAIN, "--data", ids, "--out", tmp_path / "r", "--column-type",
                         "id=categorical"], capsys)  # fmt: skip
    assert code == 2 and "column 'id' has 1,500 distinct values" in err and "drop the column" in err
    nums = tmp_path / "nums.csv"
    nums.write_text("id,x\n" + "".join(f"{i},{i % 2}\n" for i in range(1500)))
    code, _, err = _cli([*TRAIN, "--data", nums, "--out", tmp_path / "r", "--column-type",
                         "id=categorical"], capsys)  # fmt: skip
    assert code == 2 and "pass --column-type id=real" in err
    assert not (tmp_path / "r").exists()


# --------------------------------------------------- 6. data is read as the user meant, or refused
def test_a_semicolon_csv_has_its_columns(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b;c\n" + "".join(f"{i % 3};{i / 7:.3f};x{i % 2}\n" for i in range(30)))
    data = load_data(str(path))
    assert data.columns == ("a", "b", "c")
    assert any("delimiter ';' detected" in note for note in data.notes)
    tabs = tmp_path / "tabs.csv"
    tabs.write_text("a\tb\n" + "".join(f"{i % 3}\t{i % 2}\n" for i in range(30)))
    assert load_data(str(tabs)).columns == ("a", "b")
    assert load_data(str(path), delimiter=";").columns == ("a", "b", "c")


def test_decimal_commas_in_a_semicolon_csv_are_numbers(tmp_path):
    # as a spreadsheet in a European locale writes a table: ';' between cells, ',' before
    # the decimals; the column was typed categorical (69 categories of 80 rows)
    values = [f"{5 + (i * 37 % 101) / 50:.2f}" for i in range(80)]
    cells = [("NA" if i % 9 == 4 else v) for i, v in enumerate(values)]
    rest = [f"{i % 3};{i % 2},{i % 5} and 2" for i in range(80)]
    comma = tmp_path / "comma.csv"
    comma.write_text("x;k;label\n" + "".join(
        f"{v.replace('.', ',')};{r}\n" for v, r in zip(cells, rest, strict=True)))  # fmt: skip
    point = tmp_path / "point.csv"
    point.write_text("x;k;label\n" + "".join(
        f"{v};{r}\n" for v, r in zip(cells, rest, strict=True)))  # fmt: skip
    a, b = load_data(str(comma)), load_data(str(point))
    assert a.schema.columns[0].kind == "real"
    assert torch.equal(a.train.nan_to_num(-9), b.train.nan_to_num(-9))  # the same numbers
    assert any("decimal commas read as points in column x" in note for note in a.notes)
    # a column of labels such as "1,3 and 2" (text with commas, not numbers) is left as it is
    labels = a.schema.columns[2]
    assert labels.kind == "categorical" and "1,3 and 2" in labels.values


def test_percentages_and_amounts_of_money_are_numbers(tmp_path):
    # as a spreadsheet exports formatted cells: "45%", "$120.50"; each column was typed
    # categorical (84 and 187 categories of 200 rows)
    rows = [[f"{(i * 37) % 101}%" if i % 11 else "NA", f"${(i * 53) % 97 / 4:.2f}",
             f"{i % 3}"] for i in range(200)]  # fmt: skip
    path = write_csv(tmp_path / "money.csv", ["share", "price", "k"], rows)
    data = load_data(str(path))
    share, price, _ = data.schema.columns
    assert (share.kind, price.kind) == ("real", "real") and share.missing
    assert any("'%' dropped from column share" in note for note in data.notes)
    assert any("'$' dropped from column price" in note for note in data.notes)
    plain = write_csv(tmp_path / "plain.csv", ["share", "price", "k"],
                      [[r[0].rstrip("%"), r[1].lstrip("$"), r[2]] for r in rows])  # fmt: skip
    assert torch.equal(data.train.nan_to_num(-9), load_data(str(plain)).train.nan_to_num(-9))
    # a column of text that merely holds a "%" somewhere is left as text
    mixed = write_csv(
        tmp_path / "mixed.csv",
        ["note", "k"],
        [["50%" if i % 2 else "about half", f"{i % 3}"] for i in range(60)],
    )
    assert load_data(str(mixed)).schema.columns[0].kind == "categorical"


def test_a_csv_that_is_not_utf8_is_read_as_windows_1252_and_said_so(tmp_path):
    rows = "".join(f"{i % 3},caf\xe9 {i % 2}\n" for i in range(40))
    path = tmp_path / "excel.csv"
    path.write_bytes(("a,b\n" + rows).encode("cp1252"))
    data = load_data(str(path))
    assert set(data.schema.columns[1].values) == {"caf\xe9 0", "caf\xe9 1"}
    assert any("not UTF-8: read as Windows-1252" in note for note in data.notes)


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path, capsys):
    rows = "".join(f"{i % 3},{i % 2}\n" for i in range(40))
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffa,b\n".encode() + rows.encode())
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n" + rows)
    assert load_data(str(bom)).columns == ("a", "b")
    run = tmp_path / "run"
    assert _cli([*TRAIN, "--data", bom, "--out", run, "--epochs", "1"], capsys)[0] == 0
    code, _, err = _cli(["score", run, "--data", plain, "--out", tmp_path / "s.csv",
                         "--device", "cpu"], capsys)  # fmt: skip
    assert code == 0, err


def test_a_numeric_header_row_is_not_silently_data(tmp_path):
    path = tmp_path / "years.csv"
    path.write_text("2019,2020,2021\n" + "".join(f"{i % 2},{i % 3},{i % 2}\n" for i in range(30)))
    with pytest.raises(ValueError, match="look like column names; say which it is with header"):
        load_data(str(path))
    assert load_data(str(path), header="yes").columns == ("2019", "2020", "2021")
    assert len(load_data(str(path), header="no", column_types=("0=real",)).original["all"]) == 31
    binary = tmp_path / "binary.csv"  # a first data row of 0, 1 is data, as it always was
    binary.write_text("".join(f"{i % 2},{(i + 1) % 2}\n" for i in range(30)))
    assert len(load_data(str(binary)).original["all"]) == 30


def test_shapes_drawn_in_the_alpha_channel_are_read(tmp_path):
    from PIL import Image

    folder = tmp_path / "png"
    folder.mkdir()
    for i in range(12):
        rgba = np.zeros((8, 8, 4), dtype=np.uint8)  # black everywhere; the shape is opacity
        rgba[2 : 4 + i % 4, 2:6, 3] = 255
        Image.fromarray(rgba, "RGBA").save(folder / f"{i}.png")
    data = load_data(str(folder))
    assert data.splits["train"].sum() > 0  # was all zeros
    assert any("alpha channel" in note for note in data.notes)


def test_huge_real_values_give_finite_statistics_and_samples(tmp_path, capsys):
    path = tmp_path / "huge.csv"
    path.write_text("v,c\n" + "".join(f"{(i % 7 + 1) * 1e300:.6g},{i % 2}\n" for i in range(50)))
    run = tmp_path / "run"
    assert _cli([*TRAIN, "--data", path, "--out", run, "--epochs", "1"], capsys)[0] == 0
    text = (run / "config.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    samples = (run / "samples.csv").read_text()
    assert "inf" not in samples and "nan" not in samples


def test_grey_level_arrays_are_read_like_grey_level_images(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (40, 6, 6)).astype(np.uint8)
    np.save(tmp_path / "grey.npy", images)
    data = load_data(str(tmp_path / "grey.npy"))
    assert data.num_categories == 2  # thresholded like PNGs, not 256 categories per pixel
    assert any("grey levels, like PNG images" in note for note in data.notes)
    kept = load_data(str(tmp_path / "grey.npy"), binarize="none")
    assert kept.num_categories == 256


def test_arrays_without_features_name_the_file(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((20, 0)))
    with pytest.raises(
        ValueError, match=r"flat.npy: examples have no features \(shape \(20, 0\)\)"
    ):
        load_data(str(tmp_path / "flat.npy"))


def test_an_npz_with_only_a_train_split_and_labels_trains_conditionally(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "only.npz", train=rng.integers(0, 2, (80, 6)))
    data = load_data(str(tmp_path / "only.npz"))
    assert len(data.splits["test"]) == 8 and any("test split" in n for n in data.notes)
    np.savez(tmp_path / "labelled.npz", train=rng.integers(0, 2, (80, 6)),
             train_labels=rng.integers(0, 3, 80), test=rng.integers(0, 2, (20, 6)),
             test_labels=rng.integers(0, 3, 20))  # fmt: skip
    assert load_data(str(tmp_path / "labelled.npz")).classes == ("0", "1", "2")
    run = tmp_path / "run"
    argv = [*TRAIN, "--data", tmp_path / "labelled.npz", "--conditional", "--out", run,
            "--epochs", "1"]  # fmt: skip
    assert _cli(argv, capsys)[0] == 0
    assert json.loads((run / "config.json").read_text())["model"]["context_size"] == 3


# --------------------------------------------------------------- 7. runs travel, and messages help
def test_sigterm_stops_with_the_resume_hint(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "made", *TRAIN, "--data", "bars-and-stripes", "--epochs", "200",
            "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    while not (out / "checkpoint.pt").is_file():  # progress, not time: an epoch is saved
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    err = proc.stderr.read()
    assert proc.wait() == 143
    assert f"made: terminated; the last completed epoch is saved in {out}/checkpoint.pt" in err
    assert f"continue with: made train --out {out} --resume" in err
    assert not (out / "made-run.lock").exists()
