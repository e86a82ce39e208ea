"""Which device a computation runs on: ``"auto"``, ``"cpu"`` or ``"cuda"``, resolved once for
the command line, ``MADEDensity`` and every other caller."""

from __future__ import annotations

import torch

from .errors import SettingError

__all__ = ["DEVICES", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device, local_rank: int = 0) -> torch.device:
    """``"auto"`` (CUDA when there is one, else the CPU), ``"cpu"`` or ``"cuda"`` (or a
    ``torch.device`` of those types) as a device; under torchrun, ``local_rank`` picks this
    process's GPU. ``SettingError`` (a ``ValueError``) for anything else, or for CUDA on a
    machine without it."""
    if isinstance(name, torch.device):
        kind = name.type
    elif isinstance(name, str):
        kind = name
    else:
        raise SettingError("device", name, "must be auto, cpu or cuda")
    if kind == "auto":
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise SettingError("device", name, "was asked for but this machine has no CUDA device")
        if isinstance(name, torch.device) and name.index is not None:
            return name
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if kind != "cpu":
        raise SettingError("device", name, "must be auto, cpu or cuda")
    return torch.device("cpu")
