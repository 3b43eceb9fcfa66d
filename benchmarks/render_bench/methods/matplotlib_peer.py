"""matplotlib: a reused Agg figure, and the replaced pipeline (a new figure and a PNG per image)."""

from __future__ import annotations

import io

import numpy as np

from ..settings import DPI, LINE_WIDTH
from .base import Case, Skip
from .per_image import PerImage


def import_matplotlib():
    try:
        import matplotlib
    except ImportError as e:
        raise Skip(f"matplotlib not installed ({e})") from None
    matplotlib.use("Agg")
    return matplotlib


class MatplotlibReused(PerImage):
    """One Agg figure of H x W pixels, no axes, no margins; per image: set the line's
    data, draw the canvas, take the red channel of the RGBA buffer (R = G = B)."""

    def __init__(self, case: Case):
        super().__init__(case)
        import_matplotlib()
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(case.width / DPI, case.height / DPI), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(-0.5, case.width - 0.5)  # data coordinates = pixel centres, row 0 on top
        ax.set_ylim(case.height - 0.5, -0.5)
        (self.line,) = ax.plot(
            [0, 1], [0, 1], color="black", linewidth=LINE_WIDTH * 72.0 / DPI, antialiased=True,
            solid_capstyle="round", solid_joinstyle="round",
        )
        self.canvas.draw()
        shape = np.asarray(self.canvas.buffer_rgba()).shape
        if shape[:2] != (case.height, case.width):
            raise Skip(f"matplotlib canvas is {shape[:2]}, not {(case.height, case.width)}")

    def draw(self, x, y, dst):
        self.line.set_data(x, y)
        self.canvas.draw()
        self.store(np.asarray(self.canvas.buffer_rgba())[..., 0], dst)


class MatplotlibNewFigurePNG(PerImage):
    """The replaced pipeline: a new pyplot figure per image, plot, savefig to PNG (in
    memory), close; the PNG decoded with Pillow into the output."""

    def __init__(self, case: Case):
        super().__init__(case)
        import_matplotlib()
        import matplotlib.pyplot as plt

        try:
            from PIL import Image
        except ImportError as e:
            raise Skip(f"Pillow not installed (decodes the PNG) ({e})") from None
        self.plt, self.Image = plt, Image

    def draw(self, x, y, dst):
        c, plt = self.case, self.plt
        fig = plt.figure(figsize=(c.width / DPI, c.height / DPI), dpi=DPI, facecolor="white")
        try:
            ax = fig.add_axes((0, 0, 1, 1))
            ax.set_axis_off()
            ax.set_xlim(-0.5, c.width - 0.5)
            ax.set_ylim(c.height - 0.5, -0.5)
            ax.plot(x, y, color="black", linewidth=LINE_WIDTH * 72.0 / DPI, antialiased=True,
                    solid_capstyle="round", solid_joinstyle="round")
            png = io.BytesIO()
            fig.savefig(png, format="png", dpi=DPI, facecolor="white")
        finally:
            plt.close(fig)
        png.seek(0)
        with self.Image.open(png) as im:
            self.store(np.asarray(im.convert("L")), dst)
