"""Throughput and memory of torch_render.render_line against what a user would use instead.

One command (see benchmarks/README.md):

    python benchmarks/bench_render.py                 # the full CPU run (+ GPU section when CUDA is present)
    python benchmarks/bench_render.py --quick         # smoke run: tiny batches, 1 repeat, a few seconds
    python benchmarks/bench_render.py --markdown      # the tables as Markdown (for the README)

The same price windows (real BTC/USDT minutes from ../shared/data when present, else
the seeded synthetic generator) are drawn as 3-px black lines on white by every
method, with the op's layout: first/last point on the centres of the first/last
columns, maximum on row 0, minimum on row H-1. Every method writes H x W float32
(gray in [0, 1]) or uint8 images; peers that draw RGB(A) or 8-bit images pay for the
conversion to the requested output inside the timed loop.

Importable: ``main(argv)`` runs the benchmark and returns the results as a dict (the
same content as ``--json``); ``METHODS`` lists the methods.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

# Kineto (the profiler used for the CPU memory measurement) logs an error line when it
# finds no GPU; keep its log to fatal errors unless the user asked for more.
os.environ.setdefault("KINETO_LOG_LEVEL", "5")

import torch  # noqa: E402

import torch_render  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"

LINE_WIDTH = 3.0
WINDOW = 100  # closes per window
DPI = 100  # matplotlib: figure size = pixels / DPI
CV2_THICKNESS = 2  # OpenCV's thickness=2 inks about as much as a 3-px line; thickness=3 ~4.5 px
DEFAULT_SIZES = "500x800,224x224,64x64"
# Images per call of the batched methods (and slots of the reused output of the
# per-image ones): about 6.4 MB of float32 output per call. That is the setting of
# the figures (a reused 500x800 buffer fills at ~18,000 images/s: it stays
# in the last-level cache); `--batch 64` at 500x800 (~100 MB) measures an output
# that does not fit in any cache instead.
DEFAULT_BATCH = {(500, 800): 4, (224, 224): 32, (64, 64): 400}
GPU_BATCHES = (256, 1024)
DTYPES = {"float32": torch.float32, "uint8": torch.uint8}
NP_DTYPES = {"float32": np.float32, "uint8": np.uint8}
BACKGROUND = {"float32": 1.0, "uint8": 255}
FOREGROUND = {"float32": 0.0, "uint8": 0}
INV255 = np.float32(1.0 / 255.0)


# ----------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------


def find_kline_file(data_dir: Path) -> Optional[Path]:
    """The first kline file (CSV, gzip CSV or zip) in data_dir, if any."""
    if not data_dir.is_dir():
        return None
    for path in sorted(data_dir.iterdir()):
        name = path.name.lower()
        if path.is_file() and name.endswith((".csv", ".csv.gz", ".zip")):
            return path
    return None


class Windows:
    """Price windows [B, L] float64 spread evenly over one long series of closes."""

    def __init__(self, data: Optional[str], synthetic: bool, length: int = WINDOW):
        self.length = length
        self.closes: Optional[torch.Tensor] = None
        self.source = "synthetic (torch_render.synthetic.synthetic_closes, seed 0)"
        if not synthetic:
            path = Path(data) if data else find_kline_file(DEFAULT_DATA_DIR)
            if path is not None:
                from torch_render._klines import read_closes

                closes = read_closes(path)
                closes = closes[torch.isfinite(closes)]
                if len(closes) >= length:
                    self.closes = closes
                    self.source = f"real closes: {path.name} ({len(closes):,} minutes)"
        self._cache: dict[int, torch.Tensor] = {}

    def get(self, batch: int) -> torch.Tensor:
        """[batch, L] float64, contiguous, on the CPU."""
        if batch not in self._cache:
            if self.closes is None:
                from torch_render.synthetic import synthetic_closes

                w = synthetic_closes(batch, self.length, seed=0)
            else:
                n = len(self.closes)
                starts = torch.linspace(0, n - self.length, batch).round().long()
                idx = starts[:, None] + torch.arange(self.length)[None, :]
                w = self.closes[idx]
            self._cache[batch] = w.contiguous()
        return self._cache[batch]


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


# ----------------------------------------------------------------------------------
# Methods
# ----------------------------------------------------------------------------------


class Skip(Exception):
    """A method that cannot run here (a missing optional package): reported, not a failure."""


@dataclass
class Ctx:
    height: int
    width: int
    dtype: str  # "float32" | "uint8"
    batch: int
    series: torch.Tensor  # [batch, L] float64 on the CPU
    device: str = "cpu"

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.batch, 1, self.height, self.width)


class Method:
    """One way of producing images. ``step()`` renders ``per_step`` images; reused
    outputs are allocated in ``__init__`` (outside the timed region)."""

    per_step: int = 1

    def step(self) -> None:
        raise NotImplementedError

    def result(self) -> np.ndarray:
        """[batch, H, W] float64 gray in [0, 1] after ``batch / per_step`` steps."""
        raise NotImplementedError


def _gray(arr, dtype: str) -> np.ndarray:
    a = arr.numpy() if isinstance(arr, torch.Tensor) else np.asarray(arr)
    a = a.reshape(a.shape[0], a.shape[-2], a.shape[-1]).astype(np.float64)
    return a / 255.0 if dtype == "uint8" else a


class OpFresh(Method):
    def __init__(self, c: Ctx):
        self.c, self.per_step, self.last = c, c.batch, None

    def step(self):
        c = self.c
        # Free the previous output first, as the fresh-fill floor does (keeping it
        # alive makes the allocator map and fault in new memory on every call).
        self.last = None
        self.last = torch_render.render_line(c.series, c.height, c.width, line_width=LINE_WIDTH, dtype=c.torch_dtype)

    def result(self):
        return _gray(self.last.cpu(), self.c.dtype)


class OpOut(Method):
    def __init__(self, c: Ctx):
        self.c, self.per_step = c, c.batch
        self.out = torch.empty(c.shape, dtype=c.torch_dtype, device=c.device)

    def step(self):
        c = self.c
        torch_render.render_line(c.series, c.height, c.width, line_width=LINE_WIDTH, out=self.out)

    def result(self):
        return _gray(self.out.cpu(), self.c.dtype)


class FillFresh(Method):
    def __init__(self, c: Ctx):
        self.c, self.per_step = c, c.batch

    def step(self):
        c = self.c
        torch.empty(c.shape, dtype=c.torch_dtype, device=c.device).fill_(BACKGROUND[c.dtype])


class FillOut(Method):
    def __init__(self, c: Ctx):
        self.c, self.per_step = c, c.batch
        self.out = torch.empty(c.shape, dtype=c.torch_dtype, device=c.device)
        self.out.fill_(BACKGROUND[c.dtype])  # fault the pages in outside the timing

    def step(self):
        self.out.fill_(BACKGROUND[self.c.dtype])


class NumpyFillFresh(Method):
    def __init__(self, c: Ctx):
        self.c, self.per_step = c, c.batch

    def step(self):
        c = self.c
        np.empty((c.batch, 1, c.height, c.width), dtype=NP_DTYPES[c.dtype]).fill(BACKGROUND[c.dtype])


class TorchScatter(Method):
    """The replaced pipeline's algorithm with torch ops, vectorised over the batch:
    16 interpolated points per segment, rounded to pixels, each stamped as a 3x3
    block by one index_put_ into the reused output (after filling it with white)."""

    POINTS = 16

    def __init__(self, c: Ctx):
        self.c, self.per_step = c, c.batch
        self.out = torch.empty(c.shape, dtype=c.torch_dtype, device=c.device)
        self.out.fill_(BACKGROUND[c.dtype])
        d = torch.arange(-1, 2, device=c.device)
        self.dr = d.repeat_interleave(3)  # 3x3 offsets
        self.dc = d.repeat(3)
        self.t = torch.linspace(0.0, 1.0, self.POINTS, device=c.device)
        self.ink = torch.tensor(FOREGROUND[c.dtype], dtype=c.torch_dtype, device=c.device)
        self.series = c.series.to(device=c.device, dtype=torch.float32)

    def step(self):
        c, v = self.c, self.series
        h, w = c.height, c.width
        b, n = v.shape
        lo = v.amin(-1, keepdim=True)
        hi = v.amax(-1, keepdim=True)
        span = hi - lo
        u = torch.where(span > 0, (v - lo) / torch.where(span > 0, span, 1.0), 0.5)
        y = (1.0 - u) * (h - 1)  # [B, L]
        x = torch.arange(n, device=v.device, dtype=torch.float32) * ((w - 1) / max(n - 1, 1))
        px = x[:-1, None] + self.t * (x[1:] - x[:-1])[:, None]  # [L-1, P]
        py = y[:, :-1, None] + self.t * (y[:, 1:] - y[:, :-1])[..., None]  # [B, L-1, P]
        cols = torch.round(px).long()[..., None] + self.dc  # [L-1, P, 9]
        rows = torch.round(py).long()[..., None] + self.dr  # [B, L-1, P, 9]
        # The rounded points lie inside the image, so clamping an offset pixel gives
        # a pixel of the same (clipped) block: the stamp is exact at the edges.
        cols = cols.clamp_(0, w - 1)
        rows = rows.clamp_(0, h - 1)
        base = torch.arange(b, device=v.device).view(b, 1, 1, 1) * (h * w)
        flat = (base + rows * w + cols).reshape(-1)
        self.out.fill_(BACKGROUND[c.dtype])
        self.out.view(-1).index_put_((flat,), self.ink)

    def result(self):
        return _gray(self.out.cpu(), self.c.dtype)


class PerImage(Method):
    """A peer that draws one image at a time (Python loop over the batch) into slot
    ``i % batch`` of a reused [batch, H, W] output."""

    per_step = 1

    def __init__(self, c: Ctx):
        self.c = c
        self.values = c.series.numpy()
        self.out = np.empty((c.batch, c.height, c.width), dtype=NP_DTYPES[c.dtype])
        self.i = 0

    def step(self):
        i = self.i % self.c.batch
        x, y = pixel_layout(self.values[i], self.c.height, self.c.width)
        self.draw(x, y, self.out[i])
        self.i += 1

    def draw(self, x: np.ndarray, y: np.ndarray, dst: np.ndarray) -> None:
        raise NotImplementedError

    def store(self, gray_u8: np.ndarray, dst: np.ndarray) -> None:
        """An 8-bit gray image (0 = ink) into the float32 or uint8 output."""
        if dst.dtype == np.uint8:
            np.copyto(dst, gray_u8)
        else:
            np.multiply(gray_u8, INV255, out=dst, casting="unsafe")

    def result(self):
        return _gray(self.out, self.c.dtype)


def _import_matplotlib():
    try:
        import matplotlib
    except ImportError as e:
        raise Skip(f"matplotlib not installed ({e})") from None
    matplotlib.use("Agg")
    return matplotlib


class MatplotlibReused(PerImage):
    """One Agg figure of H x W pixels, no axes, no margins; per image: set the line's
    data, draw the canvas, take the red channel of the RGBA buffer (R = G = B)."""

    def __init__(self, c: Ctx):
        super().__init__(c)
        _import_matplotlib()
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(c.width / DPI, c.height / DPI), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(-0.5, c.width - 0.5)  # data coordinates = pixel centres, row 0 on top
        ax.set_ylim(c.height - 0.5, -0.5)
        (self.line,) = ax.plot(
            [0, 1], [0, 1], color="black", linewidth=LINE_WIDTH * 72.0 / DPI, antialiased=True,
            solid_capstyle="round", solid_joinstyle="round",
        )
        self.canvas.draw()
        shape = np.asarray(self.canvas.buffer_rgba()).shape
        if shape[:2] != (c.height, c.width):
            raise Skip(f"matplotlib canvas is {shape[:2]}, not {(c.height, c.width)}")

    def draw(self, x, y, dst):
        self.line.set_data(x, y)
        self.canvas.draw()
        self.store(np.asarray(self.canvas.buffer_rgba())[..., 0], dst)


class MatplotlibNewFigurePNG(PerImage):
    """The replaced pipeline: a new pyplot figure per image, plot, savefig to PNG (in
    memory), close; the PNG decoded with Pillow into the output."""

    def __init__(self, c: Ctx):
        super().__init__(c)
        _import_matplotlib()
        import matplotlib.pyplot as plt

        try:
            from PIL import Image
        except ImportError as e:
            raise Skip(f"Pillow not installed (decodes the PNG) ({e})") from None
        self.plt, self.Image = plt, Image

    def draw(self, x, y, dst):
        c, plt = self.c, self.plt
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


class Cairo(PerImage):
    """pycairo, antialiased, round caps and joins, on an 8-bit alpha (A8) surface
    (coverage of the line; gray = 255 - alpha): the cheapest surface for a gray chart."""

    def __init__(self, c: Ctx):
        super().__init__(c)
        try:
            import cairo
        except ImportError as e:
            raise Skip(f"pycairo not installed ({e})") from None
        self.cairo = cairo
        self.surface = cairo.ImageSurface(cairo.FORMAT_A8, c.width, c.height)
        self.ctx = cairo.Context(self.surface)
        self.ctx.translate(0.5, 0.5)  # cairo's pixel centres are at +0.5
        self.ctx.set_line_width(LINE_WIDTH)
        self.ctx.set_line_cap(cairo.LINE_CAP_ROUND)
        self.ctx.set_line_join(cairo.LINE_JOIN_ROUND)
        self.alpha = np.ndarray(
            (c.height, self.surface.get_stride()), dtype=np.uint8, buffer=self.surface.get_data()
        )[:, : c.width]

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


class PillowLine(PerImage):
    """Pillow ImageDraw.line(width=3) on a reused 8-bit gray ('L') image (no
    antialiasing in Pillow), then copied/converted into the output."""

    def __init__(self, c: Ctx):
        super().__init__(c)
        try:
            from PIL import Image, ImageDraw
        except ImportError as e:
            raise Skip(f"Pillow not installed ({e})") from None
        self.im = Image.new("L", (c.width, c.height), 255)
        self.draw_ = ImageDraw.Draw(self.im)

    def draw(self, x, y, dst):
        self.im.paste(255, (0, 0, self.c.width, self.c.height))
        self.draw_.line(np.column_stack([x, y]).ravel().tolist(), fill=0, width=int(LINE_WIDTH))
        self.store(np.asarray(self.im), dst)


class OpenCV(PerImage):
    """cv2.polylines, thickness=2 (see CV2_THICKNESS), sub-pixel points (shift=4).
    uint8 output and aliased float32 output are drawn in place; LINE_AA on float32
    falls back to aliased drawing in OpenCV, so it draws uint8 and converts."""

    line_type_name = "LINE_AA"

    def __init__(self, c: Ctx, thickness: int = CV2_THICKNESS):
        super().__init__(c)
        try:
            import cv2
        except ImportError as e:
            raise Skip(f"opencv-python(-headless) not installed ({e})") from None
        self.cv2, self.thickness = cv2, thickness
        self.line_type = getattr(cv2, self.line_type_name)
        self.direct = c.dtype == "uint8" or self.line_type_name != "LINE_AA"
        self.scratch = None if self.direct else np.empty((c.height, c.width), np.uint8)

    def draw(self, x, y, dst):
        cv2 = self.cv2
        pts = np.rint(np.column_stack([x, y]) * 16.0).astype(np.int32)
        if self.direct:
            dst.fill(BACKGROUND[self.c.dtype])
            cv2.polylines(dst, [pts], False, FOREGROUND[self.c.dtype], thickness=self.thickness,
                          lineType=self.line_type, shift=4)
        else:
            self.scratch.fill(255)
            cv2.polylines(self.scratch, [pts], False, 0, thickness=self.thickness,
                          lineType=self.line_type, shift=4)
            self.store(self.scratch, dst)


class OpenCV8(OpenCV):
    line_type_name = "LINE_8"


@dataclass
class MethodSpec:
    key: str
    label: str
    kind: str  # "op" | "floor" | "info" (a floor shown for context) | "peer"
    make: Callable[[Ctx], Method]
    per_image: bool = False  # a Python loop over images: uses no threads


METHODS: list[MethodSpec] = [
    MethodSpec("op", "torch_render (fresh output)", "op", OpFresh),
    MethodSpec("op_out", "torch_render (out=, reused)", "op", OpOut),
    MethodSpec("fill_out", "floor: out.fill_(bg)", "floor", FillOut),
    MethodSpec("fill_fresh", "floor: torch.empty().fill_(bg)", "floor", FillFresh),
    MethodSpec("np_fill", "info: np.empty().fill(bg) (huge pages)", "info", NumpyFillFresh),
    MethodSpec("scatter", "replaced scatter, torch ops (out=)", "peer", TorchScatter),
    MethodSpec("mpl", "matplotlib Agg, reused figure", "peer", MatplotlibReused, True),
    MethodSpec("mpl_png", "matplotlib new figure + PNG", "peer", MatplotlibNewFigurePNG, True),
    MethodSpec("cairo", "cairo (A8, antialiased)", "peer", Cairo, True),
    MethodSpec("pillow", "Pillow ImageDraw.line(width=3)", "peer", PillowLine, True),
    MethodSpec("cv2_aa", f"OpenCV polylines LINE_AA (thickness={CV2_THICKNESS})", "peer", OpenCV, True),
    MethodSpec("cv2_8", f"OpenCV polylines LINE_8 (thickness={CV2_THICKNESS})", "peer", OpenCV8, True),
]
METHOD_BY_KEY = {m.key: m for m in METHODS}


# ----------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------


def set_threads(n: int) -> None:
    torch.set_num_threads(n)
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:
        pass


def measure(method: Method, min_time: float, repeats: int, quick: bool) -> dict:
    """Median images/s over ``repeats`` measurements; each measurement repeats
    ``step()`` until at least min_time seconds have passed (one step with quick)."""
    method.step()  # warm-up (first-call costs, lazy imports, caches)
    rates, times, counts = [], [], []
    for _ in range(repeats):
        steps = 0
        t0 = time.perf_counter()
        while True:
            method.step()
            steps += 1
            dt = time.perf_counter() - t0
            if quick or dt >= min_time:
                break
        rates.append(steps * method.per_step / dt)
        times.append(dt)
        counts.append(steps * method.per_step)
    return dict(images_per_s=statistics.median(rates), samples=rates,
                images_per_measurement=min(counts), seconds_min=min(times))


# ----------------------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------------------


def profiler_peak_bytes(fn: Callable[[], object], device_type: str = "CPU") -> int:
    """Peak of the running sum of the torch allocator's allocations during fn(), from
    the profiler's memory events (allocations that are still alive at the end, such as
    a fresh output, are included)."""
    import warnings

    from torch.profiler import ProfilerActivity, profile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"
              and str(e.device_type()).upper().endswith(device_type)]
    events.sort(key=lambda e: e.start_ns())
    running = peak = 0
    for e in events:
        running += e.nbytes()
        peak = max(peak, running)
    return peak


_RSS_CHILD = r"""
import json, sys, torch, torch_render
h, w, batch, dtype, threads, variant = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
                                        int(sys.argv[5]), sys.argv[7])
