"""Property-based fuzzing: every loader and the ``MADE`` constructor, given anything, either
raise a clean ``ValueError`` (with a message) or return a valid result, never another
exception, a hang or a silently wrong shape."""

from __future__ import annotations

import io
import pickle
import tempfile
from pathlib import Path

import numpy as np
import torch
from conftest import random_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from made import MADE
from made.data import load_data

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=_SLOW_OK)

# what a user's file may hold: small categories mostly, and every kind of wrong value
_shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)
_arrays = st.one_of(
    hnp.arrays(st.sampled_from([np.uint8, np.int16, np.int64]), _shapes,
               elements=st.one_of(st.integers(0, 3), st.integers(0, 120))),
    hnp.arrays(np.int64, _shapes, elements=st.integers(-5, 300)),
    hnp.arrays(st.sampled_from([np.float32, np.float64]), _shapes,
               elements=st.one_of(st.integers(0, 3).map(float),
                                  st.floats(allow_nan=True, allow_infinity=True, width=32))),
)  # fmt: skip


def _check_dataset_or_clean_error(path: Path, **options: object) -> None:
    try:
        data = load_data(str(path), **options)
    except ValueError as exc:
        assert str(exc).strip(), "an error must say what is wrong"
        return
    # a valid result: splits agree in shape, hold integers inside their categories
    cards = torch.tensor(
        data.num_categories
        if isinstance(data.num_categories, tuple)
        else [data.num_categories] * data.num_dims
    )
    assert len(cards) == data.num_dims and ((cards >= 2) | (cards == 0)).all()
    real = cards == 0  # a table's real-valued columns: finite standardised floats
    assert not real.any() or (data.schema is not None and data.schema.has_real)
    for split in ("train", "valid", "test"):
        x = data.tensor(split)
        assert x.shape[1:] == tuple(data.shape) and x.shape[0] > 0
        assert not x.is_complex() and (x.is_floating_point() == bool(real.any()))
        flat = x.reshape(x.shape[0], -1)
        # finite, but for the gaps (NaN) of a real column that has some: data, not an error
        gappy = torch.zeros(flat.shape[1], dtype=torch.bool)
        if data.schema is not None:
            gappy = torch.tensor([c.kind == "real" and c.missing for c in data.schema.columns])
        assert (torch.isfinite(flat.double()) | (flat.isnan() & gappy)).all()
        codes = flat[:, ~real]
        assert (codes >= 0).all() and (codes < cards[~real]).all()
        assert torch.equal(codes, codes.round())


@FUZZ
@given(array=_arrays)
def test_npy_loader(array):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.npy"
        np.save(path, array)
        _check_dataset_or_clean_error(path)


@FUZZ
@given(
    parts=st.dictionaries(
        st.sampled_from(
            ["train", "valid", "test", "train_data", "valid_data", "test_data", "other"]
        ),  # fmt: skip
        _arrays,
        max_size=4,
    )
)
def test_npz_loader(parts):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.npz"
        np.savez(path, **parts)
        _check_dataset_or_clean_error(path)


