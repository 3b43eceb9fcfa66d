"""Bad input to render_line: a clear error naming the op, the argument, what was
expected and what came -- never a crash or a silently wrong image (DESIGN §6).

Exception types follow csrc/render_line.cpp: ValueError for bad values and shapes,
TypeError for bad dtypes and for Python values of the wrong type (checked by the
wrapper and LineChart alike), RuntimeError for tensors on the wrong device,
overlapping memory or autograd through out= (as PyTorch's own ops do).
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import torch_render
from reference import reference_render_line
from torch_render import LineChart, render_line

OP = torch.ops.torch_render.render_line
def needs_cuda(test):
    test = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible")(test)
    return pytest.mark.cuda(test)


def _x(*shape: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(*shape, generator=g, dtype=torch.float32).cumsum(-1)


def _msg(text: str) -> str:
    """Regex matching `text` literally, prefixed by the op name."""
    return "^" + re.escape("render_line: " + text)


# ------------------------------------------------------------------ argument types


def _type_msg(who: str, name: str, expected: str, value) -> str:
    return "^" + re.escape(f"{who}: {name} must be {expected}, got {value!r} of type {type(value).__name__}")


NOT_INTS = [8.7, 8.0, float("nan"), "8", None, True, False, torch.tensor(8), np.float64(8.0), [8]]


@pytest.mark.parametrize("name", ["height", "width"])
@pytest.mark.parametrize("value", NOT_INTS, ids=repr)
def test_int_arguments_refuse_other_types(name, value):
    # render_line(s, 8.7, 8) drew 8 rows; "8" and True were taken, None and nan failed
    # without naming the argument. Wrapper and LineChart say the same.
    size = {"height": 8, "width": 9, name: value}
    with pytest.raises(TypeError, match=_type_msg("render_line", name, "an int", value)):
        render_line(_x(2, 10), size["height"], size["width"])
    with pytest.raises(TypeError, match=_type_msg("LineChart", name, "an int", value)):
        LineChart(size["height"], size["width"])


@pytest.mark.parametrize("name", ["antialias", "channels"])
@pytest.mark.parametrize("value", ["False", "True", "", 0, 1, 1.0, None, torch.tensor(False)], ids=repr)
def test_bool_arguments_refuse_other_types(name, value):
    # antialias="False" drew antialiased (bool("False") is True).
    with pytest.raises(TypeError, match=_type_msg("render_line", name, "a bool", value)):
        render_line(_x(2, 10), 8, 9, **{name: value})
    with pytest.raises(TypeError, match=_type_msg("LineChart", name, "a bool", value)):
        LineChart(8, 9, **{name: value})


@pytest.mark.parametrize("value", ["False", 0, None], ids=repr)
def test_line_chart_batched_must_be_a_bool(value):
    with pytest.raises(TypeError, match=_type_msg("LineChart", "batched", "a bool", value)):
        LineChart(8, 9, batched=value)


@pytest.mark.parametrize("name", ["line_width", "margin", "background", "foreground"])
@pytest.mark.parametrize("value", ["3", "0.5", None, True, False, torch.tensor(1.0), 1j], ids=repr)
def test_float_arguments_refuse_other_types(name, value):
    # line_width="3" was taken (float("3")); a tensor would have been read on the host.
    with pytest.raises(TypeError, match=_type_msg("render_line", name, "a float", value)):
        render_line(_x(2, 10), 8, 9, **{name: value})
    with pytest.raises(TypeError, match=_type_msg("LineChart", name, "a float", value)):
        LineChart(8, 9, **{name: value})


@pytest.mark.parametrize("value", ["float32", 0, torch.float32.itemsize], ids=repr)
def test_dtype_must_be_a_dtype(value):
    with pytest.raises(TypeError, match=_type_msg("render_line", "dtype", "a torch.dtype or None", value)):
        render_line(_x(2, 10), 8, 9, dtype=value)
    with pytest.raises(TypeError, match=_type_msg("LineChart", "dtype", "a torch.dtype", value)):
        LineChart(8, 9, dtype=value)


def test_tensor_arguments_must_be_tensors():
    with pytest.raises(TypeError, match=_type_msg("render_line", "series", "a Tensor", [[1.0, 2.0]])):
        render_line([[1.0, 2.0]], 8, 9)
    with pytest.raises(TypeError, match=_type_msg("render_line", "value_range", "a Tensor", [[0.0, 1.0]] * 2)):
        render_line(_x(2, 10), 8, 9, value_range=[[0.0, 1.0]] * 2)
    with pytest.raises(TypeError, match=_type_msg("render_line", "out", "a Tensor", "buffer")):
        render_line(_x(2, 10), 8, 9, out="buffer")


def test_accepted_argument_types():
    x = _x(2, 10)
    expected = render_line(x, 8, 9, line_width=3.0, antialias=False, margin=1.0, background=1.0, foreground=0.0)
    # Ints for floats; NumPy integers (operator.index), floats and bools, as torch takes them.
    for kwargs in (
        dict(line_width=3, margin=1, background=1, foreground=0),
        dict(line_width=np.float32(3.0), margin=np.float64(1.0), background=np.int64(1), foreground=np.float16(0)),
    ):
        got = render_line(x, np.int64(8), np.int32(9), antialias=np.bool_(False), **kwargs)
        assert torch.equal(got, expected), kwargs
        chart = LineChart(np.int16(8), 9, antialias=np.bool_(False), batched=np.bool_(True), **kwargs)
        assert torch.equal(chart(x), expected), kwargs
        assert type(chart.height) is int and type(chart.antialias) is bool and type(chart.batched) is bool


# ---------------------------------------------------------------------------- series


@pytest.mark.parametrize("shape", [(10,), (1, 1, 1, 10), ()])
def test_series_rank(shape):
    got = str(list(shape))
    with pytest.raises(ValueError, match=_msg(f"series must be [B, L] or [B, S, L], got a tensor of shape {got}")):
        render_line(torch.zeros(shape), 4, 5)
    with pytest.raises(ValueError, match=_msg("series must be [B, L] or [B, S, L]")):
        OP(torch.zeros(shape), 4, 5)


@pytest.mark.parametrize(
    "dtype, name",
    [(torch.int64, "Long"), (torch.bool, "Bool"), (torch.uint8, "Byte"), (torch.complex64, "ComplexFloat")],
)
def test_series_not_floating(dtype, name):
    series = torch.zeros(2, 10, dtype=dtype)
    with pytest.raises(
        TypeError,
        match=_msg(f"series must be a floating tensor (float16, bfloat16, float32 or float64), got {name}"),
    ):
        render_line(series, 4, 5)


@pytest.mark.parametrize("shape", [(2, 0), (2, 3, 0), (0, 0)])
def test_series_without_points(shape):
    with pytest.raises(ValueError, match=_msg(f"series must have at least one point (L >= 1), got shape {list(shape)}")):
        render_line(torch.zeros(shape), 4, 5, channels=True)


def test_meta_series_gets_the_same_error_types():
    # On the meta device the fake kernel checks; it raises what the real kernel raises.
    with pytest.raises(ValueError, match=_msg("series must be [B, L] or [B, S, L], got a tensor of shape [10]")):
        render_line(torch.empty(10, device="meta"), 4, 5)
    # (The same message as the real kernel's, which names c10's ScalarType: Long.)
    with pytest.raises(
        TypeError, match=_msg("series must be a floating tensor (float16, bfloat16, float32 or float64), got Long")
    ):
        render_line(torch.empty(2, 10, dtype=torch.int64, device="meta"), 4, 5)
    assert render_line(torch.empty(2, 3, 10, device="meta"), 4, 5, channels=True).shape == (2, 3, 4, 5)


# ----------------------------------------------------------------------- image size


@pytest.mark.parametrize("name", ["height", "width"])
@pytest.mark.parametrize("value", [0, -1, -(2**40)])
def test_image_size_below_one(name, value):
    size = {"height": 4, "width": 5, name: value}
    with pytest.raises(ValueError, match=_msg(f"{name} must be >= 1, got {value}")):
        render_line(_x(2, 10), size["height"], size["width"])


@pytest.mark.parametrize("name", ["height", "width"])
@pytest.mark.parametrize("value", [2**63, 2**64 + 3, -(2**63) - 1])
def test_image_size_past_int64(name, value):
    size = {"height": 4, "width": 5, name: value}
    with pytest.raises(ValueError, match=_msg(f"{name} must be >= 1 and < 2**63, got {value}")):
        render_line(_x(2, 10), size["height"], size["width"])


@pytest.mark.parametrize(
    "height, width, shape",
    [
        (2**40, 2**40, [2, 1, 2**40, 2**40]),
        (2**62, 2**62, [2, 1, 2**62, 2**62]),
        (2**63 - 1, 2, [2, 1, 2**63 - 1, 2]),
        (2**31, 2**31, [2, 1, 2**31, 2**31]),  # 2**63 elements: one past int64
    ],
)
def test_output_element_count_overflows_int64(height, width, shape):
    with pytest.raises(ValueError, match=_msg(f"output of shape {shape} has more elements than int64 can index")):
        render_line(_x(2, 10), height, width)


def test_output_element_count_overflows_int64_with_channels():
    # B * S * H * W overflows although H * W alone fits.
    with pytest.raises(ValueError, match=_msg("output of shape [2, 3, 2147483648, 1073741824] has more elements")):
        render_line(_x(2, 3, 10), 2**31, 2**30, channels=True)


# ---------------------------------------------------------------------- line width


@pytest.mark.parametrize("value, shown", [(-1.0, "-1"), (-1e-9, "-1e-09"), (float("nan"), "nan"),
                                          (float("inf"), "inf"), (float("-inf"), "-inf"),
                                          (1e300, "1e+300")])
def test_line_width(value, shown):
    with pytest.raises(ValueError, match=_msg(f"line_width must be finite and >= 0, got {shown}")):
        render_line(_x(2, 10), 4, 5, line_width=value)


def test_line_width_zero_and_huge_are_valid():
    thin = render_line(_x(2, 10), 8, 9, line_width=0.0, antialias=False)
    assert thin.shape == (2, 1, 8, 9) and not thin.isnan().any()
    # The widest float32 line: every pixel is covered, nothing is NaN.
    fat = render_line(_x(2, 10), 8, 9, line_width=3e38)
    assert torch.equal(fat, torch.zeros_like(fat))


# -------------------------------------------------------------------------- margin


@pytest.mark.parametrize("value, shown", [(-1.0, "-1"), (float("nan"), "nan"), (float("inf"), "inf")])
def test_margin_invalid(value, shown):
    with pytest.raises(ValueError, match=_msg(f"margin must be finite and >= 0, got {shown}")):
        render_line(_x(2, 10), 11, 21, margin=value)


@pytest.mark.parametrize(
    "height, width, margin, limit",
    [(11, 21, 5.01, 10), (21, 11, 6.0, 10), (11, 21, 1e39, 10), (1, 50, 0.25, 0)],
)
def test_margin_leaves_no_plot_area(height, width, margin, limit):
    with pytest.raises(
        ValueError,
        match=_msg(f"margin leaves no plot area: 2 * margin must be <= min(height, width) - 1 = {limit}, got margin"),
    ):
        render_line(_x(2, 10), height, width, margin=margin)


def test_largest_margin_draws_the_centre_row():
    # 2 * margin == min(H, W) - 1: the plot box is the centre row, columns m .. W-1-m.
    img = render_line(_x(2, 10), 11, 21, margin=5.0, line_width=1.0, antialias=False)
    expected = torch.ones(2, 1, 11, 21)
    expected[:, :, 5, 5:16] = 0.0
    assert torch.equal(img, expected)
    # A one-row image only allows margin 0.
    one_row = render_line(_x(2, 10), 1, 50, margin=0.0)
    assert one_row.shape == (2, 1, 1, 50)


# --------------------------------------------------------------------- value_range


@pytest.mark.parametrize(
    "series_shape, vr_shape, channels, expected",
    [
        ((2, 10), (2, 3), False, "[B, 2] = [2, 2] ([B, S, 2] needs channels=True)"),
        ((2, 10), (3, 2), False, "[B, 2] = [2, 2] ([B, S, 2] needs channels=True)"),
        ((2, 10), (2,), False, "[B, 2] = [2, 2] ([B, S, 2] needs channels=True)"),
        ((2, 3, 10), (2, 3, 2), False, "[B, 2] = [2, 2] ([B, S, 2] needs channels=True)"),
        ((2, 3, 10), (2, 2, 2), True, "[B, 2] = [2, 2] or [B, S, 2] = [2, 3, 2]"),
        ((2, 3, 10), (2, 3, 1), True, "[B, 2] = [2, 2] or [B, S, 2] = [2, 3, 2]"),
    ],
)
def test_value_range_shape(series_shape, vr_shape, channels, expected):
    vr = torch.zeros(vr_shape)
    with pytest.raises(ValueError, match=_msg(f"value_range must be {expected}, got shape {list(vr_shape)}")):
        render_line(_x(*series_shape), 4, 5, value_range=vr, channels=channels)


@pytest.mark.parametrize("dtype, name", [(torch.int64, "Long"), (torch.int32, "Int"), (torch.bool, "Bool")])
def test_value_range_dtype(dtype, name):
    with pytest.raises(TypeError, match=_msg(f"value_range must be a floating tensor, got {name}")):
        render_line(_x(2, 10), 4, 5, value_range=torch.zeros(2, 2, dtype=dtype))


def test_value_range_on_another_device_meta():
    # Checked without a GPU: a meta value_range with a CPU series dispatches to the fake kernel.
    with pytest.raises(RuntimeError, match=_msg("value_range must be on the device of series (cpu), got meta")):
        render_line(_x(2, 10), 4, 5, value_range=torch.zeros(2, 2, device="meta"))


@needs_cuda
def test_value_range_on_another_device_cuda():
    if not torch_render.cuda_built():
        pytest.skip("torch_render was built without CUDA")
    with pytest.raises(RuntimeError, match=_msg("value_range must be on the device of series (cuda:0), got cpu")):
        render_line(_x(2, 10).cuda(), 4, 5, value_range=torch.zeros(2, 2))
    with pytest.raises(RuntimeError, match=_msg("value_range must be on the device of series (cpu), got cuda:0")):
        render_line(_x(2, 10), 4, 5, value_range=torch.zeros(2, 2, device="cuda"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
def test_value_range_not_finite_cpu(dtype, bad):
    # Refused on the CPU (reading it there needs no device sync).
    shown = {"nan": "nan", "inf": "inf", "-inf": "-inf"}[str(bad)]
    for index in ([1, 0], [2, 1]):
        vr = torch.tensor([[-1.0, 1.0], [0.0, 5.0], [2.0, 3.0]], dtype=dtype)
        vr[tuple(index)] = bad
        with pytest.raises(ValueError, match=_msg(f"value_range must be finite, got {shown} at index {index}")):
            render_line(_x(3, 10), 4, 5, value_range=vr)
    # Per series ([B, S, 2], channels=True), a strided view.
    vr = torch.tensor([[0.0, 1.0]] * 6, dtype=dtype).view(2, 3, 2).transpose(0, 1).contiguous().transpose(0, 1)
    vr[1, 2, 1] = bad
    with pytest.raises(ValueError, match=_msg(f"value_range must be finite, got {shown} at index [1, 2, 1]")):
        render_line(_x(2, 3, 10), 4, 5, value_range=vr, channels=True)


def test_value_range_not_finite_leaves_out_untouched():
    out = torch.full((2, 1, 4, 5), 7.0)
    with pytest.raises(ValueError, match=_msg("value_range must be finite")):
        render_line(_x(2, 10), 4, 5, value_range=torch.tensor([[0.0, 1.0], [0.0, float("nan")]]), out=out)
    assert torch.equal(out, torch.full((2, 1, 4, 5), 7.0))


@needs_cuda
def test_value_range_not_finite_cuda_leaves_the_image_blank():
    # On CUDA the range is not read on the host (no sync): such an image is blank.
    if not torch_render.cuda_built():
        pytest.skip("torch_render was built without CUDA")
    x = _x(3, 10)
    vr = torch.tensor([[-1.0, 1.0], [0.0, float("nan")], [float("-inf"), 3.0]])
    img = render_line(x.cuda(), 6, 7, value_range=vr.cuda(), background=0.25).cpu()
    assert torch.equal(img[1:], torch.full((2, 1, 6, 7), 0.25))
    assert torch.equal(img[:1], render_line(x[:1], 6, 7, value_range=vr[:1], background=0.25))


@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("line_width", [1.0, 2.5, 4.0])
def test_value_range_lo_above_hi_flips_the_chart(antialias, line_width):
    # Documented meaning: lo maps to the bottom of the plot box and hi to the top, so
    # (hi, lo) draws the chart upside down. With margin 0 and values whose y is exact
    # (integers in a range of 8 over 9 rows), it is exactly torch.flip on H.
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 9, (4, 2, 12), generator=g).double()
    x[0, 0, 5] = float("nan")  # a gap
    vr = torch.tensor([[0.0, 8.0], [-1.0, 7.0], [0.0, 8.0], [1.0, 9.0]])
    kw = dict(antialias=antialias, line_width=line_width)
    for channels in (False, True):
        up = render_line(x, 9, 23, value_range=vr, channels=channels, **kw)
        down = render_line(x, 9, 23, value_range=vr.flip(-1), channels=channels, **kw)
        assert (up != 1.0).any() and not torch.equal(up, down)
        assert torch.equal(down, up.flip(2))
        # Per series ([B, S, 2]): only the flipped series' channel is flipped.
        if channels:
            per_series = torch.stack([vr, vr.flip(-1)], dim=1)  # series 0 up, series 1 down
            mixed = render_line(x, 9, 23, value_range=per_series, channels=True, **kw)
            assert torch.equal(mixed[:, :1], up[:, :1]) and torch.equal(mixed[:, 1:], up[:, 1:].flip(2))


def test_value_range_lo_above_hi_follows_the_model():
    # Any values, margins and sizes: the flipped range is the model's (docs/rendering.md).
    x = _x(3, 2, 40).double() * 3.7
    vr = torch.tensor([[[4.0, -6.0], [1.5, -2.5]], [[10.0, -1.0], [0.3, 0.1]], [[2.0, -2.0], [-3.0, -3.5]]],
                      dtype=torch.float64)
    for channels, value_range in ((True, vr), (False, vr[:, 0])):
        for margin in (0.0, 2.5):
            got = render_line(x, 31, 45, value_range=value_range, channels=channels, margin=margin)
            ref = reference_render_line(x.numpy(), 31, 45, value_range=value_range.numpy(), channels=channels,
                                        margin=margin, dtype="float32")
            np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=1e-6)
            assert (got < 1.0).any()


# --------------------------------------------------------------- dtype and colours


@pytest.mark.parametrize(
    "dtype, name",
    [(torch.int32, "Int"), (torch.complex64, "ComplexFloat"), (torch.int64, "Long"), (torch.bool, "Bool"),
     (torch.int8, "Char")],
)
def test_output_dtype(dtype, name):
    expected = f"dtype must be float32, float16, bfloat16, float64 or uint8, got {name}"
    with pytest.raises(TypeError, match=_msg(expected)):
        render_line(_x(2, 10), 4, 5, dtype=dtype)
    with pytest.raises(TypeError, match=_msg(expected)):
        OP(_x(2, 10), 4, 5, dtype=dtype)


@pytest.mark.parametrize(
    "background, foreground", [(2.0, 0.0), (1.0, -0.5), (1.0000001, 0.0), (-1e-30, 1.0), (0.5, 255.0)]
)
def test_uint8_colours_outside_unit_interval(background, foreground):
    with pytest.raises(ValueError, match=_msg("with uint8 output, background and foreground are given in [0, 1], got")):
        render_line(_x(2, 10), 4, 5, dtype=torch.uint8, background=background, foreground=foreground)


@pytest.mark.parametrize(
    "background, foreground",
    [
        (float("nan"), 0.0),
        (1.0, float("nan")),
        (float("inf"), 0.0),
        (1.0, float("-inf")),
        (1e39, 0.0),  # finite double, infinite float32
        (1.0, -1e39),
        (3e38, -3e38),  # finite float32 whose difference overflows: the image would be NaN
    ],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_colours_not_finite_in_float32(background, foreground, dtype):
    with pytest.raises(ValueError, match=_msg("background and foreground must be finite float32 values")):
        render_line(_x(2, 10), 4, 5, background=background, foreground=foreground, dtype=dtype)


def test_extreme_finite_colours_stay_finite():
    for background, foreground in [(3e38, 0.0), (-3.4e38, 0.0), (3e38, 3.4e38)]:
        img = render_line(_x(2, 10), 8, 9, background=background, foreground=foreground)
        assert torch.isfinite(img).all()
        lo, hi = sorted((np.float32(background), np.float32(foreground)))
        assert img.min().item() >= lo and img.max().item() <= hi


@pytest.mark.parametrize(
    "dtype, background, foreground, largest",
    [
        (torch.float16, 1e5, 0.0, "65504"),  # drew inf pixels
        (torch.float16, 1.0, -65520.0, "65504"),  # rounds to -inf in float16
        (torch.float16, 65520.0, 65519.0, "65504"),
        (torch.bfloat16, 3.4e38, 0.0, "3.3895313892515355e+38"),
        (torch.bfloat16, 0.0, -3.3962e38, "3.3895313892515355e+38"),
    ],
)
def test_colours_the_output_dtype_cannot_hold(dtype, background, foreground, largest):
    name = str(dtype).split(".")[1]
    expected = (f"with {name} output, background and foreground must round to finite {name} values "
                f"(largest {largest}), got ")
    with pytest.raises(ValueError, match=_msg(expected)):
        render_line(_x(2, 10), 4, 5, background=background, foreground=foreground, dtype=dtype)
    out = torch.full((2, 1, 4, 5), 7.0, dtype=dtype)
    with pytest.raises(ValueError, match=_msg(expected)):
        render_line(_x(2, 10), 4, 5, background=background, foreground=foreground, out=out)
    assert (out == 7.0).all()
    with pytest.raises(ValueError, match=_msg(expected)):
        LineChart(4, 5, background=background, foreground=foreground, dtype=dtype)(_x(2, 10))


@pytest.mark.parametrize(
    "dtype, background, foreground",
    [(torch.float16, 65519.0, -65504.0), (torch.float16, 65504.0, 0.0), (torch.bfloat16, 3.38e38, 1.0),
     (torch.bfloat16, -3.3895e38, 0.0), (torch.bfloat16, 1e30, 0.0)],
)
def test_largest_colours_the_output_dtype_holds(dtype, background, foreground):
    img = render_line(_x(2, 10), 8, 9, background=background, foreground=foreground, dtype=dtype)
    assert torch.isfinite(img).all()
    assert (img.float() == torch.tensor(background, dtype=dtype).float()).any()


# ----------------------------------------------------------------------------- out


def test_out_shape():
    x = _x(2, 10)
    with pytest.raises(ValueError, match=_msg("out must have shape [2, 1, 4, 5], got [2, 1, 4, 6]")):
        render_line(x, 4, 5, out=torch.empty(2, 1, 4, 6))
    with pytest.raises(ValueError, match=_msg("out must have shape [2, 1, 4, 5], got [2, 4, 5]")):
        render_line(x, 4, 5, out=torch.empty(2, 4, 5))
    with pytest.raises(ValueError, match=_msg("out must have shape [2, 3, 4, 5], got [2, 1, 4, 5]")):
        render_line(_x(2, 3, 10), 4, 5, channels=True, out=torch.empty(2, 1, 4, 5))
    with pytest.raises(ValueError, match=_msg("out must have shape [2, 1, 4, 5], got [2, 3, 4, 5]")):
        OP(_x(2, 3, 10), 4, 5, out=torch.empty(2, 3, 4, 5))


@pytest.mark.parametrize("dtype, name", [(torch.int32, "Int"), (torch.bool, "Bool"), (torch.complex64, "ComplexFloat")])
def test_out_dtype(dtype, name):
    out = torch.empty(2, 1, 4, 5, dtype=dtype)
    expected = f"out.dtype must be float32, float16, bfloat16, float64 or uint8, got {name}"
    with pytest.raises(TypeError, match=_msg(expected)):
        render_line(_x(2, 10), 4, 5, out=out)
    with pytest.raises(TypeError, match=_msg(expected)):
        OP.out(_x(2, 10), 4, 5, out=out)


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.empty(2, 1, 5, 4).transpose(2, 3),
        lambda: torch.empty(1, 1, 1, 5).expand(2, 1, 4, 5),
        lambda: torch.empty(2, 1, 4, 10)[..., ::2],
    ],
    ids=["transposed", "expanded", "sliced"],
)
def test_out_not_contiguous(make):
    out = make()
    assert out.shape == (2, 1, 4, 5) and not out.is_contiguous()
    with pytest.raises(ValueError, match=_msg(f"out must be contiguous, got strides {list(out.stride())}")):
        render_line(_x(2, 10), 4, 5, out=out)


def test_out_overlapping_series():
    storage = torch.zeros(200)
    storage[:20] = _x(2, 10).flatten()
    series = storage[:20].view(2, 10)
    for start in (0, 10, 19):
        with pytest.raises(RuntimeError, match=_msg("out must not overlap the memory of series")):
            render_line(series, 4, 5, out=storage[start : start + 40].view(2, 1, 4, 5))
    # A strided series whose last element lies inside out.
    with pytest.raises(RuntimeError, match=_msg("out must not overlap the memory of series")):
        render_line(storage[:200:10].view(2, 10), 4, 5, out=storage[150:190].view(2, 1, 4, 5))
    # Views of one storage that do not overlap are fine.
    out = storage[20:60].view(2, 1, 4, 5)
    assert render_line(series, 4, 5, out=out) is out
    assert torch.equal(out, render_line(series.clone(), 4, 5))


def test_out_overlapping_value_range():
    storage = torch.zeros(100)
    vr = storage[:4].view(2, 2)
    vr.copy_(torch.tensor([[-1.0, 1.0], [0.0, 5.0]]))
    with pytest.raises(RuntimeError, match=_msg("out must not overlap the memory of value_range")):
        render_line(_x(2, 10), 4, 5, value_range=vr, out=storage[:40].view(2, 1, 4, 5))
    out = storage[4:44].view(2, 1, 4, 5)
    render_line(_x(2, 10), 4, 5, value_range=vr, out=out)
    assert torch.equal(out, render_line(_x(2, 10), 4, 5, value_range=vr.clone()))


def test_out_on_another_device_meta():
    with pytest.raises(RuntimeError, match=_msg("out must be on the device of series (cpu), got meta")):
        render_line(_x(2, 10), 4, 5, out=torch.empty(2, 1, 4, 5, device="meta"))


@needs_cuda
def test_out_on_another_device_cuda():
    if not torch_render.cuda_built():
        pytest.skip("torch_render was built without CUDA")
    with pytest.raises(RuntimeError, match=_msg("out must be on the device of series (cpu), got cuda:0")):
        render_line(_x(2, 10), 4, 5, out=torch.empty(2, 1, 4, 5, device="cuda"))
    with pytest.raises(RuntimeError, match=_msg("out must be on the device of series (cuda:0), got cpu")):
        render_line(_x(2, 10).cuda(), 4, 5, out=torch.empty(2, 1, 4, 5))


@pytest.mark.parametrize(
    "dtype, out_dtype",
    # float32 is the default of `dtype`, so with `out` it stands for "not given".
    [(torch.float64, torch.float32), (torch.uint8, torch.float32), (torch.float16, torch.uint8),
     (torch.uint8, torch.float64)],
)
def test_dtype_disagrees_with_out(dtype, out_dtype):
    out = torch.empty(2, 1, 4, 5, dtype=out_dtype)
    with pytest.raises(TypeError, match=_msg(f"dtype and out.dtype must agree, got dtype={dtype} and out.dtype={out_dtype}")):
        render_line(_x(2, 10), 4, 5, dtype=dtype, out=out)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.uint8])
def test_out_dtype_is_the_output_dtype(dtype):
    x = _x(2, 10)
    expected = render_line(x, 4, 5, dtype=dtype)
    for given in (None, dtype):
        out = torch.empty(2, 1, 4, 5, dtype=dtype)
        assert render_line(x, 4, 5, dtype=given, out=out) is out
        assert torch.equal(out, expected)


def test_failed_call_leaves_out_untouched():
    out = torch.full((2, 1, 4, 5), 7.0)
    for bad in (dict(margin=3.0), dict(line_width=-1.0), dict(background=float("nan")),
                dict(value_range=torch.zeros(3, 2))):
        with pytest.raises(ValueError, match="^render_line: "):
            render_line(_x(2, 10), 4, 5, out=out, **bad)
        assert torch.equal(out, torch.full((2, 1, 4, 5), 7.0))


def test_out_requiring_grad_is_refused():
    # Written in place, it would hold pixels autograd knows nothing of; as torch.add(..., out=leaf).
    x = _x(2, 10)
    leaf = torch.full((2, 1, 4, 5), 7.0, requires_grad=True)
    expected = "out must not require grad (out= does not support automatic differentiation; write into it"
    for out in (leaf, leaf[:, :, :, :]):  # the leaf and a view of it
        with pytest.raises(RuntimeError, match=_msg(expected)):
            render_line(x, 4, 5, out=out)
        with pytest.raises(RuntimeError, match=_msg(expected)):
            OP.out(x, 4, 5, out=out)
    assert torch.equal(leaf.detach(), torch.full((2, 1, 4, 5), 7.0))
    # Under no_grad (as an optimizer writes parameters) it is written, like torch.add's out=.
    with torch.no_grad():
        assert render_line(x, 4, 5, out=leaf) is leaf
    assert torch.equal(leaf.detach(), render_line(x, 4, 5)) and leaf.grad_fn is None


@pytest.mark.parametrize("name", ["series", "value_range"])
def test_out_form_with_inputs_requiring_grad_is_refused(name):
    x, vr = _x(2, 10), torch.tensor([[-5.0, 5.0], [-5.0, 5.0]])
    inputs = {"series": x, "value_range": vr}
    inputs[name] = inputs[name].clone().requires_grad_()
    out = torch.full((2, 1, 4, 5), 7.0)
    with pytest.raises(RuntimeError, match=_msg(f"out= does not support automatic differentiation, but {name} requires grad")):
        render_line(inputs["series"], 4, 5, value_range=inputs["value_range"], out=out)
    assert torch.equal(out, torch.full((2, 1, 4, 5), 7.0))
    with torch.no_grad():
        render_line(inputs["series"], 4, 5, value_range=inputs["value_range"], out=out)
    assert torch.equal(out, render_line(x, 4, 5, value_range=vr))


def test_out_form_bumps_the_version_counter():
    # out changes in place: autograd must notice when a tensor it saved was overwritten.
    out = torch.zeros(2, 1, 4, 5)
    version = out._version
    render_line(_x(2, 10), 4, 5, out=out)
    assert out._version > version
    w = torch.ones(2, 1, 4, 5, requires_grad=True)
    y = (w * out).sum()  # saves out for backward
    render_line(_x(2, 10) * 2, 4, 5, out=out, line_width=1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    # Inference tensors have no version counter: they are written as before, inside
    # torch.inference_mode() or not.
    with torch.inference_mode():
        frozen = torch.zeros(2, 1, 4, 5)
        render_line(_x(2, 10), 4, 5, out=frozen)
    render_line(_x(2, 10) * 2, 4, 5, out=frozen, line_width=1.0)
    assert torch.equal(frozen, render_line(_x(2, 10) * 2, 4, 5, line_width=1.0))


# ------------------------------------------------------------ autograd
# (the values of the gradients: tests/test_gradients.py)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["series", "value_range"])
def test_backward_gives_gradients(dtype, name):
    # Before issue 14: backward raised NotImplementedError ("gradients are not
    # implemented yet"); before that, it gave no gradient and only warned.
    x, vr = _x(2, 10).double(), torch.tensor([[-5.0, 5.0], [-4.0, 6.0]])
    inputs = {"series": x, "value_range": vr}
    leaf = inputs[name] = inputs[name].clone().requires_grad_()
    img = render_line(inputs["series"], 6, 7, value_range=inputs["value_range"], dtype=dtype)
    assert img.requires_grad and img.grad_fn is not None
    assert torch.equal(img.detach(), render_line(x, 6, 7, value_range=vr, dtype=dtype))
    (grad,) = torch.autograd.grad((img.float() * torch.linspace(-1, 1, 42).view(6, 7)).sum(), leaf)
    assert grad.shape == leaf.shape and grad.dtype == leaf.dtype
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert leaf.grad is None


def test_backward_through_the_op_and_line_chart():
    x = _x(2, 3, 10).requires_grad_()
    grads = []
    for img in (OP(x, 6, 7, channels=True), LineChart(6, 7, channels=True)(x)):
        assert img.requires_grad
        (g,) = torch.autograd.grad((img * torch.arange(42.0).view(6, 7)).sum(), x)
        grads.append(g)
    assert torch.equal(grads[0], grads[1]) and grads[0].abs().sum() > 0


def test_no_graph_without_grad():
    x = _x(2, 10).requires_grad_()
    # uint8 images are not differentiable.
    u8 = render_line(x, 6, 7, dtype=torch.uint8)
    assert not u8.requires_grad and u8.grad_fn is None
    assert torch.equal(u8, render_line(x.detach(), 6, 7, dtype=torch.uint8))
    with torch.no_grad():
        assert not render_line(x, 6, 7).requires_grad
    with torch.inference_mode():
        assert not render_line(x, 6, 7).requires_grad
    plain = render_line(x.detach(), 6, 7)
    assert not plain.requires_grad and plain.grad_fn is None


# ----------------------------------------------------------------- empty outputs


def test_no_series_with_channels_gives_no_channels():
    img = render_line(torch.zeros(2, 0, 10), 4, 5, channels=True)
    assert img.shape == (2, 0, 4, 5) and img.dtype == torch.float32
    out = torch.empty(2, 0, 4, 5, dtype=torch.uint8)
    assert render_line(torch.zeros(2, 0, 10), 4, 5, channels=True, dtype=torch.uint8, out=out) is out


def test_no_series_overlaid_gives_blank_images():
    img = render_line(torch.zeros(2, 0, 10), 4, 5, background=0.25)
    assert torch.equal(img, torch.full((2, 1, 4, 5), 0.25))


@pytest.mark.parametrize("shape, channels, c", [((0, 10), False, 1), ((0, 3, 10), True, 3), ((0, 3, 10), False, 1)])
def test_empty_batch(shape, channels, c):
    series = torch.zeros(shape)
    for dtype in (torch.float32, torch.uint8):
        img = render_line(series, 4, 5, channels=channels, dtype=dtype, value_range=torch.zeros(0, 2))
        assert img.shape == (0, c, 4, 5) and img.dtype == dtype and img.is_contiguous()
    out = torch.empty(0, c, 4, 5)
    assert render_line(series, 4, 5, channels=channels, out=out) is out
    # The checks still run on empty batches.
    with pytest.raises(ValueError, match=_msg("height must be >= 1, got 0")):
        render_line(series, 0, 5, channels=channels)


# --------------------------------------------------- indices past 2**31 (64-bit)


def _diagonal_model_u8(rows: np.ndarray, cols: np.ndarray, height: int, width: int, half: float) -> np.ndarray:
    """docs/rendering.md in float32 for the one segment (0, 0)-(W-1, H-1), uint8."""
    f = np.float32
    px, py = cols.astype(f)[None, :], rows.astype(f)[:, None]
    x0, y0, x1, y1 = f(0), f(0), f(width - 1), f(height - 1)
    ax, ay, ex, ey = x0 - px, y0 - py, x1 - x0, y1 - y0
    t = np.clip(-(ax * ex + ay * ey) / (ex * ex + ey * ey), f(0), f(1)).astype(f)
    cx, cy = ax + t * ex, ay + t * ey
    d = np.sqrt(cx * cx + cy * cy)
    a = np.clip((f(half) + f(0.5)) - d, f(0), f(1)).astype(f)
    value = f(1) + a * (f(0) - f(1))
    return np.rint(f(255) * value).astype(np.uint8)


def test_one_plane_past_2_pow_31_elements():
    # 65536 x 32776 uint8 = 2**31 + 2**19 bytes in one plane: row * W + col passes 2**31.
    # Coordinates stay below 2**16, exact in float32, so the far end is checkable.
    height, width = 2**16, 2**15 + 8
    img = render_line(torch.tensor([[1.0, 0.0]]), height, width, dtype=torch.uint8)
    assert img.shape == (1, 1, height, width) and img.numel() > 2**31
    plane = img[0, 0]
    # The line ends on the centre of pixel (H-1, W-1): the last point is at column W-1.
    assert plane[-1, -1].item() == 0
    cols = np.arange(width - 8, width)
    rows = np.arange(height - 6, height)
    np.testing.assert_array_equal(plane[-6:, -8:].numpy(), _diagonal_model_u8(rows, cols, height, width, 1.5))
    # Whole rows on both sides of flat index 2**31 (row 65520 straddles it).
    r0 = 2**31 // width
    assert r0 * width < 2**31 < (r0 + 1) * width
    rows = np.arange(r0 - 1, r0 + 3)
    expected = _diagonal_model_u8(rows, np.arange(width), height, width, 1.5)
    assert (expected != 255).sum() > 0
    np.testing.assert_array_equal(plane[r0 - 1 : r0 + 3].numpy(), expected)


def test_planes_past_2_pow_31_elements():
    # 17 channels of 4096 x 32768 uint8: the last plane starts at element 2**31.
    # Rendering does not depend on batch composition, so it equals its own render.
    height, width, num_series = 2**12, 2**15, 17
    series = _x(1, num_series, 50)
    img = render_line(series, height, width, channels=True, dtype=torch.uint8, line_width=2.0)
    assert img.shape == (1, num_series, height, width)
    assert img[:, :-1].numel() == 2**31
    last = render_line(series[:, -1], height, width, dtype=torch.uint8, line_width=2.0)
    assert torch.equal(img[:, -1:], last)
    assert (last[0, 0, :, -1] == 0).any()  # the line reaches column W-1
    assert (last[0, 0].amin(dim=0)[: width - 3] < 255).all()  # and every column before


def test_wide_image_scratch_is_bounded():
    # DESIGN §4: temporary memory is O(B*S*L), not O(W). A 2**24-wide row with
    # per-column scratch would take > 1 GiB of peak memory beyond its 16 MiB output.
    code = (
        "import resource, torch, torch_render\n"
        "x = torch.tensor([[0.0, 1.0, 0.5]])\n"
        "torch_render.render_line(x, 1, 64, dtype=torch.uint8)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "img = torch_render.render_line(x, 1, 2**24, dtype=torch.uint8, line_width=1.0)\n"
        "assert img[0, 0, 0, -1].item() == 0 and img[0, 0, 0, 0].item() == 0\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    grown_mib = int(result.stdout.strip())
    assert grown_mib < 16 + 64, f"peak memory grew by {grown_mib} MiB"