torch.set_num_threads(threads)
series = torch.load(sys.argv[6])
dt = {"float32": torch.float32, "uint8": torch.uint8}[dtype]
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
torch_render.render_line(series[:1], 8, 8, line_width=3.0, dtype=dt)  # page the code in
if variant == "out":
    out = torch.empty((batch, 1, h, w), dtype=dt)
    out.fill_(0)  # resident before the measurement
    reset_peak(); before = status("VmRSS")
    torch_render.render_line(series, h, w, line_width=3.0, out=out)
    extra = status("VmHWM") - before
else:
    reset_peak(); before = status("VmRSS")
    img = torch_render.render_line(series, h, w, line_width=3.0, dtype=dt)
    extra = status("VmHWM") - before - img.numel() * img.element_size()
print(json.dumps(extra))
"""


def rss_peak_extra(series: torch.Tensor, h: int, w: int, dtype: str, threads: int) -> dict:
    """Peak resident memory of one out= call and of one fresh-output call beyond the
    output, each in a fresh process (page granularity; /proc/self/clear_refs resets
    the peak). A variant that cannot be measured here is left out."""
    import tempfile

    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "series.pt")
        torch.save(series, path)
        for variant in ("out", "fresh"):
            try:
                proc = subprocess.run(
                    [sys.executable, "-c", _RSS_CHILD, str(h), str(w), str(series.shape[0]), dtype,
                     str(threads), path, variant],
                    capture_output=True, text=True, timeout=120,
                )
                if proc.returncode == 0:
                    res[variant] = int(json.loads(proc.stdout.strip().splitlines()[-1]))
            except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
                pass
    return res


def memory_section(windows: Windows, sizes, dtypes, batches, threads: int, quick: bool) -> list[dict]:
    rows = []
    for (h, w) in sizes:
        batch = batches[(h, w)]
        series = windows.get(batch)
        s, length = 1, series.shape[-1]
        bound = batch * s * length * 4 + length * 4
        for dtype in dtypes:
            dt = DTYPES[dtype]
            out = torch.empty((batch, 1, h, w), dtype=dt)
            out_bytes = out.numel() * out.element_size()
            torch_render.render_line(series, h, w, out=out)  # warm
            prof_out = profiler_peak_bytes(lambda: torch_render.render_line(series, h, w, out=out))
            del out
            prof_fresh = profiler_peak_bytes(lambda: torch_render.render_line(series, h, w, dtype=dt)) - out_bytes
            rss = {} if quick else rss_peak_extra(series, h, w, dtype, threads)
            rows.append(dict(
                size=f"{h}x{w}", dtype=dtype, batch=batch, threads=threads, output_bytes=out_bytes,
                bound_bytes=bound, profiler_out=prof_out, profiler_fresh=prof_fresh,
                rss_out=rss.get("out"), rss_fresh=rss.get("fresh"),
                ok=max(prof_out, prof_fresh) <= bound,
            ))
    return rows


# ----------------------------------------------------------------------------------
# GPU
# ----------------------------------------------------------------------------------


def gpu_section(windows: Windows, sizes, dtypes, min_time: float, repeats: int, quick: bool,
                device: str = "cuda") -> dict:
    """Images/s, write bandwidth against a device-to-device copy of the same bytes,
    and peak extra device memory per call, at B = 256 and 1024 (4 with quick)."""
    if not torch.cuda.is_available():
        return dict(skipped="CUDA is not available (torch.cuda.is_available() is False)")
    if not torch_render.cuda_built():
        return dict(skipped="torch_render was built without CUDA kernels")
    dev = torch.device(device)
    rows, mem = [], []

    def timed(fn, per_step):
        """images/s from CUDA events, k calls per measurement, median of repeats."""
        fn()
        torch.cuda.synchronize()
        k = 1

        def run(k):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(k):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3

        if not quick:
            while True:
                dt = run(k)
                if dt >= 0.2 * min_time:
                    break
                k = max(k * 2, math.ceil(k * 0.25 * min_time / max(dt, 1e-6)))
            k = max(k, math.ceil(k * 1.1 * min_time / dt))
        secs = [run(k) / k for _ in range(repeats)]
        return statistics.median(secs)

    batches = (4,) if quick else GPU_BATCHES
    for (h, w) in sizes:
        for batch in batches:
            series = windows.get(batch).to(dev)
            for dtype in dtypes:
                dt = DTYPES[dtype]
                try:
                    out = torch.empty((batch, 1, h, w), dtype=dt, device=dev)
                    nbytes = out.numel() * out.element_size()
                    src = torch.empty_like(out).fill_(BACKGROUND[dtype])
                    t_copy = timed(lambda: out.copy_(src), batch)
                    del src
                    copy_bw = 2 * nbytes / t_copy  # read + write
                    variants = [
                        ("op_out", "torch_render (out=, reused)",
                         lambda: torch_render.render_line(series, h, w, out=out)),
                        ("op", "torch_render (fresh output)",
                         lambda: torch_render.render_line(series, h, w, dtype=dt)),
                        ("fill_out", "floor: out.fill_(bg)", lambda: out.fill_(BACKGROUND[dtype])),
                        ("scatter", "replaced scatter, torch ops (out=)",
                         TorchScatter(Ctx(h, w, dtype, batch, windows.get(batch), device=device)).step),
                    ]
                    rows.append(dict(size=f"{h}x{w}", dtype=dtype, batch=batch, method="copy",
                                     label="device-to-device out.copy_(src)", images_per_s=batch / t_copy,
                                     write_gbs=nbytes / t_copy / 1e9, copy_gbs=copy_bw / 1e9,
                                     fraction_of_copy=None))
                    for key, label, fn in variants:
                        t = timed(fn, batch)
                        rows.append(dict(size=f"{h}x{w}", dtype=dtype, batch=batch, method=key, label=label,
                                         images_per_s=batch / t, write_gbs=nbytes / t / 1e9,
                                         copy_gbs=copy_bw / 1e9, fraction_of_copy=(nbytes / t) / copy_bw))
                    # Peak extra device memory of one call beyond the output.
                    torch.cuda.synchronize()
                    base = torch.cuda.memory_allocated()
                    torch.cuda.reset_peak_memory_stats()
                    torch_render.render_line(series, h, w, out=out)
                    torch.cuda.synchronize()
                    extra_out = torch.cuda.max_memory_allocated() - base
                    del out
                    torch.cuda.synchronize()
                    base = torch.cuda.memory_allocated()
                    torch.cuda.reset_peak_memory_stats()
                    img = torch_render.render_line(series, h, w, dtype=dt)
                    torch.cuda.synchronize()
                    extra_fresh = torch.cuda.max_memory_allocated() - base - nbytes
                    del img
                    length = series.shape[-1]
                    mem.append(dict(size=f"{h}x{w}", dtype=dtype, batch=batch, output_bytes=nbytes,
                                    bound_bytes=batch * length * 4 + length * 4,
                                    cuda_out=extra_out, cuda_fresh=extra_fresh))
                except torch.cuda.OutOfMemoryError as e:
                    rows.append(dict(size=f"{h}x{w}", dtype=dtype, batch=batch, method="skipped",
                                     label=f"out of memory: {e}".splitlines()[0]))
                torch.cuda.empty_cache()
    return dict(device=torch.cuda.get_device_name(), rows=rows, memory=mem)


# ----------------------------------------------------------------------------------
# Geometry check: every method draws the same picture
# ----------------------------------------------------------------------------------


def geometry_check(windows: Windows, sizes, n: int, selected: list[MethodSpec]) -> list[dict]:
    """Mean |difference| to the op's float32 render and ink (sum of 1 - value)
    relative to the op's, over n windows, for each drawing method (not timed)."""
    rows = []
    specs = [m for m in selected if m.kind in ("op", "peer")]
    for (h, w) in sizes:
        series = windows.get(n)
        ref = torch_render.render_line(series, h, w, line_width=LINE_WIDTH)[:, 0].double().numpy()
        ref_ink = (1 - ref).sum()
        extra = [("cv2_aa_t3", "OpenCV LINE_AA thickness=3 (not timed)", lambda c: OpenCV(c, thickness=3))]
        for key, label, make in [(m.key, m.label, m.make) for m in specs] + extra:
            c = Ctx(h, w, "float32", n, series)
            try:
                m = make(c)
                for _ in range(n // m.per_step):
                    m.step()
                img = m.result()
            except Skip:
                continue
            rows.append(dict(size=f"{h}x{w}", method=key, label=label,
                             mean_abs_diff=float(np.abs(img - ref).mean()),
                             ink_ratio=float((1 - img).sum() / ref_ink)))
    return rows


# ----------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------


def machine_info(windows: Windows) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    thp = None
    try:
        thp = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text().strip()
    except OSError:
        pass
    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                "torch_render": getattr(torch_render, "__version__", "?")}
    for mod, attr in (("matplotlib", "__version__"), ("cv2", "__version__"), ("PIL", "__version__"),
                      ("cairo", "version")):
        try:
            versions[mod] = getattr(__import__(mod), attr)
        except ImportError:
            versions[mod] = None
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    # The op's speed changes with the code: name the commit and when the library was built.
    build = None
    try:
        lib = Path(torch_render._C.__file__)
        build = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(lib.stat().st_mtime))
    except (AttributeError, OSError):
        pass
    commit = None
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return dict(cpu=cpu, logical_cpus=os.cpu_count(), torch_threads_default=torch.get_num_threads(),
                memory_bytes=mem, transparent_hugepage=thp,
                thp_mem_alloc_enable=os.environ.get("THP_MEM_ALLOC_ENABLE"), gpu=gpu,
                versions=versions, data=windows.source, loadavg=load, git=commit, library_built=build,
                platform=platform.platform())


