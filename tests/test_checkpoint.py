"""Checkpoints rebuild their model alone, load weights-only, and are written atomically."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from made import MADE, load_checkpoint, save_checkpoint
from made.fileio import atomic_write_bytes


def test_round_trip(tmp_path):
    model = MADE(
        (2, 3),
        [16],
        num_categories=[3, 2, 4, 2, 2, 5],
        num_masks=3,
        order_agnostic=True,
        direct_connections=True,
        context_size=2,
        seed=4,
    )
    model.set_mask(1)
    save_checkpoint(tmp_path / "m.pt", model, epoch=7)
    loaded, payload = load_checkpoint(tmp_path / "m.pt")
    assert payload["epoch"] == 7 and loaded.config == model.config and loaded.mask_index == 1
    x = torch.tensor([[0, 1, 3, 0, 1, 4], [2, 0, 0, 1, 1, 0]])
    ctx = torch.randn(2, 2)
    assert torch.equal(loaded.log_prob(x, ctx), model.log_prob(x, ctx))
    assert torch.equal(loaded.log_prob(x, ctx, ensemble=3), model.log_prob(x, ctx, ensemble=3))


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


def test_a_pickle_that_runs_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": "made-checkpoint-v1", "x": _Exploit()}, f, protocol=2)
    with pytest.raises(ValueError, match="could run code when loaded, so made refuses") as info:
        load_checkpoint(path)
    assert not (tmp_path / "pwned-by-checkpoint").exists()
    # our own message: never torch's advice to load it with weights_only=False
    assert "weights_only" not in str(info.value)


def test_other_files_are_refused(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a made checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="not a readable made checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    path = tmp_path / "c.bin"
    atomic_write_bytes(path, b"old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["c.bin"]


def _saved(tmp_path):
    model = MADE(6, [16], num_masks=2, seed=3)
    save_checkpoint(tmp_path / "m.pt", model, epoch=2, train_state={"step": 5, "t": torch.ones(3)})
    return tmp_path / "m.pt"


def test_a_truncated_checkpoint_is_refused(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    for keep in (len(data) // 2, len(data) - 30, 100):
        path.write_bytes(data[:keep])
        with pytest.raises(ValueError, match="truncated, damaged or not a checkpoint"):
            load_checkpoint(path)


@pytest.mark.parametrize("where", ["weight", "config", "extra", "nested tensor"])
def test_a_tampered_checkpoint_is_refused(tmp_path, where):
    path = _saved(tmp_path)
    load_checkpoint(path)  # intact: loads
    payload = torch.load(path, weights_only=True)
    if where == "weight":
        payload["model_state"]["net.hidden.0.weight"][0, 0] += 1e-3
    elif where == "config":
        payload["model_config"]["seed"] = 4
    elif where == "extra":
        payload["epoch"] = 3
    else:
        payload["train_state"]["t"][1] = 0.5
    torch.save(payload, path)
    with pytest.raises(ValueError, match="damaged or was modified"):
        load_checkpoint(path)


def test_flipped_bytes_are_refused_wherever_they_fall(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    for offset in range(0, len(data), max(1, len(data) // 25)):
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            load_checkpoint(path)
        except ValueError as exc:
            assert "checkpoint" in str(exc) or "modified" in str(exc)
        else:  # a byte no reader looks at (zip padding or a comment) may change harmlessly
            model, _ = load_checkpoint(path)
            reference, _ = load_checkpoint(_saved(tmp_path / "again"))
            for key, value in reference.state_dict().items():
                if isinstance(value, torch.Tensor):
                    assert torch.equal(model.state_dict()[key], value)
    path.write_bytes(bytes(data))
    load_checkpoint(path)


def test_a_failed_checkpoint_write_keeps_the_previous_good_one(tmp_path, monkeypatch):
    path = _saved(tmp_path)
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(path, MADE(6, [16], seed=9), epoch=3)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["m.pt"]
    assert load_checkpoint(path)[1]["epoch"] == 2


def test_a_float64_model_loads_back_in_float64(tmp_path):
    model = MADE(5, [8], num_categories=0, seed=0).double()
    save_checkpoint(tmp_path / "m.pt", model)
    loaded, _ = load_checkpoint(tmp_path / "m.pt")
    assert loaded.output.weight.dtype == torch.float64
    x = torch.randn(4, 5, dtype=torch.float64)
    assert torch.equal(loaded.log_prob(x), model.log_prob(x))  # bit for bit, not rounded


def test_a_checkpoint_from_before_the_network_module_loads(tmp_path):
    # checkpoints written before the masked network had a module of its own name its
    # weights hidden.0.weight, output.weight, ...; they load into today's model unchanged
    model = MADE(6, [8], direct_connections=True, context_size=2, seed=3)
    legacy = {k.removeprefix("net."): v for k, v in model.state_dict().items()}
    assert "hidden.0.weight" in legacy and "context_weight" in legacy
    fresh = MADE(6, [8], direct_connections=True, context_size=2, seed=4)
    fresh.load_state_dict(legacy)
    x, ctx = torch.randint(0, 2, (5, 6)), torch.randn(5, 2)
    assert torch.equal(fresh.log_prob(x, ctx), model.log_prob(x, ctx))


def test_written_files_get_the_mode_a_plain_open_gives(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "new.txt", b"x")
        assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        (tmp_path / "kept.txt").write_bytes(b"old")
        os.chmod(tmp_path / "kept.txt", 0o640)
        atomic_write_bytes(tmp_path / "kept.txt", b"new")
        assert (tmp_path / "kept.txt").stat().st_mode & 0o777 == 0o640  # its own mode kept
    finally:
        os.umask(old)
