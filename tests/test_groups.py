"""One-hot groups (made.data.groups): binary columns that are one variable, found with
evidence, read as one category, and the density over the bits still exact."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from made import MADE
from made.cli import main
from made.data import load_data
from made.data.groups import MIN_EVIDENCE, OneHotGroups, find_groups


def _coded(codes: np.ndarray, width: int) -> np.ndarray:
    """Categories 0..width as ``width`` bits, the last category as all zeros (a nucleotide's
    T as 000)."""
    return np.eye(width + 1, dtype=np.int64)[codes][:, :width]


def _table(n: int, seed: int = 0) -> np.ndarray:
    """Two groups (3 bits, 4 values; 2 bits, 3 values) between lone bits, the second group
    depending on the first."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, n)
    b = np.where(rng.random(n) < 0.8, a % 3, rng.integers(0, 3, n))
    lone = rng.integers(0, 2, (n, 2))
    return np.concatenate([lone[:, :1], _coded(a, 3), _coded(b, 2), lone[:, 1:]], axis=1)


def test_find_groups_finds_exactly_the_groups_a_table_has():
    groups = find_groups(_table(600))
    assert groups == OneHotGroups(7, ((1, 4), (4, 6)))
    assert groups.variables == [(0, 1), (1, 4), (4, 6), (6, 7)]
    assert groups.cardinalities == (2, 5, 4, 2) and groups.num_variables == 4


def test_bits_that_are_not_groups_are_left_alone():
    rng = np.random.default_rng(0)
    independent = (rng.random((5000, 40)) < 0.3).astype(np.int64)  # they meet by chance
    assert find_groups(independent) is None
    # two columns that never meet, but too rare for that to be evidence: 20 x 20 / 400 = 1
    rare = np.zeros((400, 2), dtype=np.int64)
    rare[:20, 0], rare[20:40, 1] = 1, 1
    assert 20 * 20 / 400 < MIN_EVIDENCE and find_groups(rare) is None
    rare[:] = 0
    rare[:200, 0], rare[200:, 1] = 1, 1  # common and never together: a group
    assert find_groups(rare) == OneHotGroups(2, ((0, 2),))


def test_data_too_large_to_search_is_left_as_bits(monkeypatch):
    import made.data.groups as groups

    monkeypatch.setattr(groups, "MAX_CELLS", 600 * 7 - 1)
    assert groups.find_groups(_table(600)) is None


def test_a_group_the_validation_rows_break_is_dropped():
    train = _table(600)
    valid = _table(100, seed=1)
    valid[0, 1:4] = 1  # two 1s in the first group
    assert find_groups(train, valid) == OneHotGroups(7, ((4, 6),))


def test_codes_are_a_bijection_on_every_pattern_and_other_is_spread_evenly():
    groups = OneHotGroups(5, ((0, 3),))
    every = np.array(list(itertools.product([0, 1], repeat=5)))
    codes = groups.encode(every)
    several = every[:, :3].sum(axis=1) > 1
    assert (codes[several, 0] == 4).all() and (codes[~several, 0] < 4).all()
    rng = np.random.default_rng(0)
    back = groups.decode(codes, rng)
    assert np.array_equal(back[~several], every[~several])  # exact where not "other"
    assert np.array_equal(back[:, 3:], every[:, 3:])
    assert (back[several, :3].sum(axis=1) > 1).all()
    # "other" drawn evenly over its 2**3 - 3 - 1 = 4 patterns
    drawn = groups.decode(np.tile([[4, 0, 0]], (4000, 1)), rng)[:, :3]
    counts = np.unique(drawn, axis=0, return_counts=True)[1]
    assert len(counts) == 4 and counts.min() > 850
    assert np.allclose(groups.log_other(codes), np.where(several, math.log(4), 0.0))
    assert OneHotGroups.from_dict(json.loads(json.dumps(groups.to_dict()))) == groups


def test_damaged_groups_are_refused():
    with pytest.raises(ValueError, match="ordered spans"):
        OneHotGroups.from_dict({"num_bits": 5, "spans": [[2, 4], [1, 3]]})
    with pytest.raises(ValueError, match="ordered spans"):
        OneHotGroups.from_dict({"num_bits": 5, "spans": [[0, 1]]})


