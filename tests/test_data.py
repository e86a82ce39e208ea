"""made.data: Shapes, named sets, every file loader, validation and the restricted unpickler.

Every loader is exercised on small files the tests write themselves."""

from __future__ import annotations

import gzip
import itertools
import math
import os
import pickle

import numpy as np
import pytest
import torch

from made.data import (
    NAMED_SETS,
    SHAPE_CLASSES,
    DataError,
    UnsafePickleError,
    bars_and_stripes,
    bars_and_stripes_entropy,
    generate_shapes,
    load_data,
    read_npy,
    safe_load_pickle,
)

# -------------------------------------------------------------------------------- shapes


def test_shapes_default_sizes_labels_and_values():
    data = load_data("shapes")
    n_train = len(data.splits["train"]) + len(data.splits["valid"])
    assert (n_train, len(data.splits["test"])) == (10_479, 4_491)
    assert data.shape == (1, 20, 20) and data.num_categories == 2
    assert data.classes == SHAPE_CLASSES and len(SHAPE_CLASSES) == 9
    for split in ("train", "valid", "test"):
        x = data.splits[split]
        assert x.dtype == np.uint8 and set(np.unique(x)) == {0, 1}
        assert len(data.labels[split]) == len(x)
        assert x.reshape(len(x), -1).sum(1).min() > 10  # every image holds a shape


def test_train_rows_keeps_a_seeded_subset_of_the_training_split_and_the_rest_as_it_was():
    whole = load_data("shapes")
    part = load_data("shapes", train_rows=500)
    assert len(part.splits["train"]) == 500
    for split in ("valid", "test"):  # scored on the same rows as the whole set
        assert np.array_equal(part.splits[split], whole.splits[split])

    # every row is a training row of the whole set, with its own label
    def pairs(data: object) -> list:
        return [(x.tobytes(), y) for x, y in zip(data.splits["train"], data.labels["train"],
                                                 strict=True)]  # fmt: skip

    assert set(pairs(part)) <= set(pairs(whole))
    assert "training on 500 of the 9,431 training rows" in part.notes[-1]
    again = load_data("shapes", train_rows=500)
    assert np.array_equal(again.splits["train"], part.splits["train"])  # seeded
    other = load_data("shapes", train_rows=500, seed=1)
    assert not np.array_equal(other.splits["train"], part.splits["train"])
    assert len(load_data("bars-and-stripes", train_rows=10**6).splits["train"]) == 5_000
    with pytest.raises(ValueError, match="train_rows"):
        load_data("shapes", train_rows=0)


def test_shapes_are_deterministic_and_balanced():
    a, ya = generate_shapes(900, seed=3)
    b, yb = generate_shapes(900, seed=3)
    c, _ = generate_shapes(900, seed=4)
    assert np.array_equal(a, b) and np.array_equal(ya, yb) and not np.array_equal(a, c)
    counts = np.bincount(generate_shapes(10_479)[1], minlength=9)
    assert counts.max() - counts.min() <= 1


def test_shape_classes_look_like_their_names():
    x, y = generate_shapes(1800, seed=0)
    img = x[:, 0].astype(float)
    rows = np.arange(20)[None, :, None]
    cols = np.arange(20)[None, None, :]

    def mean_centroid(k):
        sel = img[y == k]
        mass = sel.sum((1, 2))
        return (
            ((sel * rows).sum((1, 2)) / mass).mean(),
            ((sel * cols).sum((1, 2)) / mass).mean(),
        )

    def centroid_offsets(k):
        """Per image: mass centroid minus bounding-box centre, as (rows, cols)."""
        out = []
        for s in img[y == k]:
            hits = np.argwhere(s)
            out.append(hits.mean(0) - (hits.min(0) + hits.max(0)) / 2)
        return np.array(out)

    ids = {name: i for i, name in enumerate(SHAPE_CLASSES)}
    # a triangle's mass lies towards its base, away from its apex (rows grow downwards)
    expected = {"triangle-up": (0, 1), "triangle-down": (0, -1),
                "triangle-right": (1, -1), "triangle-left": (1, 1)}  # fmt: skip
    for name, (axis, sign) in expected.items():
        offsets = centroid_offsets(ids[name])[:, axis] * sign
        assert (offsets > 0).mean() > 0.9, name
    for name in ("circle", "square", "diamond", "hexagon", "star"):
        r, c = mean_centroid(ids[name])
        assert abs(r - 9.5) < 0.6 and abs(c - 9.5) < 0.6  # roughly centred

    # a circle fills about pi/4 of its bounding box, a star much less
    def fill(k):
        sel = img[y == k]
        hits = [np.argwhere(s) for s in sel]
        boxes = [(h.max(0) - h.min(0) + 1).prod() for h in hits]
        return float(np.mean(sel.sum((1, 2)) / np.array(boxes)))

    assert 0.7 < fill(ids["circle"]) < 0.86
    assert fill(ids["star"]) < 0.55 and fill(ids["square"]) > fill(ids["diamond"])


