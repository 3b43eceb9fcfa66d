"""render_line (CPU) against the independent NumPy reference of docs/rendering.md."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import torch_render
from reference import reference_render_line, round_bfloat16

NAN = float("nan")
INF = float("inf")


# ----------------------------------------------------------------------------- helpers


def _np_input(t: torch.Tensor) -> np.ndarray:
    """The values of a tensor for the reference, as float64 (exact for every dtype)."""
    return t.detach().cpu().double().numpy()


def reference(series: torch.Tensor, height: int, width: int, **kw) -> np.ndarray:
    """float32 values of the reference for the op's arguments."""
    kw = dict(kw)
    vr = kw.pop("value_range", None)
    kw.pop("dtype", None)
    kw.pop("out", None)
    return reference_render_line(
        _np_input(series), height, width,
        value_range=None if vr is None else _np_input(vr), dtype="float32", **kw,
    )


def convert(values32: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """float32 values -> the stored values of an output dtype, as a numpy array."""
    if dtype == torch.float32:
        return values32
    if dtype == torch.float64:
        return values32.astype(np.float64)
    if dtype == torch.float16:
        return values32.astype(np.float16)
    if dtype == torch.bfloat16:
        return round_bfloat16(values32)
    if dtype == torch.uint8:
        return np.clip(np.rint(np.float32(255) * values32), 0, 255).astype(np.uint8)
    raise AssertionError(dtype)


def as_numpy(out: torch.Tensor) -> np.ndarray:
    return out.float().numpy() if out.dtype == torch.bfloat16 else out.numpy()


def expected_shape(series: torch.Tensor, height: int, width: int, channels: bool) -> tuple:
    S = series.shape[1] if series.dim() == 3 else 1
    return (series.shape[0], S if channels else 1, height, width)


def check(series: torch.Tensor, height: int, width: int, *, dtype=torch.float32, **kw) -> torch.Tensor:
    """Render with the op and compare with the reference; returns the float32 render.

    float32: max abs error <= 1e-6. Other dtypes: the op's output equals the conversion
    of its own float32 render exactly, and the conversion of the reference wherever the
    op's float32 value is the reference's bit for bit.
    """
    ref = reference(series, height, width, **kw)
    out32 = torch_render.render_line(series, height, width, dtype=torch.float32, **kw)
    shape = expected_shape(series, height, width, kw.get("channels", False))
    assert tuple(out32.shape) == shape
    assert out32.dtype == torch.float32 and out32.is_contiguous()
    assert out32.device == series.device
    got = out32.numpy()
    assert not np.isnan(got).any()
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    if err.size:
        worst = np.unravel_index(np.argmax(err), err.shape)
        assert err.max() <= 1e-6, (
            f"max abs error {err.max():.3g} at {worst}: op {got[worst]!r} ref {ref[worst]!r}; "
            f"{int((err > 1e-6).sum())} pixels over 1e-6"
        )
    if dtype != torch.float32:
        outd = torch_render.render_line(series, height, width, dtype=dtype, **kw)
        assert outd.dtype == dtype and tuple(outd.shape) == shape and outd.is_contiguous()
        got_d = as_numpy(outd)
        own = convert(got, dtype)
        own = own.astype(np.float32) if dtype == torch.bfloat16 else own
        np.testing.assert_array_equal(got_d, own)
        same = got == ref
        ref_d = convert(ref, dtype)
        np.testing.assert_array_equal(got_d[same], ref_d[same])
    return out32


def walk(*shape, seed=0, dtype=torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float64).cumsum(-1) + 100.0).to(dtype)


def is_background(out: torch.Tensor, background: float = 1.0) -> bool:
    return bool((out == background).all())


# ----------------------------------------------------------------------------- shapes


RANDOM_CASES = list(range(16))


