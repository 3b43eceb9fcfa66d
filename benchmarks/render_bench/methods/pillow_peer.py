"""Pillow ImageDraw on an 8-bit gray image."""

from __future__ import annotations

import numpy as np

from ..settings import LINE_WIDTH
from .base import Case, Skip
from .per_image import PerImage


class PillowLine(PerImage):
    """Pillow ImageDraw.line(width=3) on a reused 8-bit gray ('L') image (no
    antialiasing in Pillow), then copied/converted into the output."""

    def __init__(self, case: Case):
        super().__init__(case)
        try:
            from PIL import Image, ImageDraw
        except ImportError as e:
            raise Skip(f"Pillow not installed ({e})") from None
        self.image = Image.new("L", (case.width, case.height), 255)
        self.pen = ImageDraw.Draw(self.image)

    def draw(self, x, y, dst):
        self.image.paste(255, (0, 0, self.case.width, self.case.height))
        self.pen.line(np.column_stack([x, y]).ravel().tolist(), fill=0, width=int(LINE_WIDTH))
        self.store(np.asarray(self.image), dst)