def fmt_rate(x: Optional[float]) -> str:
    if x is None:
        return ""
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def fmt_ratio(x: Optional[float]) -> str:
    return "" if x is None else f"{x:.2f}x"


def fmt_load(x) -> str:
    return "n/a" if not x else ", ".join(f"{v:.2f}" for v in x)


def fmt_bytes(x: Optional[int]) -> str:
    if x is None:
        return "n/a"
    return f"{x:,} B"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool,
                 right: Sequence[bool] = ()) -> str:
    right = list(right) + [False] * (len(headers) - len(right))
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---:" if r else "---" for r in right) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(wd) if r else c.ljust(wd) for c, wd, r in zip(cells, widths, right)).rstrip()

    return "\n".join([line(headers), line(["-" * wd for wd in widths])] + [line(r) for r in rows])


def add_ratios(results: list[dict]) -> None:
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["size"], r["dtype"], r["threads"]), []).append(r)
    for rows in groups.values():
        by = {r["method"]: r["images_per_s"] for r in rows}
        peers = [r for r in rows if r["kind"] == "peer"]
        fastest = max(peers, key=lambda r: r["images_per_s"]) if peers else None
        for r in rows:
            ips = r["images_per_s"]
            r["x_fill_out"] = ips / by["fill_out"] if "fill_out" in by else None
            r["x_fill_fresh"] = ips / by["fill_fresh"] if "fill_fresh" in by else None
            r["x_fastest_peer"] = ips / fastest["images_per_s"] if fastest else None
            r["fastest_peer"] = fastest["method"] if fastest else None


