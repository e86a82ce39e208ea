"""Crashes, long runs and where files go: a run killed at random moments resumes to exactly the
uninterrupted result, its checkpoint is never corrupt, memory stays flat over many epochs, and
nothing is written outside the paths the user names."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from made import load_checkpoint

pytestmark = pytest.mark.slow

MADE_TRAIN = [sys.executable, "-m", "made", "train"]
COMMON = ["--data", "bars-and-stripes", "--hidden", "96", "--epochs", "8", "--batch-size", "32",
          "--masks", "2", "--device", "cpu", "--quiet"]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _epoch_lines(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    if not path.is_file():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]  # never torn
    return [line for line in lines if "valid_nll" in line]


def _kill_when(proc: subprocess.Popen, run: Path, epochs: int, rng: random.Random) -> bool:
    """Kill ``proc`` once ``run`` has ``epochs`` complete epochs, then a random part of an
    epoch later (measured from the run's own epoch times, so on any machine the kill lands
    inside the next epoch, not after the end). False if the process ended first."""
    while proc.poll() is None:
        lines = _epoch_lines(run)
        if len(lines) >= epochs:
            time.sleep(rng.uniform(0.0, 0.8) * lines[-1]["seconds"])
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    return False


def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_result(tmp_path):
    # The kills key on observed progress (epochs written), never on seconds: on a machine of
    # any speed, each lands before the run could have finished (8 epochs; the last kill comes
    # after epoch 6 at the latest).
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    subprocess.run([*MADE_TRAIN, *COMMON, "--out", str(whole)], check=True, env=_env(),
                   timeout=300)  # fmt: skip
    rng = random.Random(20261125)
    first = rng.randint(1, 3)
    targets = [0, first, rng.randint(first + 1, 6)]  # 0: at start-up, before any epoch
    kills = 0
    while True:
        has_checkpoint = (cut / "checkpoint.pt").is_file()
        argv = ([*MADE_TRAIN, "--out", str(cut), "--resume", "--device", "cpu", "--quiet"]
                if has_checkpoint else
                [*MADE_TRAIN, *COMMON, "--out", str(cut), "--overwrite"])  # fmt: skip
        proc = subprocess.Popen(argv, env=_env(), stderr=subprocess.PIPE, text=True)
        if kills < len(targets):
            if targets[kills] == 0:
                proc.send_signal(signal.SIGKILL)  # start-up: before any progress
                proc.wait()
            else:
                assert _kill_when(proc, cut, targets[kills], rng), proc.stderr.read()
            kills += 1
            # whatever the moment, what is on disk is whole: a loadable checkpoint (or none
            # yet) and a metrics file of complete lines
            if (cut / "checkpoint.pt").is_file():
                _, payload = load_checkpoint(cut / "checkpoint.pt")
                assert payload["epoch"] <= len(_epoch_lines(cut))
            continue
        code = proc.wait(timeout=300)
        assert code == 0, proc.stderr.read()
        break
    assert kills == 3
    a = torch.load(whole / "best.pt", weights_only=True)["model_state"]
    b = torch.load(cut / "best.pt", weights_only=True)["model_state"]
    for key, value in a.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b[key]), key  # bit for bit
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (whole, cut))
    assert sa["test_nll"] == sb["test_nll"] and sa["best_epoch"] == sb["best_epoch"]
    strip = ("seconds", "examples_per_second")
    ea = [{k: v for k, v in e.items() if k not in strip} for e in _epoch_lines(whole)]
    eb = [{k: v for k, v in e.items() if k not in strip} for e in _epoch_lines(cut)]
    assert ea == eb  # the same losses and validation NLLs, epoch by epoch


MEMORY_SCRIPT = """
import json, resource, sys, torch
from made import MADE, TrainConfig
from made.data import load_data
from made.train import fit
torch.set_num_threads(1)
data = load_data("bars-and-stripes")
model = MADE(data.shape, [64], num_masks=4, seed=0)
peaks = []
def on_epoch(record):
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
cfg = TrainConfig(epochs=60, batch_size=64, lr=1e-3, log_every=5)
fit(model, data.train[:1000], data.valid[:200], cfg, run_dir=sys.argv[1], on_epoch=on_epoch)
print(json.dumps(peaks))
"""


def test_memory_stays_flat_over_many_epochs(tmp_path):
    argv = [sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path / "run")]
    out = subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=300, check=True)
    peaks = json.loads(out.stdout)
    assert len(peaks) == 60
    growth_kib = peaks[-1] - peaks[1]
    # 60 epochs, each saving a checkpoint, logging steps and keeping its history: the peak
    # may not grow by more than a few MiB after the first epochs
    assert growth_kib < 8 * 1024, peaks


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_nothing_is_written_outside_the_paths_the_user_names(tmp_path):
    cwd, home, elsewhere = tmp_path / "cwd", tmp_path / "home", tmp_path / "elsewhere"
    for d in (cwd, home, elsewhere):
        d.mkdir()
    data = elsewhere / "data.npy"
    import numpy as np

    np.save(data, np.random.default_rng(0).integers(0, 2, (80, 4, 4)))  # small images
    env = {**_env(), "HOME": str(home), "MPLCONFIGDIR": str(home / "mpl"), "TMPDIR": str(home)}
    run = elsewhere / "run"

    before = data.read_bytes()
    commands = [
        ["train", "--data", str(data), "--hidden", "8", "--epochs", "2", "--out", str(run),
         "--device", "cpu", "--quiet"],
        ["eval", str(run), "--device", "cpu"],
        ["sample", str(run), "-n", "4", "--device", "cpu"],
        ["score", str(run), "--data", str(data), "--device", "cpu"],
        ["inpaint", str(run), "--data", str(data), "--region", "random", "-n", "2", "--device",
         "cpu"],
    ]  # fmt: skip
    # one interpreter runs the commands in turn, as `made ...` would (its start-up is torch's,
    # paid once), in its own working directory, home and temporary folder
    script = (
        "import json, sys\nfrom made.cli import main\n"
        "for argv in json.loads(sys.argv[1]):\n    assert main(argv) == 0, argv\n"
    )
    subprocess.run([sys.executable, "-c", script, json.dumps(commands)], cwd=cwd, env=env,
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    # a run's config names its data: later commands read that path, never write to it
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["source"] == str(data)
    assert _tree(cwd) == set()  # nothing in the working directory
    assert data.read_bytes() == before
    written = _tree(elsewhere)
    assert written == {"data.npy", *(f"run/{n}" for n in (
        "made-run.json", "config.json", "checkpoint.pt", "best.pt", "metrics.jsonl", "loss.png",
        "samples.png", "summary.json", "sampled.png", "scores.csv", "inpaint.png"))}  # fmt: skip
    # at most matplotlib's own font cache, in the folder the environment gives it
    assert all(p.startswith("mpl/") for p in _tree(home)), _tree(home)


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_an_interrupted_wait_for_the_checkpoint_writer_still_waits_for_it():
    """Ctrl-C or SIGTERM while the training thread waits for the last epoch's files: waited
    on again, the write must be done. ``Thread.join`` interrupted so left the writer looking
    finished 5 times in 20, and the run said "nothing to resume" before its checkpoint was
    on disk (a CI run caught it). Each trial's job signals the training thread once it sees
    that thread inside the wait, then goes on writing: the wait is interrupted while the job
    still runs, however fast the machine (keyed on observed progress, not on a timer)."""
    import threading

    from made.train import _Writer

    def waiting(ident: int) -> bool:  # the thread is inside _Writer.wait, at any depth
        frame = sys._current_frames().get(ident)
        while frame is not None:
            if frame.f_code is _Writer.wait.__code__:
                return True
            frame = frame.f_back
        return False

    class Stop(Exception):
        pass

    def stop(signum: int, frame: object) -> None:
        raise Stop()

    main = threading.main_thread().ident

    def job(done: list) -> None:
        while not waiting(main):
            time.sleep(0.001)
        signal.pthread_kill(main, signal.SIGUSR1)  # the training thread is told to stop...
        time.sleep(0.2)  # ...while this write goes on
        done.append(True)

    previous = signal.signal(signal.SIGUSR1, stop)
    try:
        for _ in range(12):
            writer, done = _Writer(), []
            try:
                writer.submit(lambda done=done: job(done))
                writer.wait()
            except Stop:
                pass
            writer.wait()  # as the training loop's handler does
            assert done, "the second wait returned while the write went on"
    finally:
        signal.signal(signal.SIGUSR1, previous)