@pytest.mark.parametrize("seed", RANDOM_CASES)
def test_random_shapes(seed):
    rng = np.random.default_rng(1000 + seed)
    B = int(rng.integers(1, 5))
    S = int(rng.integers(1, 4))
    L = int(rng.choice([1, 2, 3, 4, 7, 10, 33, 100, 257, 1000]))
    sizes = [(1, 1), (1, 37), (41, 1), (2, 2), (16, 16), (31, 77), (64, 64), (97, 50), (120, 200)]
    if L <= 100:
        sizes.append((224, 224))
    H, W = sizes[int(rng.integers(len(sizes)))]
    mmax = (min(H, W) - 1) / 2
    margin = float(rng.choice([0.0, min(1.5, mmax), min(10.0, mmax), mmax]))
    kw = dict(
        line_width=float(rng.choice([0.0, 0.5, 1.0, 2.0, 3.0, 4.5, 12.0])),
        antialias=bool(rng.integers(2)),
        margin=margin,
        channels=bool(rng.integers(2)),
    )
    shape = (B, L) if S == 1 and rng.integers(2) else (B, S, L)
    series = walk(*shape, seed=seed)
    # a few gaps
    if L > 3:
        mask = torch.from_numpy(rng.random(shape) < 0.05)
        series = series.masked_fill(mask, NAN)
    check(series, H, W, **kw)


@pytest.mark.parametrize("H, W", [(1, 1), (1, 64), (64, 1), (2, 3), (64, 64), (224, 224), (500, 800)])
def test_sizes(H, W):
    B = 1 if H * W > 100_000 else 3
    check(walk(B, 100, seed=H * 1000 + W), H, W)


@pytest.mark.parametrize("L", [1, 2, 3, 5, 100, 1000])
def test_lengths(L):
    H, W = (48, 300) if L == 1000 else (64, 96)
    check(walk(2, L, seed=L), H, W)
    check(walk(2, L, seed=L), H, W, antialias=False, line_width=1.0)


MARGIN_CASES = [
    (H, W, m)
    for H, W in [(64, 97), (97, 64), (1, 50), (2, 40), (30, 30), (24, 25)]
    for m in [0.0, 1.5, 10.0, "max"]
    if m == "max" or 2 * m <= min(H, W) - 1
]


@pytest.mark.parametrize("H, W, margin", MARGIN_CASES)
def test_margins(H, W, margin):
    if margin == "max":  # the largest allowed: 2 * margin == min(H, W) - 1
        margin = (min(H, W) - 1) / 2
    assert 2 * margin <= min(H, W) - 1
    check(walk(2, 2, 20, seed=7), H, W, margin=margin)
    check(walk(1, 1, seed=8), H, W, margin=margin)


def test_margin_too_large_is_an_error():
    with pytest.raises(ValueError, match="margin"):
        torch_render.render_line(walk(1, 10), 10, 20, margin=4.6)


@pytest.mark.parametrize("line_width", [0.0, 0.5, 1.0, 1.7, 3.0, 6.0, 12.0])
@pytest.mark.parametrize("antialias", [True, False])
def test_line_widths(line_width, antialias):
    check(walk(2, 40, seed=3), 80, 120, line_width=line_width, antialias=antialias)


@pytest.mark.parametrize("channels", [False, True])
@pytest.mark.parametrize("S", [1, 2, 3])
def test_overlay_and_channels(S, channels):
    series = walk(3, S, 50, seed=S)
    series[1, 0] *= 3.0  # groups with different ranges
    out = check(series, 60, 90, channels=channels, line_width=2.0)
    assert out.shape[1] == (S if channels else 1)


def test_overlay_is_max_coverage_of_channels():
    """Overlay of series that share a range = pixelwise darkest of their channels."""
    series = walk(2, 3, 30, seed=11)
    vr = torch.tensor([[90.0, 110.0], [80.0, 120.0]])
    over = torch_render.render_line(series, 50, 70, value_range=vr)
    chans = torch_render.render_line(series, 50, 70, value_range=vr, channels=True)
    torch.testing.assert_close(over[:, 0], chans.min(dim=1).values, rtol=0, atol=0)


# ----------------------------------------------------------------------------- value_range


