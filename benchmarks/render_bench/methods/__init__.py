"""The methods the benchmark times, by key (the keys of --methods and of the JSON rows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..settings import CV2_THICKNESS
from .base import Case, Method, Skip
from .cairo_peer import CairoA8
from .matplotlib_peer import MatplotlibNewFigurePNG, MatplotlibReused
from .opencv_peer import OpenCVPolylines, OpenCVPolylinesAliased
from .pillow_peer import PillowLine
from .torch_ops import (FillFreshFloor, FillReusedFloor, NumpyFillFresh, OpFreshOutput, OpReusedOutput,
                        ReplacedScatter)


@dataclass
class MethodSpec:
    key: str
    label: str
    kind: str  # "op" | "floor" | "info" (a floor shown for context) | "peer"
    make: Callable[[Case], Method]
    per_image: bool = False  # a Python loop over images: uses no threads


METHODS: list[MethodSpec] = [
    MethodSpec("op", "torch_render (fresh output)", "op", OpFreshOutput),
    MethodSpec("op_out", "torch_render (out=, reused)", "op", OpReusedOutput),
    MethodSpec("fill_out", "floor: out.fill_(bg)", "floor", FillReusedFloor),
    MethodSpec("fill_fresh", "floor: torch.empty().fill_(bg)", "floor", FillFreshFloor),
    MethodSpec("np_fill", "info: np.empty().fill(bg) (huge pages)", "info", NumpyFillFresh),
    MethodSpec("scatter", "replaced scatter, torch ops (out=)", "peer", ReplacedScatter),
    MethodSpec("mpl", "matplotlib Agg, reused figure", "peer", MatplotlibReused, True),
    MethodSpec("mpl_png", "matplotlib new figure + PNG", "peer", MatplotlibNewFigurePNG, True),
    MethodSpec("cairo", "cairo (A8, antialiased)", "peer", CairoA8, True),
    MethodSpec("pillow", "Pillow ImageDraw.line(width=3)", "peer", PillowLine, True),
    MethodSpec("cv2_aa", f"OpenCV polylines LINE_AA (thickness={CV2_THICKNESS})", "peer", OpenCVPolylines, True),
    MethodSpec("cv2_8", f"OpenCV polylines LINE_8 (thickness={CV2_THICKNESS})", "peer", OpenCVPolylinesAliased,
               True),
]
METHOD_BY_KEY = {m.key: m for m in METHODS}

__all__ = ["Case", "Method", "MethodSpec", "METHODS", "METHOD_BY_KEY", "OpenCVPolylines", "ReplacedScatter",
           "Skip"]