def _write_shapes_pickle(path, n_train=30, n_test=12, protocol=2):
    x, _ = generate_shapes(n_train + n_test, seed=1)
    grey = (np.transpose(x, (0, 2, 3, 1)) * 255).astype(np.uint8)  # (N, 20, 20, 1), 0/255
    with open(path, "wb") as f:
        pickle.dump({"train": grey[:n_train], "test": grey[n_train:]}, f, protocol=protocol)
    return x


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_original_shapes_pickle_is_read(tmp_path, protocol):
    x = _write_shapes_pickle(tmp_path / "shapes.pkl", protocol=protocol)
    data = load_data(str(tmp_path / "shapes.pkl"))
    assert data.shape == (1, 20, 20) and data.num_categories == 2
    assert len(data.splits["train"]) + len(data.splits["valid"]) == 30
    assert np.array_equal(data.splits["test"], x[30:])


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-data",))


def test_a_pickle_that_runs_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"train": _Exploit(), "test": np.zeros((1, 20, 20, 1))}))
    with pytest.raises(UnsafePickleError, match="refused to load (posix|os|nt).system"):
        load_data(str(path))
    assert not (tmp_path / "pwned-by-data").exists()
    path.write_bytes(pickle.dumps(eval))  # a bare builtin is refused too
    with pytest.raises(UnsafePickleError, match="builtins.eval"):
        safe_load_pickle(path)
    path.write_bytes(b"\x80\x02}q\x00(X")  # truncated
    with pytest.raises(ValueError, match="not a readable pickle"):
        safe_load_pickle(path)


# -------------------------------------------------------------------------- generated sets


def test_bars_and_stripes_images_and_entropy():
    x = bars_and_stripes(500, 6, torch.Generator().manual_seed(0))
    assert x.shape == (500, 1, 6, 6)
    for img in x[:, 0]:
        assert bool((img == img[:, :1]).all()) or bool((img == img[:1, :]).all())


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_bars_and_stripes_entropy_matches_enumeration(size):
    probs: dict[tuple, float] = {}
    for rows in (True, False):
        for lines in itertools.product((0, 1), repeat=size):
            line = torch.tensor(lines)
            img = line[:, None].expand(size, size) if rows else line[None, :].expand(size, size)
            key = tuple(img.flatten().tolist())
            probs[key] = probs.get(key, 0.0) + 0.5 * 2.0**-size
    exact = -sum(p * math.log(p) for p in probs.values())
    assert bars_and_stripes_entropy(size) == pytest.approx(exact, rel=1e-12)


# ------------------------------------------------------------------------ benchmark formats


