"""Typed wrappers over ``torch.ops.torch_render.*`` and their fake kernels."""

from __future__ import annotations

import math
import numbers
import operator
import struct
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


# ------------------------------------------------------------------ argument types
#
# torch's dispatcher would turn a float height into an error without the argument's
# name and a string or an int into a bool silently, so the wrapper and LineChart
# check the types of the plain Python arguments first (CONVENTIONS: no silent
# coercion), with the same messages; `who` names the caller.


def _type_error(who: str, name: str, expected: str, value: object) -> TypeError:
    return TypeError(f"{who}: {name} must be {expected}, got {value!r} of type {type(value).__name__}")


def _check_int(who: str, name: str, value: object) -> int:
    """``value`` as an int: a Python or NumPy integer (``operator.index``), not a bool."""
    if type(value) is int or isinstance(value, torch.SymInt):
        return value  # type: ignore[return-value]
    if not isinstance(value, (bool, torch.Tensor)):
        try:
            return operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
    raise _type_error(who, name, "an int", value)


def _check_float(who: str, name: str, value: object) -> float:
    """``value`` as a float: a Python or NumPy real number (ints too), not a bool or a tensor."""
    if type(value) is float or isinstance(value, (torch.SymFloat, torch.SymInt)):
        return value  # type: ignore[return-value]
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, torch.Tensor)):
        return float(value)
    raise _type_error(who, name, "a float", value)


def _check_bool(who: str, name: str, value: object) -> bool:
    """``value`` as a bool: True, False or a NumPy bool, not an int or a string."""
    if value is True or value is False or isinstance(value, torch.SymBool):
        return value  # type: ignore[return-value]
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):  # NumPy 2, 1
        return bool(value)
    raise _type_error(who, name, "a bool", value)


def _check_dtype(who: str, name: str, value: object, allow_none: bool = False) -> Optional[torch.dtype]:
    """``value`` as a torch.dtype (or None where allowed)."""
    if isinstance(value, torch.dtype) or (allow_none and value is None):
        return value
    raise _type_error(who, name, "a torch.dtype" + (" or None" if allow_none else ""), value)


