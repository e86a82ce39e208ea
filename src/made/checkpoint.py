"""Checkpoints: written atomically, read with weights-only loading, carrying their config,
and checked against a SHA-256 digest of their contents.

A checkpoint is a plain dict of tensors and JSON-like values, so ``torch.load(...,
weights_only=True)`` reads it without running arbitrary pickle code, and it rebuilds its model
with no other file. The digest covers every value in it (each tensor's dtype, shape and bytes),
so a file that was truncated, damaged or edited is refused on load instead of training on or
scoring with silently wrong weights.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import torch

from .calibration import apply_calibration
from .errors import brief
from .fileio import atomic_write_bytes
from .model import MADE
from .version import __version__

__all__ = [
    "FORMAT",
    "checkpoint_bytes",
    "checkpoint_epoch",
    "checkpoint_payload",
    "load_checkpoint",
    "save_checkpoint",
]
FORMAT = "made-checkpoint-v2"


def _digest(value: Any, h: Any | None = None) -> Any:
    """SHA-256 over a nested payload: dicts (keys sorted), lists, tensors and plain values."""
    h = hashlib.sha256() if h is None else h
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        if t.numel():
            h.update(t.view(-1).view(torch.uint8).numpy())  # the buffer itself, not a copy
    elif isinstance(value, dict):
        h.update(b"{")
        for key in sorted(value, key=str):
            h.update(repr(key).encode())
            _digest(value[key], h)
        h.update(b"}")
    elif isinstance(value, list | tuple):
        h.update(b"[")
        for item in value:
            _digest(item, h)
        h.update(b"]")
    else:
        h.update(repr(value).encode())
    return h


def _read(path: Path, map_location: str | torch.device, mmap: bool = False) -> dict[str, Any]:
    """The payload of a made checkpoint file (weights-only), or a ``ValueError`` saying why
    not. ``mmap`` maps the tensors instead of reading them (for a quick look at the rest)."""
    if not path.is_file():
        raise ValueError(f"no checkpoint file at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as exc:  # torch raises several types for corrupt or unsafe files
        # torch's own message advises loading with weights_only=False: the one thing to avoid
        # with a file one does not trust, so it is not repeated.
        if "unsupported global" in str(exc).lower():
            raise ValueError(
                f"{path} is not a made checkpoint: it holds Python objects that could run code "
                "when loaded, so made refuses to load it"
            ) from None
        raise ValueError(
            f"{path} is not a readable made checkpoint (truncated, damaged or not a "
            "checkpoint); train again, or use another copy of the file"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a made checkpoint (format {FORMAT} expected)")
    return payload


def checkpoint_epoch(path: str | os.PathLike[str]) -> int:
    """The epoch a checkpoint was saved after, read without loading its tensors (nor checking
    its digest: ``load_checkpoint`` does that)."""
    epoch = _read(Path(path), "cpu", mmap=True).get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError(f"{path} is not a made training checkpoint (it records no epoch)")
    return epoch


def checkpoint_payload(
    model: MADE, state: dict[str, torch.Tensor] | None = None, **extra: Any
) -> dict[str, Any]:
    """What a checkpoint of ``model`` holds: its config, its weights (or ``state``, a state
    dict of the same model) and any ``extra`` tensors/plain values. The tensors are the
    model's own, not copies."""
    return {
        "format": FORMAT,
        "made_version": __version__,
        "model_config": model.config.to_dict(),
        "model_state": model.state_dict() if state is None else state,
        "dtype": str(model.output.weight.dtype).removeprefix("torch."),
        **extra,
    }


def checkpoint_bytes(payload: dict[str, Any]) -> bytes:
    """A ``checkpoint_payload`` with its digest, serialised: the file's contents."""
    buffer = io.BytesIO()
    torch.save({**payload, "sha256": _digest(payload).hexdigest()}, buffer)
    return buffer.getvalue()


def save_checkpoint(path: str | os.PathLike[str], model: MADE, **extra: Any) -> None:
    """Save ``model`` (config + weights) and any ``extra`` tensors/plain values atomically."""
    atomic_write_bytes(path, checkpoint_bytes(checkpoint_payload(model, **extra)))


def load_checkpoint(
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    calibrated: bool = True,
) -> tuple[MADE, dict[str, Any]]:
    """Rebuild the model saved at ``path``; returns ``(model, payload)``.

    A run's ``best.pt`` may carry ``calibration``: the log factors that fitted its
    conditionals' widths to the validation rows (``made.calibration``), kept beside the
    weights as trained. The model returned has them applied, or with ``calibrated=False``
    (resuming the training) not.

    Raises ``ValueError`` for a file that is not a made checkpoint (including one whose pickle
    would need to run code: weights-only loading refuses it), and for one whose contents no
    longer match the digest written with them.
    """
    path = Path(path)
    payload = _read(path, map_location)
    stored = payload.pop("sha256", None)
    try:
        intact = stored == _digest(payload).hexdigest()
    except RecursionError:
        intact = False
    if not intact:
        raise ValueError(
            f"{path} is damaged or was modified: its contents do not match the SHA-256 digest "
            "written with them"
        )
    # The digest proves the file is what was written, not who wrote it (anyone can compute
    # one): what it holds is still checked, the model's size first (MADEConfig's limits).
    try:
        model = MADE.from_config(payload["model_config"])
        dtype = getattr(torch, str(payload.get("dtype", "float32"))[:16], None)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ValueError(f"an unknown dtype {str(payload.get('dtype'))[:16]!r}")
        model = model.to(dtype)  # the weights load as they were saved, not rounded to float32
        model.load_state_dict(payload["model_state"])
        if calibrated and payload.get("calibration") is not None:
            apply_calibration(model, payload["calibration"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise ValueError(f"{path} is not a usable made checkpoint ({brief(exc)})") from None
    # in evaluation mode: a loaded model scores and samples (dropout, if any, is off)
    return model.to(map_location).eval(), payload
