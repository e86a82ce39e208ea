"""Checkpoints: written atomically, read with weights-only loading, carrying their config.

A checkpoint is a plain dict of tensors and JSON-like values, so ``torch.load(...,
weights_only=True)`` reads it without running arbitrary pickle code, and it rebuilds its model
with no other file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .fileio import atomic_write
from .model import MADE

__all__ = ["save_checkpoint", "load_checkpoint", "FORMAT"]
FORMAT = "made-checkpoint-v1"


def save_checkpoint(path: str | os.PathLike[str], model: MADE, **extra: Any) -> None:
    """Save ``model`` (config + weights) and any ``extra`` tensors/plain values atomically."""
    payload = {
        "format": FORMAT,
        "made_version": __version__,
        "model_config": model.config.to_dict(),
        "model_state": model.state_dict(),
        **extra,
    }
    atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[MADE, dict[str, Any]]:
    """Rebuild the model saved at ``path``; returns ``(model, payload)``.

    Raises ``ValueError`` for a file that is not a made checkpoint (including one whose pickle
    would need to run code: weights-only loading refuses it).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint file at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or unsafe files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path} is not a readable made checkpoint: {first}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a made checkpoint (format {FORMAT} expected)")
    model = MADE.from_config(payload["model_config"])
    model.load_state_dict(payload["model_state"])
    return model.to(map_location), payload
