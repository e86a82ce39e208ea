"""Figures from numbers and tensors (never from a model): loss curves and sample grids."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

__all__ = ["plot_loss", "save_sample_grid"]


def plot_loss(
    history: Sequence[dict[str, Any]],
    path: str | os.PathLike[str],
    *,
    floor: float | None = None,
    test_nll: float | None = None,
) -> None:
    """Train loss and validation NLL (nats per example) against epochs; ``floor`` draws the
    data's exact entropy where known, ``test_nll`` the final test figure."""
    epochs = [h["epoch"] for h in history]
    train = [h["train_loss"] for h in history]
    valid = [h["valid_nll"] for h in history]
    few = len(epochs) <= 30
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(epochs, train, marker="o" if few else None, label="train loss")
    ax.plot(epochs, valid, marker="s" if few else None, label="validation NLL")
    values = [v for v in (*train, *valid, floor, test_nll) if v is not None and v > 0]
    if values and max(values) > 3 * min(values):
        ax.set_yscale("log")  # so the end of training, where the differences are, is visible
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    if test_nll is not None:
        ax.axhline(test_nll, color="tab:red", ls=":", label=f"test NLL {test_nll:.3f}")
    if floor is not None:
        ax.axhline(floor, color="black", ls="--", label=f"true entropy {floor:.3f}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL (nats per example)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def save_sample_grid(
    samples: torch.Tensor,
    path: str | os.PathLike[str],
    *,
    num_categories: int = 2,
    title: str | None = None,
) -> None:
    """Save samples ``(N, *shape)`` as a grid: images for ``(N, 1, H, W)`` or ``(N, H, W)``,
    otherwise one row of D cells per sample."""
    x = samples.detach().cpu()
    n = x.shape[0]
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 3:
        x = x.reshape(n, 1, -1)
    h, w = x.shape[1:]
    ncol = math.ceil(math.sqrt(n)) if h > 1 else 1
    nrow = math.ceil(n / ncol)
    canvas = torch.full((nrow * (h + 1) + 1, ncol * (w + 1) + 1), float("nan"))
    for i in range(n):
        r, c = divmod(i, ncol)
        canvas[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w] = x[i]
    aspect = canvas.shape[0] / canvas.shape[1]
    fig, ax = plt.subplots(figsize=(6, max(1.5, min(12, 6 * aspect))), dpi=120)
    cmap = plt.get_cmap("gray" if num_categories == 2 else "viridis").with_extremes(
        bad="#d0d0ff"  # the lines between samples
    )
    ax.imshow(canvas.numpy(), cmap=cmap, vmin=0, vmax=num_categories - 1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def save_inpainting_grid(
    originals: torch.Tensor,
    hidden: torch.Tensor,
    completions: torch.Tensor,
    path: str | os.PathLike[str],
    *,
    num_categories: int = 2,
    title: str | None = None,
) -> None:
    """One row per example: the original, the input with its hidden part shaded, and each
    completion. ``originals`` ``(N, 1, H, W)``, ``hidden`` boolean of the same shape (True =
    hidden, to be filled in), ``completions`` ``(N, K, 1, H, W)``."""
    n, k = completions.shape[:2]
    shown = originals.detach().cpu().float().reshape(n, -1)
    masked = shown.clone()
    masked[hidden.detach().cpu().reshape(n, -1)] = float("nan")
    h, w = originals.shape[-2:]
    columns = [shown.reshape(n, h, w), masked.reshape(n, h, w)]
    columns += [completions[:, j].detach().cpu().float().reshape(n, h, w) for j in range(k)]
    labels = ["original", "observed", *[f"sample {j + 1}" for j in range(k)]]
    cmap = plt.get_cmap("gray" if num_categories == 2 else "viridis").with_extremes(
        bad="#e07070"  # the hidden part
    )
    fig, axes = plt.subplots(n, len(columns), figsize=(1.1 * len(columns), 1.1 * n + 0.4),
                             dpi=120, squeeze=False)  # fmt: skip
    for i in range(n):
        for j, col in enumerate(columns):
            ax = axes[i, j]
            ax.imshow(col[i].numpy(), cmap=cmap, vmin=0, vmax=num_categories - 1,
                      interpolation="nearest")  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(labels[j], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