@pytest.mark.parametrize("channels", [False, True])
def test_value_range_per_image(channels):
    series = walk(3, 2, 40, seed=5)
    lo = series.amin(dim=(1, 2))
    hi = series.amax(dim=(1, 2))
    vr = torch.stack(
        [
            torch.stack([lo[0], hi[0]]),                                # data range
            torch.stack([lo[1] + 1.0, hi[1] - 1.0]),                    # values outside
            torch.stack([hi[2], lo[2]]),                                # inverted lo > hi
        ]
    )
    out = check(series, 50, 80, value_range=vr, channels=channels)
    if not channels:
        # the data range gives the same picture as no value_range
        auto = torch_render.render_line(series[:1], 50, 80)
        torch.testing.assert_close(out[:1], auto, rtol=0, atol=0)


def test_value_range_per_series():
    series = walk(2, 3, 40, seed=6)
    vr = torch.tensor(
        [
            [[95.0, 105.0], [110.0, 90.0], [-1e3, 1e3]],
            [[100.0, 100.0], [0.0, 1.0], [99.0, 101.0]],
        ],
        dtype=torch.float64,
    )
    check(series, 40, 64, value_range=vr, channels=True)
    check(series, 40, 64, value_range=vr, channels=True, margin=3.0, antialias=False)


def test_value_range_flat_and_nonfinite():
    series = walk(4, 30, seed=9)
    vr = torch.tensor([[100.0, 100.0], [NAN, 1.0], [0.0, INF], [-INF, INF]])
    out = check(series[:1], 33, 50, value_range=vr[:1])
    # lo == hi: every point on the middle row
    assert (out[0, 0, 16] == 0.0).all()
    # a non-finite bound is refused on the CPU ...
    for b in range(1, 4):
        with pytest.raises(ValueError, match="^render_line: value_range must be finite"):
            torch_render.render_line(series[b : b + 1], 33, 50, value_range=vr[b : b + 1])
    # ... and on CUDA (not checked there: that would need a host sync) it makes every
    # point a gap
    if torch.cuda.is_available() and torch_render.cuda_built():
        out = torch_render.render_line(series.cuda(), 33, 50, value_range=vr.cuda()).cpu()
        np.testing.assert_allclose(out.numpy(), reference(series, 33, 50, value_range=vr), rtol=0, atol=1e-6)
        assert is_background(out[1:])


def test_value_range_wrong_shape_is_an_error():
    series = walk(2, 3, 10)
    with pytest.raises(ValueError, match="value_range"):
        torch_render.render_line(series, 10, 10, value_range=torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="value_range"):
        torch_render.render_line(series, 10, 10, value_range=torch.zeros(3, 2))


# ----------------------------------------------------------------------------- gaps


def _pattern(name: str, L: int = 40) -> torch.Tensor:
    v = walk(L, seed=21)
    if name == "leading":
        v[:7] = NAN
    elif name == "trailing":
        v[-5:] = NAN
    elif name == "isolated":
        v[:] = NAN
        v[3] = 101.0
        v[10:13] = torch.tensor([99.0, 100.0, 102.0])
        v[20] = 98.0
        v[L - 1] = 100.5
    elif name == "all_nan":
        v[:] = NAN
    elif name == "alternating":
        v[::2] = NAN
    elif name == "inf":
        v[5] = INF
        v[6] = -INF
        v[15:17] = NAN
        v[0] = -INF
    elif name == "pairs":
        v[2::3] = NAN
    elif name == "first_only":
        v[1:] = NAN
    elif name == "last_only":
        v[:-1] = NAN
    return v


PATTERNS = ["leading", "trailing", "isolated", "all_nan", "alternating", "inf", "pairs",
            "first_only", "last_only"]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("antialias", [True, False])
def test_gap_patterns(pattern, antialias):
    series = torch.stack([_pattern(pattern), walk(40, seed=22)])
    out = check(series, 45, 100, antialias=antialias)
    if pattern == "all_nan":
        assert is_background(out[0])
    else:
        assert (out[0] < 1.0).any()
    # overlay and channels with a gap series next to a full one
    check(series[None], 45, 100, antialias=antialias)
    check(series[None], 45, 100, antialias=antialias, channels=True)


