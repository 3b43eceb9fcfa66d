"""Property tests of render_line over random shapes, strides, values and options."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import torch_render
from test_render_line import check, convert

OUT_DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8]
IN_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]

SPECIAL = [
    float("nan"), float("inf"), float("-inf"), 1e38, -1e38, 3.4e38, -3.4e38,
    1e-40, -1e-40, 1e-45, 0.0, -0.0, 1.0, -1.0, 65504.0, 1e-8,
]
BEYOND_F32 = [1e39, -1e39, 1e300, -1e300, 3.5e38]

PROPS = settings(max_examples=500, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ----------------------------------------------------------------------------- strategies


@st.composite
def series_tensors(draw, moderate: bool = False, min_b: int = 0, max_b: int = 3, max_l: int = 40):
    """A [B, L] or [B, S, L] tensor of a random floating dtype and layout."""
    B = draw(st.integers(max(min_b, 1 if moderate else 0), max_b))
    S = draw(st.integers(1, 3))
    L = draw(st.one_of(st.integers(1, 4), st.integers(1, max_l)))
    three_d = draw(st.booleans()) or S > 1
    dtype = draw(st.sampled_from(IN_DTYPES))
    shape = (B, S, L) if three_d else (B, L)
    n = int(np.prod(shape))

    kind = draw(st.sampled_from(["walk", "mixed", "constant"] if not moderate else ["walk", "constant"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "constant":
        vals = np.full(n, draw(st.sampled_from([0.0, 1.0, -5.5, 1e-40, 1e38])
                               if not moderate else st.floats(-1e3, 1e3)))
    elif kind == "walk":
        scale = draw(st.sampled_from([1e-3, 1.0, 100.0]))
        vals = np.cumsum(rng.standard_normal(n)) * scale + draw(st.floats(-1e3, 1e3))
    else:
        pool = SPECIAL + (BEYOND_F32 if dtype == torch.float64 else [])
        vals = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4, n)
        special = rng.random(n) < draw(st.floats(0.0, 1.0))
        vals[special] = rng.choice(pool, special.sum())
    gap_rate = draw(st.sampled_from([0.0, 0.1, 0.5]))
    if gap_rate:
        vals[rng.random(n) < gap_rate] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))

    base = torch.from_numpy(vals.reshape(shape)).to(dtype)
    layout = draw(st.sampled_from(["contiguous", "transposed", "stepped", "sliced", "expanded"]))
    if layout == "transposed":
        perm = tuple(reversed(range(base.dim())))
        base = base.permute(*perm).contiguous().permute(*perm)
    elif layout == "stepped":
        big = torch.zeros(tuple(2 * d + 1 for d in shape), dtype=dtype).fill_(float("nan"))
        big[tuple(slice(1, None, 2) for _ in shape)] = base
        base = big[tuple(slice(1, None, 2) for _ in shape)]
    elif layout == "sliced":
        tail = torch.full(shape[:-1] + (7,), 3e38 if dtype != torch.float16 else 6e4, dtype=dtype)
        base = torch.cat([base, tail], dim=-1)[..., :L]
    elif layout == "expanded" and B > 0:
        base = base[:1].expand(*shape)
    return base


@st.composite
def options(draw, series: torch.Tensor, max_hw: int = 48):
    H = draw(st.integers(1, max_hw))
    W = draw(st.integers(1, max_hw + 16))
    mmax = (min(H, W) - 1) / 2
    margin = draw(st.one_of(st.just(0.0), st.just(mmax), st.floats(0.0, mmax)))
    out_dtype = draw(st.sampled_from(OUT_DTYPES))
    unit = st.floats(0.0, 1.0, width=32)
    wide = st.floats(-3.0, 3.0, width=32)
    bg = draw(unit if out_dtype == torch.uint8 else wide)
    fg = draw(unit if out_dtype == torch.uint8 else wide)
    channels = draw(st.booleans())
    B = series.shape[0]
    S = series.shape[1] if series.dim() == 3 else 1
    vr = None
    vr_kind = draw(st.sampled_from(["none", "none", "image", "series"]))
    if vr_kind != "none" and not (vr_kind == "series" and not channels):
        shape = (B, 2) if vr_kind == "image" else (B, S, 2)
        # Finite bounds: a NaN or infinite value_range is refused on the CPU
        # (test_errors.py::test_value_range_not_finite_cpu).
        bound = st.one_of(st.floats(-1e3, 1e3), st.sampled_from([v for v in SPECIAL if np.isfinite(v)]))
        vr = torch.tensor(draw(st.lists(bound, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
                          ).reshape(shape).to(draw(st.sampled_from([torch.float32, torch.float64])))
    return dict(
        height=H, width=W,
        line_width=draw(st.one_of(st.just(0.0), st.floats(0.0, 12.0))),
        antialias=draw(st.booleans()),
        margin=margin,
        value_range=vr,
        channels=channels,
        background=bg,
        foreground=fg,
        dtype=out_dtype,
    )


def render(series, opts):
    o = dict(opts)
    return torch_render.render_line(series, o.pop("height"), o.pop("width"), **o)


def bounds(opts):
    """[min(bg, fg), max(bg, fg)] in the output dtype: the model never leaves it."""
    bg = np.float32(opts["background"])
    fg = np.float32(opts["foreground"])
    lo, hi = np.array([min(bg, fg)], np.float32), np.array([max(bg, fg)], np.float32)
    return float(convert(lo, opts["dtype"])[0]), float(convert(hi, opts["dtype"])[0])


# ----------------------------------------------------------------------------- properties


@PROPS
@given(data=st.data())
def test_values_bounded_finite_and_deterministic(data):
    series = data.draw(series_tensors())
    opts = data.draw(options(series))
    out = render(series, opts)
    S = series.shape[1] if series.dim() == 3 else 1
    C = S if opts["channels"] else 1
    assert out.shape == (series.shape[0], C, opts["height"], opts["width"])
    assert out.dtype == opts["dtype"] and out.is_contiguous()
    vals = out.double()
    assert not torch.isnan(vals).any()
    lo, hi = bounds(opts)
    if out.numel():
        assert vals.min().item() >= lo and vals.max().item() <= hi, (vals.min(), vals.max(), lo, hi)
    again = render(series, opts)
    assert torch.equal(out, again)
    # the same values through a contiguous copy of the input
    assert torch.equal(out, render(series.contiguous(), opts))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_thread_count_does_not_change_the_result(data):
    series = data.draw(series_tensors(max_b=8, max_l=120))
    opts = data.draw(options(series, max_hw=160))
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = render(series, opts)
        torch.set_num_threads(2)
        two = render(series, opts)
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(one, two)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batch_composition_does_not_change_the_result(data):
    series = data.draw(series_tensors(min_b=1, max_b=5))
    opts = data.draw(options(series))
    whole = render(series, opts)
    vr = opts["value_range"]
    for b in range(series.shape[0]):
        single = dict(opts, value_range=None if vr is None else vr[b : b + 1])
        assert torch.equal(whole[b : b + 1], render(series[b : b + 1], single))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_matches_reference_on_moderate_values(data):
    series = data.draw(series_tensors(moderate=True))
    opts = data.draw(options(series, max_hw=64))
    opts = dict(opts)
    H, W = opts.pop("height"), opts.pop("width")
    if opts["value_range"] is not None:
        opts["value_range"] = torch.nan_to_num(opts["value_range"], nan=0.0, posinf=1e3, neginf=-1e3)
    check(series, H, W, **opts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_matches_reference_on_any_values(data):
    """Extreme values too: NaN, +-inf, +-1e38, denormals, float64 beyond float32, dense L."""
    series = data.draw(series_tensors(max_l=data.draw(st.sampled_from([40, 300]))))
    opts = dict(data.draw(options(series, max_hw=64)))
    H, W = opts.pop("height"), opts.pop("width")
    check(series, H, W, **opts)


def test_thread_count_large_batch():
    """A batch big enough to be split across threads, with rows of a large image."""
    g = torch.Generator().manual_seed(3)
    series = torch.randn(33, 2, 100, generator=g).cumsum(-1)
    series[::5, 0, 10:13] = float("nan")
    previous = torch.get_num_threads()
    try:
        results = []
        for n in (1, 2, 1):
            torch.set_num_threads(n)
            results.append(torch_render.render_line(series, 120, 200, channels=True))
            results.append(torch_render.render_line(series[:1], 500, 800))
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(results[0], results[2]) and torch.equal(results[0], results[4])
    assert torch.equal(results[1], results[3]) and torch.equal(results[1], results[5])


@pytest.mark.parametrize("bg, fg", [(0.0, 1.0), (1.0, 0.0), (0.25, 0.75), (0.2, 0.9)])
def test_usual_colours_stay_within_background_and_foreground(bg, fg):
    series = torch.randn(4, 2, 50, generator=torch.Generator().manual_seed(5)).cumsum(-1)
    for aa in (True, False):
        out = torch_render.render_line(series, 40, 70, background=bg, foreground=fg, antialias=aa)
        assert out.min() >= np.float32(min(bg, fg)) and out.max() <= np.float32(max(bg, fg))
        assert (out == np.float32(fg)).any()


@pytest.mark.parametrize(
    "bg, fg", [(1.0, 1.1754943508222875e-38), (0.5414612293243408, 0.09483078867197037)]
)
def test_full_coverage_is_exactly_foreground(bg, fg):
    out = torch_render.render_line(torch.tensor([[1.0]]), 1, 1, background=bg, foreground=fg,
                                   line_width=0.0, antialias=False)
    assert out.item() == np.float32(fg)
    assert np.float32(min(bg, fg)) <= out.item() <= np.float32(max(bg, fg))
