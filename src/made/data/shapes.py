"""Shapes: 20x20 binary images of filled geometric shapes, nine kinds, generated on the fly.

An equivalent of the "Shapes" set the MADE experiments here start from (10,479 training and
4,491 test images; that file cannot be downloaded, so it is generated). Each image holds one
filled shape, roughly centred, with a random size, a small random offset and, where it does
not change the kind, a random rotation; pixels are 1 where the pixel *centre* lies inside the
shape. Everything is vectorised over shapes, so the default set takes a fraction of a second.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["SHAPE_CLASSES", "generate_shapes", "SHAPES_TRAIN_SIZE", "SHAPES_TEST_SIZE"]

SHAPE_CLASSES = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "triangle-right",
    "triangle-down",
    "triangle-left",
    "star",
    "hexagon",
)
SHAPES_TRAIN_SIZE = 10_479
SHAPES_TEST_SIZE = 4_491

_DEG = math.pi / 180
# (number of outer vertices, base angle, rotation jitter) for each polygon class. Angles are in
# image coordinates (y grows downwards), so -90 degrees points up.
_POLYGONS = {
    "square": (4, 45 * _DEG, 15 * _DEG),
    "diamond": (4, 0.0, 15 * _DEG),
    "triangle-up": (3, -90 * _DEG, 10 * _DEG),
    "triangle-right": (3, 0.0, 10 * _DEG),
    "triangle-down": (3, 90 * _DEG, 10 * _DEG),
    "triangle-left": (3, 180 * _DEG, 10 * _DEG),
    "star": (5, -90 * _DEG, 36 * _DEG),  # 5-fold symmetric: any rotation up to 72 degrees
    "hexagon": (6, 0.0, 30 * _DEG),  # 6-fold symmetric: any rotation up to 60 degrees
}
_STAR_INNER = 0.42  # inner / outer radius of the five-point star


def _polygon_vertices(kind: str, n: int, radius: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """``(n, V, 2)`` vertices about the origin, in order around the shape."""
    sides, _, _ = _POLYGONS[kind]
    if kind == "star":
        k = torch.arange(10, dtype=torch.float64)
        theta = angle[:, None] + k * (math.pi / 5)
        r = radius[:, None] * torch.where(k % 2 == 0, 1.0, _STAR_INNER)
    else:
        k = torch.arange(sides, dtype=torch.float64)
        theta = angle[:, None] + k * (2 * math.pi / sides)
        r = radius[:, None].expand(n, sides)
    return torch.stack([r * torch.cos(theta), r * torch.sin(theta)], dim=-1)


def _inside_polygons(points: torch.Tensor, verts: torch.Tensor) -> torch.Tensor:
    """Even-odd rule: ``points`` (n, P, 2) inside polygons ``verts`` (n, V, 2) -> (n, P) bool."""
    a = verts[:, None, :, :]  # (n, 1, V, 2)
    b = torch.roll(verts, -1, dims=1)[:, None, :, :]
    px, py = points[..., 0:1], points[..., 1:2]  # (n, P, 1)
    ay, by = a[..., 1], b[..., 1]
    straddles = (ay > py) != (by > py)
    denom = torch.where(by == ay, torch.ones_like(by), by - ay)
    x_cross = a[..., 0] + (py - ay) * (b[..., 0] - a[..., 0]) / denom
    crossings = (straddles & (px < x_cross)).sum(dim=-1)
    return crossings % 2 == 1


def generate_shapes(
    n: int, seed: int = 0, size: int = 20, balanced: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` Shapes images and their labels: ``(n, 1, size, size)`` uint8 in {0, 1} and
    ``(n,)`` int64 indices into ``SHAPE_CLASSES``.

    Deterministic for a given ``seed``. With ``balanced`` the nine classes occur equally often
    (to within one) in a random order; otherwise each label is drawn uniformly.
    """
    if n < 0 or size < 8:
        raise ValueError(f"need n >= 0 and size >= 8; got n={n}, size={size}")
    g = torch.Generator().manual_seed(seed)
    k = len(SHAPE_CLASSES)
    if balanced:
        labels = (torch.arange(n) % k)[torch.randperm(n, generator=g)]
    else:
        labels = torch.randint(0, k, (n,), generator=g)
    scale = size / 20.0
    centre = size / 2 + (torch.rand(n, 2, generator=g, dtype=torch.float64) * 4 - 2) * scale
    radius = (5.0 + torch.rand(n, generator=g, dtype=torch.float64) * 4.5) * scale
    jitter = torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float64) + 0.5,
        torch.arange(size, dtype=torch.float64) + 0.5,
        indexing="ij",
    )
    grid = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=-1)  # pixel centres (P, 2)
    images = torch.zeros(n, size * size, dtype=torch.bool)
    for label, kind in enumerate(SHAPE_CLASSES):
        idx = (labels == label).nonzero().squeeze(1)
        if idx.numel() == 0:
            continue
        rel = grid[None] - centre[idx, None, :]  # (m, P, 2) relative to each shape's centre
        if kind == "circle":
            r = radius[idx] * 0.8  # a circle of the same circumradius looks too heavy
            images[idx] = (rel**2).sum(-1) <= r[:, None] ** 2
            continue
        _, base, spread = _POLYGONS[kind]
        verts = _polygon_vertices(kind, idx.numel(), radius[idx], base + spread * jitter[idx])
        images[idx] = _inside_polygons(rel, verts)
    out = images.reshape(n, 1, size, size).numpy().astype(np.uint8)
    return out, labels.numpy().astype(np.int64)
