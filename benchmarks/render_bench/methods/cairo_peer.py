"""pycairo on an 8-bit alpha surface."""

from __future__ import annotations

import numpy as np

from ..settings import INV255, LINE_WIDTH
from .base import Case, Skip
from .per_image import PerImage


class CairoA8(PerImage):
    """pycairo, antialiased, round caps and joins, on an 8-bit alpha (A8) surface
    (coverage of the line; gray = 255 - alpha): the cheapest surface for a gray chart."""

    def __init__(self, case: Case):
        super().__init__(case)
        try:
            import cairo
        except ImportError as e:
            raise Skip(f"pycairo not installed ({e})") from None
        self.cairo = cairo
        self.surface = cairo.ImageSurface(cairo.FORMAT_A8, case.width, case.height)
        self.ctx = cairo.Context(self.surface)
        self.ctx.translate(0.5, 0.5)  # cairo's pixel centres are at +0.5
        self.ctx.set_line_width(LINE_WIDTH)
        self.ctx.set_line_cap(cairo.LINE_CAP_ROUND)
        self.ctx.set_line_join(cairo.LINE_JOIN_ROUND)
        self.alpha = np.ndarray(
            (case.height, self.surface.get_stride()), dtype=np.uint8, buffer=self.surface.get_data()
        )[:, : case.width]

    def draw(self, x, y, dst):
        ctx, cairo = self.ctx, self.cairo
        ctx.set_operator(cairo.OPERATOR_CLEAR)
        ctx.paint()
        ctx.set_operator(cairo.OPERATOR_OVER)
        ctx.set_source_rgba(0, 0, 0, 1)
        xs, ys = x.tolist(), y.tolist()
        ctx.move_to(xs[0], ys[0])
        for px, py in zip(xs[1:], ys[1:]):
            ctx.line_to(px, py)
        ctx.stroke()
        self.surface.flush()
        if dst.dtype == np.uint8:
            np.subtract(255, self.alpha, out=dst)
        else:
            np.multiply(self.alpha, -INV255, out=dst, casting="unsafe")
            dst += 1.0
