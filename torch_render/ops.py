"""Typed wrappers over ``torch.ops.torch_render.*`` and their fake kernels."""

from __future__ import annotations

import math
from typing import Optional

import torch

# The defaults of render_line's keyword arguments, read from its schema (the one
# place they are defined).
_SCHEMA_DEFAULTS = {
    a.name: a.default_value
    for a in torch.ops.torch_render.render_line.default._schema.arguments
    if a.kwarg_only
}

__all__ = ["render_line", "cuda_built"]

OUTPUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8)


def render_line(
    series: torch.Tensor,
    height: int,
    width: int,
    *,
    line_width: float = 3.0,
    antialias: bool = True,
    margin: float = 0.0,
    value_range: Optional[torch.Tensor] = None,
    channels: bool = False,
    background: float = 1.0,
    foreground: float = 0.0,
    dtype: Optional[torch.dtype] = torch.float32,
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
        height: image height H in pixels (>= 1).
        width: image width W in pixels (>= 1).
        line_width: line width in pixels (finite, >= 0). Default 3.0.
        antialias: coverage ``clamp(w/2 + 0.5 - d, 0, 1)`` from the distance d of the
            pixel centre to the line (True, default), or 1 inside ``d <= w/2`` and
            0 outside (False).
        margin: empty border in pixels around the plot box (>= 0). Default 0.
        value_range: optional ``[B, 2]`` tensor of (lo, hi) per image, or
            ``[B, S, 2]`` per series with ``channels=True``, replacing the range of
            the data; values outside it are drawn where they fall.
        channels: False (default): the S series of an image are overlaid in one
            channel (maximum coverage); True: one channel per series.
        background: value of empty pixels. Default 1.0 (white).
        foreground: value of the line. Default 0.0 (black).
        dtype: output dtype: float32 (default), float16, bfloat16, float64 or uint8
            (``round(255 * value)``; background and foreground in [0, 1]). With
            ``out`` the output dtype is ``out.dtype``: leave ``dtype`` at its default
            (or None, or equal to ``out.dtype``); any other value is a TypeError.
        out: optional contiguous ``[B, C, H, W]`` tensor on the series' device to
            render into (its dtype is the output dtype).

    Returns:
        ``[B, C, H, W]`` contiguous tensor on the series' device, C = S if
        ``channels`` else 1; ``out`` itself when given.

    Example:
        >>> series = torch.randn(64, 100).cumsum(-1)
        >>> img = render_line(series, 500, 800)          # [64, 1, 500, 800] float32
        >>> u8 = render_line(series, 224, 224, dtype=torch.uint8, line_width=2.0)
    """
    # Only the arguments that differ from the schema's defaults: the dispatcher's
    # parsing of each keyword costs about 0.4 us per call.
    kwargs = {}
    for name, value in (
        ("line_width", float(line_width)),
        ("antialias", bool(antialias)),
        ("margin", float(margin)),
        ("channels", bool(channels)),
        ("background", float(background)),
        ("foreground", float(foreground)),
    ):
        default = _SCHEMA_DEFAULTS[name]
        # (-0.0 == 0.0, but as a colour it gives other bits.)
        if value != default or math.copysign(1.0, value) != math.copysign(1.0, default):
            kwargs[name] = value
    if value_range is not None:
        kwargs["value_range"] = value_range
    for name, size in (("height", height), ("width", width)):
        # Python ints past int64 would otherwise fail in the dispatcher's schema match.
        if isinstance(size, int) and not -(2**63) <= size < 2**63:
            raise ValueError(f"render_line: {name} must be >= 1 and < 2**63, got {size}")
    if out is not None:
        if dtype not in (None, torch.float32, out.dtype):
            raise TypeError(
                f"render_line: dtype and out.dtype must agree, got dtype={dtype} and "
                f"out.dtype={out.dtype}"
            )
        return torch.ops.torch_render.render_line.out(series, int(height), int(width), out=out, **kwargs)
    return torch.ops.torch_render.render_line(series, int(height), int(width), dtype=dtype, **kwargs)


def cuda_built() -> bool:
    """Whether the compiled library includes the CUDA kernels."""
    return torch._C._dispatch_has_kernel_for_dispatch_key("torch_render::render_line", "CUDA")


def cpu_isa() -> str:
    """The instruction set of the CPU kernel in this process: ``"avx2"`` or ``"baseline"``.

    Every copy gives the same bits. The best one the CPU supports is used, unless
    the environment variable ``TORCH_RENDER_CPU_ISA=baseline`` was set before the
    first render (for comparisons and debugging).
    """
    return torch.ops.torch_render._cpu_isa()


def _line_output_shape(
    series: torch.Tensor, height: int, width: int, channels: bool, value_range: Optional[torch.Tensor]
) -> list[int]:
    # The same exception types as the real kernels (csrc/render_line.cpp).
    torch._check_value(
        series.dim() in (2, 3),
        lambda: f"render_line: series must be [B, L] or [B, S, L], got a tensor of shape {list(series.shape)}",
    )
    torch._check_type(
        series.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64),
        lambda: f"render_line: series must be a floating tensor, got {series.dtype}",
    )
    if value_range is not None:
        torch._check(
            value_range.device == series.device,
            lambda: f"render_line: value_range must be on the device of series ({series.device}), "
            f"got {value_range.device}",
        )
    num_series = series.shape[1] if series.dim() == 3 else 1
    return [series.shape[0], num_series if channels else 1, height, width]


@torch.library.register_fake("torch_render::render_line")
def _render_line_fake(
    series, height, width, *, line_width=3.0, antialias=True, margin=0.0, value_range=None,
    channels=False, background=1.0, foreground=0.0, dtype=None,
):
    shape = _line_output_shape(series, height, width, channels, value_range)
    return series.new_empty(shape, dtype=dtype if dtype is not None else torch.float32)


@torch.library.register_fake("torch_render::render_line.out")
def _render_line_out_fake(
    series, height, width, *, line_width=3.0, antialias=True, margin=0.0, value_range=None,
    channels=False, background=1.0, foreground=0.0, out,
):
    shape = _line_output_shape(series, height, width, channels, value_range)
    torch._check(
        out.device == series.device,
        lambda: f"render_line: out must be on the device of series ({series.device}), got {out.device}",
    )
    torch._check_value(
        list(out.shape) == shape,
        lambda: f"render_line: out must have shape {shape}, got {list(out.shape)}",
    )
    return out