def test_binarized_mnist_npz_by_name_and_path(tmp_path, monkeypatch):
    g = np.random.default_rng(0)
    parts = {f"{s}_data": g.integers(0, 2, (n, 784), dtype=np.uint8)
             for s, n in (("train", 20), ("valid", 5), ("test", 6))}  # fmt: skip
    np.savez(tmp_path / "binarized_mnist.npz", **parts)
    monkeypatch.setenv("MADE_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    data = load_data("binarized-mnist")
    assert data.shape == (1, 28, 28) and data.notes == []
    assert np.array_equal(data.splits["valid"].reshape(5, 784), parts["valid_data"])
    by_path = load_data(str(tmp_path / "binarized_mnist.npz"))
    assert by_path.shape == (784,)
    assert np.array_equal(by_path.splits["test"], parts["test_data"])


def test_binarized_mnist_missing_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("MADE_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert NAMED_SETS["binarized-mnist"].status().startswith("missing")
    with pytest.raises(DataError, match=r"binarized_mnist.npz .*pass its path.*\$MADE_DATA_DIR"):
        load_data("binarized-mnist")


def test_amat_files(tmp_path):
    g = np.random.default_rng(1)
    arrays = {}
    for split, n in (("train", 7), ("valid", 3), ("test", 4)):
        arrays[split] = g.integers(0, 2, (n, 12))
        lines = "\n".join(" ".join(str(v) for v in row) for row in arrays[split])
        (tmp_path / f"binarized_mnist_{split}.amat").write_text(lines + "\n")
    data = load_data(str(tmp_path))
    for split in arrays:
        assert np.array_equal(data.splits[split], arrays[split])
    single = load_data(str(tmp_path / "binarized_mnist_train.amat"))
    assert sum(len(v) for v in single.splits.values()) == 7
    (tmp_path / "bad.amat").write_text("0 1 1\n0 1\n")
    with pytest.raises(DataError, match="bad.amat: line 2 has 2 values, expected 3"):
        load_data(str(tmp_path / "bad.amat"))


def _write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_fashion(tmp_path, monkeypatch):
    """Tiny Fashion-MNIST-format files; each image's label is written into pixel (0, 0)."""
    g = np.random.default_rng(2)
    for prefix, n in (("train", 50), ("t10k", 20)):
        images = g.integers(0, 256, (n, 28, 28))
        labels = g.integers(0, 10, n)
        images[:, 0, 0] = labels * 20
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    monkeypatch.setenv("MADE_FASHION_MNIST_DIR", str(tmp_path))
    return tmp_path


def test_fashion_mnist_threshold_split_and_labels(fake_fashion):
    data = load_data("fashion-mnist", binarize="none")
    assert data.shape == (1, 28, 28) and data.num_categories == 256
    assert (len(data.splits["train"]), len(data.splits["valid"]), len(data.splits["test"])) == (
        45,
        5,
        20,
    )
    for split in ("train", "valid", "test"):  # labels follow their images through the carving
        assert np.array_equal(data.splits[split][:, 0, 0, 0], data.labels[split] * 20)
    binary = load_data("fashion-mnist")
    assert binary.num_categories == 2
    assert np.array_equal(binary.splits["test"], (data.splits["test"] > 127.5).astype(np.uint8))
    assert "binarised by threshold at 0.5 of the range 0..255" in binary.notes


def test_fashion_mnist_stochastic_binarisation_is_seeded(fake_fashion):
    a = load_data("fashion-mnist", binarize="stochastic", seed=1)
    b = load_data("fashion-mnist", binarize="stochastic", seed=1)
    grey = load_data("fashion-mnist", binarize="none", seed=1)
    assert np.array_equal(a.splits["train"], b.splits["train"])
    # P(1) = grey / 255: the empirical mean tracks it
    assert abs(a.splits["train"].mean() - grey.splits["train"].mean() / 255) < 0.01


def test_fashion_mnist_missing_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("MADE_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_data("fashion-mnist")


def test_idx_errors(tmp_path):
    (tmp_path / "x-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x02")
    with pytest.raises(DataError, match="truncated IDX header"):
        load_data(str(tmp_path / "x-idx3-ubyte"))
    (tmp_path / "y-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(DataError, match="IDX body has 2 bytes, expected 5"):
        load_data(str(tmp_path / "y-idx1-ubyte"))


def test_digits():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    data = load_data("digits")
    assert data.shape == (1, 8, 8) and data.num_categories == 2
    assert sum(len(v) for v in data.splits.values()) == 1797
    everything = np.concatenate([data.splits[s] for s in ("train", "valid", "test")])
    expected = (load_digits().images > 8).astype(np.uint8)[:, None]
    # the same images, binarised at half the 0..16 range, in some order
    assert sorted(map(bytes, everything)) == sorted(map(bytes, expected))


# ----------------------------------------------------------------------------- user files


def test_npy_is_memory_mapped_and_split(tmp_path):
    x = np.random.default_rng(3).integers(0, 3, (200, 5)).astype(np.int16)
    np.save(tmp_path / "x.npy", x)
    assert isinstance(read_npy(tmp_path / "x.npy"), np.memmap)
    data = load_data(str(tmp_path / "x.npy"), seed=4)
    sizes = {s: len(v) for s, v in data.splits.items()}
    assert sizes == {"train": 162, "valid": 18, "test": 20}
    rows = sorted(map(bytes, np.concatenate(list(data.splits.values()))))
    assert rows == sorted(map(bytes, x))  # a partition: nothing lost, nothing repeated
    assert data.num_categories == 3
    assert "inferred 3 categories for each of the 5 features" in data.notes
    again = load_data(str(tmp_path / "x.npy"), seed=4)
    assert np.array_equal(again.splits["test"], data.splits["test"])


def test_npz_layouts(tmp_path):
    g = np.random.default_rng(5)
    a = {k: g.integers(0, 2, (n, 4)) for k, n in (("train", 30), ("valid", 5), ("test", 6))}
    np.savez(tmp_path / "a.npz", **a, train_labels=np.arange(30))
    data = load_data(str(tmp_path / "a.npz"))
    assert np.array_equal(data.splits["valid"], a["valid"]) and data.notes[-1].startswith(
        "inferred"
    )
    assert np.array_equal(data.labels["train"], np.arange(30))
    np.savez(tmp_path / "one.npz", anything=g.integers(0, 2, (40, 4)))
    assert sum(len(v) for v in load_data(str(tmp_path / "one.npz")).splits.values()) == 40
    np.savez(tmp_path / "two.npz", a=np.zeros((3, 2)), b=np.zeros((3, 2)))
    with pytest.raises(DataError, match="holds \\['a', 'b'\\]; expected keys train/valid/test"):
        load_data(str(tmp_path / "two.npz"))
    np.savez(tmp_path / "mismatch.npz", train=np.zeros((3, 4)), test=np.zeros((3, 5)))
    with pytest.raises(
        DataError, match="split 'test': examples have shape \\(5,\\), expected \\(4,\\)"
    ):
        load_data(str(tmp_path / "mismatch.npz"))


def test_csv_with_and_without_header(tmp_path):
    rows = [[0, 1, 2], [1, 0, 0], [2, 1, 1], [0, 1, 3]] * 10
    body = "\n".join(",".join(map(str, r)) for r in rows)
    (tmp_path / "plain.csv").write_text(body + "\n")
    (tmp_path / "named.csv").write_text("colour,flag,size\n" + body + "\n")
    plain = load_data(str(tmp_path / "plain.csv"))
    named = load_data(str(tmp_path / "named.csv"))
    assert plain.num_categories == named.num_categories == (3, 2, 4)
    assert named.columns == ("colour", "flag", "size")
    shown = "column types (categories, numbers held discrete, or real): colour=3 numbers, "
    assert shown + "flag=2, size=4 numbers" in named.notes
    declared = load_data(str(tmp_path / "named.csv"), num_categories=(5, 2, 4))
    assert declared.num_categories == (5, 2, 4)
    # declared categories make every column an integer category, as the file must then hold
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n1,x\n")
    with pytest.raises(DataError, match="bad.csv: line 3, b is 'x'; expected an integer"):
        load_data(str(tmp_path / "bad.csv"), num_categories=3)
    (tmp_path / "half.csv").write_text("a,b\n1,2\n1,0.5\n")
    with pytest.raises(DataError, match=r"half.csv: line 3, b is 0.5; expected an integer"):
        load_data(str(tmp_path / "half.csv"), num_categories=3)
    # inferred, they are a text category and a real column (tests/test_table.py has more)
    (tmp_path / "text.csv").write_text("a,b\n" + "1,2\n1,x\n" * 3)
    (tmp_path / "real.csv").write_text("a,b\n" + "1,2\n1,0.5\n1,1.75\n" * 3)  # 3 values, 9 rows
    assert load_data(str(tmp_path / "text.csv")).num_categories == (2, 2)
    assert load_data(str(tmp_path / "real.csv")).num_categories == (2, 0)
    with pytest.raises(
        DataError, match=r"named.csv: line 4, colour is 2; expected a category in 0..1"
    ):
        load_data(str(tmp_path / "named.csv"), num_categories=(2, 2, 4))
    (tmp_path / "ragged.csv").write_text("1,2\n1,2,3\n")
    with pytest.raises(DataError, match="ragged.csv: line 2 has 3 columns, expected 2"):
        load_data(str(tmp_path / "ragged.csv"))


def test_png_folders(tmp_path):
    from PIL import Image

    g = np.random.default_rng(6)
    for cls in ("cats", "dogs"):
        (tmp_path / "labelled" / cls).mkdir(parents=True)
        for i in range(12):
            img = g.integers(0, 256, (6, 5)).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / "labelled" / cls / f"{i}.png")
    data = load_data(str(tmp_path / "labelled"))
    assert data.shape == (1, 6, 5) and data.classes == ("cats", "dogs")
    assert (
        data.num_categories == 2
        and sorted(np.concatenate(list(data.labels.values())).tolist()) == [0] * 12 + [1] * 12
    )
    grey = load_data(str(tmp_path / "labelled"), binarize="none", levels=4)
    assert grey.num_categories == 4 and grey.splits["train"].max() == 3
    Image.fromarray(np.zeros((7, 5), dtype=np.uint8)).save(tmp_path / "labelled" / "dogs" / "z.png")
    with pytest.raises(DataError, match="z.png: image is 5x7 pixels, expected 5x6"):
        load_data(str(tmp_path / "labelled"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="a.png: not a readable image"):
        load_data(str(tmp_path / "junk"))
    # photos as cameras and exports name them (JPEG, BMP, GIF; upper-case suffixes too) were
    # "no .png files in the folder": read as PNGs are, a lossless one to the same levels
    mixed = tmp_path / "mixed"
    for cls, form in (("a", "JPG"), ("b", "bmp"), ("c", "gif")):
        (mixed / cls).mkdir(parents=True)
        for i in range(4):
            img = np.kron(g.integers(0, 2, (3, 3)), np.ones((4, 4))).astype(np.uint8) * 255
            Image.fromarray(img).save(mixed / cls / f"IMG_{i}.{form}")
    (mixed / "a" / "notes.txt").write_text("not an image: left alone")
    read = load_data(str(mixed))
    assert read.classes == ("a", "b", "c") and read.shape == (1, 12, 12)
    assert not any("colour" in n for n in read.notes)  # grey, whatever the file's mode
    Image.fromarray(np.stack([img, img // 2, img // 3], axis=-1)).save(mixed / "a" / "red.png")
    tinted = load_data(str(mixed))
    assert "1 of 13 images in colour, read as grey levels (made models one channel)" in tinted.notes
    lossless = np.concatenate([read.splits[s] for s in read.splits])
    assert set(np.unique(lossless).tolist()) <= {0, 1}
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no images \(.png, .jpg"):
        load_data(str(tmp_path / "empty"))


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "array, kwargs, message",
    [
        (np.array([[0, 1], [1, np.nan]]), {}, r"row 1, feature 1 is nan; expected an integer"),
        (np.array([[0, 1], [0.5, 1]]), {}, r"row 1, feature 0 is 0.5; expected an integer"),
        (np.array([[0, -1], [1, 1]]), {}, r"row 0, feature 1 is -1; categories are numbered"),
        (
            np.array([[0, 1], [1, 2]]),
            {"num_categories": 2},
            r"row 1, feature 1 is 2; expected a category in 0..1",
        ),
        (np.zeros((10, 2)), {"num_categories": (2, 3, 4)}, "3 category counts given for 2"),
        (np.array([[0, np.inf]] * 10), {}, "feature 1 is inf"),
    ],
)
def test_validation_names_file_row_value_and_expectation(tmp_path, array, kwargs, message):
    array = np.concatenate([array, np.zeros((20, 2))])  # carving must not renumber rows
    np.savez(tmp_path / "bad.npz", train=array, test=np.zeros((3, 2)))
    with pytest.raises(DataError, match=message) as info:
        load_data(str(tmp_path / "bad.npz"), **kwargs)
    assert "bad.npz, split 'train'" in str(info.value) or "category counts" in str(info.value)


def test_empty_and_broken_files(tmp_path):
    np.savez(
        tmp_path / "empty.npz",
        train=np.zeros((0, 3)),
        valid=np.zeros((2, 3)),
        test=np.zeros((2, 3)),
    )
    with pytest.raises(DataError, match="split 'train': no examples"):
        load_data(str(tmp_path / "empty.npz"))
    np.save(tmp_path / "ok.npy", np.zeros((50, 3), dtype=np.uint8))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "ok.npy").read_bytes()[:100])
    with pytest.raises(DataError, match="cut.npy: not a readable .npy file"):
        load_data(str(tmp_path / "cut.npy"))
    np.savez(tmp_path / "ok.npz", train=np.zeros((50, 3)))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "ok.npz").read_bytes()[:60])
    with pytest.raises(DataError, match="cut.npz: not a readable .npz file"):
        load_data(str(tmp_path / "cut.npz"))
    (tmp_path / "x.dta").write_bytes(b"<stata_dta>")
    with pytest.raises(DataError, match="unsupported file type .dta; .* pandas.read_stata"):
        load_data(str(tmp_path / "x.dta"))
    with pytest.raises(DataError, match="no such file or folder, and not a data set name"):
        load_data(str(tmp_path / "nothing.npy"))
    np.savez(
        tmp_path / "labels.npz",
        train=np.zeros((5, 3)),
        test=np.zeros((2, 3)),
        train_labels=np.zeros(4),
    )
    with pytest.raises(DataError, match="split 'train': 4 labels for 5 examples"):
        load_data(str(tmp_path / "labels.npz"), valid_fraction=0.2)


def test_data_config_is_validated():
    with pytest.raises(ValueError, match="binarize must be"):
        load_data("shapes", binarize="maybe")
    with pytest.raises(ValueError, match="valid_fraction must be strictly between 0 and 1"):
        load_data("shapes", valid_fraction=1.5)
