"""Every way of giving made wrong input, and the one line each produces.

Each case is a row of a table in docs/bad-input.md; a test below checks that the tables and
these cases agree, so neither can drift. Command-line cases must exit with status 2 and print
exactly one line; Python cases must raise ``ValueError`` with the message.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from made import MADE
from made.cli import main
from made.data import load_data

TABLES = Path(__file__).resolve().parents[1] / "docs" / "bad-input.md"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good and bad data files, and a small trained run (6 binary features)."""
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    good = rng.integers(0, 2, (60, 6))
    np.save(d / "good.npy", good)
    np.save(d / "seven.npy", rng.integers(0, 2, (60, 7)))
    # one-hot bits: a 3-valued category (3 columns) beside a lone bit
    i = np.arange(300)
    np.save(d / "onehot.npy", np.concatenate([np.eye(3, dtype=int)[i % 3], (i[:, None] // 3) % 2],
                                             axis=1))  # fmt: skip
    (d / "data.sav").write_bytes(b"$FL2")
    (d / "data.parquet").write_bytes(b"PAR1")  # a Parquet file's magic, and nothing else
    try:
        import pyarrow
        import pyarrow.parquet

        pyarrow.parquet.write_table(pyarrow.table({"x": [0.5, 1.5] * 20,
                                                   "tags": [[1, 2], [3]] * 20}),
                                    d / "lists.parquet")  # fmt: skip
    except ImportError:
        pass
    raw = (d / "good.npy").read_bytes()
    (d / "trunc.npy").write_bytes(raw[: len(raw) // 2])
    np.savez(d / "g.npz", train=good)
    raw = (d / "g.npz").read_bytes()
    (d / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    np.save(d / "empty.npy", np.zeros((0, 6), dtype=int))
    np.save(d / "rank1.npy", np.zeros(6, dtype=int))
    np.save(d / "float.npy", rng.random((60, 6)))
    bad = good.astype(float)
    bad[3, 2] = np.nan
    np.save(d / "nan.npy", bad)
    bad = good.astype(float)
    bad[4, 1] = np.inf
    np.save(d / "inf.npy", bad)
    np.save(d / "three.npy", np.full((60, 6), 3))
    (d / "empty.csv").write_text("")
    (d / "two.csv").write_text("a,b\n0.5,x\n0.25,y\n")
    rows = "".join(f"{i / 7:.3f},{'xy'[i % 2]}\n" for i in range(40))
    (d / "table.csv").write_text("a,b\n" + rows)
    (d / "word.csv").write_text("a,b\n0.5,x\nabc,y\n")
    (d / "zero.csv").write_text("a,b\n" + "".join(f"{i % 5},{'xy'[i % 2]}\n" for i in range(40)))
    np.save(d / "big.npy", np.array([[0, 2**40], [1, 0]] * 10))
    np.save(d / "flat.npy", np.zeros((20, 0)))
    (d / "ids.csv").write_text("id,x\n" + "".join(f"user{i % 1500},{i % 2}\n" for i in range(3000)))
    (d / "years.csv").write_text("2019,2020\n" + "".join(f"{i % 2},{i % 3}\n" for i in range(30)))
    (d / "fake").mkdir()
    (d / "fake" / "config.json").write_text("{}")
    (d / "busy").mkdir()  # locked by a live process: this one
    lock = {"pid": os.getpid(), "host": socket.gethostname(), "started": None, "time": "now"}
    (d / "busy" / "made-run.lock").write_text(json.dumps(lock))
    with open(d / "evil.pt", "wb") as f:
        pickle.dump({"format": "made-checkpoint-v2", "x": _Exploit()}, f, protocol=2)

    def train(data: str, out: str) -> None:
        assert main(["train", "--data", str(d / data), "--hidden", "8", "--epochs", "1",
                     "--out", str(d / out), "--device", "cpu", "--quiet"]) == 0  # fmt: skip

    train("table.csv", "trun")
    train("good.npy", "run")
    train("onehot.npy", "orun")
    np.save(d / "changing.npy", good)
    train("changing.npy", "crun")
    np.save(d / "changing.npy", 1 - good)  # same shape, other values
    np.save(d / "temp.npy", good)
    train("temp.npy", "gone")
    (d / "temp.npy").unlink()
    return d


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


# (what the user gave, the arguments ({d}: the folder of files above), the message)
CLI_CASES = [
    ("a missing data file", ["train", "--data", "{d}/nope.npy"],
     "nope.npy: no such file or folder, and not a data set name"),
    ("an unknown data set name", ["train", "--data", "nosuch"],
     "nosuch: no such file or folder, and not a data set name (known: shapes, "
     "bars-and-stripes, binarized-mnist, fashion-mnist, digits, wine, breast-cancer)"),
    ("a file type made does not read", ["train", "--data", "{d}/data.sav"],
     "data.sav: unsupported file type .sav; expected .npy, .npz, a text table (.csv, .tsv, "
     ".txt, .dat, .jsonl; gzipped too), an Excel .xlsx, .parquet, .feather, .amat, .pkl "
     "(Shapes pickle), an IDX file or a folder of images: save it as CSV, or read it with "
     "pandas.read_spss and give the DataFrame to made.sklearn.MADEDensity"),
    ("a damaged Parquet file", ["train", "--data", "{d}/data.parquet"],
     "data.parquet: not a readable Parquet file ("),
    ("a Parquet column of lists", ["train", "--data", "{d}/lists.parquet"],
     "lists.parquet: column 'tags' holds list<element: int64>, not one number or text a cell, "
     "as a table's column does: drop it, or give each of its values a column of its own"),
    ("a truncated .npy", ["train", "--data", "{d}/trunc.npy"],
     "trunc.npy: not a readable .npy file"),
    ("a truncated .npz", ["train", "--data", "{d}/trunc.npz"],
     "trunc.npz: not a readable .npz file"),
    ("an empty array", ["train", "--data", "{d}/empty.npy"],
     "empty.npy: no examples (the split is empty)"),
    ("an empty .csv", ["train", "--data", "{d}/empty.csv"], "empty.csv: the file has no rows"),
    ("a table of two rows", ["train", "--data", "{d}/two.csv"],
     "two.csv: too few rows to carve a valid split from (1 training example, 10% to carve) "
     "and keep any to train on"),
    ("an array of the wrong rank", ["train", "--data", "{d}/rank1.npy"],
     "rank1.npy: expected an array of shape (examples, features...), got (6,)"),
    ("non-integer values", ["train", "--data", "{d}/float.npy", "--binarize", "none"],
     "float.npy: row 0, feature 0 is 0.836944; expected an integer category"),
    ("NaN", ["train", "--data", "{d}/nan.npy"],
     "nan.npy: row 3, feature 2 is nan; expected an integer category"),
    ("infinity", ["train", "--data", "{d}/inf.npy"],
     "inf.npy: row 4, feature 1 is inf; expected an integer category"),
    ("values outside the declared categories",
     ["train", "--data", "{d}/three.npy", "--categories", "2"],
     "three.npy: row 0, feature 0 is 3; expected a category in 0..1"),
    ("a zero or negative layer size", ["train", "--hidden", "0"],
     "argument --hidden: sizes must be positive, got '0'"),
    ("zero epochs", ["train", "--epochs", "0"], "argument --epochs: expected a positive int"),
    ("a negative batch size", ["train", "--batch-size", "-1"],
     "argument --batch-size: expected a positive int"),
    ("a zero learning rate", ["train", "--lr", "0"], "argument --lr: expected a positive number"),
    ("zero masks", ["train", "--masks", "0"], "argument --masks: expected an int in 1..1000"),
    ("zero samples", ["sample", "{d}/run", "-n", "0"], "argument -n: expected a positive int"),
    ("an unknown device", ["train", "--device", "tpu"], "--device tpu must be auto, cpu or cuda"),
    ("a CUDA request on a machine without CUDA", ["train", "--device", "cuda"],
     "--device cuda was asked for but this machine has no CUDA device"),
    ("an unknown option", ["train", "--hiden", "8"], "unrecognized arguments: --hiden 8"),
    ("a run directory that does not exist", ["eval", "{d}/nothing"],
     "no run directory or checkpoint at"),
    ("data with another feature count than the checkpoint",
     ["score", "{d}/run", "--data", "{d}/seven.npy", "--out", "{d}/s.csv"],
     "seven.npy has 7 features per example but the model was trained on 6"),
    ("a class for a model that has none (wrong context)", ["sample", "{d}/run", "--class", "1"],
     "--class needs a class-conditional model"),
    ("an output directory that exists", ["train", "--data", "{d}/good.npy", "--out", "{d}/run"],
     "already exists and is not empty; pass --overwrite to replace it or --resume"),
    ("--overwrite on a folder that is not a run", ["train", "--out", "{d}", "--overwrite"],
     "refusing to overwrite"),
    ("--resume with nothing to resume", ["train", "--resume", "--out", "{d}/fresh"],
     "nothing to resume"),
    ("more ensemble members than masks", ["eval", "{d}/run", "--ensemble", "4"],
     "exceeds the model's number of masks (1)"),
    ("a word where the model's table has a number",
     ["eval", "{d}/trun", "--data", "{d}/word.csv"],
     "word.csv: line 3, a is 'abc'; expected a finite number"),
    ("a type for a column the table lacks",
     ["train", "--data", "{d}/table.csv", "--column-type", "c=real"],
     "table.csv: no column 'c' to type (columns: a, b)"),
    ("a log scale for a column holding 0",
     ["train", "--data", "{d}/zero.csv", "--column-type", "a=log"],
     "zero.csv: column 'a' is typed log, but holds 0 among its values; a log scale holds "
     "positive numbers only"),
    ("--out that is the current directory (or '')", ["train", "--out", ""],
     "is the current directory; a run needs a folder of its own"),
    ("--out that holds the data",
     ["train", "--data", "{d}/good.npy", "--out", "{d}", "--overwrite"], "holds the data"),
    ("--out at a filesystem root", ["train", "--out", "/", "--overwrite"], "is a filesystem root"),
    ("--overwrite on a folder whose config.json made did not write",
     ["train", "--data", "{d}/good.npy", "--out", "{d}/fake", "--overwrite"],
     "it is not a made run directory (no made-run.json); made replaces only folders it wrote"),
    ("a run directory another process is using",
     ["train", "--data", "{d}/good.npy", "--out", "{d}/busy", "--overwrite"],
     "is in use by process"),
    ("--resume with an option that differs from the run's",
     ["train", "--resume", "--out", "{d}/run", "--hidden", "16"],
     "--hidden 16 differs from this run's 8; a resumed run keeps its own settings"),
    ("--resume with --overwrite", ["train", "--resume", "--overwrite", "--out", "{d}/run"],
     "--resume continues a run and --overwrite replaces it: give one"),
    ("--resume on data that changed since the run began",
     ["train", "--resume", "--out", "{d}/crun"],
     "is not the data this run was trained on: split 'test' has the same shape but other values"),
    ("a run whose data file is gone", ["eval", "{d}/gone"],
     "which is not there; give its new path (--data)"),
    ("--out that is the data being scored",
     ["score", "{d}/trun", "--data", "{d}/table.csv", "--out", "{d}/table.csv"],
     "which this command reads; made never overwrites its inputs"),
    ("--out that is the run's own data", ["sample", "{d}/run", "--out", "{d}/good.npy"],
     "which this command reads; made never overwrites its inputs"),
    ("category values beyond 16 bits", ["train", "--data", "{d}/big.npy"],
     "big.npy: row 0, feature 1 is 1.09951e+12; categories are codes 0..65535 at most"),
    ("a text column of 1,500 distinct values typed categorical",
     ["train", "--data", "{d}/ids.csv", "--column-type", "id=categorical"],
     "ids.csv: column 'id' has 1,500 distinct values, more than the 1,000 a categorical column"),
    ("a numeric first line that looks like a header", ["train", "--data", "{d}/years.csv"],
     "years.csv: the first line (2019, 2020) is numbers that look like column names; say which "
     "it is with --header yes or --header no"),
    ("an array whose examples have no features", ["train", "--data", "{d}/flat.npy"],
     "flat.npy: examples have no features (shape (20, 0))"),
    ("a class-conditional run on data without labels",
     ["train", "--data", "{d}/good.npy", "--conditional"],
     "good.npy has no class labels, so a conditional model cannot be trained"),
    ("a seed beyond 63 bits", ["train", "--seed", "99999999999999999999"],
     "argument --seed: expected an int in 0..9223372036854775807"),
    ("a negative weight decay", ["train", "--weight-decay", "-1"],
     "argument --weight-decay: expected a number >= 0"),
    ("a negative noise", ["train", "--noise", "-0.1"], "argument --noise: expected a number >= 0"),
    ("noise for data without a real column", ["train", "--data", "{d}/good.npy", "--noise", "0.3"],
     "--noise 0.3 perturbs real-valued dimensions, and this model has none (its dimensions are "
     "binary or categorical)"),
    ("a mixture of more masks than the model has",
     ["train", "--data", "{d}/good.npy", "--masks", "2", "--mixture-masks", "3"],
     "--mixture-masks 3 mixes that many of the model's masks, and it has 2 (see --masks)"),
    ("biases per mask for one mask",
     ["train", "--data", "{d}/good.npy", "--masks", "1", "--mask-biases"],
     "--masks 1 is too few for --mask-biases, which gives each mask its own biases: use 2 or "
     "more"),
    ("biases per mask where the recipe trains one mask",
     ["train", "--data", "{d}/good.npy", "--mask-biases"],
     "--masks 1 (the auto recipe's for this data) is too few for --mask-biases, which gives "
     "each mask its own biases: give --masks 2 or more as well"),
    ("a mixture of no masks", ["train", "--mixture-masks", "0"],
     "argument --mixture-masks: expected a positive int"),
    ("more categories declared than 16 bits hold", ["train", "--categories", "100000"],
     "argument --categories: category counts must be between 2 and 65,536"),
    ("a hidden layer of a million units", ["train", "--hidden", "1000000"],
     "argument --hidden: sizes must be at most 100,000"),
    ("a delimiter of two characters",
     ["train", "--data", "{d}/table.csv", "--delimiter", ";;"],
     "delimiter must be one character; got ';;'"),
    ("an unknown --one-hot", ["train", "--one-hot", "yes"],
     "argument --one-hot: invalid choice: 'yes' (choose from 'auto', 'off')"),
    ("--one-hot off for a model of one-hot groups",
     ["eval", "{d}/orun", "--data", "{d}/onehot.npy", "--one-hot", "off"],
     "this model reads its binary columns as one-hot groups, fixed when it was trained "
     "(--one-hot off applies to a new run)"),
    ("other columns than a model of one-hot groups read", ["eval", "{d}/orun", "--data",
     "{d}/seven.npy"], "seven.npy: the model reads 4 binary columns as one-hot groups; these "
     "examples are of shape (7,) with 2 categories"),
    ("inpaint with a model of one-hot groups", ["inpaint", "{d}/orun"],
     "inpaint draws pictures; this model reads binary columns as one-hot groups"),
    ("--hide with a model of one-hot groups",
     ["score", "{d}/orun", "--hide", "left", "--out", "{d}/h.csv"],
     "--hide hides pixels of a picture; this model reads its binary columns as one-hot groups"),
    ("a checkpoint whose pickle would run code", ["eval", "{d}/evil.pt"],
     "evil.pt is not a made checkpoint: it holds Python objects that could run code when loaded"),
]  # fmt: skip


def _run_cli(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("what, argv, message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(files, what, argv, message, capsys):
    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    if any(a.endswith(".parquet") for a in argv):
        pytest.importorskip("pyarrow")  # without it: "pip install 'made[parquet]'"
    argv = [a.format(d=files) for a in argv]
    if argv[0] == "train" and "--out" not in argv:
        argv += ["--out", str(files / "unused")]
    if argv[0] in ("train", "eval", "sample", "score") and "--device" not in argv:
        argv += ["--device", "cpu"]
    code, err = _run_cli(argv, capsys)
    assert code == 2, err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err  # one line, no traceback
    assert not (files / "unused").exists()  # nothing was started


@pytest.mark.parametrize(
    "what, damage",
    [
        ("a truncated checkpoint", lambda b: b[: len(b) // 2]),
        (
            "a checkpoint whose bytes were changed",
            lambda b: b[:-2000] + bytes(x ^ 0x55 for x in b[-2000:-1900]) + b[-1900:],
        ),
    ],  # fmt: skip
)
def test_damaged_checkpoints_are_refused_in_one_line(files, what, damage, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(files / "run", run)
    best = run / "best.pt"
    best.write_bytes(damage(best.read_bytes()))
    code, err = _run_cli(["eval", str(run), "--device", "cpu"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert re.search(r"best\.pt (is not a readable made checkpoint|is damaged)", err), err
    ckpt = run / "checkpoint.pt"
    ckpt.write_bytes(damage(ckpt.read_bytes()))
    code, err = _run_cli(["train", "--resume", "--out", str(run), "--device", "cpu"], capsys)
    assert code == 2 and err.count("\n") == 1 and "checkpoint.pt" in err, err


def test_a_read_only_output_directory(files, tmp_path, monkeypatch, capsys):
    # Tests run as root on CI, where permission bits do not stop writes: refuse the write the
    # way a read-only directory would, at the system call.
    real = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).is_relative_to(tmp_path):
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    out = tmp_path / "ro"
    code, err = _run_cli(["train", "--data", str(files / "good.npy"), "--hidden", "8", "--out",
                          str(out), "--device", "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 2 and err.count("\n") == 1
    assert f"made: error: {out}: Permission denied" in err
    assert not any(out.iterdir())  # refused before any training


def test_an_unreadable_data_file(files, tmp_path, monkeypatch, capsys):
    # As for the read-only directory: refuse the read at the system call, as chmod 000 would
    # for a user who is not root.
    import builtins

    target = str(files / "good.npy")
    real = builtins.open

    def unreadable(file, *args, **kwargs):
        if str(file) == target:
            raise PermissionError(errno.EACCES, "Permission denied", target)
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", unreadable)
    out = tmp_path / "never"
    code, err = _run_cli(["train", "--data", target, "--out", str(out), "--device", "cpu"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"{target}: not a readable .npy file ([Errno 13] Permission denied" in err
    assert not out.exists()


def test_a_full_disk(files, tmp_path, monkeypatch, capsys):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "full"
    code, err = _run_cli(["train", "--data", str(files / "good.npy"), "--hidden", "8", "--out",
                          str(out), "--device", "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "No space left on device" in err
    assert [p.name for p in out.iterdir()] == []  # no half-written files left behind


def test_internal_errors_exit_1_and_debug_shows_the_traceback(files, monkeypatch, capsys):
    import made.cli

    def broken(*args, **kwargs):
        raise RuntimeError("something made did not expect")

    monkeypatch.setattr(made.cli, "evaluate_nll", broken)
    code, err = _run_cli(["eval", str(files / "run"), "--device", "cpu"], capsys)
    assert code == 1 and err.count("\n") == 1
    assert "made: internal error: RuntimeError: something made did not expect" in err
    code, err = _run_cli(["--debug", "eval", str(files / "run"), "--device", "cpu"], capsys)
    assert code == 1 and "Traceback (most recent call last)" in err


# (what the caller gave, the call, the message of the ValueError)
_M = MADE(4, [8])
_C = MADE(4, [8], context_size=3)
_X = torch.zeros(2, 4, dtype=torch.long)
API_CASES = [
    ("zero input dimensions", lambda: MADE(0, [8]), "input_shape must hold positive ints; got [0]"),
    ("a negative layer size", lambda: MADE(4, [-1]),
     "hidden_sizes must hold positive ints; got [-1]"),
    ("fewer than 2 categories", lambda: MADE(4, [8], num_categories=1),
     "num_categories must be in 2..65,536 (or 0: real-valued); got 1"),
    ("zero masks", lambda: MADE(4, [8], num_masks=0),
     "num_masks must be an int in 1..1,000; got 0"),
    ("an unknown ordering", lambda: MADE(4, [8], ordering="zigzag"),
     "ordering must be 'natural', 'reversed', 'random' or a permutation; got 'zigzag'"),
    ("an ordering that is not a permutation", lambda: MADE(4, [8], ordering=[0, 1, 1, 2]),
     "an explicit ordering must be a permutation of 0..3"),
    ("an unknown activation", lambda: MADE(4, [8], activation="swish"),
     "activation must be one of"),
    ("data with the wrong feature count", lambda: _M.log_prob(torch.zeros(2, 5)),
     "x must have shape (batch, 4); got (2, 5)"),
    ("data of the wrong rank", lambda: _M.log_prob(torch.tensor(1)),
     "x must have shape (batch, 4); got ()"),
    ("values outside the categories", lambda: _M.log_prob(torch.full((2, 4), 2)),
     "x[0] holds 2 at dimension 0, outside its categories 0..1"),
    ("non-integer values", lambda: _M.log_prob(torch.full((2, 4), 0.5)),
     "x must hold integer category values; got 0.5 at example 0, dimension 0"),
    ("NaN", lambda: _M.log_prob(torch.tensor([[0, 1, float("nan"), 0.0]])),
     "x holds nan at example 0, dimension 2"),
    ("a context of the wrong size", lambda: _C.log_prob(_X, torch.zeros(2, 2)),
     "context must have shape (2, 3) or (3,); got (2, 2)"),
    ("no context for a conditional model", lambda: _C.log_prob(_X),
     "this model needs a context of shape (batch, 3)"),
    ("a context for an unconditional model", lambda: _M.log_prob(_X, torch.zeros(2, 3)),
     "this model has context_size=0 but a context was given"),
    ("zero samples", lambda: _M.sample(0), "n must be a positive int; got 0"),
    ("more ensemble members than masks", lambda: _M.log_prob(_X, ensemble=5),
     "ensemble must be between 1 and num_masks=1; got 5"),
    ("an unknown data set name", lambda: load_data("nosuch"),
     "nosuch: no such file or folder, and not a data set name"),
    ("zero mixture components", lambda: MADE(4, [8], num_categories=0, num_components=0),
     "num_components must be an int in 1..1,000; got 0"),
    ("a fraction in a categorical column of a mixed model",
     lambda: MADE(3, [8], num_categories=[0, 3, 0]).log_prob(torch.tensor([[0.5, 1.5, 0.0]])),
     "x[0] holds 1.5 at dimension 1, which is categorical with categories 0..2"),
    ("a numpy array of dates", lambda: _fit_array_of_dates(),
     "column '0' holds numpy times or durations (datetime64[D]); give them in a DataFrame, "
     "which made reads as dates, times and durations, or convert them first"),
    ("a DataFrame column of complex numbers", lambda: _fit_complex_column(),
     "column 'z' holds complex numbers (complex128); made models real ones: give the real "
     "and imaginary parts as two columns"),
]  # fmt: skip


def _fit_array_of_dates() -> None:
    """``MADEDensity().fit`` on a 2-D numpy array of dates (a DataFrame's are read)."""
    from made.sklearn import MADEDensity

    MADEDensity(n_models=1, max_epochs=1).fit(np.datetime64("2021-01-01") + np.ones((20, 2), int))


def _fit_complex_column() -> None:
    """``MADEDensity().fit`` on a DataFrame with a column of complex numbers."""
    pd = pytest.importorskip("pandas")
    from made.sklearn import MADEDensity

    frame = pd.DataFrame({"x": np.linspace(0, 1, 20), "z": np.arange(20) + 1j})
    MADEDensity(n_models=1, max_epochs=1).fit(frame)


@pytest.mark.parametrize("what, call, message", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_bad_input(what, call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


def _table_rows(heading: str) -> list[tuple[str, str]]:
    text = TABLES.read_text()
    section = text.split(heading, 1)[1].split("\n\n", 2)[1]
    rows = []
    for line in section.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((cells[0], cells[1].strip("`")))
    return rows


EXTRA_CLI_ROWS = [
    ("no --out, where a file has the default name", "data.npz exists, and --out was not given: "
     "made replaces no file it was not told to write"),
    ("an unreadable data file", "PATH: not a readable .npy file ([Errno 13] Permission denied"),
    ("a truncated checkpoint", "is not a readable made checkpoint (truncated, damaged or not a "
     "checkpoint)"),
    ("a checkpoint whose bytes were changed", "is damaged or was modified"),
    ("a read-only output directory", "OUT: Permission denied"),
    ("a full disk", "[Errno 28] No space left on device"),
]  # fmt: skip


def test_the_docs_tables_list_exactly_these_cases():
    cli = [(what, message) for what, _, message in CLI_CASES] + EXTRA_CLI_ROWS
    api = [(what, message) for what, _, message in API_CASES]
    assert _table_rows("## On the command line") == cli
    assert _table_rows("## In Python") == api
    assert len(cli) + len(api) >= 40


def test_a_default_output_name_never_replaces_a_file_there(tmp_path, monkeypatch, capsys):
    """``data show`` and ``data export`` write ``examples.png`` and ``data.npz`` in the
    current folder when ``--out`` is not given; a file already there may be the user's (their
    own ``data.npz``), so it is refused and left as it was. Named, it is replaced."""
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "bits.npy", np.random.default_rng(0).integers(0, 2, (40, 4)))
    for command, name in (("show", "examples.png"), ("export", "data.npz")):
        (tmp_path / name).write_bytes(b"the user's own")
        code, err = _run_cli(["data", command, "bits.npy"], capsys)
        assert code == 2 and f"{name} exists, and --out was not given" in err, err
        assert err.count("\n") == 1
        assert (tmp_path / name).read_bytes() == b"the user's own"
        code, err = _run_cli(["data", command, "bits.npy", "--out", name], capsys)
        assert code == 0, err
        assert (tmp_path / name).read_bytes() != b"the user's own"  # named: replaced
        (tmp_path / name).unlink()
        code, err = _run_cli(["data", command, "bits.npy"], capsys)  # nothing there: written
        assert code == 0 and (tmp_path / name).exists(), err
