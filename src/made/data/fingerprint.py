"""A data set's fingerprint: each split's shape, dtype and a SHA-256 of its contents.

A run records the fingerprint of the data it trained on, so that resuming it (or scoring with
its own data) can tell the same data from changed data of the same width, and say what changed.
The hash is of the splits as the model sees them (after binarisation, carving and encoding),
read in chunks, so a memory-mapped file is not loaded at once.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from .validate import chunks

__all__ = ["fingerprint", "fingerprint_changes"]


def _digest(x: np.ndarray) -> str:
    h = hashlib.sha256()
    for _, rows in chunks(x):
        h.update(np.ascontiguousarray(rows).tobytes())
    return h.hexdigest()


def fingerprint(splits: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> dict[str, Any]:
    """``{split: {"shape", "dtype", "sha256", "labels_sha256"?}}`` for every split."""
    out: dict[str, Any] = {}
    for name, x in splits.items():
        entry = {"shape": list(x.shape), "dtype": str(x.dtype), "sha256": _digest(x)}
        if name in labels:
            entry["labels_sha256"] = _digest(np.asarray(labels[name]))
        out[name] = entry
    return out


def fingerprint_changes(recorded: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, one phrase each (empty when they match)."""
    changes = []
    for split in sorted(set(recorded) | set(now)):
        a, b = recorded.get(split), now.get(split)
        if a is None or b is None:
            changes.append(f"split '{split}' {'appeared' if a is None else 'is gone'}")
        elif a["shape"] != b["shape"]:
            changes.append(
                f"split '{split}' has shape {tuple(b['shape'])}, was {tuple(a['shape'])}"
            )
        elif a["sha256"] != b["sha256"] or a["dtype"] != b["dtype"]:
            changes.append(f"split '{split}' has the same shape but other values")
        elif a.get("labels_sha256") != b.get("labels_sha256"):
            changes.append(f"split '{split}' has other labels")
    return changes
