"""``render_ohlc`` (OHLC bar and candlestick charts) and the ``jkx_chart`` preset:
typed wrappers over ``torch.ops.torch_render.render_ohlc`` and its fake kernels."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from torch_render._checks import (
    FLOATING,
    OUTPUT_DTYPES,
    argument_checks,
    check_arguments,
    check_int,
    check_int64,
    check_out_dtype,
    check_out_layout,
    check_out_overlap,
    check_tensor,
    finite_in_float32,
    schema_defaults,
    stays_finite_in,
    type_error,
)

__all__ = ["render_ohlc", "jkx_chart", "OHLCChart", "JKX_HEIGHTS"]

_OP = "render_ohlc"
_MAX_BAR_WIDTH = 1 << 16

#: The defaults of render_ohlc's arguments: those of its schema (csrc/render_ohlc.cpp,
#: the one place they are defined), with the output dtype its ``dtype=None`` stands
#: for. The signatures of render_ohlc, OHLCChart and the fake kernels read them here.
OHLC_DEFAULTS = schema_defaults(torch.ops.torch_render.render_ohlc.default, dtype=torch.float32)
_D = OHLC_DEFAULTS

_OPTIONS = ("height", "width", "style", "bar_width", "volume_rows", "background", "foreground", "dtype")
# The type of each argument, as the schema declares it: render_ohlc's (its tensors,
# then its options) and OHLCChart's options (a module's dtype is a dtype, not None).
_ARGUMENTS = argument_checks(
    torch.ops.torch_render.render_ohlc.default, ("ohlc", "volume", "overlays", "value_range") + _OPTIONS + ("scale",)
)
_MODULE_OPTIONS = argument_checks(torch.ops.torch_render.render_ohlc.default, _OPTIONS, not_none=("dtype",))

#: Image heights of the JKX preset by number of bars (Jiang, Kelly & Xiu 2023).
JKX_HEIGHTS = {5: 32, 20: 64, 60: 96}


def _colour_fits(v: float, dtype: torch.dtype) -> bool:
    # As csrc/render_ohlc.cpp: the colour is stored as a finite value of `dtype`.
    if dtype == torch.uint8:
        return 0.0 <= v <= 1.0
    return finite_in_float32(v) and stays_finite_in(v, dtype)


def _check_input(t: torch.Tensor, name: str, ohlc: torch.Tensor, shape: list, shape_text: str) -> None:
    torch._check(
        t.device == ohlc.device,
        lambda: f"{_OP}: {name} must be on the device of ohlc ({ohlc.device}), got {t.device}",
    )
    torch._check_type(
        t.dtype in FLOATING,
        lambda: f"{_OP}: {name} must be a floating tensor (float16, bfloat16, float32 or float64), "
        f"got {t.dtype}",
    )
    ok = t.dim() == len(shape) and all(s is None or t.shape[d] == s for d, s in enumerate(shape))
    torch._check_value(ok, lambda: f"{_OP}: {name} must be {shape_text}, got a tensor of shape {list(t.shape)}")


def _check_args(ohlc, height, width, volume, overlays, style, bar_width, volume_rows, value_range, scale,
                background, foreground, out_dtype, dtype_arg) -> list:
    """The checks of csrc/render_ohlc.cpp that need no data, with its messages; the output shape."""
    torch._check_value(
        ohlc.dim() == 3 and ohlc.shape[2] == 4,
        lambda: f"{_OP}: ohlc must be [B, L, 4] (open, high, low, close), got a tensor of shape "
        f"{list(ohlc.shape)}",
    )
    torch._check_type(
        ohlc.dtype in FLOATING,
        lambda: f"{_OP}: ohlc must be a floating tensor (float16, bfloat16, float32 or float64), "
        f"got {ohlc.dtype}",
    )
    B, L = ohlc.shape[0], ohlc.shape[1]
    torch._check_value(L >= 1, lambda: f"{_OP}: ohlc must have at least one bar (L >= 1), got shape {list(ohlc.shape)}")
    torch._check_value(style in ("bar", "candle"), lambda: f'{_OP}: style must be "bar" or "candle", got "{style}"')
    torch._check_value(
        1 <= bar_width <= _MAX_BAR_WIDTH,
        lambda: f"{_OP}: bar_width must be in 1 .. {_MAX_BAR_WIDTH}, got {bar_width}",
    )
    torch._check_value(height >= 1, lambda: f"{_OP}: height must be >= 1, got {height}")
    torch._check_value(volume_rows >= 0, lambda: f"{_OP}: volume_rows must be >= 0, got {volume_rows}")
    torch._check_value(
        volume_rows == 0 or volume_rows <= height - 2,
        lambda: f"{_OP}: volume_rows leaves no price rows: height must be >= volume_rows + 2 (the panel, "
        f"a gap row and one price row) = {volume_rows + 2}, got height {height}",
    )
    min_width = L * bar_width
    W = min_width if width is None else width
    torch._check_value(W >= min_width, lambda: f"{_OP}: width must be >= L * bar_width = {min_width}, got {W}")
    torch._check_type(
        out_dtype in OUTPUT_DTYPES,
        lambda: f"{_OP}: {dtype_arg} must be torch.float32, torch.float16, torch.bfloat16, torch.float64 "
        f"or torch.uint8, got {out_dtype}",
    )
    for name, v in (("background", background), ("foreground", foreground)):
        requirement = "in [0, 1]" if out_dtype == torch.uint8 else "finite"
        torch._check_value(
            _colour_fits(v, out_dtype),
            lambda: f"{_OP}: {name} must be {requirement} in the output dtype {out_dtype}, got {v:g}",
        )
    if volume is not None:
        _check_input(volume, "volume", ohlc, [B, L], f"[B, L] = [{B}, {L}]")
    if overlays is not None:
        _check_input(overlays, "overlays", ohlc, [B, None, L], f"[B, M, L] = [{B}, M, {L}]")
    if value_range is not None:
        _check_input(value_range, "value_range", ohlc, [B, 2], f"[B, 2] = [{B}, 2]")
    if scale is not None:
        _check_input(scale, "scale", ohlc, [B], f"[B] = [{B}]")
    return [B, 1, height, W]


def render_ohlc(
    ohlc: torch.Tensor,
    height: int,
    width: Optional[int] = None,
    volume: Optional[torch.Tensor] = None,
    overlays: Optional[torch.Tensor] = None,
    style: str = _D["style"],
    bar_width: int = _D["bar_width"],
    volume_rows: int = _D["volume_rows"],
    value_range: Optional[torch.Tensor] = None,
    background: float = _D["background"],
    foreground: float = _D["foreground"],
    dtype: Optional[torch.dtype] = _D["dtype"],
    scale: Optional[torch.Tensor] = None,
    out: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Draw OHLC bars or candlesticks, with an optional volume panel and overlay lines.

    Aliased and pixel-exact (DESIGN §2, "OHLC charts"): bar i owns columns
    ``i * bar_width .. (i + 1) * bar_width - 1``, its centre column is
    ``c = i * bar_width + (bar_width - 1) // 2``. Prices map to integer levels
    ``round_half_even((p - lo) * ((P - 1) / (hi - lo)))`` (float64), level j being
    image row ``P - 1 - j`` of the price area (the top ``P = height - volume_rows - 1``
    rows with a volume panel, else all rows); ``lo``, ``hi`` are the min and max of
    the finite prices and overlay values of the image, or ``value_range``.

    - ``style="bar"``: the high-low bar in the centre column, the open tick left of
      it (columns ``c - k .. c``), the close tick right of it (``c + 1 .. c + k``).
    - ``style="candle"``: the high-low wick in the centre column, the open-close body
      over columns ``c - k .. c + k``: filled when close < open, outlined otherwise.
    - overlays: 1-px lines through the bars' centres as Pillow's
      ``ImageDraw.line(width=1)`` draws them; segments with a missing end are dropped.
    - volume: bar i rises ``round_half_even(|v_i| * V / max|v|)`` rows (at least one)
      from the bottom row of the panel; non-finite volumes draw nothing.
    - Missing data (NaN, +-inf): a bar with a missing high or low is skipped; a missing
      open or close drops that tick (a candle draws only its wick).

    Args:
        ohlc: ``[B, L, 4]`` (open, high, low, close), any floating dtype and strides
            (``ohlcv.unfold(0, L, 1).transpose(1, 2)`` is a view), CPU or CUDA.
        height: image height H (>= 1).
        width: image width W (>= L * bar_width); default ``L * bar_width``. Extra
            columns stay background.
        volume: optional ``[B, L]`` volumes (drawn only with ``volume_rows > 0``).
        overlays: optional ``[B, M, L]`` series on the price scale (moving averages).
        style: ``"bar"`` (default) or ``"candle"``.
        bar_width: columns per bar, 1 .. 65536. Default 3.
        volume_rows: rows V of the volume panel at the bottom (0: none), above it a
            1-px gap; at least one price row must remain.
        value_range: optional ``[B, 2]`` (lo, hi) per image replacing the data's
            range; levels outside the price area are clipped; ``lo > hi`` flips the
            chart. Must be finite on the CPU; on CUDA a non-finite range (not checked,
            that would need a host sync) leaves the price area blank.
        background: value of empty pixels. Default 1.0 (white).
        foreground: value of marks. Default 0.0 (black).
        dtype: float32 (default), float16, bfloat16, float64 or uint8
            (``round(255 * value)``, colours in [0, 1]). With ``out``, leave it at
            the default (or None, or ``out.dtype``).
        scale: optional ``[B]`` factors, any floating dtype: every price and overlay
            value of image b is multiplied by ``scale[b]`` in float64 before the
            range and the levels (``value_range`` is on the scaled prices). The same
            images as rendering ``ohlc * scale[:, None, None]`` computed in float64,
            without that copy; a non-finite factor leaves its image's price area
            blank. :func:`jkx_chart` passes ``1 / close_0``.
        out: optional contiguous ``[B, 1, H, W]`` tensor to render into.

    Returns:
        ``[B, 1, H, W]`` contiguous tensor on ohlc's device (``out`` when given).

    The defaults are those of the op's schema; wrong Python types are a TypeError
    naming the argument. Scripts with ``torch.jit.script`` (the arguments may also
    be given by position, in the order above).

    Example:
        >>> ohlc = torch.tensor([[[10.0, 12.0, 9.0, 11.0], [11.0, 13.0, 10.0, 10.5]]])
        >>> render_ohlc(ohlc, 16).shape
        torch.Size([1, 1, 16, 6])
        >>> render_ohlc(ohlc, 16, style="candle", bar_width=5, dtype=torch.uint8).dtype
        torch.uint8
    """
    if not torch.jit.is_scripting():
        # The argument types (TorchScript checks them itself); Python values for NumPy scalars.
        values = check_arguments(
            _OP, _ARGUMENTS,
            (ohlc, volume, overlays, value_range, height, width, style, bar_width, volume_rows, background,
             foreground, dtype, scale),
        )
        check_int64(_OP, _ARGUMENTS, values)
        height, width, style, bar_width, volume_rows, background, foreground, dtype = values[4:12]
        check_tensor(_OP, "out", out, allow_none=True)
    if out is not None:
        check_out_dtype("render_ohlc", dtype, out)
        torch.ops.torch_render.render_ohlc(
            ohlc, height, width, volume=volume, overlays=overlays, style=style, bar_width=bar_width,
            volume_rows=volume_rows, value_range=value_range, scale=scale, background=background,
            foreground=foreground, out=out,
        )
        return out
    return torch.ops.torch_render.render_ohlc(
        ohlc, height, width, volume=volume, overlays=overlays, style=style, bar_width=bar_width,
        volume_rows=volume_rows, value_range=value_range, scale=scale, background=background,
        foreground=foreground, dtype=dtype,
    )