def test_the_density_over_the_bits_sums_to_one_by_enumeration():
    """A model of the codes, each row's "other" patterns added: every one of the 2**7 bit
    rows has a probability, and they sum to one."""
    groups = find_groups(_table(600))
    model = MADE(groups.num_variables, [16], num_categories=groups.cardinalities, seed=3)
    with torch.no_grad():  # uneven outputs, "other" included
        for p in model.parameters():
            p.normal_(0, 1.0, generator=torch.Generator().manual_seed(1))
    every = np.array(list(itertools.product([0, 1], repeat=7)))
    with torch.no_grad():
        log_p = model.log_prob(torch.from_numpy(groups.encode(every))).double().numpy()
    log_p -= groups.log_other(groups.encode(every))
    assert math.isclose(np.exp(log_p).sum(), 1.0, rel_tol=1e-6)


def test_load_data_reads_groups_and_a_models_groups_read_new_rows_alike(tmp_path):
    bits = _table(900)
    np.savez(tmp_path / "t.npz", train_data=bits[:600], valid_data=bits[600:750],
             test_data=bits[750:])  # fmt: skip
    data = load_data(str(tmp_path / "t.npz"))
    assert data.groups == OneHotGroups(7, ((1, 4), (4, 6)))
    assert data.shape == (4,) and data.num_categories == (2, 5, 4, 2)
    assert data.source_dims == 7 and "2 one-hot groups" in data.notes[-1]
    assert np.array_equal(data.splits["train"], data.groups.encode(bits[:600]))
    for split in ("train", "valid", "test"):  # no row holds two 1s in a group
        assert not data.groups.log_other(data.splits[split]).any()
    off = load_data(str(tmp_path / "t.npz"), one_hot="off")
    assert off.groups is None and off.shape == (7,)
    new = bits[750:].copy()
    new[0, 1:4] = 1  # "other" in the first group: one of its 2**3 - 3 - 1 = 4 patterns
    np.save(tmp_path / "new.npy", new)
    again = load_data(str(tmp_path / "new.npy"), groups=data.groups)
    assert again.groups == data.groups
    assert np.isclose(again.groups.log_other(again.original["all"])[0], math.log(4))
    assert again.original["all"][0, 1] == 4  # its code: "other"
    np.save(tmp_path / "wide.npy", np.zeros((10, 8), dtype=np.int64))
    with pytest.raises(ValueError, match="one-hot groups"):
        load_data(str(tmp_path / "wide.npy"), groups=data.groups)


def test_images_are_not_grouped():
    data = load_data("bars-and-stripes")
    assert data.groups is None  # examples with a shape are not searched
    flat = data.splits["train"].reshape(len(data.splits["train"]), -1)
    assert find_groups(flat) is None  # nor are neighbouring pixels ever a group


def test_a_run_on_one_hot_bits_trains_on_groups_and_gives_back_bits(tmp_path, capsys):
    bits = _table(1200)
    np.savez(tmp_path / "t.npz", train_data=bits[:800], valid_data=bits[800:1000],
             test_data=bits[1000:])  # fmt: skip
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "t.npz"), "--epochs", "3", "--hidden", "16",
                 "--out", str(out), "--quiet"]) == 0  # fmt: skip
    config = json.loads((out / "config.json").read_text())
    assert config["groups"] == {"num_bits": 7, "spans": [[1, 4], [4, 6]]}
    assert config["model"]["num_categories"] == [2, 5, 4, 2]
    summary = json.loads((out / "summary.json").read_text())
    assert math.isclose(summary["test_bits_per_dim"],
                        summary["test_nll"] / (7 * math.log(2)))  # per bit  # fmt: skip
    # every bit row scored, rows of two 1s in a group included: the scores sum to one
    every = np.array(list(itertools.product([0, 1], repeat=7)))
    np.save(tmp_path / "every.npy", every)
    assert main(["score", str(out), "--data", str(tmp_path / "every.npy"),
                 "--out", str(tmp_path / "s.csv")]) == 0  # fmt: skip
    nll = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1)[:, 1]
    assert len(nll) == 128 and math.isclose(np.exp(-nll).sum(), 1.0, rel_tol=1e-4)
    # samples are bits, in the source's shape
    assert main(["sample", str(out), "-n", "500", "--out", str(tmp_path / "s.npy")]) == 0
    drawn = np.load(tmp_path / "s.npy")
    assert drawn.shape == (500, 7) and set(np.unique(drawn)) <= {0, 1}
    capsys.readouterr()
    assert main(["inpaint", str(out)]) == 2
    assert "one-hot groups" in capsys.readouterr().err
    assert main(["eval", str(out), "--data", str(tmp_path / "t.npz"), "--one-hot", "off"]) == 2
    assert "applies to a new run" in capsys.readouterr().err
