"""``nn.Module`` transforms that render price series as chart images.

The modules hold only plain render options (ints, floats, bools and a dtype), are
defined at module level and call the op's wrapper (``LineChart`` calls
``render_line``, as torchvision's ``RoIAlign`` calls ``roi_align``), so they
pickle into DataLoader workers (fork and spawn) and script with
``torch.jit.script`` (a scripted model that draws its own input saves and loads
with ``torch.jit.save``/``torch.jit.load``, also from C++).

``LineChart`` draws line charts (``render_line``); ``OHLCChart`` draws OHLC bars or
candlesticks with an optional volume panel and overlays (``render_ohlc``; defined in
``torch_render.ohlc`` and re-exported here, the same class as
``torch_render.OHLCChart``).

Example:
    >>> chart = LineChart(224, 224, line_width=2.0)
    >>> images = chart(torch.randn(64, 100).cumsum(-1))            # [64, 1, 224, 224]
    >>> model = torch.jit.script(torch.nn.Sequential(chart, torch.nn.Conv2d(1, 8, 3)))
    >>> bars = OHLCChart(64, style="candle", volume_rows=12)(torch.rand(8, 20, 4) + 10, torch.rand(8, 20))
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from torch_render.ohlc import OHLCChart
from torch_render._checks import OUTPUT_DTYPES, argument_checks, check_arguments, check_bool
from torch_render.ops import LINE_DEFAULTS as _D
from torch_render.ops import render_line

__all__ = ["LineChart", "OHLCChart"]

# The type of each option of LineChart, as render_line's schema declares it (a
# module's dtype is a dtype, not None).
_LINE_OPTIONS = argument_checks(
    torch.ops.torch_render.render_line.default,
    ("height", "width", "line_width", "antialias", "margin", "channels", "background", "foreground", "dtype"),
    not_none=("dtype",),
)


class LineChart(nn.Module):
    """Draw price series as line charts (``torch_render.render_line`` as a module).

    Shapes, by the rank of the input (the only ambiguous case is 2-D, settled by
    ``batched``):

    ============  ======================  ==============================  ===============
    input         ``batched=True``        ``batched=False``               output
    ============  ======================  ==============================  ===============
    ``[L]``       one series              one series                      ``[1, H, W]``
    ``[B, L]``    B images, one series    (is ``[S, L]``, next row)       ``[B, 1, H, W]``
    ``[S, L]``    (is ``[B, L]``)         one image of S series           ``[C, H, W]``
    ``[B, S, L]`` B images of S series    error                           ``[B, C, H, W]``
    ============  ======================  ==============================  ===============

    So ``batched=True`` (the default) is for whole batches right before the model
    (on the GPU), and ``batched=False`` for per-sample use as a ``Dataset``
    transform (on the CPU in DataLoader workers). C = S with ``channels=True``,
    else 1 (the S series overlaid). Any floating input dtype, any strides (views
    from ``torch_render.data.windows`` need no copy); the output is contiguous, on
    the input's device, of ``dtype``.

    Args (types are checked as ``render_line`` checks them: a float, bool, string or
    None where an int belongs, or anything but a bool for a bool, is a TypeError
    naming the argument; NumPy integers, floats and bools are taken):
        height: image height H in pixels, an int (>= 1).
        width: image width W in pixels, an int (>= 1).
        line_width: line width in pixels, a float or an int. Default 3.0.
        antialias: antialiased (True, default) or aliased (False) coverage.
        margin: empty border in pixels. Default 0.
        channels: one channel per series (True) or overlaid (False, default).
        background: value of empty pixels. Default 1.0 (white).
        foreground: value of the line. Default 0.0 (black).
        dtype: output dtype: float32 (default), float16, bfloat16, float64 or uint8.
        batched: a bool: how to read a 2-D input, see the table. Default True.

    ``forward(series, value_range=None)``: ``value_range`` is an optional
    ``(lo, hi)`` tensor per image with the batch dimension of the input, if any
    (``[2]`` or ``[S, 2]`` for a sample; ``[B, 2]`` or ``[B, S, 2]`` for a batch),
    as in ``render_line``. The exact drawing is ``render_line``'s.

    Example:
        >>> batch = LineChart(500, 800)(torch.randn(64, 100).cumsum(-1))   # [64, 1, 500, 800]
        >>> sample = LineChart(224, 224, batched=False, channels=True)
        >>> sample(torch.randn(2, 100)).shape                                # two series
        torch.Size([2, 224, 224])
        >>> scripted = torch.jit.script(LineChart(64, 64, dtype=torch.uint8))
    """

    def __init__(
        self,
        height: int,
        width: int,
        *,
        line_width: float = _D["line_width"],
        antialias: bool = _D["antialias"],
        margin: float = _D["margin"],
        channels: bool = _D["channels"],
        background: float = _D["background"],
        foreground: float = _D["foreground"],
        dtype: torch.dtype = _D["dtype"],
        batched: bool = True,
    ) -> None:
        super().__init__()
        # The argument types are checked as render_line checks them (same messages).
        who = "LineChart"
        height, width, line_width, antialias, margin, channels, background, foreground, dtype = check_arguments(
            who, _LINE_OPTIONS, (height, width, line_width, antialias, margin, channels, background, foreground, dtype)
        )
        batched = check_bool(who, "batched", batched)
        for name, size in (("height", height), ("width", width)):
            if not 1 <= size < 2**63:
                raise ValueError(f"LineChart: {name} must be an integer >= 1, got {size!r}")
        for name, value in (("line_width", line_width), ("margin", margin)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"LineChart: {name} must be a finite number >= 0, got {value!r}")
        if dtype not in OUTPUT_DTYPES:
            raise TypeError(
                f"LineChart: dtype must be one of {', '.join(map(str, OUTPUT_DTYPES))}, got {dtype!r}"
            )
        # Plain Python values, so TorchScript infers the attribute types (no class-level
        # annotations: with postponed annotations TorchScript cannot read them).
        self.height = int(height)
        self.width = int(width)
        self.line_width = float(line_width)
        self.antialias = bool(antialias)
        self.margin = float(margin)
        self.channels = bool(channels)
        self.background = float(background)
        self.foreground = float(foreground)
        self.dtype = dtype
        self.batched = bool(batched)

    def forward(self, series: torch.Tensor, value_range: Optional[torch.Tensor] = None) -> torch.Tensor:
        rank = series.dim()
        if rank < 1 or rank > 3 or (rank == 3 and not self.batched):
            expected = "[L], [B, L] or [B, S, L]" if self.batched else "[L] or [S, L] (batched=False)"
            raise ValueError(
                "LineChart: series must be " + expected + ", got a tensor of shape " + str(list(series.shape))
            )
        single = rank == 1 or (rank == 2 and not self.batched)
        if single:
            series = series.unsqueeze(0)
            if value_range is not None:
                value_range = value_range.unsqueeze(0)
        images = render_line(
            series,
            self.height,
            self.width,
            line_width=self.line_width,
            antialias=self.antialias,
            margin=self.margin,
            value_range=value_range,
            channels=self.channels,
            background=self.background,
            foreground=self.foreground,
            dtype=self.dtype,
        )
        return images[0] if single else images

    def extra_repr(self) -> str:
        return (
            f"height={self.height}, width={self.width}, line_width={self.line_width}, "
            f"antialias={self.antialias}, margin={self.margin}, channels={self.channels}, "
            f"background={self.background}, foreground={self.foreground}, dtype={self.dtype}, "
            f"batched={self.batched}"
        )

