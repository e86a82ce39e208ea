"""Figures from numbers and tensors (never from a model): loss curves, sample grids and a
table's columns."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import torch

from .fileio import save_figure

__all__ = ["plot_columns", "plot_loss", "save_inpainting_grid", "save_sample_grid"]


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, imported on first use: it costs a
    second of start-up that a command drawing nothing (``made --help``, ``made score``)
    should not pay."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display is needed or assumed
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    """Write the figure through made's one atomic writer, and free it whatever happens."""
    try:
        save_figure(fig, path)
    finally:
        _pyplot().close(fig)


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
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(epochs, train, marker="o" if few else None, label="train loss")
    ax.plot(epochs, valid, marker="s" if few else None, label="validation NLL")
    values = [v for v in (*train, *valid, floor, test_nll) if v is not None and v > 0]
    if values and max(values) > 3 * min(values):
        ax.set_yscale("log")  # so the end of training, where the differences are, is visible
        from matplotlib.ticker import FuncFormatter

        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    if test_nll is not None:
        ax.axhline(test_nll, color="tab:red", ls=":", label=f"test NLL {test_nll:.3f}")
    if floor is not None:
        ax.axhline(floor, color="black", ls="--", label=f"true entropy {floor:.3f}")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL (nats per example)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(fig, path)


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
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, max(1.5, min(12, 6 * aspect))), dpi=120)
    cmap = plt.get_cmap("gray" if num_categories == 2 else "viridis").with_extremes(
        bad="#d0d0ff"  # the lines between samples
    )
    ax.imshow(canvas.numpy(), cmap=cmap, vmin=0, vmax=num_categories - 1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)


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
    plt = _pyplot()
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
    _save(fig, path)


# A categorical column's panel shows at most this many bars: past it, the most frequent
# categories and one bar for the rest (38 species' names overlapped into a smudge).
MAX_BARS = 12


def _bar_groups(freq: Any, values: Sequence[str]) -> tuple[list[Any], list[str]]:
    """The codes each bar of a categorical panel sums, and its label (a category's first 8
    characters): one bar a category, or past ``MAX_BARS`` the most frequent ``MAX_BARS -
    1`` (by ``freq``, the data's) in the column's order and one bar "other (n)" for the n
    others."""
    import numpy as np

    if len(values) <= MAX_BARS:
        return [np.array([c]) for c in range(len(values))], [v[:8] for v in values]
    top = np.sort(np.argsort(-freq, kind="stable")[: MAX_BARS - 1])
    rest = np.setdiff1d(np.arange(len(values)), top)
    return ([np.array([c]) for c in top] + [rest],
            [values[c][:8] for c in top] + [f"other ({len(rest)})"])  # fmt: skip


def plot_columns(
    schema: Any,
    data: Any,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    samples: Any = None,
    max_columns: int = 32,
) -> None:
    """One panel per column of a table (a ``made.data.TableSchema``; the first
    ``max_columns``): a histogram of a real column in its own units, the category
    frequencies of a categorical one. With ``samples`` (same encoding as ``data``), the
    model's samples are drawn over the data."""
    import numpy as np

    columns = schema.columns[:max_columns]
    if len(schema.columns) > max_columns:
        title = f"{title} (the first {max_columns} of {len(schema.columns)} columns)".strip()
    cols = min(4, len(columns))
    rows = math.ceil(len(columns) / cols)
    plt = _pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), dpi=100,
                             squeeze=False)  # fmt: skip
    sets = [("data", np.asarray(data, dtype=np.float64))]
    if samples is not None:
        sets.append(("samples", np.asarray(samples, dtype=np.float64)))
    for j, (ax, col) in enumerate(zip(axes.flat, columns, strict=False)):
        if col.kind == "real":
            values = [col.own_units(x[:, j]) for _, x in sets]
            values = [v[np.isfinite(v)] for v in values]  # a diverged sample is not drawn
            bins = np.histogram_bin_edges(np.concatenate(values), bins=20)
            for (label, _), v in zip(sets, values, strict=True):
                ax.hist(v, bins=bins, density=True, alpha=0.55, label=label)
            if col.date or col.clock:  # days or seconds, shown as the dates or times they are
                from matplotlib.ticker import FuncFormatter, MaxNLocator

                from .data.times import stamped, time_text

                def shown(v: float, _: int, col: Any = col) -> str:  # its own column's
                    text = time_text(col, v)  # a date and a time: the time below the date
                    if not stamped(col.clock):
                        return text
                    return text.replace("T", "\n", 1) if "T" in text else text.replace(" ", "\n", 1)

                ax.xaxis.set_major_locator(MaxNLocator(4 if col.clock[:1] == "h" else 3))
                ax.xaxis.set_major_formatter(FuncFormatter(shown))
        else:
            k = len(col.values)
            freqs = [np.bincount(np.rint(x[:, j]).astype(int), minlength=k)[:k] / len(x)
                     for _, x in sets]  # fmt: skip
            groups, labels = _bar_groups(freqs[0], col.values)
            width = 0.8 / len(sets)
            for s, ((label, _), freq) in enumerate(zip(sets, freqs, strict=True)):
                heights = [freq[g].sum() for g in groups]
                ax.bar(np.arange(len(groups)) + s * width, heights, width=width, alpha=0.8,
                       label=label)  # fmt: skip
            ax.set_xticks(np.arange(len(labels)) + width * (len(sets) - 1) / 2)
            ax.set_xticklabels(labels, fontsize=7,
                               rotation=45 if len(labels) > 4 else 0)  # fmt: skip
        ax.set_title(col.name[:28], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(columns) :]:
        ax.axis("off")
    if samples is not None:
        axes.flat[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
