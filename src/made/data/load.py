"""Data sets by name or path, turned into validated integer splits ready for a MADE.

``load_data("shapes")``, ``load_data("path/to/file.npz")`` or ``load_data(DataConfig(...))``
returns a ``Dataset`` with ``train``, ``valid`` and ``test`` splits. Nothing is downloaded:
named sets are generated, read from installed packages, or read from a file the user has.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..masks import derive_seed
from .arrow import ARROW_SUFFIXES, read_arrow_cells
from .formats import (
    EXCEL_SUFFIXES,
    is_json_file,
    is_table_file,
    read_amat,
    read_csv,
    read_csv_cells,
    read_excel_cells,
    read_idx,
    read_json_cells,
    read_npy,
    read_npz,
    read_png_folder,
    read_shapes_pickle,
)
from .groups import OneHotGroups, find_groups
from .novel import novel_cell
from .shapes import SHAPE_CLASSES, SHAPES_TEST_SIZE, SHAPES_TRAIN_SIZE, generate_shapes
from .synthetic import bars_and_stripes, bars_and_stripes_entropy
from .table import NA_VALUES, TableSchema, infer_schema, row_lines
from .validate import (
    MAX_CLASSES,
    DataError,
    check_array,
    check_output_size,
    chunks,
    infer_categories,
)

__all__ = ["Dataset", "NamedSet", "NAMED_SETS", "load_data", "table_cells", "FASHION_MNIST_DIR"]

SPLITS = ("train", "valid", "test")
# What a scoring note says of a value the model never saw (``mark_unseen``).
UNSEEN = "a value the model never saw"  # a category, a number held discrete, or a gap
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                   "sneaker", "bag", "ankle boot")  # fmt: skip


@dataclass
class Dataset:
    """Validated splits of one data set.

    ``splits`` maps ``train``/``valid``/``test`` to integer arrays ``(N, *shape)`` (possibly
    memory-mapped); ``labels`` maps splits to class indices where the source has them.
    ``notes`` says what was inferred or carved, for the user to read.
    """

    name: str
    splits: dict[str, np.ndarray]
    num_categories: int | tuple[int, ...]
    source: str
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None
    entropy: float | None = None
    notes: list[str] = field(default_factory=list)
    # The validated splits as the source holds them, before any carving ("all" for a single
    # array), in the source's own row order: what per-example scores refer to.
    original: dict[str, np.ndarray] = field(default_factory=dict)
    original_labels: dict[str, np.ndarray] = field(default_factory=dict)
    # Tables: column names, types, category values and standardisation (None otherwise).
    schema: TableSchema | None = None
    # Tables read with ``mark_unseen``: the cells of the original rows holding a value the
    # model never saw (a gap in a column that had none included), ``{(row, column): text}``
    # (their codes what the columns after them read, ``made.data.novel``) ...
    unseen: dict[tuple[int, int], str] = field(default_factory=dict)
    # ... and for "all" (the original rows) and each split, where any holds one, each such
    # cell's log-probability (``made.data.novel.novel_cell``), NaN elsewhere: what ``made
    # score`` and ``made eval`` score them by (``Scores.with_novel``).
    novel: dict[str, np.ndarray] = field(default_factory=dict)
    # Binary arrays read as one-hot groups (``made.data.groups``; None otherwise): every
    # split, original ones included, holds the variables' codes.
    groups: OneHotGroups | None = None
    # Tables read by a model's schema from a file matched to it by its header's names (its
    # columns in another order, the identifiers the model left out absent, or columns the
    # model does not read beside them): the file's column for each column of the model's
    # table (``TableSchema.positions`` index it; -1: a left-out identifier the file lacks);
    # None where the file's columns are the table's, in place.
    file_columns: tuple[int, ...] | None = None

    def file_column(self, j: int) -> int:
        """The file's column that holds the table's column ``j`` (a table's)."""
        assert self.schema is not None
        at = self.schema.positions[j]
        return at if self.file_columns is None else self.file_columns[at]

    @property
    def missing(self) -> tuple[int, ...]:
        """The dimensions whose values may be missing (a table's real columns with gaps)."""
        return () if self.schema is None else self.schema.missing_dims

    @property
    def fixed(self) -> tuple[tuple[int, int], ...]:
        """A table's constant columns and their one code (``TableSchema.fixed``)."""
        return () if self.schema is None else self.schema.fixed

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one example."""
        return tuple(self.splits["train"].shape[1:])

    @property
    def num_dims(self) -> int:
        return math.prod(self.shape)

    @property
    def source_dims(self) -> int:
        """The dimensions of an example as the source holds it (the bits of one-hot groups),
        which bits per dimension count."""
        return self.num_dims if self.groups is None else self.groups.num_bits

    def tensor(self, split: str, device: str | torch.device = "cpu") -> torch.Tensor:
        """A split as an integer tensor on ``device`` (uint8 when every category fits), or a
        float32 tensor for a table with real-valued columns."""
        x = np.ascontiguousarray(self.splits[split])
        if self.schema is not None and self.schema.has_real:
            return torch.from_numpy(x.astype(np.float32)).to(device)
        if not x.flags.writeable:  # memory-mapped files are read-only; tensors need their own
            x = x.copy()
        if x.dtype == np.bool_ or (
            np.issubdtype(x.dtype, np.integer) and x.dtype.itemsize == 1 and x.dtype.kind == "u"
        ):
            x = x.astype(np.uint8, copy=False)
        elif max(np.atleast_1d(self.num_categories)) <= 256:
            x = x.astype(np.uint8)
        else:
            x = x.astype(np.int64)
        return torch.from_numpy(x).to(device)

    def label_tensor(self, split: str, device: str | torch.device = "cpu") -> torch.Tensor | None:
        if split not in self.labels:
            return None
        return torch.from_numpy(np.ascontiguousarray(self.labels[split]).astype(np.int64)).to(
            device
        )

    @property
    def train(self) -> torch.Tensor:
        return self.tensor("train")

    @property
    def valid(self) -> torch.Tensor:
        return self.tensor("valid")

    @property
    def test(self) -> torch.Tensor:
        return self.tensor("test")


@dataclass
class _Raw:
    """What a source yields before binarisation, splitting and validation."""

    splits: dict[str, np.ndarray]  # train/valid/test, or "all" to be split
    value_max: float  # the top of the value range (255 for grey levels, 1 for binary)
    binarize: str  # the source's default: "threshold" or "none"
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    num_categories: int | None = None  # known by construction (binary sources: 2)
    columns: tuple[str, ...] | None = None
    entropy: float | None = None
    description: str = ""
    header_lines: int | None = None  # text sources: the header's lines (0: none)
    lines: list[int] | None = None  # text sources: each example's line in the file
    cells: list[list[str]] | None = None  # tables: text rows, typed by load_data
    notes: list[str] = field(default_factory=list)  # what the reader detected, for the user


@dataclass(frozen=True)
class NamedSet:
    """A data set addressed by name: how to load it and where it comes from."""

    name: str
    shape: tuple[int, ...]
    sizes: str
    origin: str
    load: Callable[[DataConfig], _Raw]
    missing: Callable[[], str | None] = lambda: None  # why it cannot load now, if it cannot

    def status(self) -> str:
        """``"available"`` or what is missing, without loading the data."""
        reason = self.missing()
        return "available" if reason is None else f"missing: {reason}"


# ------------------------------------------------------------------------------ named sets
def _shapes(cfg: DataConfig) -> _Raw:
    train, train_y = generate_shapes(SHAPES_TRAIN_SIZE, derive_seed(cfg.seed, 0x5A, 0))
    test, test_y = generate_shapes(SHAPES_TEST_SIZE, derive_seed(cfg.seed, 0x5A, 1))
    return _Raw(
        {"train": train, "test": test},
        1,
        "none",
        {"train": train_y, "test": test_y},
        SHAPE_CLASSES,
        num_categories=2,
        description="generated Shapes",
    )


def _bars(cfg: DataConfig) -> _Raw:
    parts = {
        split: bars_and_stripes(
            n, 8, torch.Generator().manual_seed(derive_seed(cfg.seed, 0xDA7A, i))
        )
        .numpy()
        .astype(np.uint8)
        for i, (split, n) in enumerate((("train", 5000), ("valid", 1000), ("test", 1000)))
    }
    return _Raw(parts, 1, "none", num_categories=2, entropy=bars_and_stripes_entropy(8))


def _search_paths(filename: str) -> list[Path]:
    dirs = [Path(d) for d in os.environ.get("MADE_DATA_DIR", "").split(os.pathsep) if d]
    dirs += [Path("."), Path("data"), Path("../shared/data")]
    return [d / filename for d in dirs]


def _binarized_mnist_missing() -> str | None:
    if any(p.is_file() for p in _search_paths("binarized_mnist.npz")):
        return None
    looked = ", ".join(str(p) for p in _search_paths("binarized_mnist.npz"))
    return (
        "binarized-mnist needs the file binarized_mnist.npz (keys train_data, valid_data, "
        f"test_data): pass its path as the data source, or put it in $MADE_DATA_DIR "
        f"(looked in: {looked})"
    )


def _binarized_mnist(cfg: DataConfig) -> _Raw:
    for path in _search_paths("binarized_mnist.npz"):
        if path.is_file():
            raw = _from_path(path, cfg)
            raw.splits = {k: v.reshape(-1, 1, 28, 28) for k, v in raw.splits.items()}
            raw.num_categories = 2
            return raw
    raise DataError(_binarized_mnist_missing())


def _fashion_dir() -> Path:
    return Path(os.environ.get("MADE_FASHION_MNIST_DIR", FASHION_MNIST_DIR))


_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _fashion_missing() -> str | None:
    root = _fashion_dir()
    if all((root / f).is_file() for pair in _FASHION_FILES.values() for f in pair):
        return None
    return (
        f"fashion-mnist needs Debian's package dataset-fashion-mnist (no IDX files in "
        f"{root}): install it with `apt-get install dataset-fashion-mnist`, or set "
        "$MADE_FASHION_MNIST_DIR to a folder holding the four gzipped IDX files"
    )


def _fashion_mnist(cfg: DataConfig) -> _Raw:
    reason = _fashion_missing()
    if reason is not None:
        raise DataError(reason)
    root = _fashion_dir()
    splits, labels = {}, {}
    for split, (images, targets) in _FASHION_FILES.items():
        splits[split] = read_idx(root / images)[:, None]
        labels[split] = read_idx(root / targets).astype(np.int64)
    return _Raw(splits, 255, "threshold", labels, FASHION_CLASSES)


def _sklearn_missing() -> str | None:
    if importlib.util.find_spec("sklearn") is not None:
        return None
    return "needs scikit-learn, which bundles it: pip install scikit-learn"


def _digits(cfg: DataConfig) -> _Raw:
    reason = _sklearn_missing()
    if reason is not None:
        raise DataError(f"digits {reason}")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float64)[:, None]  # (1797, 1, 8, 8), values 0..16
    return _Raw(
        {"all": images},
        16,
        "threshold",
        {"all": bunch.target.astype(np.int64)},
        tuple(str(c) for c in range(10)),
    )


def _na_spellings(cfg: DataConfig) -> tuple[str, ...]:
    """The cells of a table that mean a missing value: ``NA_VALUES`` and the user's
    ``na_values``, less the user's ``not_na``; the one list the readers and the typing use."""
    return tuple(v for v in (*NA_VALUES, *cfg.na_values) if v not in cfg.not_na)


def _table(
    rows: list[list[str]], header: list[str] | None, notes: list[str] | None = None,
    lines: list[int] | None = None,
) -> _Raw:  # fmt: skip
    """A table's text cells, typed later (``load_data``). ``lines``: each row's line in its
    file (default: one a row, after the header's)."""
    names = tuple(header) if header else tuple(f"column {j}" for j in range(len(rows[0])))
    lines = list(row_lines(2 if header else 1, len(rows))) if lines is None else lines
    return _Raw({}, 1, "none", columns=names, header_lines=int(bool(header)), cells=rows,
                notes=notes or [], lines=lines)  # fmt: skip


def _sklearn_table(name: str) -> Callable[[DataConfig], _Raw]:
    """A table bundled with scikit-learn (features, then the class as a last column)."""

    def load(cfg: DataConfig) -> _Raw:
        reason = _sklearn_missing()
        if reason is not None:
            raise DataError(f"{name} {reason}")
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, f"load_{name.replace('-', '_')}")()
        header = [str(f) for f in bunch.feature_names] + ["class"]
        rows = [[repr(float(v)) for v in features] + [str(int(target))]
                for features, target in zip(bunch.data, bunch.target, strict=True)]  # fmt: skip
        return _table(rows, header)

    return load