def lookup(results, size, dtype, threads, method) -> Optional[float]:
    for r in results:
        if (r["size"], r["dtype"], r["threads"], r["method"]) == (size, dtype, threads, method):
            return r["images_per_s"]
    return None


def targets(results: list[dict], all_threads: int, gpu: dict) -> list[dict]:
    """The issue's targets (#4), each with its measured ratio and PASS/MISS."""
    out = []

    def target(name, num, den, bound):
        if num is None or den is None:
            out.append(dict(target=name, ratio=None, bound=bound, status="n/a (not measured)"))
        else:
            ratio = num / den
            out.append(dict(target=name, ratio=ratio, bound=bound, status="PASS" if ratio >= bound else "MISS"))

    def peer_max(size, dtype, threads):
        rates = [r["images_per_s"] for r in results
                 if (r["size"], r["dtype"], r["threads"], r["kind"]) == (size, dtype, threads, "peer")]
        return max(rates) if rates else None

    L = lambda *a: lookup(results, *a)  # noqa: E731
    target("500x800 float32 1 thread: out= vs out.fill_ floor", L("500x800", "float32", 1, "op_out"),
           L("500x800", "float32", 1, "fill_out"), 0.6)
    target("500x800 float32 1 thread: out= vs OpenCV LINE_AA", L("500x800", "float32", 1, "op_out"),
           L("500x800", "float32", 1, "cv2_aa"), 4.0)
    target("500x800 float32 1 thread: fresh vs torch.empty().fill_ floor", L("500x800", "float32", 1, "op"),
           L("500x800", "float32", 1, "fill_fresh"), 0.8)
    for size in ("224x224", "64x64"):
        for key, what in (("op", "fresh"), ("op_out", "out=")):
            target(f"{size} float32 1 thread: {what} vs fastest peer", L(size, "float32", 1, key),
                   peer_max(size, "float32", 1), 3.0)
    for key, what in (("op", "fresh"), ("op_out", "out=")):
        target(f"500x800 1 thread: uint8 vs float32 ({what})", L("500x800", "uint8", 1, key),
               L("500x800", "float32", 1, key), 2.0)
    if all_threads > 1:
        for size in ("500x800", "224x224"):
            for key, what in (("op", "fresh"), ("op_out", "out=")):
                target(f"{size} float32: {all_threads} threads vs 1 thread ({what})",
                       L(size, "float32", all_threads, key), L(size, "float32", 1, key), 1.7)
    if gpu.get("rows"):
        for r in gpu["rows"]:
            if (r.get("method") == "op_out" and r["dtype"] == "float32" and r["size"] in ("500x800", "224x224")
                    and r["batch"] >= 256):
                out.append(dict(target=f"GPU {r['size']} float32 B={r['batch']}: out= write bandwidth "
                                       f"vs copy bandwidth", ratio=r["fraction_of_copy"], bound=0.5,
                                status="PASS" if r["fraction_of_copy"] >= 0.5 else "MISS"))
    else:
        out.append(dict(target="GPU: >= 50% of copy bandwidth", ratio=None, bound=0.5,
                        status=f"n/a ({gpu.get('skipped', 'not run')})"))
    return out