def test_isolated_point_is_a_dot():
    v = torch.full((1, 21), NAN)
    v[0, 10] = 5.0
    out = check(v, 21, 41, line_width=3.0)
    # single finite value: flat, y = (H-1)/2 = 10, x = 10 * 40 / 20 = 20
    assert out[0, 0, 10, 20] == 0.0
    assert (out < 1.0).sum() > 1
    assert out[0, 0, 0, 0] == 1.0 and out[0, 0, 10, 30] == 1.0
    # aliased, zero width: exactly the centre pixel
    out = check(v, 21, 41, line_width=0.0, antialias=False)
    assert (out == 0.0).sum() == 1 and out[0, 0, 10, 20] == 0.0


def test_all_nan_is_blank():
    series = torch.full((2, 3, 17), NAN)
    series[1, 1] = INF
    for channels in (False, True):
        out = check(series, 20, 30, channels=channels, background=0.25, foreground=0.75)
        assert (out == 0.25).all()


def test_constant_series_is_middle_row():
    series = torch.full((2, 25), 42.0)
    series[1, 7] = NAN
    out = check(series, 31, 60, line_width=1.0, antialias=False)
    assert (out[0, 0, 15] == 0.0).all()
    assert (out[0, 0, :15] == 1.0).all() and (out[0, 0, 16:] == 1.0).all()
    check(series, 30, 60)  # (H-1)/2 = 14.5, between two rows


def test_single_point():
    series = torch.tensor([[3.0], [NAN], [INF]])
    out = check(series, 11, 15)
    assert out[0, 0, 5, 7] == 0.0
    assert is_background(out[1:])
    check(series, 11, 16, line_width=4.0, antialias=False)


def test_huge_values_use_halved_difference():
    series = torch.tensor(
        [
            [-3.0e38, 3.0e38, 0.0, 1.0e38, -1.0e38, 3.3e38],
            [1e-40, -1e-40, 0.0, 2e-40, 1e-45, -3e-45],
        ]
    )
    check(series, 50, 60)
    vr = torch.tensor([[-3.4e38, 3.4e38], [-1e-40, 1e-40]])
    check(series, 50, 60, value_range=vr)


def test_float64_beyond_float32_is_drawn_not_a_gap():
    """Values are scaled in float64: 1e300 and -1e39 are prices like any other (the
    range spans them), not gaps as when values went through float32 first."""
    series = walk(2, 30, seed=4, dtype=torch.float64)
    series[0, 10] = 1e300
    series[1, 0] = -1e39
    out = check(series, 40, 60)
    clean = series.clone()
    clean[0, 10] = NAN
    clean[1, 0] = NAN
    gaps = torch_render.render_line(clean, 40, 60)
    assert not torch.equal(out[0], gaps[0]) and not torch.equal(out[1], gaps[1])
    # The spike reaches the top row at its column, the dip the bottom row at column 0.
    x10 = round(10 * 59 / 29)
    assert out[0, 0, 0, x10] == 0.0 and out[1, 0, 39, 0] == 0.0


# ----------------------------------------------------------------------------- strides


def test_unfold_view_is_not_copied_and_matches_contiguous():
    long = walk(1100, seed=31)
    windows = long.unfold(-1, 100, 1)
    assert windows.shape == (1001, 100) and windows.stride() == (1, 1)
    assert not windows.is_contiguous()
    assert windows.data_ptr() == long.data_ptr()
    sub = windows[::97]  # still a view of `long`
    assert not sub.is_contiguous() and sub.data_ptr() == long.data_ptr()
    out = check(sub, 64, 64)
    torch.testing.assert_close(out, torch_render.render_line(sub.contiguous(), 64, 64), rtol=0, atol=0)
    # the whole unfold view at a small size equals the contiguous copy
    full = torch_render.render_line(windows, 16, 24)
    torch.testing.assert_close(full, torch_render.render_line(windows.contiguous(), 16, 24), rtol=0, atol=0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: walk(50, 4, seed=1).t(),                              # transposed [B, L]
        lambda: walk(6, 120, seed=2)[::2, 1::3],                      # steps in both dims
        lambda: walk(30, 3, 5, seed=3).permute(2, 1, 0),              # [B, S, L] reversed strides
        lambda: walk(4, 6, 90, seed=4)[:, ::2, 5:80:2],               # sliced [B, S, L]
        lambda: walk(3, 1, seed=5).expand(3, 40),                     # zero stride (constant)
        lambda: walk(1, 40, seed=6).expand(3, 2, 40),                 # zero batch/series strides
        lambda: torch.flip(walk(3, 40, seed=7), [1])[:, 1:],          # copied flip, then slice
    ],
)
@pytest.mark.parametrize("channels", [False, True])
def test_strided_inputs(make, channels):
    series = make()
    out = check(series, 40, 70, channels=channels)
    torch.testing.assert_close(
        out, torch_render.render_line(series.contiguous(), 40, 70, channels=channels), rtol=0, atol=0
    )