NAMED_SETS = {
    s.name: s
    for s in (
        NamedSet(
            "shapes",
            (1, 20, 20),
            "10,479 train / 4,491 test",
            "generated by made (nine filled shapes, labelled)",
            _shapes,
        ),
        NamedSet(
            "bars-and-stripes",
            (1, 8, 8),
            "5,000 / 1,000 / 1,000",
            "generated by made (exact entropy known)",
            _bars,
        ),
        NamedSet(
            "binarized-mnist",
            (1, 28, 28),
            "50,000 / 10,000 / 10,000",
            "binarized_mnist.npz from a path or $MADE_DATA_DIR (fixed binarisation)",
            _binarized_mnist,
            _binarized_mnist_missing,
        ),
        NamedSet(
            "fashion-mnist",
            (1, 28, 28),
            "60,000 train / 10,000 test",
            f"Debian package dataset-fashion-mnist ({FASHION_MNIST_DIR})",
            _fashion_mnist,
            _fashion_missing,
        ),
        NamedSet(
            "digits",
            (1, 8, 8),
            "1,797 in all",
            "scikit-learn's bundled 8x8 digits",
            _digits,
            _sklearn_missing,
        ),
        NamedSet(
            "wine",
            (14,),
            "178 in all",
            "scikit-learn's bundled wine table (13 real columns, a 3-way class)",
            _sklearn_table("wine"),
            _sklearn_missing,
        ),
        NamedSet(
            "breast-cancer",
            (31,),
            "569 in all",
            "scikit-learn's bundled breast cancer table (30 real columns, a binary class)",
            _sklearn_table("breast_cancer"),
            _sklearn_missing,
        ),
    )
}