def report(res: dict, markdown: bool) -> str:
    m = res["machine"]
    parts = []
    h = "### " if markdown else "== "
    parts.append(f"{h}Machine")
    mem = f"{m['memory_bytes'] / 2**30:.1f} GiB" if m["memory_bytes"] else "?"
    info = [
        f"CPU: {m['cpu']}, {m['logical_cpus']} logical CPUs (torch default threads {m['torch_threads_default']}), "
        f"RAM {mem}",
        f"GPU: {m['gpu'] or 'none'}",
        f"torch_render: git {m['git'] or '?'}, library built {m['library_built'] or '?'}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v is not None),
        f"transparent huge pages: {m['transparent_hugepage']}; THP_MEM_ALLOC_ENABLE="
        f"{m['thp_mem_alloc_enable'] or 'unset'}",
        f"data: {res['config']['data']}; windows of {WINDOW} closes, line width {LINE_WIDTH:g} px, antialiased",
        f"load average (1, 5, 15 min) at start: {fmt_load(m['loadavg'])}, at end: {fmt_load(res.get('loadavg_end'))}"
        " (other processes on the machine distort the timings)",
        f"command: {res['config']['command']}",
    ]
    parts.append("\n".join(("- " if markdown else "  ") + s for s in info))

    parts.append(f"{h}Throughput (CPU, median of {res['config']['repeats']} measurements of "
                 f">= {res['config']['min_time']:g} s each" + (", --quick: 1 step)" if
                                                              res['config']['quick'] else ")"))
    headers = ["size", "dtype", "threads", "method", "images/s", "x fill-out floor", "x fresh-fill floor",
               "x fastest peer"]
    rows = []
    for r in res["results"]:
        rows.append([r["size"], r["dtype"], str(r["threads"]), r["label"], fmt_rate(r["images_per_s"]),
                     fmt_ratio(r["x_fill_out"]), fmt_ratio(r["x_fill_fresh"]), fmt_ratio(r["x_fastest_peer"])])
    parts.append(render_table(headers, rows, markdown, right=[False] * 4 + [True] * 4))
    notes = [
        "batch: images per call of the batched methods (torch_render, floors, scatter) and the "
        "slots of the reused output of the per-image peers: "
        + ", ".join(f"{s} B={b}" for s, b in res["config"]["batches"].items()),
        "fill-out floor = out.fill_(bg) on a reused buffer; fresh-fill floor = torch.empty(...).fill_(bg) "
        "(a new tensor per call, as the op's fresh output); np.empty().fill is shown for context "
        "(NumPy asks the kernel for huge pages, torch does not unless THP_MEM_ALLOC_ENABLE=1)",
        "fastest peer = the fastest non-torch_render, non-floor method of the same size/dtype/threads group",
        "per-image peers (matplotlib, cairo, Pillow, OpenCV) draw one image at a time in a Python loop "
        "(time per image = total / images) into a reused [B, H, W] output, with the conversion of their 8-bit "
        "gray or RGBA image to the requested output (gray float32 in [0, 1] or uint8) inside the timed loop; "
        "they use no threads (in the multi-thread rows only torch ops get n threads, and cv2.setNumThreads(n) "
        "is set but its drawing is single-threaded)",
        f"OpenCV uses thickness={CV2_THICKNESS} (its thickness=3 inks ~4.5 px; thickness=2 inks about as much as a "
        "3-px line, see the geometry check); sub-pixel points (shift=4); LINE_AA on float32 output draws uint8 "
        "and converts (OpenCV antialiases 8-bit images only)",
        "replaced scatter = the replaced pipeline's algorithm (16 interpolated points per segment, a 3x3 block "
        "stamped at each rounded point) with torch ops, vectorised over the batch, into a reused output",
    ]
    if res["skipped"]:
        notes.append("skipped: " + "; ".join(f"{k}: {v}" for k, v in res["skipped"].items()))
    parts.append("\n".join(("- " if markdown else "  * ") + n for n in notes))

    parts.append(f"{h}Targets (issue #4; median, same run)")
    trows = [[t["target"], "" if t["ratio"] is None else f"{t['ratio']:.2f}x", f">= {t['bound']:g}x",
              t["status"]] for t in res["targets"]]
    parts.append(render_table(["target", "measured", "required", "status"], trows, markdown,
                              right=[False, True, True, False]))

    if res.get("memory"):
        parts.append(f"{h}Memory: peak extra memory of one call beyond the output (CPU)")
        mrows = [[r["size"], r["dtype"], str(r["batch"]), fmt_bytes(r["output_bytes"]),
                  fmt_bytes(r["profiler_out"]), fmt_bytes(r["profiler_fresh"]), fmt_bytes(r["rss_out"]),
                  fmt_bytes(r["rss_fresh"]), fmt_bytes(r["bound_bytes"]), "yes" if r["ok"] else "NO"]
                 for r in res["memory"]]
        parts.append(render_table(
            ["size", "dtype", "B", "output", "torch alloc out=", "torch alloc fresh", "RSS out=", "RSS fresh",
             "bound B*S*L*4+L*4", "torch alloc <= bound"], mrows, markdown,
            right=[False, False, True] + [True] * 6 + [False]))
        parts.append("\n".join(("- " if markdown else "  * ") + n for n in [
            "torch alloc: peak of the running sum of the torch CPU allocator's allocations during one call "
            "(torch.profiler, profile_memory=True), minus the output for the fresh call",
            "RSS: growth of the peak resident set (VmHWM after resetting it through /proc/self/clear_refs) over "
            "one call, each in a fresh process, after a warm-up call on one 8x8 image (so it includes the growth of "
            "per-thread scratch that later calls reuse), "
            f"minus the output for the fresh call; page granularity; threads: {res['memory'][0]['threads']}"
            + ("; not measured in --quick" if res["config"]["quick"] else ""),
        ]))

    gpu = res.get("gpu", {})
    parts.append(f"{h}GPU")
    if gpu.get("rows"):
        grows = []
        for r in gpu["rows"]:
            if r["method"] == "skipped":
                grows.append([r["size"], r["dtype"], str(r["batch"]), r["label"], "", "", ""])
                continue
            gbs = f"{r['copy_gbs']:.0f} (r+w)" if r["method"] == "copy" else (
                f"{r['write_gbs']:.0f}" if r["write_gbs"] >= 10 else f"{r['write_gbs']:.2f}")
            grows.append([r["size"], r["dtype"], str(r["batch"]), r["label"], fmt_rate(r["images_per_s"]), gbs,
                          "" if r["fraction_of_copy"] is None else f"{100 * r['fraction_of_copy']:.0f}%"])
        parts.append(f"device: {gpu['device']}")
        parts.append(render_table(["size", "dtype", "B", "method", "images/s", "GB/s", "of copy bandwidth"],
                                  grows, markdown, right=[False, False, True, False, True, True, True]))
        parts.append(("- " if markdown else "  * ") +
                     "CUDA events; copy bandwidth counts read + write bytes (2 x bytes / time of "
                     "out.copy_(src)); the op's bandwidth counts the bytes of the output it writes")
        if gpu.get("memory"):
            mrows = [[r["size"], r["dtype"], str(r["batch"]), fmt_bytes(r["output_bytes"]),
                      fmt_bytes(r["cuda_out"]), fmt_bytes(r["cuda_fresh"]), fmt_bytes(r["bound_bytes"])]
                     for r in gpu["memory"]]
            parts.append(render_table(["size", "dtype", "B", "output", "CUDA extra out=", "CUDA extra fresh",
                                       "bound"], mrows, markdown, right=[False, False] + [True] * 5))
            parts.append(("- " if markdown else "  * ") +
                         "CUDA extra: max_memory_allocated() after reset_peak_memory_stats(), minus what was "
                         "allocated before and minus the output")
    else:
        parts.append(f"skipped: {gpu.get('skipped', 'not run')}")

    if res.get("geometry"):
        parts.append(f"{h}Geometry check (float32, {res['config']['check_images']} windows, not timed)")
        grows = [[r["size"], r["label"], f"{r['mean_abs_diff']:.4f}", f"{r['ink_ratio']:.2f}"]
                 for r in res["geometry"]]
        parts.append(render_table(["size", "method", "mean |diff| vs op", "ink vs op"], grows, markdown,
                                  right=[False, False, True, True]))
        parts.append(("- " if markdown else "  * ") +
                     "ink = sum of (1 - value); a method drawing the same 3-px line in the same place has a "
                     "small difference and ink near 1")
    return "\n\n".join(parts) + "\n"