def test_nothing_read_past_the_series():
    big = walk(3, 200, seed=41)
    big[:, 50:] = 1e30
    big[1, 50:] = NAN
    big[2, 50:] = -3e38
    narrow = big[:, :50]
    assert not narrow.is_contiguous()
    out = check(narrow, 60, 90)
    torch.testing.assert_close(out, torch_render.render_line(narrow.clone(), 60, 90), rtol=0, atol=0)
    # the same through a 3-d view whose next series starts right after the slice
    big3 = walk(2, 2, 120, seed=42)
    big3[..., 40:] = -1e30
    out = check(big3[..., :40], 30, 50, channels=True)
    torch.testing.assert_close(
        out, torch_render.render_line(big3[..., :40].clone(), 30, 50, channels=True), rtol=0, atol=0
    )


# ----------------------------------------------------------------------------- dtypes


IN_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
OUT_DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8]


@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=lambda d: str(d).split(".")[1])
@pytest.mark.parametrize("out_dtype", OUT_DTYPES, ids=lambda d: str(d).split(".")[1])
def test_dtypes(in_dtype, out_dtype):
    series = walk(2, 2, 30, seed=51).to(in_dtype)
    series[0, 1, 4] = NAN
    check(series, 32, 48, dtype=out_dtype, line_width=2.5)
    check(series, 32, 48, dtype=out_dtype, channels=True, antialias=False, background=0.2, foreground=0.9)


def test_uint8_exact_against_reference():
    """uint8 bytes = rint(255 * value) of the reference, exactly (including ties)."""
    series = walk(3, 60, seed=52)
    for bg, fg, aa in [(1.0, 0.0, True), (0.2, 0.9, True), (0.0, 1.0, True), (0.5, 0.3, False)]:
        got = torch_render.render_line(series, 70, 110, dtype=torch.uint8, background=bg,
                                       foreground=fg, antialias=aa).numpy()
        ref = reference_render_line(series.numpy(), 70, 110, background=bg, foreground=fg,
                                    antialias=aa, dtype="uint8")
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("k", [0.5, 2.5, 126.5])
def test_uint8_rounds_half_to_even_in_float32(k):
    """float32(k / 255) * 255 is exactly k in float32 (a tie, to even), a bit above in float64."""
    bg = float(np.float32(k / 255))
    assert np.float32(255) * np.float32(bg) == np.float32(k)
    out = torch_render.render_line(torch.full((1, 3), NAN), 2, 2, dtype=torch.uint8, background=bg)
    assert (out == int(np.rint(k))).all(), out
    ref = reference_render_line(np.full((1, 3), np.nan), 2, 2, background=bg, dtype="uint8")
    np.testing.assert_array_equal(out.numpy(), ref)


@pytest.mark.parametrize("bg, fg", [(0.2, 0.9), (0.0, 1.0), (1.0, 0.0), (0.7, 0.7), (-2.0, 3.5)])
def test_background_foreground(bg, fg):
    series = walk(2, 35, seed=61)
    out = check(series, 40, 60, background=bg, foreground=fg)
    assert out.min() >= min(bg, fg) - 1e-6 and out.max() <= max(bg, fg) + 1e-6
    assert (out == np.float32(bg)).any()
    if bg != fg:
        assert (out == np.float32(fg)).any()
    check(series, 40, 60, background=bg, foreground=fg, antialias=False, dtype=torch.float16)