def jkx_chart(
    ohlc: torch.Tensor,
    volume: Optional[torch.Tensor] = None,
    overlays: Optional[torch.Tensor] = None,
    *,
    height: Optional[int] = None,
    dtype: torch.dtype = torch.uint8,
    out: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """The OHLC image of Jiang, Kelly & Xiu, "(Re-)Imag(in)ing Price Trends" (2023).

    Every price (OHLC and overlays) is first multiplied by ``1 / close_0`` (the
    first bar's close, float64), then drawn by :func:`render_ohlc` with bars 3
    pixels wide, white (1, or 255 in uint8) on black (0), a volume panel of
    ``int(height / 5)`` rows when ``volume`` is given, and ``height`` 32, 64 or 96
    for 5, 20 or 60 bars (required for any other L).

    Args:
        ohlc: ``[B, L, 4]`` (open, high, low, close), any floating dtype and strides.
        volume: optional ``[B, L]`` volumes.
        overlays: optional ``[B, M, L]`` series on the price scale (the paper's
            moving average of closes over the window length).
        height: image height; default from L as above.
        dtype: output dtype, default uint8 (0/255). With ``out``, leave it at the
            default or give ``out.dtype``.
        out: optional ``[B, 1, height, 3 * L]`` tensor to render into, checked as
            :func:`render_ohlc` checks its ``out`` (an output dtype, the shape,
            ohlc's device, contiguous, no overlap with the inputs, no grad).

    Returns:
        ``[B, 1, height, 3 * L]`` tensor on ohlc's device (``out`` when given).

    Works under ``torch.compile(fullgraph=True)`` and ``torch.export`` (a new L
    recompiles or is a new export, as a new height must be), and under
    ``torch.jit.trace``: the trace holds the height and volume rows of the L it
    was traced with (any batch size, not another L; torch warns with a
    ``TracerWarning`` when tracing). ``torch.jit.script`` cannot
    compile it (keyword-only arguments with defaults); script
    :class:`OHLCChart` or ``torch.ops.torch_render.render_ohlc`` instead.

    Example:
        >>> ohlc = torch.rand(8, 20, 4) + 10
        >>> jkx_chart(ohlc, volume=torch.rand(8, 20)).shape
        torch.Size([8, 1, 64, 60])
    """
    op = "jkx_chart"
    check_tensor(op, "ohlc", ohlc)
    check_tensor(op, "volume", volume, allow_none=True)
    check_tensor(op, "overlays", overlays, allow_none=True)
    check_tensor(op, "out", out, allow_none=True)
    height = check_int(op, "height", height, allow_none=True)
    if not isinstance(dtype, torch.dtype):
        raise type_error(op, "dtype", "a torch.dtype", dtype)
    # Under torch.jit.trace the sizes are traced values; the op's height and panel
    # are static arguments, so the trace keeps those of the traced L (see above),
    # and torch's TracerWarning for the conversion says so to the user.
    shape = [int(size) for size in ohlc.shape] if torch.jit.is_tracing() else list(ohlc.shape)
    if len(shape) != 3 or shape[2] != 4:
        raise ValueError(f"{op}: ohlc must be [B, L, 4] (open, high, low, close), got a tensor of shape {shape}")
    if ohlc.dtype not in FLOATING:
        raise TypeError(f"{op}: ohlc must be a floating tensor (float16, bfloat16, float32 or float64), got {ohlc.dtype}")
    length = shape[1]
    if height is None:
        if length not in JKX_HEIGHTS:
            raise ValueError(f"{op}: height is required unless L is 5, 20 or 60, got L = {length}")
        height = JKX_HEIGHTS[length]
    if out is not None and dtype != torch.uint8 and dtype != out.dtype:
        raise TypeError(f"{op}: dtype and out.dtype must agree, got dtype={dtype} and out.dtype={out.dtype}")
    # 1 / close_0 in float64; the op multiplies every price and overlay value by
    # it in float64 as it reads them (the same bits as a float64 product tensor,
    # without writing one). (select, not indexing, and reciprocal, which is what
    # 1.0 / x runs: a third of this function's time at small batches.) None for
    # L == 0, which render_ohlc refuses.
    scale = torch.reciprocal(ohlc.select(2, 3).select(1, 0).to(torch.float64)) if length > 0 else None
    volume_rows = int(height / 5) if volume is not None else 0
    options = dict(volume=volume, overlays=overlays, bar_width=3, volume_rows=volume_rows, background=0.0,
                   foreground=1.0, scale=scale)
    if out is not None:
        return render_ohlc(ohlc, height, out=out, **options)
    return render_ohlc(ohlc, height, dtype=dtype, **options)


class OHLCChart(nn.Module):
    """OHLC bar or candlestick charts as a module (``render_ohlc`` with fixed options).

    Holds only plain options, is defined at module level and calls
    :func:`render_ohlc`: it pickles into DataLoader workers and scripts with
    ``torch.jit.script``.

    ``forward(ohlc, volume=None, overlays=None, value_range=None)``: ``ohlc`` is
    ``[B, L, 4]`` (a batch, output ``[B, 1, H, W]``) or ``[L, 4]`` (one sample,
    output ``[1, H, W]``; then ``volume`` is ``[L]``, ``overlays`` ``[M, L]``,
    ``value_range`` ``[2]``). The drawing is ``render_ohlc``'s.

    Args:
        height, width, style, bar_width, volume_rows, background, foreground, dtype:
            as in :func:`render_ohlc` (``width`` None: ``L * bar_width``).

    Example:
        >>> chart = OHLCChart(64, volume_rows=12, dtype=torch.uint8)
        >>> chart(torch.rand(8, 20, 4) + 10, torch.rand(8, 20)).shape
        torch.Size([8, 1, 64, 60])
        >>> scripted = torch.jit.script(chart)
    """

    def __init__(
        self,
        height: int,
        width: Optional[int] = None,
        *,
        style: str = _D["style"],
        bar_width: int = _D["bar_width"],
        volume_rows: int = _D["volume_rows"],
        background: float = _D["background"],
        foreground: float = _D["foreground"],
        dtype: torch.dtype = _D["dtype"],
    ) -> None:
        super().__init__()
        options = check_arguments(
            "OHLCChart", _MODULE_OPTIONS, (height, width, style, bar_width, volume_rows, background, foreground, dtype)
        )
        check_int64("OHLCChart", _MODULE_OPTIONS, options)
        height, width, style, bar_width, volume_rows, background, foreground, dtype = options
        # The options the op checks without data, checked now (with its messages).
        _check_args(torch.empty(1, 1, 4, device="meta"), height, None, None, None, style, bar_width,
                    volume_rows, None, None, background, foreground, dtype, "dtype")
        # Plain Python values, so TorchScript infers the attribute types.
        self.height = height
        self.width = width
        self.style = style
        self.bar_width = bar_width
        self.volume_rows = volume_rows
        self.background = background
        self.foreground = foreground
        self.dtype = dtype

    def forward(
        self,
        ohlc: torch.Tensor,
        volume: Optional[torch.Tensor] = None,
        overlays: Optional[torch.Tensor] = None,
        value_range: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        single = ohlc.dim() == 2
        if single:
            ohlc = ohlc.unsqueeze(0)
            if volume is not None:
                volume = volume.unsqueeze(0)
            if overlays is not None:
                overlays = overlays.unsqueeze(0)
            if value_range is not None:
                value_range = value_range.unsqueeze(0)
        images = render_ohlc(
            ohlc,
            self.height,
            self.width,
            volume=volume,
            overlays=overlays,
            style=self.style,
            bar_width=self.bar_width,
            volume_rows=self.volume_rows,
            value_range=value_range,
            background=self.background,
            foreground=self.foreground,
            dtype=self.dtype,
        )
        return images[0] if single else images

    def extra_repr(self) -> str:
        return (
            f"height={self.height}, width={self.width}, style={self.style!r}, bar_width={self.bar_width}, "
            f"volume_rows={self.volume_rows}, background={self.background}, foreground={self.foreground}, "
            f"dtype={self.dtype}"
        )


@torch.library.register_fake("torch_render::render_ohlc")
def _render_ohlc_fake(
    ohlc, height, width=None, *, volume=None, overlays=None, style=_D["style"], bar_width=_D["bar_width"],
    volume_rows=_D["volume_rows"], value_range=None, background=_D["background"], foreground=_D["foreground"],
    dtype=None, scale=None,
):
    out_dtype = dtype if dtype is not None else _D["dtype"]
    shape = _check_args(ohlc, height, width, volume, overlays, style, bar_width, volume_rows, value_range, scale,
                        background, foreground, out_dtype, "dtype")
    return ohlc.new_empty(shape, dtype=out_dtype)


@torch.library.register_fake("torch_render::render_ohlc.out")
def _render_ohlc_out_fake(
    ohlc, height, width=None, *, volume=None, overlays=None, style=_D["style"], bar_width=_D["bar_width"],
    volume_rows=_D["volume_rows"], value_range=None, background=_D["background"], foreground=_D["foreground"],
    out, scale=None,
):
    shape = _check_args(ohlc, height, width, volume, overlays, style, bar_width, volume_rows, value_range, scale,
                        background, foreground, out.dtype, "out.dtype")
    # check_render_ohlc_out's checks (csrc/render_ohlc.cpp).
    check_out_layout(_OP, shape, out, "ohlc", ohlc)
    torch._check(
        not out.requires_grad,
        lambda: f"{_OP}: out must not require grad (render_ohlc has no gradient)",
    )
    inputs = (("ohlc", ohlc), ("volume", volume), ("overlays", overlays), ("value_range", value_range),
              ("scale", scale))
    check_out_overlap(_OP, out, inputs)
    return None
