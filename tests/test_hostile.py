"""Hostile input, as a red team tries it (issue 25): six classes of failure, one mechanism
each, and for each class tests that fail on the code before it (d675edc).

1. Every file made writes is atomic: never through a link, never left truncated.
2. Limits apply to what made reads back (config.json, checkpoints), not only to flags.
3. Nothing is cleared before everything is checked.
4. Damaged files get one line, not an internal error.
5. Data is read as meant (16-bit PNGs, wide tables, numbers in object arrays).
6. Messages that help (quoted resume commands, checkpoints that exist, empty batches).
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from made import MADE, MADEConfig, TrainConfig
from made.checkpoint import checkpoint_bytes
from made.cli import main
from made.data import load_data
from made.recipes import recipe

TRAIN = ["train", "--hidden", "8", "--device", "cpu", "--quiet"]
DEEP = "config.json cannot be read as a run configuration (nested too deeply)"


def _cli(argv: list, capsys) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    return code, capsys.readouterr().err


def _one_line(code: int, err: str, *parts: str) -> None:
    """Refused with status 2 in one line that holds every part, no traceback."""
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err, err
    for part in parts:
        assert part in err, err


def _tree(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


@pytest.fixture
def run(tmp_path, capsys):
    """A trained run (one epoch, 6 binary features) and its data."""
    np.save(tmp_path / "data.npy", np.random.default_rng(0).integers(0, 2, (60, 6)))
    code, err = _cli([*TRAIN, "--data", tmp_path / "data.npy", "--epochs", "1", "--out",
                      tmp_path / "run"], capsys)  # fmt: skip
    assert code == 0, err
    return tmp_path / "run"


# ------------------------------------------------------------- 1. every write is atomic
def test_pictures_are_replaced_never_written_through_a_link(run, tmp_path, capsys):
    """A user's file linked as run/samples.png, and a hard-linked backup of loss.png, keep
    their contents when a resume rewrites the pictures."""
    mine = tmp_path / "mine.txt"
    mine.write_text("the user's own file\n")
    (run / "samples.png").unlink()
    (run / "samples.png").symlink_to(mine)
    backup = tmp_path / "backup"
    backup.mkdir()
    os.link(run / "loss.png", backup / "loss.png")
    before = (backup / "loss.png").read_bytes()
    code, err = _cli([*TRAIN, "--out", run, "--resume", "--epochs", "2"], capsys)
    assert code == 0, err
    assert mine.read_text() == "the user's own file\n"
    assert (backup / "loss.png").read_bytes() == before
    assert not (run / "samples.png").is_symlink()
    assert (run / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # an --out that is a link to a user's file: the link is replaced, the file kept
    link = tmp_path / "link.png"
    link.symlink_to(mine)
    code, err = _cli(["sample", run, "--out", link, "--device", "cpu", "-n", "4"], capsys)
    assert code == 0, err
    assert mine.read_text() == "the user's own file\n"


def test_a_picture_cut_short_by_a_file_size_limit_leaves_the_old_file(run, tmp_path):
    """An existing picture given as --out, with a 5 KB file-size limit: the write fails and
    the file keeps every byte (it was cut to 5 KB when pictures were written in place)."""
    keep = tmp_path / "keep.png"
    original = bytes(range(256)) * 64  # 16 KB the user wants kept
    keep.write_bytes(original)
    script = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (5000, 5000))
        from made.cli import main
        sys.exit(main(["sample", {str(run)!r}, "--out", {str(keep)!r}, "-n", "100",
                       "--device", "cpu"]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "File too large" in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert keep.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# ------------------------------------------------- 2. limits on what made reads back
def test_a_crafted_config_json_is_refused_by_the_settings_own_limits(run, capsys):
    """config.json asking for 5,000 masks (the command line allows 1,000): --resume is
    refused by MADEConfig's limit, in one line, before any mask is built."""
    record = json.loads((run / "config.json").read_text())
    record["model"]["num_masks"] = 5000
    (run / "config.json").write_text(json.dumps(record))
    code, err = _cli(["train", "--out", run, "--resume", "--device", "cpu"], capsys)
    _one_line(code, err, "config.json", "num_masks must be an int in 1..1,000; got 5000")


def test_a_crafted_checkpoint_is_refused_before_its_model_is_allocated(run, tmp_path, capsys):
    """A checkpoint with a valid digest (anyone can compute one) asking for 300 million
    weights is refused on `made eval` by the model's total-size limit."""
    payload = torch.load(run / "best.pt", weights_only=True)
    payload.pop("sha256")
    payload["model_config"]["hidden_sizes"] = [100_000, 3_000]
    crafted = tmp_path / "crafted.pt"
    crafted.write_bytes(checkpoint_bytes(payload))
    code, err = _cli(["eval", crafted, "--data", run.parent / "data.npy", "--device", "cpu"],
                     capsys)  # fmt: skip
    _one_line(code, err, "crafted.pt is not a usable made checkpoint",
              "more than the 268,435,456 made builds")  # fmt: skip