def test_wrapper_passes_what_differs_from_the_defaults():
    # The wrapper leaves arguments equal to the schema's defaults to the schema;
    # every combination must still reach the op, -0.0 (a colour with other bits)
    # included.
    series = walk(2, 30, seed=63)
    op = torch.ops.torch_render.render_line
    defaults = dict(line_width=3.0, antialias=True, margin=0.0, channels=False,
                    background=1.0, foreground=0.0)
    cases = [
        {},
        dict(defaults),
        dict(line_width=2.0, antialias=False, margin=1.5, background=0.0, foreground=1.0),
        dict(foreground=-0.0),
        dict(background=-0.0, foreground=1.0),
        dict(margin=-0.0),
    ]
    for kw in cases:
        want = op(series, 20, 30, **{**defaults, **kw})
        got = torch_render.render_line(series, 20, 30, **kw)
        assert torch.equal(got.view(torch.int32), want.view(torch.int32)), kw
    neg = torch_render.render_line(series, 20, 30, foreground=-0.0)
    assert torch.signbit(neg[neg == 0]).all()


# ----------------------------------------------------------------------------- out= and empty


@pytest.mark.parametrize("dtype", OUT_DTYPES, ids=lambda d: str(d).split(".")[1])
def test_out_form(dtype):
    series = walk(2, 3, 40, seed=71)
    out = torch.full((2, 3, 30, 50), 7, dtype=dtype)
    res = torch_render.render_line(series, 30, 50, channels=True, out=out, dtype=None)
    assert res is out or res.data_ptr() == out.data_ptr()
    ref = convert(reference(series, 30, 50, channels=True), dtype)
    got = as_numpy(out)
    if dtype == torch.bfloat16:
        ref = ref.astype(np.float32)
    if dtype in (torch.float32, torch.float64):
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    else:
        expected = torch_render.render_line(series, 30, 50, channels=True, dtype=dtype)
        assert torch.equal(out, expected)
        np.testing.assert_array_equal(got, ref)
    # dtype given and equal to out's dtype
    out2 = torch.empty_like(out)
    res2 = torch_render.render_line(series, 30, 50, channels=True, out=out2, dtype=dtype)
    assert res2.data_ptr() == out2.data_ptr() and torch.equal(out2, out)


def test_out_wrong_shape_is_an_error():
    with pytest.raises((ValueError, RuntimeError), match="out"):
        torch_render.render_line(walk(2, 10), 10, 10, out=torch.empty(2, 1, 10, 11))


@pytest.mark.parametrize("shape", [(0, 10), (0, 3, 10)])
@pytest.mark.parametrize("channels", [False, True])
def test_empty_batch(shape, channels):
    series = torch.empty(shape)
    out = torch_render.render_line(series, 20, 30, channels=channels)
    C = shape[1] if (channels and len(shape) == 3) else 1
    assert out.shape == (0, C, 20, 30) and out.dtype == torch.float32
    out = torch_render.render_line(series, 20, 30, channels=channels, dtype=torch.uint8)
    assert out.shape == (0, C, 20, 30) and out.dtype == torch.uint8
    ref = reference_render_line(np.empty(shape, np.float32), 20, 30, channels=channels)
    assert ref.shape == (0, C, 20, 30)


# ----------------------------------------------------------------------------- real data


def test_real_windows_500x800(btc_windows):
    series = torch.from_numpy(btc_windows[::9])  # 8 windows, float64
    out = check(series, 500, 800)
    assert out.shape == (8, 1, 500, 800)
    for img in out:
        assert (img < 1.0).any()


@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_real_windows_224(btc_windows, dtype):
    series = torch.from_numpy(btc_windows).float()
    check(series, 224, 224, dtype=dtype, line_width=2.0)


def test_real_windows_overlay_channels(btc_windows):
    series = torch.from_numpy(btc_windows[:12].reshape(4, 3, 100))
    check(series, 96, 160, channels=False)
    check(series, 96, 160, channels=True, antialias=False, margin=4.0)