# ----------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        try:
            h, w = part.lower().strip().split("x")
            sizes.append((int(h), int(w)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"sizes are HxW, comma separated, got {part!r}") from None
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python benchmarks/bench_render.py",
        description="Images/s and memory of torch_render.render_line against matplotlib, cairo, Pillow, "
                    "OpenCV, the replaced scatter pipeline and the cost of writing the output.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--quick", action="store_true",
                   help="smoke run: batches of 4, 1 step, 1 repeat, no RSS subprocess")
    p.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES), help="HxW list")
    p.add_argument("--threads", default="1,all", help="thread counts; 'all' = torch's default thread count")
    p.add_argument("--dtypes", default="float32,uint8", help="output dtypes (float32, uint8)")
    p.add_argument("--methods", default="all",
                   help="comma-separated method keys: " + ", ".join(m.key for m in METHODS))
    p.add_argument("--batch", type=int, default=None,
                   help="images per call for every size (default: 4 at 500x800, 32 at 224x224, 400 at 64x64, "
                        "~6.4 MB of float32 elsewhere)")
    p.add_argument("--min-time", type=float, default=1.0, help="seconds per measurement (steps repeat until it has passed)")
    p.add_argument("--gpu-min-time", type=float, default=None,
                   help="seconds per GPU measurement (CUDA events; default: --min-time)")
    p.add_argument("--repeats", type=int, default=3, help="measurements per method (the median is reported)")
    p.add_argument("--check-images", type=int, default=8, help="windows in the geometry check (0: skip)")
    p.add_argument("--data", default=None, help=f"kline file (default: the first in {DEFAULT_DATA_DIR})")
    p.add_argument("--synthetic", action="store_true", help="use the synthetic generator even if data exist")
    p.add_argument("--no-memory", action="store_true", help="skip the memory section")
    p.add_argument("--no-gpu", action="store_true", help="skip the GPU section")
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    p.add_argument("--csv", metavar="PATH", help="write the throughput rows as CSV")
    p.add_argument("--json", metavar="OUT", help="write all results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv: Optional[Sequence[str]] = None) -> dict:
    cmd_args = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(cmd_args)
    all_threads = torch.get_num_threads()
    threads = []
    for t in args.threads.split(","):
        t = t.strip()
        n = all_threads if t == "all" else int(t)
        if n < 1:
            raise SystemExit(f"--threads: thread counts must be >= 1, got {t}")
        if n not in threads:
            threads.append(n)
    dtypes = [d.strip() for d in args.dtypes.split(",")]
    for d in dtypes:
        if d not in DTYPES:
            raise SystemExit(f"--dtypes: expected some of {list(DTYPES)}, got {d!r}")
    if args.methods == "all":
        selected = list(METHODS)
    else:
        keys = [k.strip() for k in args.methods.split(",")]
        unknown = [k for k in keys if k not in METHOD_BY_KEY]
        if unknown:
            raise SystemExit(f"--methods: unknown {unknown}; expected some of {[m.key for m in METHODS]}")
        selected = [m for m in METHODS if m.key in keys]
    sizes = args.sizes
    repeats = 1 if args.quick else max(1, args.repeats)
    min_time = args.min_time

    def batch_for(h, w):
        if args.batch:
            return args.batch
        if args.quick:
            return 4
        return DEFAULT_BATCH.get((h, w), max(1, round(6.4e6 / (4 * h * w))))

    batches = {(h, w): batch_for(h, w) for (h, w) in sizes}
    windows = Windows(args.data, args.synthetic)
    machine = machine_info(windows)
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    log(f"bench_render: {machine['cpu']}, torch {torch.__version__}, data: {windows.source}")

    results, skipped = [], {}
    t_start = time.perf_counter()
    for (h, w) in sizes:
        batch = batches[(h, w)]
        series = windows.get(batch)
        for dtype in dtypes:
            for n in threads:
                set_threads(n)
                for spec in selected:
                    if spec.key in skipped:
                        continue
                    c = Ctx(h, w, dtype, batch, series)
                    try:
                        meth = spec.make(c)
                        r = measure(meth, min_time, repeats, args.quick)
                    except Skip as e:
                        skipped[spec.key] = str(e)
                        log(f"  skipped {spec.key}: {e}")
                        continue
                    del meth
                    gc.collect()
                    results.append(dict(size=f"{h}x{w}", height=h, width=w, dtype=dtype, threads=n,
                                        method=spec.key, label=spec.label, kind=spec.kind,
                                        per_image=spec.per_image, batch=batch, **r))
                    log(f"  {h}x{w} {dtype} {n}t {spec.label:45s} {fmt_rate(r['images_per_s']):>10} images/s "
                        f"({r['images_per_measurement']} images/measurement)")
    set_threads(all_threads)
    add_ratios(results)
    log(f"throughput done in {time.perf_counter() - t_start:.0f} s")

    memory = []
    if not args.no_memory:
        memory = memory_section(windows, sizes, dtypes, batches, max(threads), args.quick)
    gpu = dict(skipped="--no-gpu") if args.no_gpu else gpu_section(
        windows, sizes, dtypes, args.gpu_min_time or min_time, repeats, args.quick)
    geometry = []
    if args.check_images > 0:
        geometry = geometry_check(windows, sizes, 2 if args.quick else args.check_images, selected)

    res = dict(
        machine=machine,
        config=dict(command=" ".join(["python benchmarks/bench_render.py", *cmd_args]),
                    quick=args.quick, sizes=[f"{h}x{w}" for h, w in sizes], threads=threads, dtypes=dtypes,
                    methods=[m.key for m in selected], batches={f"{h}x{w}": b for (h, w), b in batches.items()},
                    min_time=min_time, repeats=repeats, data=windows.source,
                    check_images=2 if args.quick else args.check_images),
        results=results, skipped=skipped, memory=memory, gpu=gpu, geometry=geometry,
        seconds=time.perf_counter() - t_start,
    )
    try:
        res["loadavg_end"] = os.getloadavg()
    except OSError:
        res["loadavg_end"] = None
    res["targets"] = targets(results, max(threads), gpu)

    print(report(res, args.markdown), end="")
    if args.csv:
        keys = ["size", "height", "width", "dtype", "threads", "method", "label", "kind", "batch",
                "images_per_s", "x_fill_out", "x_fill_fresh", "x_fastest_peer", "fastest_peer",
                "images_per_measurement", "seconds_min", "samples"]
        with open(args.csv, "w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(keys)
            for r in results:
                wr.writerow([";".join(f"{s:.1f}" for s in r[k]) if k == "samples" else r[k] for k in keys])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    return res


if __name__ == "__main__":
    main()
