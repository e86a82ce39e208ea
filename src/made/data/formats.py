"""Readers for the file formats data arrives in. Each returns raw arrays (no binarisation, no
validation) or raises ``DataError`` naming the file and what is wrong with it."""

from __future__ import annotations

import csv
import gzip
import zipfile
from pathlib import Path

import numpy as np

from .safe_pickle import safe_load_pickle
from .validate import DataError

__all__ = [
    "read_amat",
    "is_number",
    "read_csv",
    "read_csv_cells",
    "read_idx",
    "read_npy",
    "read_npz",
    "read_png_folder",
    "read_shapes_pickle",
    "SPLIT_KEYS",
]

# Key spellings understood in .npz files, per split.
SPLIT_KEYS = {
    "train": ("train", "train_data", "x_train"),
    "valid": ("valid", "valid_data", "validation", "val", "x_valid"),
    "test": ("test", "test_data", "x_test"),
}
LABEL_KEYS = {
    "train": ("train_labels", "y_train"),
    "valid": ("valid_labels", "y_valid"),
    "test": ("test_labels", "y_test"),
}


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")


def read_npy(path: Path) -> np.ndarray:
    """A ``.npy`` array, memory-mapped (read-only) so large files are not read at once."""
    _require_file(path)
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None


def read_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(splits, labels)`` from a ``.npz``: split keys as in ``SPLIT_KEYS`` (labels as in
    ``LABEL_KEYS``), or one array under any name, returned as ``{"all": array}``."""
    _require_file(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if not arrays:
        raise DataError(f"{path}: the archive holds no arrays")
    splits, labels = {}, {}
    for split, keys in SPLIT_KEYS.items():
        found = [k for k in keys if k in arrays]
        if found:
            splits[split] = arrays[found[0]]
        found = [k for k in LABEL_KEYS[split] if k in arrays]
        if found:
            labels[split] = arrays[found[0]]
    if not splits:
        if len(arrays) != 1:
            raise DataError(
                f"{path}: holds {sorted(arrays)}; expected keys train/valid/test (or "
                "train_data/valid_data/test_data), or a single array to split"
            )
        splits = {"all": next(iter(arrays.values()))}
    elif "train" not in splits:
        raise DataError(f"{path}: has {sorted(splits)} splits but no train split")
    return splits, labels


def read_csv_cells(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    """``(header, rows)`` of a CSV file as stripped text cells, blank lines skipped. A first
    row that is not all numbers is taken as the header. Every row must have its width."""
    _require_file(path)
    try:
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise DataError(f"{path}: the file has no rows")
    rows = [[c.strip() for c in row] for row in rows]
    header = None
    if not all(is_number(c) for c in rows[0]):
        header, rows = rows[0], rows[1:]
        if not rows:
            raise DataError(f"{path}: a header but no data rows")
    width = len(header) if header is not None else len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            line = i + 1 + (header is not None)
            raise DataError(f"{path}: line {line} has {len(row)} columns, expected {width}")
    return header, rows


def is_number(cell: str) -> bool:
    """Whether a text cell reads as a number (``nan`` and ``inf`` do; they are refused later
    with their place)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_csv(path: Path) -> tuple[np.ndarray, list[str] | None]:
    """``(values, header)`` of a CSV of integer columns; the header row is optional (a first
    row that is not all numbers is taken as one)."""
    header, rows = read_csv_cells(path)
    values = np.empty((len(rows), len(rows[0])), dtype=np.float64)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            try:
                values[i, j] = float(cell)
            except ValueError:
                line = i + 1 + (header is not None)
                name = header[j] if header else f"column {j}"
                raise DataError(
                    f"{path}: line {line}, {name} is {cell!r}; expected an integer"
                ) from None
    return values, header


def read_png_folder(path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """``(images (N, 1, H, W) uint8 grey levels, labels or None, class names)``.

    PNGs directly in ``path`` are unlabelled; PNGs in sub-folders are labelled by sub-folder
    (class names sorted). All images must have one size.
    """
    from PIL import Image, UnidentifiedImageError

    if not path.is_dir():
        raise DataError(f"{path}: no such folder")
    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and any(p.glob("*.png")))
    if subdirs:
        files = [(f, i) for i, d in enumerate(subdirs) for f in sorted(d.glob("*.png"))]
        classes = [d.name for d in subdirs]
    else:
        files = [(f, -1) for f in sorted(path.glob("*.png"))]
        classes = []
    if not files:
        raise DataError(f"{path}: no .png files in the folder or its sub-folders")
    images = []
    for f, _ in files:
        try:
            with Image.open(f) as im:
                images.append(np.asarray(im.convert("L"), dtype=np.uint8))
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"{f}: not a readable PNG image ({exc})") from None
        if images[-1].shape != images[0].shape:
            raise DataError(
                f"{f}: image is {images[-1].shape[1]}x{images[-1].shape[0]} pixels, expected "
                f"{images[0].shape[1]}x{images[0].shape[0]} like {files[0][0].name}"
            )
    labels = np.array([label for _, label in files], dtype=np.int64) if classes else None
    return np.stack(images)[:, None], labels, classes


def read_amat(path: Path) -> np.ndarray:
    """Larochelle's ``.amat`` text format: one example per line, space-separated values."""
    _require_file(path)
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable .amat file ({exc})") from None
    if not rows:
        raise DataError(f"{path}: the file has no rows")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}: line {i + 1} has {len(row)} values, expected {width}")
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"{path}: non-numeric value ({exc})") from None


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST family's format), gzipped or not."""
    _require_file(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: IDX body has {len(raw) - header} bytes, expected {expected} for {shape}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def read_shapes_pickle(path: Path) -> dict[str, np.ndarray]:
    """The original Shapes pickle: ``{'train': (N, 20, 20, 1) uint8, 'test': ...}``, read with
    the restricted unpickler and binarised at > 127.5; returned as ``(N, 1, 20, 20)``."""
    _require_file(path)
    data = safe_load_pickle(path)
    if not isinstance(data, dict) or not {"train", "test"} <= set(data):
        raise DataError(f"{path}: expected a dict with 'train' and 'test' arrays")
    out = {}
    for split in ("train", "test"):
        x = data[split]
        if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[-1] != 1:
            got = getattr(x, "shape", type(x).__name__)
            raise DataError(f"{path}: '{split}' must be an array (N, H, W, 1); got {got}")
        out[split] = (np.transpose(x, (0, 3, 1, 2)) > 127.5).astype(np.uint8)
    return out
