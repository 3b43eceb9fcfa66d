"""Typed wrappers over ``torch.ops.torch_render.*`` and their fake kernels."""

from __future__ import annotations

import math
from typing import Optional

import torch

from torch_render._checks import (
    FLOAT32_MAX,
    FLOAT32_OVERFLOW,
    FLOATING,
    OUTPUT_DTYPES,
    OUTPUT_LIMITS,
    argument_checks,
    check_arguments,
    check_out_dtype,
    check_out_layout,
    check_out_overlap,
    check_tensor,
    finite_in_float32,
    float32,
    num,
    scalar_type,
    schema_defaults,
    stays_finite_in,
)

__all__ = ["render_line", "cuda_built"]

#: The defaults of render_line's arguments: those of its schema (csrc/render_line.cpp,
#: the one place they are defined), with the output dtype its ``dtype=None`` stands
#: for. The signatures of render_line, LineChart and the fake kernels read them here.
LINE_DEFAULTS = schema_defaults(torch.ops.torch_render.render_line.default, dtype=torch.float32)
_D = LINE_DEFAULTS


def render_line(
    series: torch.Tensor,
    height: int,
    width: int,
    line_width: float = _D["line_width"],
    antialias: bool = _D["antialias"],
    margin: float = _D["margin"],
    value_range: Optional[torch.Tensor] = None,
    channels: bool = _D["channels"],
    background: float = _D["background"],
    foreground: float = _D["foreground"],
    dtype: Optional[torch.dtype] = _D["dtype"],
    out: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Draw price series as line-chart images.

    Each series is scaled to its image: x spreads the L points evenly from column
    ``margin`` to ``width - 1 - margin``, y maps the minimum of the finite values to
    row ``height - 1 - margin`` and the maximum to row ``margin``. The line is a
    chain of round-capped segments ``line_width`` pixels wide; NaN and ±inf are gaps,
    and a finite point with no finite neighbour is drawn as a dot. The exact model
    is in ``docs/rendering.md``; CPU and CUDA give the same float32 values.

    Args:
        series: ``[B, L]`` (one series per image) or ``[B, S, L]`` (S series per
            image), any floating dtype, any strides (``x.unfold(-1, L, 1)`` works
            without a copy), on the CPU or a CUDA device.
        height: image height H in pixels, an int (>= 1).
        width: image width W in pixels, an int (>= 1).
        line_width: line width in pixels, a float or an int (finite, >= 0). Default 3.0.
        antialias: a bool: coverage ``clamp(w/2 + 0.5 - d, 0, 1)`` from the distance d
            of the pixel centre to the line (True, default), or 1 inside ``d <= w/2``
            and 0 outside (False).
        margin: empty border in pixels around the plot box (>= 0). Default 0.
        value_range: optional ``[B, 2]`` floating tensor of (lo, hi) per image, or
            ``[B, S, 2]`` per series with ``channels=True``, on the series' device,
            replacing the range of the data; values outside it are drawn where they
            fall. ``lo`` maps to the bottom of the plot box and ``hi`` to the top, so
            ``lo > hi`` draws the chart upside down (flipped vertically). A NaN or
            infinite entry is a ValueError on the CPU; on CUDA (where checking it
            would need a host sync) it leaves that image blank (all background).
        channels: a bool. False (default): the S series of an image are overlaid in
            one channel (maximum coverage); True: one channel per series.
        background: value of empty pixels. Default 1.0 (white).
        foreground: value of the line. Default 0.0 (black). Both must be finite in
            float32 and representable in the output dtype: in [0, 1] for uint8,
            at most 65504 in magnitude (after rounding) for float16, finite after
            rounding for bfloat16.
        dtype: output dtype: float32 (default), float16, bfloat16, float64 or uint8
            (``round(255 * value)``; background and foreground in [0, 1]). With
            ``out`` the output dtype is ``out.dtype``: leave ``dtype`` at its default
            (or None, or equal to ``out.dtype``); any other value is a TypeError.
        out: optional contiguous ``[B, C, H, W]`` tensor on the series' device to
            render into (its dtype is the output dtype). Like PyTorch's ``out=``
            functions this does not support autograd: with grad mode on, an ``out``
            that requires grad, or a ``series``/``value_range`` that does, is a
            RuntimeError.

    Returns:
        ``[B, C, H, W]`` contiguous tensor on the series' device, C = S if
        ``channels`` else 1; ``out`` itself when given. Float images are
        differentiable with respect to ``series`` and ``value_range``
        (``docs/rendering.md``, "Gradients"); uint8 images never require grad.

    Raises:
        TypeError: a float, bool, string or None where an int belongs, a non-bool
            for ``antialias``/``channels``, a non-number for a float argument, a
            non-floating ``series``/``value_range``, an unsupported output dtype.
        ValueError: bad shapes and values (the message names the argument).

    The defaults are those of the op's schema. The options may also be given by
    position, in the order above (TorchScript compiles no keyword-only argument with
    a default): ``torch.jit.script(render_line)`` scripts this function, and
    scripted code may call it; there TorchScript checks the argument types.

    Example:
        >>> series = torch.randn(64, 100).cumsum(-1)
        >>> img = render_line(series, 500, 800)          # [64, 1, 500, 800] float32
        >>> u8 = render_line(series, 224, 224, dtype=torch.uint8, line_width=2.0)
    """
    if not torch.jit.is_scripting():
        return _render_line_eager(
            series, height, width, line_width, antialias, margin, value_range, channels, background, foreground,
            dtype, out,
        )
    # TorchScript: it has checked the argument types; every argument goes to the op.
    if out is not None:
        check_out_dtype("render_line", dtype, out)
        torch.ops.torch_render.render_line(
            series, height, width, line_width=line_width, antialias=antialias, margin=margin,
            value_range=value_range, channels=channels, background=background, foreground=foreground, out=out,
        )
        return out
    return torch.ops.torch_render.render_line(
        series, height, width, line_width=line_width, antialias=antialias, margin=margin, value_range=value_range,
        channels=channels, background=background, foreground=foreground, dtype=dtype,
    )


# render_line's options that the eager path passes to the op only where they differ
# from the schema's defaults.
_OPTIONS = ("line_width", "antialias", "margin", "channels", "background", "foreground")
# The type of each argument the eager path checks, as the schema declares it.
_ARGUMENTS = argument_checks(
    torch.ops.torch_render.render_line.default,
    ("series", "height", "width", "line_width", "antialias", "margin", "value_range", "channels", "background",
     "foreground", "dtype"),
)


def _render_line_eager(
    series, height, width, line_width, antialias, margin, value_range, channels, background, foreground, dtype, out
) -> torch.Tensor:
    """render_line in Python (its arguments, in its order): the argument types checked
    (TypeError naming the argument), and only the options that differ from the
    schema's defaults passed to the op (the dispatcher's parsing of each keyword
    costs about 0.4 us a call)."""
    who = "render_line"
    series, height, width, line_width, antialias, margin, value_range, channels, background, foreground, dtype = (
        check_arguments(
            who, _ARGUMENTS,
            (series, height, width, line_width, antialias, margin, value_range, channels, background, foreground, dtype),
        )
    )
    for name, size in (("height", height), ("width", width)):
        # Python ints past int64 would otherwise fail in the dispatcher's schema match.
        if type(size) is int and not -(2**63) <= size < 2**63:
            raise ValueError(f"render_line: {name} must be >= 1 and < 2**63, got {size}")
    kwargs = {}
    for name, value in zip(_OPTIONS, (line_width, antialias, margin, channels, background, foreground)):
        default = _D[name]
        # (-0.0 == 0.0, but as a colour it gives other bits.)
        if value != default or (value == 0 and math.copysign(1.0, value) != math.copysign(1.0, default)):
            kwargs[name] = value
    if value_range is not None:
        kwargs["value_range"] = value_range
    if out is not None:
        check_tensor(who, "out", out)
        check_out_dtype(who, dtype, out)
        torch.ops.torch_render.render_line.out(series, height, width, out=out, **kwargs)
        return out
    return torch.ops.torch_render.render_line(series, height, width, dtype=dtype, **kwargs)


def cuda_built() -> bool:
    """Whether the compiled library includes the CUDA kernels."""
    return torch.ops.torch_render._cuda_built()


def cpu_isa() -> str:
    """The instruction set of the CPU kernel in this process: ``"avx2"`` or ``"baseline"``.

    Every copy gives the same bits. The best one the CPU supports is used, unless
    the environment variable ``TORCH_RENDER_CPU_ISA=baseline`` was set before the
    first render (for comparisons and debugging).
    """
    return torch.ops.torch_render._cpu_isa()


# --------------------------------------------------------------------- fake kernels
#
# The checks of csrc/render_line.cpp that need no data, with the same order,
# messages and exception types, so that traced and compiled code (torch.compile,
# torch.export, the meta device) refuses what eager refuses, the same way.

def _check_render_line(
    series: torch.Tensor,
    height: int,
    width: int,
    line_width: float,
    margin: float,
    value_range: Optional[torch.Tensor],
    channels: bool,
    background: float,
    foreground: float,
    out_dtype: torch.dtype,
    dtype_arg: str = "dtype",
) -> list:
    """plan_render_line's checks (csrc/render_line.cpp) on metadata; the output shape."""
    _check_value = torch._check_value
    _check_value(
        series.dim() in (2, 3),
        lambda: f"render_line: series must be [B, L] or [B, S, L], got a tensor of shape {list(series.shape)}",
    )
    torch._check_type(
        series.dtype in FLOATING,
        lambda: "render_line: series must be a floating tensor (float16, bfloat16, float32 or float64), "
        f"got {scalar_type(series.dtype)}",
    )
    B = series.shape[0]
    S = series.shape[1] if series.dim() == 3 else 1
    L = series.shape[-1]
    _check_value(
        L >= 1, lambda: f"render_line: series must have at least one point (L >= 1), got shape {list(series.shape)}"
    )
    _check_value(height >= 1, lambda: f"render_line: height must be >= 1, got {height}")
    _check_value(width >= 1, lambda: f"render_line: width must be >= 1, got {width}")
    _check_value(
        math.isfinite(line_width) and 0.0 <= line_width <= FLOAT32_MAX,
        lambda: f"render_line: line_width must be finite and >= 0, got {num(line_width)}",
    )
    _check_value(
        math.isfinite(margin) and margin >= 0.0,
        lambda: f"render_line: margin must be finite and >= 0, got {num(margin)}",
    )
    limit = min(height, width) - 1
    _check_value(
        2.0 * margin <= limit,
        lambda: "render_line: margin leaves no plot area: 2 * margin must be <= min(height, width) - 1 = "
        f"{limit}, got margin {num(margin)}",
    )
    torch._check_type(
        out_dtype in OUTPUT_DTYPES,
        lambda: f"render_line: {dtype_arg} must be float32, float16, bfloat16, float64 or uint8, "
        f"got {scalar_type(out_dtype)}",
    )
    # The kernels blend in float32: both colours and their difference must be finite there.
    _check_value(
        finite_in_float32(background)
        and finite_in_float32(foreground)
        and abs(float32(foreground) - float32(background)) < FLOAT32_OVERFLOW,
        lambda: "render_line: background and foreground must be finite float32 values whose difference is "
        f"finite in float32, got {num(background)} and {num(foreground)}",
    )
    if out_dtype == torch.uint8:
        _check_value(
            0.0 <= background <= 1.0 and 0.0 <= foreground <= 1.0,
            lambda: "render_line: with uint8 output, background and foreground are given in [0, 1], got "
            f"{num(background)} and {num(foreground)}",
        )
    if out_dtype in OUTPUT_LIMITS:
        largest = OUTPUT_LIMITS[out_dtype][1]
        name = "float16" if out_dtype == torch.float16 else "bfloat16"
        _check_value(
            stays_finite_in(background, out_dtype) and stays_finite_in(foreground, out_dtype),
            lambda: f"render_line: with {name} output, background and foreground must round to finite "
            f"{name} values (largest {num(largest)}), got {num(background)} and {num(foreground)}",
        )
    C = S if channels else 1
    shape = [B, C, height, width]
    _check_value(
        B * C * height * width <= 2**63 - 1,
        lambda: f"render_line: output of shape {shape} has more elements than int64 can index",
    )
    if value_range is not None:
        vr = value_range
        torch._check(
            vr.device == series.device,
            lambda: f"render_line: value_range must be on the device of series ({series.device}), got {vr.device}",
        )
        torch._check_type(
            vr.dtype in FLOATING,
            lambda: f"render_line: value_range must be a floating tensor, got {scalar_type(vr.dtype)}",
        )
        per_image = vr.dim() == 2 and vr.shape[0] == B and vr.shape[1] == 2
        per_series = vr.dim() == 3 and vr.shape[0] == B and vr.shape[1] == S and vr.shape[2] == 2
        expected = f"[B, S, 2] = [{B}, {S}, 2]"
        _check_value(
            per_image or (per_series and channels),
            lambda: f"render_line: value_range must be [B, 2] = [{B}, 2]"
            + (f" or {expected}" if channels else " ([B, S, 2] needs channels=True)")
            + f", got shape {list(vr.shape)}",
        )
    return shape


@torch.library.register_fake("torch_render::render_line")
def _render_line_fake(
    series, height, width, *, line_width=_D["line_width"], antialias=_D["antialias"], margin=_D["margin"],
    value_range=None, channels=_D["channels"], background=_D["background"], foreground=_D["foreground"],
    dtype=None,
):
    out_dtype = dtype if dtype is not None else _D["dtype"]
    shape = _check_render_line(
        series, height, width, line_width, margin, value_range, channels, background, foreground, out_dtype
    )
    return series.new_empty(shape, dtype=out_dtype)


@torch.library.register_fake("torch_render::render_line.out")
def _render_line_out_fake(
    series, height, width, *, line_width=_D["line_width"], antialias=_D["antialias"], margin=_D["margin"],
    value_range=None, channels=_D["channels"], background=_D["background"], foreground=_D["foreground"], out,
):
    shape = _check_render_line(
        series, height, width, line_width, margin, value_range, channels, background, foreground,
        out.dtype, "out.dtype",
    )
    # check_render_line_out's checks (csrc/render_line.cpp).
    check_out_layout("render_line", shape, out, "series", series)
    check_out_overlap("render_line", out, (("series", series), ("value_range", value_range)))
    return None
