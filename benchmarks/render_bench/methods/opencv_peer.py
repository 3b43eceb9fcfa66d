"""OpenCV cv2.polylines, antialiased (LINE_AA) and aliased (LINE_8)."""

from __future__ import annotations

import numpy as np

from ..settings import BACKGROUND, CV2_THICKNESS, FOREGROUND
from .base import Case, Skip
from .per_image import PerImage

SUBPIXEL_BITS = 4  # cv2's shift: points carry 4 fractional bits


class OpenCVPolylines(PerImage):
    """cv2.polylines, thickness=CV2_THICKNESS, sub-pixel points; LINE_AA into a float32
    output draws uint8 and converts (README: "OpenCV thickness")."""

    line_type_name = "LINE_AA"

    def __init__(self, case: Case, thickness: int = CV2_THICKNESS):
        super().__init__(case)
        try:
            import cv2
        except ImportError as e:
            raise Skip(f"opencv-python(-headless) not installed ({e})") from None
        self.cv2, self.thickness = cv2, thickness
        self.line_type = getattr(cv2, self.line_type_name)
        self.draws_in_place = case.dtype == "uint8" or self.line_type_name != "LINE_AA"
        self.scratch = None if self.draws_in_place else np.empty((case.height, case.width), np.uint8)

    def draw(self, x, y, dst):
        cv2 = self.cv2
        pts = np.rint(np.column_stack([x, y]) * float(1 << SUBPIXEL_BITS)).astype(np.int32)
        if self.draws_in_place:
            dst.fill(BACKGROUND[self.case.dtype])
            cv2.polylines(dst, [pts], False, FOREGROUND[self.case.dtype], thickness=self.thickness,
                          lineType=self.line_type, shift=SUBPIXEL_BITS)
        else:
            self.scratch.fill(255)
            cv2.polylines(self.scratch, [pts], False, 0, thickness=self.thickness,
                          lineType=self.line_type, shift=SUBPIXEL_BITS)
            self.store(self.scratch, dst)


class OpenCVPolylinesAliased(OpenCVPolylines):
    line_type_name = "LINE_8"