# ------------------------------------------------------------------------------ from paths
def _from_path(path: Path, cfg: DataConfig) -> _Raw:
    suffix = path.suffix.lower()
    if path.is_dir():
        amat = [path / f"binarized_mnist_{s}.amat" for s in SPLITS]
        if all(p.is_file() for p in amat):
            return _Raw(
                {s: read_amat(p) for s, p in zip(SPLITS, amat, strict=True)},
                1,
                "none",
                num_categories=2,
            )
        images, labels, classes, notes = read_png_folder(path)
        return _Raw(
            {"all": images},
            255,
            "threshold",
            {"all": labels} if labels is not None else {},
            tuple(classes),
            notes=notes,
        )
    if not path.exists():
        raise DataError(
            f"{path}: no such file or folder, and not a data set name "
            f"(known: {', '.join(NAMED_SETS)})"
        )
    if suffix == ".npy":
        return _array_source({"all": read_npy(path)}, {})
    if suffix == ".npz":
        return _array_source(*read_npz(path))
    table = is_table_file(path)  # .csv, .tsv, .txt, .jsonl, ...: compressed too
    if is_json_file(path):  # records: a table, typed by load_data (its lines are records)
        names, rows, notes, lines = read_json_cells(path)
        return _table(rows, names, notes, lines)
    if suffix in ARROW_SUFFIXES:  # a column store: its typed values as a CSV export's text
        names, rows, notes, lines = read_arrow_cells(path)
        return _table(rows, names, notes, lines)
    if suffix in EXCEL_SUFFIXES:  # a workbook's first sheet: its rows are the sheet's
        names, rows, notes, lines = read_excel_cells(path, _na_spellings(cfg))
        return _table(rows, names, notes, lines)
    if table and cfg.num_categories is None:  # a table: columns typed by load_data
        header, rows, notes, lines = read_csv_cells(
            path, cfg.delimiter, cfg.header, _na_spellings(cfg)
        )
        return _table(rows, header, notes, lines)
    if table:
        values, header, lines = read_csv(path, cfg.delimiter, cfg.header)
        columns = tuple(header) if header else None
        return _Raw(
            {"all": values},
            _value_max(values),
            "none",
            columns=columns,
            header_lines=1 if header else 0,
            lines=lines,
        )
    if suffix == ".amat":
        values = read_amat(path)  # a row a line
        return _Raw({"all": values}, 1, "none", header_lines=0,
                    lines=list(row_lines(1, len(values))))  # fmt: skip
    if suffix in (".pkl", ".pickle"):
        return _Raw(read_shapes_pickle(path), 1, "none", num_categories=2)
    if suffix == ".gz" or "idx" in path.name:
        return _Raw({"all": read_idx(path)}, 255, "threshold")
    hint = _OTHER_FORMATS.get(suffix, "")
    raise DataError(
        f"{path}: unsupported file type {suffix or '(none)'}; expected .npy, .npz, a text "
        "table (.csv, .tsv, .txt, .dat, .jsonl; gzipped too), an Excel .xlsx, .parquet, "
        ".feather, .amat, .pkl "
        f"(Shapes pickle), an IDX file or a folder of images{hint}"
    )


