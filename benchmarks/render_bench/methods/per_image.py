"""The shape of a peer that draws one image at a time (matplotlib, cairo, Pillow, OpenCV)."""

from __future__ import annotations

import numpy as np

from ..settings import INV255, NP_DTYPES
from .base import Case, Method, as_gray


def pixel_layout(values: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y) of the points, in float32 (the op's model at margin 0)."""
    v = values.astype(np.float32)
    n = len(v)
    if n > 1:
        x = np.arange(n, dtype=np.float32) * np.float32((width - 1) / (n - 1))
    else:
        x = np.full(1, (width - 1) / 2, dtype=np.float32)
    lo, hi = v.min(), v.max()
    if hi > lo:
        y = (np.float32(1) - (v - lo) / (hi - lo)) * np.float32(height - 1)
    else:
        y = np.full(n, (height - 1) / 2, dtype=np.float32)
    return x, y


class PerImage(Method):
    """A peer that draws one image at a time (Python loop over the batch) into slot
    ``i % batch`` of a reused [batch, H, W] output."""

    per_step = 1

    def __init__(self, case: Case):
        self.case = case
        self.values = case.series.numpy()
        self.out = np.empty((case.batch, case.height, case.width), dtype=NP_DTYPES[case.dtype])
        self.images_drawn = 0

    def step(self):
        slot = self.images_drawn % self.case.batch
        x, y = pixel_layout(self.values[slot], self.case.height, self.case.width)
        self.draw(x, y, self.out[slot])
        self.images_drawn += 1

    def draw(self, x: np.ndarray, y: np.ndarray, dst: np.ndarray) -> None:
        raise NotImplementedError

    def store(self, gray_u8: np.ndarray, dst: np.ndarray) -> None:
        """An 8-bit gray image (0 = ink) into the float32 or uint8 output."""
        if dst.dtype == np.uint8:
            np.copyto(dst, gray_u8)
        else:
            np.multiply(gray_u8, INV255, out=dst, casting="unsafe")

    def result(self):
        return as_gray(self.out, self.case.dtype)