def test_the_total_size_is_checked_for_every_front_door(tmp_path, capsys):
    """Layers within the per-layer cap that multiply to gigabytes: the command line, Python
    and the scikit-learn estimator get the same refusal, before anything is allocated."""
    np.save(tmp_path / "d.npy", np.zeros((40, 6), dtype=int))
    code, err = _cli([*TRAIN[:1], "--data", tmp_path / "d.npy", "--hidden", "20000,20000",
                      "--out", tmp_path / "big", "--device", "cpu"], capsys)  # fmt: skip
    _one_line(code, err, "this model would have 400,")
    assert not (tmp_path / "big").exists()
    with pytest.raises(ValueError, match="more than the 268,435,456 made builds"):
        MADE(784, [20_000, 20_000])
    code, err = _cli([*TRAIN[:1], "--hidden", "", "--out", tmp_path / "o"], capsys)
    assert (
        code == 2 and "argument --hidden: expected one or more comma-separated layer sizes" in err
    )
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match="num_masks must be an int in 1..1,000"):
        MADEConfig(784, [8], num_masks=10**9)
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    with pytest.raises(ValueError, match="more than the 268,435,456 made builds"):
        MADEDensity(hidden_sizes=(20_000, 20_000)).fit(np.zeros((20, 3)))


# ------------------------------------------- 3. nothing cleared before everything is checked
@pytest.mark.parametrize(
    "options",
    [
        ["--batch-size", "99999999999999999999"],
        ["--hidden", "20000,20000"],
        ["--masks", "4", "--hidden-degrees", "equal", "--no-order-agnostic"],
        ["--conditional"],
        ["--column-type", "a=real"],
        ["--time-limit", "1e308"],
    ],
    ids=[
        "overflowing batch",
        "too large",
        "identical masks",
        "no labels",
        "not a table",
        "infinite time",
    ],  # fmt: skip
)
def test_overwrite_clears_nothing_when_an_option_is_bad(run, options, capsys):
    before = _tree(run)
    code, err = _cli([*TRAIN[:1], "--data", run.parent / "data.npy", "--out", run,
                      "--overwrite", "--device", "cpu", *options], capsys)  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "internal error" not in err, err
    assert _tree(run) == before