@FUZZ
@given(
    rows=st.lists(
        st.lists(
            st.one_of(
                st.integers(-3, 5).map(str), st.sampled_from(["", "a", "1.5", "nan", " 2 ", "1e3"])
            ),
            min_size=0,
            max_size=5,
        ),
        max_size=12,
    ),  # fmt: skip
    header=st.booleans(),
)
def test_csv_loader(rows, header):
    text = ("a,b,c\n" if header else "") + "\n".join(",".join(r) for r in rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.csv"
        path.write_text(text)
        _check_dataset_or_clean_error(path)


@FUZZ
@given(
    rows=st.lists(
        st.lists(st.sampled_from(["0", "1", "2", "0.5", "x", "-1"]), max_size=6), max_size=10
    )  # fmt: skip
)
def test_amat_loader(rows):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.amat"
        path.write_text("\n".join(" ".join(r) for r in rows))
        _check_dataset_or_clean_error(path)


@FUZZ
@given(
    blob=st.binary(max_size=400),
    name=st.sampled_from(
        [
            "x.npy",
            "x.npz",
            "x.csv",
            "x.amat",
            "x.pkl",
            "x-idx3-ubyte",
            "x-idx3-ubyte.gz",
            "x.jsonl",
            "x.json",
            "x.xlsx",
            "x.parquet",
            "x.feather",
            "x.csv.gz",
            "x.csv.zip",
            "x.tsv.xz",
        ]
    ),  # fmt: skip
)
def test_random_bytes_in_any_format(blob, name):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(blob)
        _check_dataset_or_clean_error(path)


@FUZZ
@given(
    value=st.recursive(
        st.one_of(st.none(), st.integers(), st.text(max_size=5), _arrays),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(["train", "test", "x"]), inner, max_size=3),
        ),  # fmt: skip
        max_leaves=6,
    )
)
def test_shapes_pickle_loader(value):
    buffer = io.BytesIO()
    pickle.dump(value, buffer, protocol=4)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.pkl"
        path.write_bytes(buffer.getvalue())
        _check_dataset_or_clean_error(path)


@FUZZ
@given(array=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5),
                        elements=st.integers(0, 255)),  # fmt: skip
       compress=st.booleans(), cut=st.integers(0, 8))  # fmt: skip
def test_idx_loader(array, compress, cut):
    import gzip
    import struct

    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                          *array.shape)  # fmt: skip
    raw = header + array.tobytes()
    raw = raw[: len(raw) - cut] if cut else raw  # sometimes truncated
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("x-idx-ubyte.gz" if compress else "x-idx-ubyte")
        path.write_bytes(gzip.compress(raw) if compress else raw)
        _check_dataset_or_clean_error(path)


@FUZZ
@given(
    images=st.lists(
        hnp.arrays(
            np.uint8, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=st.integers(0, 255)
        ),  # fmt: skip
        min_size=0,
        max_size=5,
    ),
    binarize=st.sampled_from(["auto", "threshold", "none"]),
)
def test_png_folder_loader(images, binarize):
    from PIL import Image

    with tempfile.TemporaryDirectory() as d:
        for i, img in enumerate(images):
            Image.fromarray(img).save(Path(d) / f"{i}.png")
        _check_dataset_or_clean_error(Path(d), binarize=binarize)


# ------------------------------------------------------------------------------ constructor
_anything = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12), st.floats(allow_nan=True), st.text(max_size=6),
    st.lists(st.integers(-2, 6), max_size=4), st.tuples(st.integers(-1, 4), st.integers(-1, 4)),
    st.sampled_from(["natural", "reversed", "random", "equal", "relu", "tanh"]),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    args=st.fixed_dictionaries(
        {},
        optional={
            "input_shape": st.one_of(_anything, st.integers(1, 6)),
            "hidden_sizes": st.one_of(_anything, st.lists(st.integers(1, 8), max_size=3)),
            "num_categories": _anything,
            "num_components": _anything,
            "ordering": _anything,
            "hidden_degrees": _anything,
            "num_masks": _anything,
            "order_agnostic": _anything,
            "direct_connections": _anything,
            "context_size": _anything,
            "activation": _anything,
            "seed": _anything,
        },
    )
)
def test_made_constructor(args):
    args = {"input_shape": 4, "hidden_sizes": [8], **args}
    try:
        model = MADE(**args)
    except ValueError as exc:
        assert str(exc).strip()
        return
    # a valid model: its outputs have the promised shape and its probabilities normalise
    d = model.num_dims
    assert d == int(np.prod(model.input_shape))
    x = random_data(model, 3, torch.Generator().manual_seed(0))
    ctx = torch.randn(3, model.config.context_size) if model.config.context_size else None
    lp = model.log_prob(x, ctx)
    assert lp.shape == (3,) and torch.isfinite(lp).all()
    assert model.has_real or (lp <= 1e-5).all()  # probabilities; densities may exceed 1
    samples = model.sample(
        2, torch.randn(2, model.config.context_size) if model.config.context_size else None
    )
    assert samples.shape == (2, *model.input_shape)