# What to do with a table in a format made does not read (pandas reads each of them)
_SAVE_AS = (": save it as CSV, or read it with pandas.{0} and give the DataFrame to "
            "made.sklearn.MADEDensity")  # fmt: skip
_OTHER_FORMATS = {
    ".xls": _SAVE_AS.format("read_excel"),
    ".ods": _SAVE_AS.format("read_excel"),
    ".sav": _SAVE_AS.format("read_spss"),
    ".dta": _SAVE_AS.format("read_stata"),
    ".sas7bdat": _SAVE_AS.format("read_sas"),
}


def _array_source(splits: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> _Raw:
    """Arrays from a ``.npy``/``.npz``: categories as they are, except grey-level images
    (integers of 16..255 in an array of images, (N, H, W) or (N, C, H, W)), which follow the
    rule of PNG images: thresholded unless ``binarize`` says otherwise."""
    first = splits.get("train", splits.get("all"))
    assert first is not None
    top = _largest(first)  # one pass over the array serves both decisions below
    if first.ndim >= 3 and np.issubdtype(first.dtype, np.integer) and 16 <= top <= 255:
        raw = _Raw(splits, 255, "threshold", labels)
        raw.notes.append(
            f"values 0..{top:g} in an array of images: read as grey levels, like PNG images "
            "({flag:binarize} none keeps them as 256 categories)"
        )
        return raw
    return _Raw(splits, _value_max(first, top), "none", labels)


def _largest(x: np.ndarray) -> float:
    """The largest value of an array, read in chunks (1 for an empty one)."""
    if not x.size:
        return 1.0
    return max(float(np.max(rows)) for _, rows in chunks(x))


def _value_max(x: np.ndarray, top: float | None = None) -> float:
    """The top of a value range for binarisation: the dtype's for uint8, else 1 for data in
    [0, 1], else the data's maximum (``top``, when the caller has it already)."""
    if x.dtype == np.uint8:
        return 255.0
    if x.dtype == np.bool_:
        return 1.0
    top = _largest(x) if top is None else top
    return 1.0 if not top > 1.0 else top


# ---------------------------------------------------------------------------- processing
def _binarize(x: np.ndarray, cfg: DataConfig, mode: str, vmax: float, key: int) -> np.ndarray:
    if mode == "threshold":
        return (np.asarray(x) > cfg.threshold * vmax).astype(np.uint8)
    if mode == "stochastic":
        g = torch.Generator().manual_seed(derive_seed(cfg.seed, 0xB1, key))
        u = torch.rand(x.shape, generator=g, dtype=torch.float64).numpy()
        return (u < np.asarray(x, dtype=np.float64) / vmax).astype(np.uint8)
    if cfg.levels is not None:
        return np.minimum(
            np.asarray(x, dtype=np.float64) * cfg.levels / (vmax + 1), cfg.levels - 1
        ).astype(np.int64)
    return x


def _split(n: int, fraction: float, seed: int, key: int) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, carved)`` row indices: a fixed-seed random ``fraction`` is carved out."""
    carved = max(1, round(n * fraction))
    if carved >= n:
        raise DataError(f"cannot carve {fraction:.0%} out of {n} examples and keep any")
    g = torch.Generator().manual_seed(derive_seed(seed, 0x5B, key))
    perm = torch.randperm(n, generator=g).numpy()
    return np.sort(perm[carved:]), np.sort(perm[:carved])


def load_data(
    source: str | DataConfig,
    schema: TableSchema | None = None,
    *,
    gaps_anywhere: bool = False,
    mark_unseen: bool = False,
    groups: OneHotGroups | None | str = "find",
    **overrides: object,
) -> Dataset:
    """Load a data set by name or path (see ``DataConfig`` for the options).

    Splits missing from the source are carved with a fixed seed: test from the whole (when the
    source is one array), valid from train. Every split is validated; categories are taken from
    ``num_categories``, else from the source, else inferred (and said so in ``notes``).

    A table (a CSV file without declared ``num_categories``, or a named table) has its columns
    typed (see ``made.data.table``) and its real columns standardised with the training
    split's statistics; ``schema`` (a trained model's) encodes it exactly as in training
    instead, and with ``gaps_anywhere`` (rows to impute) a gap in a column that had none in
    training reads as NaN instead of being refused; with ``mark_unseen`` (rows to score) a
    value the model never saw (a gap in a column that had none, unless ``gaps_anywhere``) is
    not refused but listed in ``Dataset.unseen``.

    Binary arrays of one feature axis are read as one-hot groups where they have them
    (``made.data.groups``; ``groups="find"``, unless ``one_hot`` is off); a trained model's
    ``groups`` (or None: the bits) read them as in training instead.
    """
    cfg = DataConfig(source=source, **overrides) if isinstance(source, str) else source
    if overrides and not isinstance(source, str):
        cfg = replace(cfg, **overrides)  # type: ignore[arg-type]
    named, raw = _read(cfg)
    where = cfg.source
    if raw.cells is None and cfg.column_types:
        raise DataError(f"{where}: column types apply to tables (CSV files), not to this source")
    if raw.cells is not None:
        return _load_table(raw, cfg, named, schema, gaps_anywhere, mark_unseen)
    notes: list[str] = list(raw.notes)
    mode = raw.binarize if cfg.binarize == "auto" else cfg.binarize
    if mode != "none" and raw.num_categories == 2 and raw.value_max == 1:
        mode = "none"  # already binary
    splits = {
        k: _binarize(v, cfg, mode, raw.value_max, i) for i, (k, v) in enumerate(raw.splits.items())
    }
    if mode != "none":
        notes.append(
            f"binarised by {mode} at {cfg.threshold:g} of the range 0..{raw.value_max:g}"
            if mode == "threshold"
            else f"binarised stochastically (seed {cfg.seed})"
        )
    elif cfg.levels is not None:
        notes.append(f"quantised 0..{raw.value_max:g} into {cfg.levels} levels")
    # Validate as the file holds the data, so that row numbers in messages are the file's.
    if mode != "none":
        known = 2
    elif cfg.levels is not None:
        known = cfg.levels
    elif raw.num_categories is None and raw.binarize == "threshold":
        known = int(raw.value_max) + 1  # grey levels kept as they are: 0..value_max
    else:
        known = raw.num_categories
    declared = cfg.num_categories if cfg.num_categories is not None else known
    labels = dict(raw.labels)
    first = next(iter(splits.values()))
    at = raw.lines
    row_name = None if at is None else (lambda r: f"line {at[r]}")
    for s, x in splits.items():
        place = where if s == "all" else f"{where}, split '{s}'"
        check_array(x, place, num_categories=declared, shape=tuple(first.shape[1:]),
                    columns=raw.columns, row_name=row_name)  # fmt: skip
        if s in labels and len(labels[s]) != len(x):
            raise DataError(f"{place}: {len(labels[s])} labels for {len(x)} examples")
    original, original_labels = dict(splits), dict(labels)
    splits = _carve(splits, cfg, notes, labels)
    if declared is None:
        cats = infer_categories(list(splits.values()))
        declared = cats[0] if len(set(cats)) == 1 else cats
        notes.append(_describe_inferred(cats, raw.columns))
    check_output_size(declared, first.shape[1:], where)
    classes = raw.classes or _classes_from_labels(labels, where)
    groups, splits, original = _read_groups(groups, splits, original, declared, cfg, notes)
    return Dataset(
        name=named.name if named else Path(cfg.source).name,
        splits=splits,
        num_categories=declared if groups is None else groups.cardinalities,
        source=named.origin if named else str(cfg.source),
        labels=labels,
        classes=classes,
        columns=raw.columns,
        entropy=raw.entropy,
        notes=notes,
        original=original,
        original_labels=original_labels,
        groups=groups,
    )


def _read_groups(
    groups: OneHotGroups | None | str,
    splits: dict[str, np.ndarray],
    original: dict[str, np.ndarray],
    declared: int | tuple[int, ...],
    cfg: DataConfig,
    notes: list[str],
) -> tuple[OneHotGroups | None, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The one-hot groups the data is read with (``groups``: "find" them in binary rows of
    one feature axis, on the training and validation splits, unless ``cfg.one_hot`` is off;
    a trained model's; None), and the splits and original splits as their codes (an array
    that is both, a split the source held as it is, encoded once)."""
    train, binary = splits["train"], set(np.atleast_1d(declared)) == {2}
    if groups == "find":
        found = cfg.one_hot == "auto" and train.ndim == 2 and binary
        groups = find_groups(train, splits["valid"]) if found else None
    if groups is None:
        return None, splits, original
    if not isinstance(groups, OneHotGroups):
        raise TypeError(f"groups must be 'find', None or OneHotGroups; got {groups!r}")
    if train.shape[1:] != (groups.num_bits,) or not binary:
        cats = "/".join(map(str, sorted(set(np.atleast_1d(declared)))))
        raise DataError(f"{cfg.source}: the model reads {groups.num_bits} binary columns as "
                        f"one-hot groups; these examples are of shape {train.shape[1:]} with "
                        f"{cats} categories")  # fmt: skip
    codes: dict[int, np.ndarray] = {}  # by the bits' array

    def encoded(bits: np.ndarray) -> np.ndarray:
        if id(bits) not in codes:
            codes[id(bits)] = groups.encode(bits)
        return codes[id(bits)]

    notes.append(groups.describe())
    return (groups, {name: encoded(bits) for name, bits in splits.items()},
            {name: encoded(bits) for name, bits in original.items()})  # fmt: skip


