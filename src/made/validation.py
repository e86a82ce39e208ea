"""Input checks of a MADE: data, context, ensemble size and observed masks.

Each check raises ``ValueError`` naming the first problem (shape, device, a value outside its
categories, NaN) and returns the input as the network reads it. ``MADE.validate`` is the public
entry; the library's own callers validate a data set once and then skip the checks per batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .outputs import Layout

__all__ = ["check_context", "check_ensemble", "check_mask", "check_x"]


def _check_finite(x: torch.Tensor) -> None:
    """``ValueError`` naming the first NaN or infinite value of ``(B, D)`` data."""
    bad = ~torch.isfinite(x)
    if bad.any():
        i, j = (int(v) for v in bad.nonzero()[0])
        raise ValueError(f"x holds {x[i, j].item()} at example {i}, dimension {j}")


def check_x(
    x: Any, layout: Layout, input_shape: tuple[int, ...], device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:  # fmt: skip
    """Data as ``(B, D)``: integer categories (kept in their integer dtype, so uint8 data sets
    stay small), or ``dtype`` values for a layout with real dimensions."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a torch.Tensor or numpy array; got {type(x).__name__}")
    d = layout.num_dims
    if x.dim() < 2 or (tuple(x.shape[1:]) != input_shape and tuple(x.shape[1:]) != (d,)):
        full = f"(batch, {', '.join(map(str, input_shape))})"
        either = full if input_shape == (d,) else f"{full} or (batch, {d})"
        raise ValueError(f"x must have shape {either}; got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("x is an empty batch (0 examples)")
    if x.device != device:
        raise ValueError(f"x is on {x.device} but the model is on {device}")
    x = x.reshape(x.shape[0], d)
    if layout.has_real:
        return _check_mixed(x, layout, dtype)
    if x.is_floating_point():
        _check_finite(x)
        frac = x != x.round()
        if frac.any():
            i, j = (int(v) for v in frac.nonzero()[0])
            raise ValueError(
                f"x must hold integer category values; got {x[i, j].item()} "
                f"at example {i}, dimension {j}"
            )
        x = x.long()
    elif x.is_complex():
        raise ValueError(f"x must hold integer category values; got dtype {x.dtype}")
    elif x.dtype == torch.bool:
        x = x.to(torch.uint8)
    bad = (x < 0) | (x >= layout.cardinality)
    if bad.any():
        i, j = (int(v) for v in bad.nonzero()[0])
        raise ValueError(
            f"x[{i}] holds {int(x[i, j])} at dimension {j}, outside its categories "
            f"0..{layout.cardinalities[j] - 1}"
        )
    return x


def _check_mixed(x: torch.Tensor, layout: Layout, dtype: torch.dtype) -> torch.Tensor:
    """``check_x`` for layouts with real dimensions: real values finite, the rest integer
    categories in range."""
    if x.is_complex():
        raise ValueError(f"x must hold real values; got dtype {x.dtype}")
    x = x.to(dtype)
    if layout.gap_dims:  # a missing value (NaN) is data in a dimension that may have one
        _check_finite(torch.where(x.isnan() & _gappy(layout, x), 0.0, x))
    else:
        _check_finite(x)
    if layout.discrete_dims:
        disc = x[:, layout.disc_index]
        bad = (disc != disc.round()) | (disc < 0) | (disc >= layout.cardinality[layout.disc_index])
        if bad.any():
            i, j = (int(v) for v in bad.nonzero()[0])
            dim = layout.discrete_dims[j]
            raise ValueError(
                f"x[{i}] holds {x[i, dim].item():g} at dimension {dim}, which is categorical "
                f"with categories 0..{layout.cardinalities[dim] - 1}"
            )
    return x


def _gappy(layout: Layout, x: torch.Tensor) -> torch.Tensor:
    """``(1, D)`` True at the dimensions whose values may be missing."""
    return torch.tensor(layout.missing, device=x.device)[None, :]


def check_context(
    context: Any, batch: int, size: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor | None:
    """A conditioning vector as ``(batch, size)``: given so, or as ``(size,)`` shared by all."""
    if size == 0:
        if context is not None:
            raise ValueError("this model has context_size=0 but a context was given")
        return None
    if context is None:
        raise ValueError(f"this model needs a context of shape (batch, {size})")
    if isinstance(context, np.ndarray):
        context = torch.from_numpy(context)
    if not isinstance(context, torch.Tensor):
        raise ValueError(f"context must be a tensor; got {type(context).__name__}")
    if context.dim() == 1:
        context = context.expand(batch, -1)
    if context.dim() != 2 or context.shape[1] != size or context.shape[0] != batch:
        raise ValueError(
            f"context must have shape ({batch}, {size}) or ({size},); got {tuple(context.shape)}"
        )
    if context.device != device:
        raise ValueError(f"context is on {context.device} but the model is on {device}")
    context = context.to(dtype)
    if not torch.isfinite(context).all():
        raise ValueError("context holds NaN or infinite values")
    return context


def check_ensemble(ensemble: object, num_masks: int) -> int:
    """``ensemble`` as an int in ``1..num_masks``."""
    if isinstance(ensemble, bool) or not isinstance(ensemble, int):
        raise ValueError(f"ensemble must be an int or None; got {ensemble!r}")
    if not 1 <= ensemble <= num_masks:
        raise ValueError(f"ensemble must be between 1 and num_masks={num_masks}; got {ensemble}")
    return ensemble


def check_mask(
    mask: object, n: int, input_shape: tuple[int, ...], device: torch.device,
    name: str = "is_observed",
) -> torch.Tensor:  # fmt: skip
    """A boolean mask over the cells as ``(n, D)``: given per example or once for all
    (``name``: the argument it came as, for the errors)."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise ValueError(f"{name} must be a boolean tensor")
    if mask.device != device:
        raise ValueError(f"{name} is on {mask.device} but the model is on {device}")
    d = int(np.prod(input_shape))
    if mask.numel() == d:
        return mask.reshape(1, d).expand(n, d)
    if mask.numel() == n * d and mask.shape[0] == n:
        return mask.reshape(n, d)
    raise ValueError(
        f"{name} must have shape {input_shape} or ({n}, "
        f"{', '.join(map(str, input_shape))}); got {tuple(mask.shape)}"
    )
