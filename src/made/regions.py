"""Regions of an example: the part to fill in (inpainting) or to hide (scoring a marginal),
named (a half of an image, a random half of the pixels) or read from a boolean ``.npy`` file;
and inpainting itself, a picture's worth of examples completed by the model.

A region is boolean, True where the model fills in (or where a score does not look).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import SettingError
from .model import MADE

__all__ = ["REGIONS", "Inpainting", "image_shape", "inpaint", "region"]

REGIONS = ("top", "bottom", "left", "right", "random")


def region(
    spec: str, shape: tuple[int, ...], n: int = 1, seed: int = 0, setting: str = "region"
) -> torch.Tensor:
    """Boolean ``(n, *shape)``, True in the region ``spec`` names: ``top``, ``bottom``,
    ``left`` or ``right`` (that half of an image-shaped example), ``random`` (each value with
    probability 1/2, from ``seed``) or the path of a ``.npy`` boolean array of the example's
    shape. ``SettingError`` (naming ``setting``) for anything else."""
    if spec in ("top", "bottom", "left", "right"):
        if len(shape) < 2:
            raise SettingError(setting, spec, f"needs image-shaped data; this model's is {shape}")
        h, w = shape[-2], shape[-1]
        out = torch.zeros(shape, dtype=torch.bool)
        if spec == "top":
            out[..., : h // 2, :] = True
        elif spec == "bottom":
            out[..., h // 2 :, :] = True
        elif spec == "left":
            out[..., :, : w // 2] = True
        else:
            out[..., :, w // 2 :] = True
        return out.expand(n, *shape)
    if spec == "random":
        g = torch.Generator().manual_seed(seed)
        return torch.rand((n, *shape), generator=g) < 0.5
    path = Path(spec)
    if path.suffix != ".npy" or not path.is_file():
        raise SettingError(setting, spec, "must be top, bottom, left, right, random or a .npy "
                           "file")  # fmt: skip
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SettingError(setting, spec, f"is not a readable .npy mask ({exc})") from None
    if values.size != int(np.prod(shape)):
        raise SettingError(setting, spec, f"holds {values.size} values for data of shape {shape}")
    return torch.from_numpy(values.astype(bool).reshape(shape)).expand(n, *shape)


def image_shape(input_shape: tuple[int, ...]) -> tuple[int, int]:
    """``(height, width)`` of one-channel image examples: the last two axes of a shape such
    as ``(1, 28, 28)``, or a square for flat examples of a square size; ``ValueError`` for
    any other shape (inpainting draws pictures)."""
    dims = int(np.prod(input_shape))
    if len(input_shape) >= 2 and dims == input_shape[-2] * input_shape[-1]:
        return int(input_shape[-2]), int(input_shape[-1])
    side = int(round(dims**0.5))
    if side * side != dims:
        raise ValueError(
            f"inpaint draws pictures of one-channel images; the data has shape {input_shape}"
        )
    return side, side


@dataclass(frozen=True)
class Inpainting:
    """``originals`` ``(n, 1, H, W)``, ``hidden`` (the region filled in, same shape),
    ``completions`` ``(n, k, 1, H, W)``, and the warnings sampling gave (each once)."""

    originals: torch.Tensor
    hidden: torch.Tensor
    completions: torch.Tensor
    warnings: list[str]


def inpaint(
    model: MADE,
    examples: torch.Tensor,
    spec: str,
    completions: int,
    generator: torch.Generator,
    *,
    ensemble: int | None = None,
    seed: int = 0,
) -> Inpainting:
    """Fill in the region ``spec`` (see ``region``) of each of ``examples`` (``(n,
    *input_shape)`` categories) ``completions`` times, as images. An order-agnostic model
    draws the hidden part from its exact conditional; a single ordering warns when the
    observed part is not a prefix of it."""
    shape = image_shape(model.input_shape)
    n, k = len(examples), completions
    originals = examples.long().reshape(n, 1, *shape)
    hidden = region(spec, (1, *shape), n, seed)
    observed = (~hidden).reshape(n, -1)
    values = originals.reshape(n, -1).repeat_interleave(k, dim=0).to(model.device)
    mask = observed.repeat_interleave(k, dim=0).to(model.device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drawn = model.sample(len(values), generator=generator, ensemble=ensemble,
                             observed=values, is_observed=mask)  # fmt: skip
    said = list(dict.fromkeys(str(w.message) for w in caught))  # each once, in order
    return Inpainting(originals, hidden, drawn.reshape(n, k, 1, *shape).cpu(), said)