def _read(cfg: DataConfig) -> tuple[NamedSet | None, _Raw]:
    """The source ``cfg`` names, as read: a named set or a file."""
    named = NAMED_SETS.get(cfg.source)
    try:
        return named, named.load(cfg) if named else _from_path(Path(cfg.source), cfg)
    except (ValueError, TypeError, IndexError, OverflowError, MemoryError) as exc:
        if isinstance(exc, ValueError) and cfg.source in str(exc):
            raise  # already says which file
        raise DataError(f"{cfg.source}: cannot be read as data ({exc})") from None


def table_cells(cfg: DataConfig) -> tuple[tuple[str, ...], list[list[str]]]:
    """A table's column names and text rows, every column, as its source holds them (read
    again when needed, rather than kept beside the encoded table for as long as it lives)."""
    _, raw = _read(cfg)
    if raw.cells is None or raw.columns is None:
        raise DataError(f"{cfg.source}: not a table")
    return tuple(raw.columns), raw.cells


def _carve(
    splits: dict[str, np.ndarray], cfg: DataConfig, notes: list[str],
    labels: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """``splits`` with test carved from "all" and valid from train where missing."""
    splits = dict(splits)
    labels = {} if labels is None else labels
    if "all" in splits:
        _carve_one(splits, labels, "all", "train", "test", cfg.test_fraction, cfg, 1, notes)
    if "test" not in splits:  # carved from train, as from a single array
        _carve_one(splits, labels, "train", "train", "test", cfg.test_fraction, cfg, 3, notes)
    if "valid" not in splits:
        _carve_one(splits, labels, "train", "train", "valid", cfg.valid_fraction, cfg, 2, notes)
    whole = len(splits["train"])
    if cfg.train_rows is not None and cfg.train_rows < whole:
        # a seeded subset, in the split's own order: the same rows for the same seed
        g = torch.Generator().manual_seed(derive_seed(cfg.seed, 0x5B, 4))
        keep = np.sort(torch.randperm(whole, generator=g).numpy()[: cfg.train_rows])
        splits["train"] = splits["train"][keep]
        if "train" in labels:
            labels["train"] = labels["train"][keep]
        notes.append(f"training on {cfg.train_rows:,} of the {whole:,} training rows, a "
                     f"random subset drawn with seed {cfg.seed} (train_rows)")  # fmt: skip
    return {s: splits[s] for s in SPLITS}


def _carve_one(
    splits: dict[str, np.ndarray], labels: dict[str, np.ndarray], source: str, kept: str,
    carved: str, fraction: float, cfg: DataConfig, key: int, notes: list[str],
) -> None:  # fmt: skip
    """Split ``splits[source]`` (and its labels) into ``kept`` and a fixed-seed ``carved``
    fraction, in place, and say so in ``notes``."""
    whole = splits.pop(source)
    what = "examples" if source == "all" else "training examples"
    try:
        rest, cut = _split(len(whole), fraction, cfg.seed, key)
    except DataError:
        shown = what.removesuffix("s") if len(whole) == 1 else what
        raise DataError(
            f"{cfg.source}: too few rows to carve a {carved} split from ({len(whole):,} "
            f"{shown}, {fraction:.0%} to carve) and keep any to train on"
        ) from None
    splits[kept], splits[carved] = whole[rest], whole[cut]
    if source in labels:
        y = labels.pop(source)
        labels[kept], labels[carved] = y[rest], y[cut]
    notes.append(f"{carved} split: {len(cut)} of {len(whole)} {what} carved with seed {cfg.seed}")


def _load_table(
    raw: _Raw,
    cfg: DataConfig,
    named: NamedSet | None,
    schema: TableSchema | None,
    gaps_anywhere: bool = False,
    mark_unseen: bool = False,
) -> Dataset:
    """A table's rows typed, encoded, split and standardised (or encoded by ``schema``), its
    integer columns dequantised: training rows by a seeded uniform draw in each integer's grid
    interval, the rest (and the rows scored) at its middle."""
    where, rows = cfg.source, raw.cells
    assert rows is not None and raw.columns is not None
    if cfg.binarize not in ("auto", "none") or cfg.levels is not None:
        raise DataError(f"{where}: binarize and levels apply to grey levels, not to tables")
    assert raw.lines is not None
    lines = raw.lines
    notes: list[str] = list(raw.notes)
    na_values = _na_spellings(cfg)
    unseen: dict[tuple[int, int], str] = {}
    novel: dict[str, np.ndarray] = {}
    file_columns: list[int] | None = None  # in place, unless matched by name
    if schema is None:
        typed = infer_schema(raw.columns, rows, where, cfg.column_types, na_values, notes,
                             lines)  # fmt: skip
        whole = typed.encode(rows, where, lines, na_values)  # real values as they are
        splits = _carve({"all": whole}, cfg, notes)
        schema = typed.with_statistics(splits["train"], where)
        splits = {s: schema.standardise(x) for s, x in splits.items()}
        schema = schema.with_rules(splits["train"])
        whole = schema.standardise(whole)
        notes.append(schema.describe())
        if schema.rules:
            notes.append(f"rules kept in samples: {schema.rules.describe(schema.names)}")
        if schema.has_real:
            notes.append("real columns standardised with the training split's mean and std")
    else:
        file_columns = _source_columns(raw, schema, where, notes)
        if file_columns is not None:  # a column the model left out, absent: blank (never read)
            rows = [[row[k] if k >= 0 else "" for k in file_columns] for row in rows]
        whole, marked = schema.encode_marking(rows, where, lines, na_values,
                                              gaps_anywhere, mark_unseen)  # fmt: skip
        at = schema.positions
        unseen = {(int(i), int(j)): rows[i][at[j]] for i, j in np.argwhere(marked)}
        new = np.full(whole.shape, math.nan)  # each new value's log-probability, by row
        for (i, j), text in unseen.items():
            new[i, j] = novel_cell(schema.columns[j], text, marked[i, j] == 2)[0]
        novel = {"all": new}
        if unseen:
            (i, j), text = next(iter(unseen.items()))
            count = len({i for i, _ in unseen})
            notes.append(
                f"{count} row{' holds' if count == 1 else 's hold'} {UNSEEN} (first: {where}: "
                f"line {lines[i]}, {schema.names[j]} is {text!r})"
            )
        try:  # (the new values' log-probabilities carved with their rows)
            splits = _carve({"all": whole}, cfg, notes, novel)
        except DataError:  # a few rows to score: scoring reads the whole file anyway
            splits = {s: whole for s in SPLITS}
            novel = dict.fromkeys(SPLITS, new)
            notes.append(f"{len(whole)} rows: too few to split, every split is the whole file")
        novel["all"] = new
    g = torch.Generator().manual_seed(derive_seed(cfg.seed, 0xDE0))
    splits = {s: schema.dequantise(x, g if s == "train" else None) for s, x in splits.items()}
    return Dataset(
        name=named.name if named else Path(cfg.source).name,
        splits=splits,
        num_categories=schema.num_categories,
        source=named.origin if named else str(cfg.source),
        columns=schema.names,
        notes=notes,
        original={"all": schema.dequantise(whole)},
        schema=schema,
        unseen=unseen,
        novel={s: a for s, a in novel.items() if not np.isnan(a).all()},
        file_columns=None if file_columns is None else tuple(file_columns),
    )


def _source_columns(
    raw: _Raw, schema: TableSchema, where: str, notes: list[str]
) -> list[int] | None:
    """Where each of the model's table's columns is in ``raw``: None when in place, else the
    file's column for each (-1: a column the model left out, absent from the file). A file
    with a header is matched by name: its columns in any order, the identifier columns the
    model left out may be missing, and columns the model does not know are left out (said
    in ``notes``). ``DataError`` for a file without one of the columns the model reads (or
    without a header, of another width), naming what is missing."""
    assert raw.columns is not None
    names: list[str] = [""] * schema.width
    for at, name in zip(schema.positions, schema.names, strict=True):
        names[at] = name
    for at, name in schema.dropped:
        names[at] = name
    if raw.header_lines and tuple(raw.columns) == tuple(names):
        return None
    header = list(raw.columns)
    unique = len(set(header)) == len(header)
    if not raw.header_lines or not unique:
        if len(header) != len(names):
            raise DataError(
                f"{where}: {len(header)} columns, but the model's table has "
                f"{len(names)} ({', '.join(names[:12])})"
            )
        if not raw.header_lines:
            return None
        j = next(j for j, (a, b) in enumerate(zip(header, names, strict=True)) if a != b)
        raise DataError(f"{where}: column {j} is {header[j]!r} but the model's table has "
                        f"{names[j]!r} there")  # fmt: skip
    found = {name: k for k, name in enumerate(header)}  # a wide file: no scans of lists
    lacking = [n for n in schema.names if n not in found]
    if lacking:
        shown = ", ".join(repr(n) for n in lacking[:12])
        raise DataError(
            f"{where}: the model reads column{'s' if len(lacking) > 1 else ''} {shown}, which "
            f"the file's header does not name (it names {', '.join(header[:12])}"
            f"{', ...' if len(header) > 12 else ''})"
        )
    at = [found.get(n, -1) for n in names]
    known = set(names)
    extra = [n for n in header if n not in known]
    held = [k for k in at if k >= 0]
    said = []  # what differs from the model's table
    if held != sorted(held):
        said.append("the file has the model's columns in another order")
    if len(held) < len(names):
        said.append(f"without {', '.join(repr(names[i]) for i, k in enumerate(at) if k < 0)}, "
                    "which the model left out")  # fmt: skip
    if extra:
        said.append(f"left out {', '.join(repr(n) for n in extra[:12])}: columns the model "
                    "does not read")  # fmt: skip
    notes.append(f"columns matched by name: {'; '.join(said)}")
    return at


def _classes_from_labels(labels: dict[str, np.ndarray], where: str) -> tuple[str, ...]:
    """Class names for labels a file gives without names: their numbers, 0..K-1."""
    if not labels:
        return ()
    top = -1
    for split, y in labels.items():
        y = np.asarray(y)
        if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or np.all(y == np.round(y))):
            raise DataError(f"{where}: the {split} labels must be one integer class per example")
        if len(y) and y.min() < 0:
            raise DataError(f"{where}: the {split} labels must be classes numbered from 0")
        top = max(top, int(y.max()) if len(y) else -1)
    if top + 1 > MAX_CLASSES:
        raise DataError(f"{where}: labels name {top + 1} classes; at most {MAX_CLASSES:,}")
    return tuple(str(k) for k in range(max(top + 1, 2)))


def _describe_inferred(cats: tuple[int, ...], columns: tuple[str, ...] | None) -> str:
    if len(set(cats)) == 1:
        return f"inferred {cats[0]} categories for each of the {len(cats)} features"
    names = columns or tuple(f"feature {i}" for i in range(len(cats)))
    shown = ", ".join(f"{n}={k}" for n, k in zip(names[:12], cats[:12], strict=False))
    more = f", ... ({len(cats)} features)" if len(cats) > 12 else ""
    return f"inferred categories per feature: {shown}{more}"
