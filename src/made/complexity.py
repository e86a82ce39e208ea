"""Input complexity: the bits a generic lossless image compressor (PNG) spends on an image.

A likelihood model's log-density of an image is dominated by how simple the image is: a plain
image is likely under almost any model, so an out-of-distribution image with little in it can
score as more likely than the model's own data (Nalisnick et al., ICLR 2019), and a normal
image with much detail as less likely than an anomaly. Serra et al. (ICLR 2020, "Input
complexity and out-of-distribution detection with likelihood-based generative models")
correct the log-likelihood by the image's complexity, its code length ``L(x)`` under a
compressor that knows nothing of the data: ``log p(x) + L(x) ln 2`` is how many nats the
model saves over that compressor, high for the images the model has learnt and low for the
rest, whatever their detail. ``made.sklearn.MADEDensity`` uses it as its outlier score for
images (``image_shape``); PNG, through pillow (already made's image reader), is the
compressor.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

__all__ = ["check_pixels", "png_bits"]


def check_pixels(values: np.ndarray) -> np.ndarray:
    """``values`` as 8-bit pixels (uint8), or ValueError unless every value is an integer
    in 0-255 (what a PNG file can hold without a choice of scaling). uint8 values are
    pixels already: returned as they are, so checking them again costs nothing."""
    values = np.asarray(values)
    if values.dtype == np.uint8:
        return values
    if values.dtype.kind not in "biuf":
        raise ValueError(f"pixels must be numbers; got dtype {values.dtype}")
    pixels = values.astype(np.float64)
    if not np.all((pixels >= 0) & (pixels <= 255) & (pixels == np.rint(pixels))):
        raise ValueError(
            "with image_shape each value is an 8-bit pixel: integers 0-255 (scale or round "
            "the data, or leave image_shape out to model the columns as a table's)"
        )
    return pixels.astype(np.uint8)


def png_bits(images: np.ndarray, binary: bool) -> np.ndarray:
    """The size in bits of each image's PNG file, as pillow writes it.

    Args:
        images: (N, H, W) pixels, integers 0-255 (``check_pixels``).
        binary: write 1-bit images (any nonzero pixel is white), as for binarised data;
            else 8-bit grayscale. Keep it fixed for images that are compared.

    Returns:
        (N,) float64 bits (the file's size, headers included: a constant for a given shape).
    """
    pixels = check_pixels(images)
    if pixels.ndim != 3:
        raise ValueError(f"images must be (N, H, W); got shape {pixels.shape}")
    bits = np.empty(len(pixels))
    for i, image in enumerate(pixels):
        picture = Image.fromarray(image > 0) if binary else Image.fromarray(image)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        bits[i] = 8 * buffer.tell()
    return bits
