"""Data for MADE: the built-in Shapes set, real benchmark sets and the user's own files.

``load_data(name_or_path)`` returns a validated ``Dataset`` of integer splits. Nothing is
downloaded at run time: named sets are generated, read from installed packages, or read from a
file the user has (see ``NAMED_SETS`` and ``made data list``).
"""

from __future__ import annotations

from .formats import read_amat, read_csv, read_idx, read_npy, read_npz, read_png_folder
from .groups import OneHotGroups, find_groups
from .load import NAMED_SETS, Dataset, NamedSet, load_data
from .safe_pickle import UnsafePickleError, safe_load_pickle
from .shapes import SHAPE_CLASSES, generate_shapes
from .synthetic import bars_and_stripes, bars_and_stripes_entropy
from .table import Column, TableSchema, infer_schema
from .validate import DataError, check_array, infer_categories

__all__ = [
    "NAMED_SETS",
    "SHAPE_CLASSES",
    "Column",
    "TableSchema",
    "DataError",
    "Dataset",
    "NamedSet",
    "OneHotGroups",
    "UnsafePickleError",
    "bars_and_stripes",
    "bars_and_stripes_entropy",
    "check_array",
    "find_groups",
    "generate_shapes",
    "infer_categories",
    "infer_schema",
    "load_data",
    "read_amat",
    "read_csv",
    "read_idx",
    "read_npy",
    "read_npz",
    "read_png_folder",
    "safe_load_pickle",
]