# ----------------------------------------------------- 4. damaged files get one line
@pytest.mark.parametrize(
    "lock",
    [b"[1]", b'"str"', b'{"pid": null}', b'{"pid": 1180591620717411303424, "host": "h"}',
     b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe not text", b'{"pid": 0, "host": "h"}'],
    ids=["list", "string", "null pid", "2^70 pid", "deep", "bytes", "pid 0"],
)  # fmt: skip
def test_a_damaged_lock_is_one_line(run, lock, capsys):
    (run / "made-run.lock").write_bytes(lock)
    code, err = _cli([*TRAIN, "--data", run.parent / "data.npy", "--out", run, "--overwrite",
                      "--epochs", "1"], capsys)  # fmt: skip
    _one_line(code, err, "made-run.lock is damaged")


@pytest.mark.parametrize("name", ["config.json", "made-run.json"])
def test_json_nested_too_deeply_is_one_line(run, name, capsys):
    (run / name).write_text("[" * 100_000 + "]" * 100_000)
    code, err = _cli(["train", "--out", run, "--resume", "--device", "cpu"], capsys)
    _one_line(code, err, name)
    if name == "config.json":
        code, err = _cli(["eval", run, "--device", "cpu"], capsys)
        _one_line(code, err, DEEP)


def test_a_run_of_an_unknown_format_version_is_refused(run, capsys):
    marker = json.loads((run / "made-run.json").read_text())
    (run / "made-run.json").write_text(json.dumps({**marker, "version": 99}))
    code, err = _cli(["train", "--out", run, "--resume", "--epochs", "2", "--device", "cpu"],
                     capsys)  # fmt: skip
    _one_line(code, err, "was written by another version of made (run format 99")
    code, err = _cli([*TRAIN, "--data", run.parent / "data.npy", "--out", run, "--overwrite"],
                     capsys)  # fmt: skip
    _one_line(code, err, "was written by another version of made")


def test_a_csv_cell_over_the_field_limit_is_one_line(tmp_path, capsys):
    (tmp_path / "long.csv").write_text("a,b\n" + "x" * 200_000 + ",1\n" + "y,2\n" * 20)
    code, err = _cli([*TRAIN, "--data", tmp_path / "long.csv", "--out", tmp_path / "o"], capsys)
    _one_line(code, err, "long.csv: not a readable CSV file (field larger than field limit")


def _png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` grey pixels (its data is a stub)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))  # fmt: skip

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))  # fmt: skip


@pytest.mark.parametrize("side", [30_000, 3_000], ids=["decompression bomb", "over made's"])
def test_an_image_too_large_is_refused_from_its_header(tmp_path, side, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "huge.png").write_bytes(_png(side, side))
    code, err = _cli([*TRAIN, "--data", folder, "--out", tmp_path / "o"], capsys)
    _one_line(code, err, "huge.png")


def test_arrays_that_declare_more_than_memory_are_refused_before_they_expand(tmp_path, capsys):
    """A .npz member and a gzipped IDX file whose headers claim a terabyte: refused from the
    header, before anything is decompressed (zip bombs)."""
    import gzip
    import zipfile

    header = {"descr": "|u1", "fortran_order": False, "shape": (10**12,)}
    member = tmp_path / "bomb.npy"
    with open(member, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 1024)
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w") as archive:
        archive.write(member, "train.npy")
    with gzip.open(tmp_path / "bomb-idx3-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 2]) + (2**31).to_bytes(4, "big") * 2 + b"\0" * 1024)
    for name in ("bomb.npz", "bomb-idx3-ubyte.gz"):
        code, err = _cli([*TRAIN, "--data", tmp_path / name, "--out", tmp_path / "o"], capsys)
        _one_line(code, err, name, "more than half of this machine's memory")


def test_read_json_refuses_what_it_cannot_read(tmp_path):
    from made.fileio import DamagedFileError, read_json

    for content in [b"[" * 50_000, b"\xff", b"{", b" " * (17 << 20)]:
        path = tmp_path / "x.json"
        path.write_bytes(content)
        with pytest.raises(DamagedFileError, match="x.json"):
            read_json(path)


# ------------------------------------------------------------- 5. data read as meant
def test_16_bit_pngs_are_read_on_their_own_scale(tmp_path):
    from PIL import Image

    folder = tmp_path / "deep"
    folder.mkdir()
    levels = np.array([[0, 1000, 30000], [34000, 60000, 65535]], dtype=np.uint16)
    for i in range(12):
        Image.fromarray(np.roll(levels, i, axis=1)).save(folder / f"{i:02d}.png")
    assert Image.open(folder / "00.png").mode.startswith("I;16")
    data = load_data(str(folder))
    first = data.original["all"][0, 0]
    # thresholded at half of 65535: 1000 and 30000 are dark (they read as 255 before)
    assert first.tolist() == [[0, 0, 0], [1, 1, 1]]


def test_reading_a_wide_table_stays_within_a_small_multiple_of_it(tmp_path):
    """30 rows x 2,500 binary columns: reading holds the cells, one float64 copy of the
    table per split and the schema (each column's statistics, shares for new values
    included, in a second copy while they are computed), nothing more."""
    path = tmp_path / "wide.csv"
    x = np.random.default_rng(0).integers(0, 2, (30, 2_500))
    np.savetxt(path, x, fmt="%d", delimiter=",")
    # what reading imports on first use (numpy.ma) counted once, not by whichever test ran
    # first in this process: the measure is of the table
    warm = tmp_path / "warm.csv"
    np.savetxt(warm, x[:, :3], fmt="%d", delimiter=",")
    load_data(str(warm))
    tracemalloc.start()
    try:
        data = load_data(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data.shape == (2_500,)
    assert peak < 30 * path.stat().st_size, peak  # 4.1 MB for this 0.15 MB file


def test_a_wide_table_gets_no_direct_connections_that_outgrow_the_network():
    """The auto recipe for 24 training rows of 10,000 columns: direct connections would be
    10^8 weights (5.7 GB to train) against 10^7 in the hidden layers; they are left out."""
    chosen = recipe("auto", 24, 10_000)
    assert chosen.model["direct_connections"] is False
    assert "100,000,000 direct weights" in chosen.reasons["direct_connections"]
    cfg = MADEConfig(10_000, chosen.model["hidden_sizes"], direct_connections=False)
    assert cfg.num_parameters < 11_000_000
    assert recipe("auto", 50_000, 784).model["direct_connections"] is True


def test_numbers_in_an_object_array_are_numbers():
    pytest.importorskip("sklearn")
    pd = pytest.importorskip("pandas")
    from made.sklearn import MADEDensity

    rng = np.random.default_rng(0)
    rows = np.empty((60, 2), dtype=object)
    rows[:, 0] = [float(v) for v in rng.normal(size=60)]
    rows[:, 1] = [int(v) for v in rng.integers(0, 50, 60)]
    density = MADEDensity(hidden_sizes=(8,), n_models=1, max_epochs=2, random_state=0)
    density.fit(rows)
    assert [c.kind for c in density.schema_.columns] == ["real", "real"]
    unseen = np.array([[0.123456, 37]], dtype=object)
    assert np.isfinite(density.score_samples(unseen)).all()
    frame = pd.DataFrame({"a": pd.Series(list(rows[:, 0]), dtype=object)})
    density = MADEDensity(hidden_sizes=(8,), n_models=1, max_epochs=2, random_state=0).fit(frame)
    assert density.schema_.columns[0].kind == "real"


# ------------------------------------------------------------------ 6. messages that help
def test_the_resume_command_is_shell_quoted(tmp_path):
    """A run in a folder whose name has a space and a quote, stopped by SIGTERM after its
    first epoch: the command it prints pastes into a shell as it is."""
    out = tmp_path / "my run's dir"
    np.save(tmp_path / "d.npy", np.random.default_rng(0).integers(0, 2, (200, 6)))
    cmd = [sys.executable, "-m", "made", "train", "--data", str(tmp_path / "d.npy"), "--hidden",
           "8", "--epochs", "100000", "--recipe", "reference", "--out", str(out), "--device",
           "cpu"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:  # wait for an epoch to be saved, however fast the machine
        if line.startswith("epoch"):
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "continue with: " in err, err
    command = err.strip().split("continue with: ", 1)[1]
    assert command == f"made train --out '{tmp_path}/my run'\"'\"'s dir' --resume"
    import shlex

    assert shlex.split(command)[3] == str(out)


def test_a_run_that_fails_in_its_first_epoch_names_no_missing_checkpoint(tmp_path, capsys):
    np.save(tmp_path / "d.npy", np.random.default_rng(0).integers(0, 2, (60, 6)))
    code, err = _cli(["train", "--data", tmp_path / "d.npy", "--hidden", "8", "--lr", "1e308",
                      "--out", tmp_path / "o", "--device", "cpu", "--quiet", "--batch-size",
                      "16"], capsys)  # fmt: skip
    assert code == 1 and "epoch 1, step 2" in err, err  # the loss is NaN before any checkpoint
    assert "checkpoint.pt" not in err and "nothing to resume" in err


def test_temporary_files_a_kill_left_are_removed_at_the_next_start(run, capsys):
    stale = [run / ".checkpoint.pt.k1ll3d00.tmp", run / ".best.pt.abcd1234.tmp"]
    for path in stale:
        path.write_bytes(b"\0" * 4096)
    theirs = run / ".notes.txt.abcd1234.tmp"  # not made's: kept
    theirs.write_text("mine")
    code, err = _cli([*TRAIN, "--out", run, "--resume", "--epochs", "2"], capsys)
    assert code == 0, err
    assert not any(p.exists() for p in stale)
    assert theirs.read_text() == "mine"


def test_cuda_without_cuda_is_one_line_for_the_estimator():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    message = "device='cuda' was asked for but this machine has no CUDA device"
    with pytest.raises(ValueError) as info:
        MADEDensity(device="cuda").fit(np.zeros((20, 3)))
    assert str(info.value) == message


def test_an_empty_batch_has_an_empty_log_prob():
    from made import MADEDistribution

    model = MADE(4, [8])
    dist = MADEDistribution(model)
    assert dist.log_prob(torch.zeros(0, 4, dtype=torch.long)).shape == (0,)
    assert dist.log_prob(torch.zeros(3, 0, 4, dtype=torch.long)).shape == (3, 0)
    conditional = MADEDistribution(MADE(4, [8], context_size=2), torch.zeros(5, 2))
    assert conditional.log_prob(torch.zeros(0, 5, 4, dtype=torch.long)).shape == (0, 5)
    with pytest.raises(ValueError):
        dist.log_prob(torch.zeros(0, 3, dtype=torch.long))  # the wrong event shape


def test_train_config_limits_match_the_command_line():
    with pytest.raises(ValueError, match="batch_size must be an int in 1..2,147,483,647"):
        TrainConfig(batch_size=99999999999999999999)


def test_the_docs_table_shows_messages_these_tests_assert():
    docs = Path(__file__).resolve().parents[1] / "docs" / "bad-input.md"
    section = docs.read_text().split("## Damaged, crafted and hostile files", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    source = Path(__file__).read_text()
    assert len(rows) >= 10
    for row in rows:
        message = row.rstrip(" |").rsplit("| `", 1)[1].rstrip("`")
        assert message in source, message