def _check_tensor(who: str, name: str, value: object, allow_none: bool = False) -> Optional[torch.Tensor]:
    """``value`` as a tensor (or None where allowed)."""
    if isinstance(value, torch.Tensor) or (allow_none and value is None):
        return value
    raise _type_error(who, name, "a Tensor" + (" or None" if allow_none else ""), value)


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
        ``channels`` else 1; ``out`` itself when given. The op has no gradient yet:
        a float image rendered from inputs that require grad has a ``grad_fn``
        whose backward raises NotImplementedError (uint8 images never require grad).

    Raises:
        TypeError: a float, bool, string or None where an int belongs, a non-bool
            for ``antialias``/``channels``, a non-number for a float argument, a
            non-floating ``series``/``value_range``, an unsupported output dtype.
        ValueError: bad shapes and values (the message names the argument).

    Example:
        >>> series = torch.randn(64, 100).cumsum(-1)
        >>> img = render_line(series, 500, 800)          # [64, 1, 500, 800] float32
        >>> u8 = render_line(series, 224, 224, dtype=torch.uint8, line_width=2.0)
    """
    who = "render_line"
    _check_tensor(who, "series", series)
    height = _check_int(who, "height", height)
    width = _check_int(who, "width", width)
    for name, size in (("height", height), ("width", width)):
        # Python ints past int64 would otherwise fail in the dispatcher's schema match.
        if type(size) is int and not -(2**63) <= size < 2**63:
            raise ValueError(f"render_line: {name} must be >= 1 and < 2**63, got {size}")
    # Only the arguments that differ from the schema's defaults: the dispatcher's
    # parsing of each keyword costs about 0.4 us per call.
    kwargs = {}
    for name, value in (
        ("line_width", _check_float(who, "line_width", line_width)),
        ("antialias", _check_bool(who, "antialias", antialias)),
        ("margin", _check_float(who, "margin", margin)),
        ("channels", _check_bool(who, "channels", channels)),
        ("background", _check_float(who, "background", background)),
        ("foreground", _check_float(who, "foreground", foreground)),
    ):
        default = _SCHEMA_DEFAULTS[name]
        # (-0.0 == 0.0, but as a colour it gives other bits.)
        if value != default or math.copysign(1.0, value) != math.copysign(1.0, default):
            kwargs[name] = value
    if value_range is not None:
        kwargs["value_range"] = _check_tensor(who, "value_range", value_range)
    dtype = _check_dtype(who, "dtype", dtype, allow_none=True)
    if out is not None:
        _check_tensor(who, "out", out)
        if dtype not in (None, torch.float32, out.dtype):
            raise TypeError(
                f"render_line: dtype and out.dtype must agree, got dtype={dtype} and "
                f"out.dtype={out.dtype}"
            )
        torch.ops.torch_render.render_line.out(series, height, width, out=out, **kwargs)
        return out
    return torch.ops.torch_render.render_line(series, height, width, dtype=dtype, **kwargs)


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


# --------------------------------------------------------------------- fake kernels
#
# The checks of csrc/render_line.cpp that need no data, with the same order,
# messages and exception types, so that traced and compiled code (torch.compile,
# torch.export, the meta device) refuses what eager refuses, the same way.

_FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

# How c10 prints a ScalarType (the C++ messages say "got Long", not "torch.int64").
_SCALAR_TYPE_NAMES = {
    getattr(torch, name): c10_name
    for name, c10_name in (
        ("uint8", "Byte"), ("int8", "Char"), ("int16", "Short"), ("int32", "Int"), ("int64", "Long"),
        ("float16", "Half"), ("float32", "Float"), ("float64", "Double"), ("complex32", "ComplexHalf"),
        ("complex64", "ComplexFloat"), ("complex128", "ComplexDouble"), ("bool", "Bool"),
        ("qint8", "QInt8"), ("quint8", "QUInt8"), ("qint32", "QInt32"), ("bfloat16", "BFloat16"),
        ("quint4x2", "QUInt4x2"), ("quint2x4", "QUInt2x4"), ("float8_e5m2", "Float8_e5m2"),
        ("float8_e4m3fn", "Float8_e4m3fn"), ("float8_e5m2fnuz", "Float8_e5m2fnuz"),
        ("float8_e4m3fnuz", "Float8_e4m3fnuz"), ("uint16", "UInt16"), ("uint32", "UInt32"),
        ("uint64", "UInt64"),
    )
    if hasattr(torch, name)
}


def _scalar_type(dtype: torch.dtype) -> str:
    return _SCALAR_TYPE_NAMES.get(dtype, str(dtype))


def _num(value: float) -> str:
    """A float as the C++ messages print it (fmt's shortest round trip: 1 and 1e+300)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


_FLOAT32_MAX = 3.4028234663852886e38
_FLOAT32_OVERFLOW = 2.0**128 - 2.0**103  # float32 rounds magnitudes from here to inf
# float32 magnitudes from here round to inf in the output dtype; its largest finite value.
_OUTPUT_LIMITS = {
    torch.float16: (65520.0, 65504.0),
    torch.bfloat16: (2.0**128 - 2.0**119, 2.0**128 - 2.0**120),
}


def _float32(value: float) -> float:
    """float(float32(value)) for a finite |value| <= FLT_MAX."""
    return struct.unpack("f", struct.pack("f", value))[0]


def _colours_fit_float32(background: float, foreground: float) -> bool:
    # The kernels blend in float32: both colours and their difference must be finite there.
    if not all(math.isfinite(v) and abs(v) <= _FLOAT32_MAX for v in (background, foreground)):
        return False
    return abs(_float32(foreground) - _float32(background)) < _FLOAT32_OVERFLOW


def _storage_extent(t: torch.Tensor) -> Optional[tuple]:
    """(storage, first byte, end byte) a tensor can touch, or None where unknown."""
    try:
        storage = t.untyped_storage()
        start = t.storage_offset()
        last = start + sum((size - 1) * stride for size, stride in zip(t.shape, t.stride()))
        return storage._cdata, start * t.element_size(), (last + 1) * t.element_size()
    except Exception:  # a tensor subclass without a plain storage
        return None


def _overlaps(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors share memory (as csrc/render_line.cpp's overlaps, by storage)."""
    if a.numel() == 0 or b.numel() == 0:
        return False
    ea, eb = _storage_extent(a), _storage_extent(b)
    if ea is None or eb is None or ea[0] != eb[0]:
        return False
    return ea[1] < eb[2] and eb[1] < ea[2]


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
        series.dtype in _FLOATING,
        lambda: "render_line: series must be a floating tensor (float16, bfloat16, float32 or float64), "
        f"got {_scalar_type(series.dtype)}",
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
        math.isfinite(line_width) and 0.0 <= line_width <= _FLOAT32_MAX,
        lambda: f"render_line: line_width must be finite and >= 0, got {_num(line_width)}",
    )
    _check_value(
        math.isfinite(margin) and margin >= 0.0,
        lambda: f"render_line: margin must be finite and >= 0, got {_num(margin)}",
    )
    limit = min(height, width) - 1
    _check_value(
        2.0 * margin <= limit,
        lambda: "render_line: margin leaves no plot area: 2 * margin must be <= min(height, width) - 1 = "
        f"{limit}, got margin {_num(margin)}",
    )
    torch._check_type(
        out_dtype in OUTPUT_DTYPES,
        lambda: f"render_line: {dtype_arg} must be float32, float16, bfloat16, float64 or uint8, "
        f"got {_scalar_type(out_dtype)}",
    )
    _check_value(
        _colours_fit_float32(background, foreground),
        lambda: "render_line: background and foreground must be finite float32 values whose difference is "
        f"finite in float32, got {_num(background)} and {_num(foreground)}",
    )
    if out_dtype == torch.uint8:
        _check_value(
            0.0 <= background <= 1.0 and 0.0 <= foreground <= 1.0,
            lambda: "render_line: with uint8 output, background and foreground are given in [0, 1], got "
            f"{_num(background)} and {_num(foreground)}",
        )
    if out_dtype in _OUTPUT_LIMITS:
        overflow, largest = _OUTPUT_LIMITS[out_dtype]
        name = "float16" if out_dtype == torch.float16 else "bfloat16"
        _check_value(
            abs(_float32(background)) < overflow and abs(_float32(foreground)) < overflow,
            lambda: f"render_line: with {name} output, background and foreground must round to finite "
            f"{name} values (largest {_num(largest)}), got {_num(background)} and {_num(foreground)}",
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
            vr.dtype in _FLOATING,
            lambda: f"render_line: value_range must be a floating tensor, got {_scalar_type(vr.dtype)}",
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


def _check_render_line_out(
    shape: list, series: torch.Tensor, value_range: Optional[torch.Tensor], out: torch.Tensor
) -> None:
    """check_render_line_out's checks (csrc/render_line.cpp) on metadata."""
    torch._check(
        out.device == series.device,
        lambda: f"render_line: out must be on the device of series ({series.device}), got {out.device}",
    )
    torch._check_value(
        list(out.shape) == shape, lambda: f"render_line: out must have shape {shape}, got {list(out.shape)}"
    )
    torch._check_value(
        out.is_contiguous(), lambda: f"render_line: out must be contiguous, got strides {list(out.stride())}"
    )
    torch._check(not _overlaps(out, series), lambda: "render_line: out must not overlap the memory of series")
    if value_range is not None:
        torch._check(
            not _overlaps(out, value_range), lambda: "render_line: out must not overlap the memory of value_range"
        )


@torch.library.register_fake("torch_render::render_line")
def _render_line_fake(
    series, height, width, *, line_width=3.0, antialias=True, margin=0.0, value_range=None,
    channels=False, background=1.0, foreground=0.0, dtype=None,
):
    out_dtype = dtype if dtype is not None else torch.float32
    shape = _check_render_line(
        series, height, width, line_width, margin, value_range, channels, background, foreground, out_dtype
    )
    return series.new_empty(shape, dtype=out_dtype)


@torch.library.register_fake("torch_render::render_line.out")
def _render_line_out_fake(
    series, height, width, *, line_width=3.0, antialias=True, margin=0.0, value_range=None,
    channels=False, background=1.0, foreground=0.0, out,
):
    shape = _check_render_line(
        series, height, width, line_width, margin, value_range, channels, background, foreground,
        out.dtype, "out.dtype",
    )
    _check_render_line_out(shape, series, value_range, out)
    return None
