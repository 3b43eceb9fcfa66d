"""render_ohlc against the brute-force reference of DESIGN §2 "OHLC charts"
(tests/ohlc_reference.py), plus hand-drawn images, errors, opcheck and compile."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import torch_render
from ohlc_reference import pillow_line, render_ohlc_marks, render_ohlc_reference

OP = torch.ops.torch_render.render_ohlc
DTYPES = {
    "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "float64": torch.float64, "uint8": torch.uint8,
}
INPUT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _as_np(t):
    return None if t is None else t.to(torch.float64).numpy()


def _ref(ohlc, height, width=None, **kw):
    kw = {k: (_as_np(v) if isinstance(v, torch.Tensor) else v) for k, v in kw.items()}
    return render_ohlc_reference(_as_np(ohlc), height, width, **kw)


def _check_equal(img: torch.Tensor, ref: np.ndarray):
    assert img.shape == ref.shape
    got = img.to(torch.float64).numpy()
    bad = np.argwhere(got != ref)
    assert bad.size == 0, f"{len(bad)} pixels differ, first at {bad[0].tolist()}: {got[tuple(bad[0])]} vs {ref[tuple(bad[0])]}"


def _random_walk_ohlc(rng, B, L, base=100.0, vol=1.0):
    close = base + np.cumsum(rng.normal(0, vol, size=(B, L + 1)), axis=1)
    open_ = close[:, :-1]
    close = close[:, 1:]
    high = np.maximum(open_, close) + np.abs(rng.normal(0, vol, size=(B, L)))
    low = np.minimum(open_, close) - np.abs(rng.normal(0, vol, size=(B, L)))
    return np.stack([open_, high, low, close], axis=-1)


def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    B = int(rng.integers(0, 4)) if seed % 7 else 0
    L = int(rng.integers(1, 13))
    bw = int(rng.choice([1, 2, 3, 4, 5, 6]))
    V = int(rng.choice([0, 0, 1, 3, 5]))
    H = int(rng.integers(V + 2 if V else 1, 40))
    data = _random_walk_ohlc(rng, B, L, base=float(rng.choice([1.0, 100.0, 30000.0])), vol=float(rng.choice([1e-3, 1.0])))
    if rng.random() < 0.2:  # flat window
        data[...] = 5.0
    if rng.random() < 0.6:  # missing values anywhere
        data[rng.random(data.shape) < 0.15] = np.nan
    if rng.random() < 0.1:
        data[rng.random(data.shape) < 0.1] = np.inf
    kw = dict(style=str(rng.choice(["bar", "candle"])), bar_width=bw, volume_rows=V)
    if rng.random() < 0.7:
        vol = np.abs(rng.normal(0, 1, size=(B, L))) * 10.0 ** rng.integers(-3, 6)
        vol[rng.random(vol.shape) < 0.2] = 0.0
        vol[rng.random(vol.shape) < 0.1] = np.nan
        if rng.random() < 0.2:
            vol[...] = 0.0
        kw["volume"] = vol
    M = int(rng.choice([0, 0, 1, 2]))
    if M:
        mid = np.where(np.isfinite(data[..., 1:3]), data[..., 1:3], 0.0).mean(axis=-1)
        ov = np.stack([mid + rng.normal(0, 2, size=(B, L)) for _ in range(M)], axis=1)
        ov[rng.random(ov.shape) < 0.2] = np.nan
        kw["overlays"] = ov
    if rng.random() < 0.3 and B:
        centre = np.nanmedian(data) if np.isfinite(data).any() else 0.0
        span = float(rng.choice([0.5, 3.0, 50.0]))
        vr = np.stack([np.full(B, centre - span), np.full(B, centre + span)], axis=1)
        if rng.random() < 0.3:
            vr = vr[:, ::-1].copy()  # lo > hi: flipped
        kw["value_range"] = vr
    if rng.random() < 0.3:
        # Per-image factors: 1 / close_0 (jkx_chart's), plain, negative, zero, missing.
        pick = rng.integers(0, 5, size=B)
        first = data[:, 0, 3] if B else np.zeros(0)
        kw["scale"] = np.choose(pick, [1.0 / first, np.full(B, 3.7), np.full(B, -0.02), np.zeros(B),
                                       np.full(B, np.nan)])
    width = None if rng.random() < 0.7 else L * bw + int(rng.integers(0, 5))
    return data, H, width, kw, rng


@pytest.mark.parametrize("seed", range(60))
def test_matches_brute_force_reference(seed):
    data, H, width, kw, rng = _random_case(seed)
    in_dtype = INPUT_DTYPES[seed % len(INPUT_DTYPES)]
    out_dtype = list(DTYPES)[seed % 5]
    bg, fg = (1.0, 0.0) if seed % 3 else (0.0, 1.0)
    if out_dtype != "uint8" and seed % 11 == 0:
        bg, fg = 0.25, -3.5
    ohlc = torch.from_numpy(data).to(in_dtype)
    tkw = {k: (torch.from_numpy(np.ascontiguousarray(v)).to(in_dtype if k != "value_range" else torch.float64)
               if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    img = torch_render.render_ohlc(ohlc, H, width, background=bg, foreground=fg, dtype=DTYPES[out_dtype], **tkw)
    assert img.dtype == DTYPES[out_dtype] and img.is_contiguous()
    # The reference has no factors: it draws the float64 products, made here.
    rkw = dict(tkw)
    ref_ohlc = ohlc
    if "scale" in rkw:
        factors = rkw.pop("scale").to(torch.float64)
        ref_ohlc = ohlc.to(torch.float64) * factors[:, None, None]
        if "overlays" in rkw:
            rkw["overlays"] = rkw["overlays"].to(torch.float64) * factors[:, None, None]
    ref = _ref(ref_ohlc, H, width, background=bg, foreground=fg, dtype=out_dtype, **rkw)
    _check_equal(img, ref)


def test_strided_unfold_view_and_mixed_dtypes():
    rng = np.random.default_rng(3)
    series = torch.from_numpy(_random_walk_ohlc(rng, 1, 80)[0])  # [80, 4] float64
    volume = torch.from_numpy(np.abs(rng.normal(size=80))).float()
    L = 20
    ohlc = series.unfold(0, L, 1).transpose(1, 2)  # [61, 20, 4] view
    assert not ohlc.is_contiguous() and ohlc.data_ptr() == series.data_ptr()
    vol = volume.unfold(0, L, 1)
    ma = series[:, 3].float().unfold(0, L, 1)[:, None, :]  # float32 overlays, float64 prices
    img = torch_render.render_ohlc(ohlc, 40, volume=vol, volume_rows=8, overlays=ma, style="candle")
    _check_equal(img, _ref(ohlc, 40, volume=vol, volume_rows=8, overlays=ma, style="candle"))
    _check_equal(img, _ref(ohlc.contiguous(), 40, volume=vol.contiguous(), volume_rows=8, overlays=ma, style="candle"))


def _marks(img: torch.Tensor) -> list[str]:
    """Rows of a float image as text: '#' for foreground (0.0), '.' for background."""
    return ["".join("#" if v == 0.0 else "." for v in row) for row in img[0, 0].tolist()]


def test_hand_drawn_bars():
    # lo = 0, hi = 4, P = 5: level(p) = p. Bar 0: O1 H3 L0 C2; bar 1: O4 H4 L2 C2.
    ohlc = torch.tensor([[[1.0, 3.0, 0.0, 2.0], [4.0, 4.0, 2.0, 2.0]]])
    assert _marks(torch_render.render_ohlc(ohlc, 5)) == [
        "...##.",
        ".#..#.",
        ".##.##",
        "##....",
        ".#....",
    ]


def test_hand_drawn_candles_filled_and_hollow():
    # bar_width 5 (k = 2). Bar 0 up (O1 C3, L0 H4): hollow; bar 1 down (O3 C1): filled.
    ohlc = torch.tensor([[[1.0, 4.0, 0.0, 3.0], [3.0, 4.0, 0.0, 1.0]]])
    assert _marks(torch_render.render_ohlc(ohlc, 5, style="candle", bar_width=5)) == [
        "..#....#..",
        "##########",
        "#.#.######",
        "##########",
        "..#....#..",
    ]


def test_hand_drawn_volume_and_overlay():
    # H 9, V 3: price rows 0..4 (P 5), gap row 5, panel rows 6..8. Volumes 0, 1, 2 ->
    # n = 0 (still one row), 2 (1.5 rounds to even), 3.
    ohlc = torch.tensor([[[0.0, 0.0, 0.0, 0.0], [4.0, 4.0, 4.0, 4.0], [2.0, 2.0, 2.0, 2.0]]])
    overlay = torch.tensor([[[0.0, 4.0, 4.0]]])
    img = torch_render.render_ohlc(ohlc, 9, volume=torch.tensor([[0.0, 1.0, 2.0]]), volume_rows=3,
                                   overlays=overlay)
    # Overlay: Pillow's line (1, 0) -> (4, 4) then (4, 4) -> (7, 4), in levels.
    expected = np.zeros((9, 9), dtype=bool)
    lev = lambda level: 4 - level  # noqa: E731  (price row of a level)
    for c, l in [(0, 0), (1, 0), (2, 0), (3, 4), (4, 4), (5, 4), (6, 2), (7, 2), (8, 2)]:  # flat bars
        expected[lev(l), c] = True
    for x, y in pillow_line(1, 0, 4, 4) + pillow_line(4, 4, 7, 4):
        expected[lev(y), x] = True
    expected[8, 1] = True                 # n = 0: bottom row
    expected[7:9, 4] = True               # n = round_half_even(1.5) = 2
    expected[6:9, 7] = True               # n = 3
    got = img[0, 0].numpy() == 0.0
    assert (got == expected).all(), "\n" + "\n".join(_marks(img))


def test_reference_lines_are_pillows():
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    for _ in range(300):
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, 24, size=4))
        im = Image.new("L", (24, 24), 0)
        ImageDraw.Draw(im).line([(x0, y0), (x1, y1)], fill=255)
        got = {(int(x), int(y)) for y, x in np.argwhere(np.array(im))}
        assert got == set(pillow_line(x0, y0, x1, y1)), (x0, y0, x1, y1)


def test_flat_window_marks_middle_level():
    ohlc = torch.full((2, 4, 4), 7.0)
    img = torch_render.render_ohlc(ohlc, 10)
    rows = (img[:, 0] == 0.0).any(dim=-1)
    assert rows[:, 10 - 1 - (10 - 1) // 2].all() and rows.sum() == 2


def test_missing_data_rules():
    ohlc = torch.tensor([[[1.0, 3.0, 0.0, 2.0], [1.0, float("nan"), 0.0, 2.0], [float("nan"), 3.0, 0.0, 2.0],
                          [1.0, 3.0, 0.0, float("nan")]]])
    bar = torch_render.render_ohlc(ohlc, 4)[0, 0] == 0.0
    assert not bar[:, 3:6].any()                          # NaN high: skipped
    assert bar[:, 7].sum() == 4 and not bar[:, 6].any()   # NaN open: no open tick
    assert bar[1, 8]                                      # its close tick stays (level 2)
    assert not bar[:, 11].any() and bar[2, 9]              # NaN close: open tick (level 1) stays
    candle = torch_render.render_ohlc(ohlc, 4, style="candle")[0, 0] == 0.0
    assert candle[:, 6:9].sum() == 4 and candle[:, 7].all()  # NaN open: wick only


def test_value_range_clips_to_price_area():
    ohlc = torch.tensor([[[0.0, 10.0, -10.0, 5.0]]])
    img = torch_render.render_ohlc(ohlc, 12, volume_rows=4, value_range=torch.tensor([[-1.0, 1.0]]))
    marks = img[0, 0] == 0.0
    assert marks[:7, 1].all() and not marks[7:].any()     # no ink in the gap or the panel
    flipped = torch_render.render_ohlc(ohlc, 12, volume_rows=4, value_range=torch.tensor([[1.0, -1.0]]))
    assert torch.equal(flipped[0, 0, :7, 1], img[0, 0, :7, 1])  # symmetric bar
    # P = 7, open 0 -> level 3 (row 3) both ways; close 5 -> level 18 or -12: clipped.
    assert marks[3, 0] and (flipped[0, 0, 3, 0] == 0.0) and marks[:, 0].sum() == 1
    assert not marks[:, 2].any() and not (flipped[0, 0, :, 2] == 0.0).any()
    _check_equal(flipped, _ref(ohlc, 12, volume_rows=4, value_range=torch.tensor([[1.0, -1.0]])))


@pytest.mark.parametrize("bar_width", [3, 2, 1])
def test_uint8_bars_clipped_by_value_range(bar_width):
    """The uint8 bar raster (a bitmask raster with AVX2, where bar width 3 has
    its own overlay code) against the reference where value_range leaves bars and
    overlay segments wholly above, wholly below, or across the price rows, with
    shallow and steep segments of both signs."""
    rng = np.random.default_rng(bar_width)
    B, L = 24, 20
    data = _random_walk_ohlc(rng, B, L, base=100.0, vol=3.0)
    ma = data[..., 3] + rng.normal(0, 1, size=(B, L)) * rng.choice([0.1, 2.0, 20.0], size=(B, 1))
    ma[:, ::7] += rng.choice([-60.0, 60.0], size=(B, 1))  # steep jumps out of the rows and back
    ma[rng.random(ma.shape) < 0.05] = np.nan
    centre = data[:, :, 3].mean(axis=1)
    span = rng.choice([0.5, 2.0, 6.0, 40.0], size=B)
    vr = np.stack([centre - span, centre + span], axis=1)
    kw = dict(volume=torch.from_numpy(np.abs(rng.normal(0, 1, size=(B, L)))),
              overlays=torch.from_numpy(ma[:, None, :]), value_range=torch.from_numpy(vr),
              bar_width=bar_width, volume_rows=12)
    ohlc = torch.from_numpy(data)
    img = torch_render.render_ohlc(ohlc, 64, background=0.0, foreground=1.0, dtype=torch.uint8, **kw)
    ref = _ref(ohlc, 64, background=0.0, foreground=1.0, dtype="uint8", **kw)
    _check_equal(img, ref)
    # Not vacuous: marks inside, and bars and segments clipped away on both sides.
    levels = (data[..., 1:3] - vr[:, :1, None]) / (vr[:, 1:, None] - vr[:, :1, None])
    assert (levels > 1).all(axis=-1).any() and (levels < 0).all(axis=-1).any()
    assert (img[:, 0, :51] == 255).sum() > 1000


def test_uint8_is_round_255_value():
    ohlc = torch.tensor([[[1.0, 3.0, 0.0, 2.0]]])
    img = torch_render.render_ohlc(ohlc, 4, background=0.5, foreground=0.1, dtype=torch.uint8)
    assert set(img.unique().tolist()) == {26, 128}  # rint(127.5) = 128, rint(25.5) = 26


def test_out_form_and_empty_batch():
    ohlc = torch.from_numpy(_random_walk_ohlc(np.random.default_rng(1), 3, 6)).float()
    out = torch.full((3, 1, 20, 20), 7, dtype=torch.uint8)
    got = torch_render.render_ohlc(ohlc, 20, 20, out=out, dtype=None)
    assert got is out
    assert torch.equal(out, torch_render.render_ohlc(ohlc, 20, 20, dtype=torch.uint8))
    assert OP.out(ohlc, 20, 20, out=out) is None
    empty = torch_render.render_ohlc(ohlc[:0], 20)
    assert empty.shape == (0, 1, 20, 18)


def test_thread_count_does_not_change_bits():
    data, H, width, kw, _ = _random_case(5)
    ohlc = torch.from_numpy(_random_walk_ohlc(np.random.default_rng(9), 64, 20))
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = torch_render.render_ohlc(ohlc, 64, overlays=ohlc[:, None, :, 3])
        torch.set_num_threads(max(2, n))
        b = torch_render.render_ohlc(ohlc, 64, overlays=ohlc[:, None, :, 3])
    finally:
        torch.set_num_threads(n)
    assert torch.equal(a, b)


# ------------------------------------------------------------------- errors

X = torch.rand(2, 5, 4)

BAD = [
    # (args, kwargs, exception, message)
    ((torch.rand(2, 5), 10), {}, ValueError, "render_ohlc: ohlc must be [B, L, 4] (open, high, low, close), got a tensor of shape [2, 5]"),
    ((torch.rand(2, 5, 3), 10), {}, ValueError, "ohlc must be [B, L, 4]"),
    ((torch.ones(2, 5, 4, dtype=torch.int32), 10), {}, TypeError, "render_ohlc: ohlc must be a floating tensor (float16, bfloat16, float32 or float64), got torch.int32"),
    ((torch.rand(2, 0, 4), 10), {}, ValueError, "ohlc must have at least one bar"),
    ((X, 10), {"volume": torch.rand(2, 4)}, ValueError, "render_ohlc: volume must be [B, L] = [2, 5], got a tensor of shape [2, 4]"),
    ((X, 10), {"volume": torch.ones(2, 5, dtype=torch.int64)}, TypeError, "volume must be a floating tensor"),
    ((X, 10), {"overlays": torch.rand(2, 5)}, ValueError, "render_ohlc: overlays must be [B, M, L] = [2, M, 5], got a tensor of shape [2, 5]"),
    ((X, 10), {"overlays": torch.rand(3, 1, 5)}, ValueError, "overlays must be [B, M, L]"),
    ((X, 10), {"style": "line"}, ValueError, 'render_ohlc: style must be "bar" or "candle", got "line"'),
    ((X, 10), {"bar_width": 0}, ValueError, "render_ohlc: bar_width must be in 1 .. 65536, got 0"),
    ((X, 10), {"volume_rows": -1}, ValueError, "render_ohlc: volume_rows must be >= 0, got -1"),
    ((X, 10), {"volume_rows": 9}, ValueError, "render_ohlc: volume_rows leaves no price rows: height must be >= volume_rows + 2"),
    ((X, 10, 14), {}, ValueError, "render_ohlc: width must be >= L * bar_width = 15, got 14"),
    ((X, 0), {}, ValueError, "render_ohlc: height must be >= 1, got 0"),
    ((X, 10), {"value_range": torch.rand(2, 3)}, ValueError, "render_ohlc: value_range must be [B, 2] = [2, 2], got a tensor of shape [2, 3]"),
    ((X, 10), {"value_range": torch.tensor([[0.0, float("inf")], [0.0, 1.0]])}, ValueError, "render_ohlc: value_range must be finite"),
    ((X, 10), {"scale": torch.ones(2, 1)}, ValueError, "render_ohlc: scale must be [B] = [2], got a tensor of shape [2, 1]"),
    ((X, 10), {"scale": torch.ones(3)}, ValueError, "render_ohlc: scale must be [B] = [2], got a tensor of shape [3]"),
    ((X, 10), {"scale": torch.ones(2, dtype=torch.int64)}, TypeError, "render_ohlc: scale must be a floating tensor (float16, bfloat16, float32 or float64), got torch.int64"),
    ((X, 10), {"background": 2.0, "dtype": torch.uint8}, ValueError, "render_ohlc: background must be in [0, 1] in the output dtype torch.uint8, got 2"),
    ((X, 10), {"foreground": 1e5, "dtype": torch.float16}, ValueError, "render_ohlc: foreground must be finite in the output dtype torch.float16, got 100000"),
    ((X, 10), {"foreground": float("nan")}, ValueError, "foreground must be finite in the output dtype torch.float32, got nan"),
    ((X, 10), {"dtype": torch.int32}, TypeError, "render_ohlc: dtype must be torch.float32, torch.float16, torch.bfloat16, torch.float64 or torch.uint8, got torch.int32"),
]

BAD_OUT = [
    (torch.empty(2, 1, 10, 14), ValueError, "render_ohlc: out must have shape [2, 1, 10, 15], got [2, 1, 10, 14]"),
    (torch.empty(2, 1, 15, 10).transpose(2, 3), ValueError, "render_ohlc: out must be contiguous"),
    (torch.empty(2, 1, 10, 15, dtype=torch.int16), TypeError, "render_ohlc: out.dtype must be torch.float32"),
    (torch.empty(2, 1, 10, 15, requires_grad=True), RuntimeError, "render_ohlc: out must not require grad"),
]


@pytest.mark.parametrize("args, kwargs, exc, msg", BAD, ids=range(len(BAD)))
def test_bad_input_eager_and_fake_agree(args, kwargs, exc, msg):
    with pytest.raises(exc, match=re.escape(msg)):
        OP(*args, **kwargs)
    with pytest.raises(exc, match=re.escape(msg)):
        torch_render.render_ohlc(*args, **kwargs)
    if "value_range must be finite" in msg:
        return  # data-dependent: checked by the real kernel only
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode() as mode:
        fargs = [mode.from_tensor(a) if isinstance(a, torch.Tensor) else a for a in args]
        fkw = {k: mode.from_tensor(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
        with pytest.raises(exc, match=re.escape(msg)):
            OP(*fargs, **fkw)


@pytest.mark.parametrize("out, exc, msg", BAD_OUT, ids=range(len(BAD_OUT)))
def test_bad_out_eager_and_fake_agree(out, exc, msg):
    with pytest.raises(exc, match=re.escape(msg)):
        OP.out(X, 10, out=out)
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode() as mode:
        with pytest.raises(exc, match=re.escape(msg)):
            OP.out(mode.from_tensor(X), 10, out=mode.from_tensor(out))


def test_out_may_not_overlap_inputs():
    buf = torch.zeros(2 * 10 * 15 + 40)
    ohlc = buf[:40].view(2, 5, 4)
    out = buf[20:320].view(2, 1, 10, 15)
    with pytest.raises(RuntimeError, match="render_ohlc: out must not overlap the memory of ohlc"):
        OP.out(ohlc, 10, out=out)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"height": 10.0}, "render_ohlc: height must be an int, got 10.0 of type float"),
        ({"height": "10"}, "render_ohlc: height must be an int, got '10' of type str"),
        ({"height": True}, "render_ohlc: height must be an int, got True of type bool"),
        ({"height": 10, "width": 15.0}, "render_ohlc: width must be an int or None, got 15.0 of type float"),
        ({"height": 10, "bar_width": 3.0}, "render_ohlc: bar_width must be an int, got 3.0 of type float"),
        ({"height": 10, "volume_rows": "2"}, "render_ohlc: volume_rows must be an int, got '2' of type str"),
        ({"height": 10, "style": 1}, "render_ohlc: style must be a str, got 1 of type int"),
        ({"height": 10, "background": "white"}, "render_ohlc: background must be a float, got 'white' of type str"),
        ({"height": 10, "foreground": False}, "render_ohlc: foreground must be a float, got False of type bool"),
        ({"height": 10, "volume": [1.0] * 5}, "render_ohlc: volume must be a Tensor, got [1.0, 1.0, 1.0, 1.0, 1.0] of type list"),
        ({"height": 10, "dtype": "uint8"}, "render_ohlc: dtype must be a torch.dtype or None, got 'uint8' of type str"),
    ],
)
def test_wrong_python_types_are_type_errors(kwargs, msg):
    with pytest.raises(TypeError, match=re.escape(msg)):
        torch_render.render_ohlc(X, **kwargs)


def test_device_mismatch_is_named():
    # The meta device stands in for a second device where no GPU is present.
    with pytest.raises(RuntimeError, match=re.escape("render_ohlc: volume must be on the device of ohlc (cpu), got meta")):
        OP(X, 10, volume=torch.empty(2, 5, device="meta"))
    with pytest.raises(RuntimeError, match=re.escape("render_ohlc: scale must be on the device of ohlc (cpu), got meta")):
        OP(X, 10, scale=torch.ones(2, device="meta"))


# --------------------------------------------------------------- PT2 stack

SAMPLES = [
    ((X, 10), {}),
    ((X, 12, 17), {"volume": torch.rand(2, 5), "volume_rows": 3, "overlays": torch.rand(2, 2, 5),
                   "style": "candle", "bar_width": 3, "dtype": torch.uint8, "background": 0.0, "foreground": 1.0}),
    ((X.double().transpose(0, 1).contiguous().transpose(0, 1), 9), {"value_range": torch.tensor([[0.2, 0.8], [0.8, 0.2]]),
                                                                    "bar_width": 2, "dtype": torch.float16}),
    ((X, 8), {"scale": torch.tensor([0.5, float("nan")]), "overlays": torch.rand(2, 1, 5), "dtype": torch.uint8}),
]


@pytest.mark.parametrize("args, kwargs", SAMPLES, ids=range(len(SAMPLES)))
def test_opcheck(args, kwargs):
    torch.library.opcheck(OP.default, args, kwargs)
    out = OP(*args, **kwargs)
    kw = {k: v for k, v in kwargs.items() if k != "dtype"}
    torch.library.opcheck(OP.out, args, dict(kw, out=torch.empty_like(out)))


def _compiled_fn(x, vol, ma):
    a = torch_render.render_ohlc(x, 16, volume=vol, volume_rows=3, overlays=ma, style="candle")
    b = torch_render.jkx_chart(x, vol, ma)
    return a, b


@pytest.mark.parametrize("backend", ["eager", "aot_eager", "inductor"])
def test_compile_fullgraph(backend):
    torch._dynamo.reset()
    x = torch.from_numpy(_random_walk_ohlc(np.random.default_rng(2), 3, 5)).float()
    vol, ma = torch.rand(3, 5), x[:, None, :, 3].clone()
    compiled = torch.compile(_compiled_fn, backend=backend, fullgraph=True)
    for u, v in zip(compiled(x, vol, ma), _compiled_fn(x, vol, ma)):
        assert u.dtype == v.dtype and torch.equal(u, v)


def test_compile_out_form_is_functionalized():
    torch._dynamo.reset()

    def fn(x, out):
        torch_render.render_ohlc(x, 10, out=out)
        return out + 0

    x = X.clone()
    out = torch.empty(2, 1, 10, 15)
    result = torch.compile(fn, backend="aot_eager", fullgraph=True)(x, out)
    expected = torch_render.render_ohlc(x, 10)
    assert torch.equal(result, expected) and torch.equal(out, expected)


def test_compile_bad_input_raises_the_same_error():
    torch._dynamo.reset()
    compiled = torch.compile(lambda x: torch_render.render_ohlc(x, 10, style="line"), backend="aot_eager", fullgraph=True)
    with pytest.raises(Exception, match=re.escape('render_ohlc: style must be "bar" or "candle", got "line"')):
        compiled(X)


def test_reference_marks_are_not_trivial():
    # Guards the reference itself: random cases do draw, and not everything.
    data, H, width, kw, _ = _random_case(1)
    m = render_ohlc_marks(np.nan_to_num(_random_walk_ohlc(np.random.default_rng(0), 2, 8)), 20)
    assert 0 < m.sum() < m.size


def test_levels_and_volumes_round_half_to_even():
    # P = 5, lo = 0, hi = 8: level(p) = rint(p * 0.5): 1 -> 0, 3 -> 2, 5 -> 2, 7 -> 4
    # (half up would give 1, 2, 3, 4). V = 4, max 8: volume 5 -> 2.5 -> 2 rows, 1 -> 0 -> 1 row.
    closes = [0.0, 1.0, 3.0, 5.0, 7.0, 8.0]
    ohlc = torch.tensor([[[c, c, c, c] for c in closes]])
    volume = torch.tensor([[8.0, 1.0, 0.0, 5.0, float("nan"), 7.0]])
    img = torch_render.render_ohlc(ohlc, 10, volume=volume, volume_rows=4, bar_width=1)[0, 0] == 0.0
    levels = [4 - int(torch.nonzero(img[:5, i])[0]) for i in range(6)]
    assert levels == [0, 0, 2, 2, 4, 4]
    heights = [int(img[6:, i].sum()) for i in range(6)]
    assert heights == [4, 1, 1, 2, 0, 4]  # 7 * 0.5 = 3.5 -> 4


def test_level_operation_order_is_designs():
    # (p - lo) * ((P - 1) / (hi - lo)) = 6.500000000000001 -> level 7; the other
    # order, (p - lo) * (P - 1) / (hi - lo) = 6.5, would give 6.
    ohlc = torch.tensor([[[3.58, 3.58, 3.58, 3.58], [2.67, 6.03, 2.67, 6.03]]], dtype=torch.float64)
    img = torch_render.render_ohlc(ohlc, 25, bar_width=1)[0, 0] == 0.0
    assert torch.nonzero(img[:, 0]).flatten().tolist() == [24 - 7]


def test_out_on_another_device_is_named():
    with pytest.raises(RuntimeError, match=re.escape("render_ohlc: out must be on the device of ohlc (cpu), got meta")):
        OP.out(X, 10, out=torch.empty(2, 1, 10, 15, device="meta"))


# --------------------------------------------------------------------- CUDA

needs_cuda = pytest.mark.skipif(
    not (torch.cuda.is_available() and torch_render.cuda_built()),
    reason="needs a CUDA device and a CUDA build of torch_render",
)


@needs_cuda
@pytest.mark.parametrize("seed", range(30))
def test_cuda_equals_cpu_bit_for_bit(seed):
    data, H, width, kw, _ = _random_case(seed)
    in_dtype = INPUT_DTYPES[seed % len(INPUT_DTYPES)]
    out_dtype = DTYPES[list(DTYPES)[seed % 5]]
    ohlc = torch.from_numpy(data).to(in_dtype)
    tkw = {k: (torch.from_numpy(np.ascontiguousarray(v)).to(in_dtype if k != "value_range" else torch.float64)
               if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    cpu = torch_render.render_ohlc(ohlc, H, width, dtype=out_dtype, **tkw)
    gkw = {k: (v.cuda() if isinstance(v, torch.Tensor) else v) for k, v in tkw.items()}
    gpu = torch_render.render_ohlc(ohlc.cuda(), H, width, dtype=out_dtype, **gkw)
    assert gpu.device.type == "cuda" and torch.equal(gpu.cpu(), cpu)


@needs_cuda
def test_cuda_non_finite_value_range_blanks_the_price_area():
    ohlc = torch.rand(2, 5, 4, device="cuda")
    vr = torch.tensor([[0.0, float("nan")], [0.0, 1.0]], device="cuda")
    img = torch_render.render_ohlc(ohlc, 10, volume=torch.rand(2, 5, device="cuda"), volume_rows=3, value_range=vr)
    assert (img[0, 0, :6] == 1.0).all() and (img[0, 0, 7:] == 0.0).any()
    assert (img[1, 0, :6] == 0.0).any()


class _OhlcModule(torch.nn.Module):
    def forward(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.ops.torch_render.render_ohlc(x, 16, None, volume=v, volume_rows=3, style="candle",
                                                  dtype=torch.uint8)


def test_export_and_torchscript(tmp_path):
    v = torch.rand(2, 5)
    expected = _OhlcModule()(X, v)
    exported = torch.export.export(_OhlcModule(), (X, v))
    assert torch.equal(exported.module()(X, v), expected)
    path = str(tmp_path / "ohlc.pt")
    torch.jit.script(_OhlcModule()).save(path)
    assert torch.equal(torch.jit.load(path)(X, v), expected)


# ----------------------------------------------------------------- OHLCChart


class _Windows(torch.utils.data.Dataset):
    def __init__(self, chart):
        self.chart = chart
        self.data = torch.from_numpy(_random_walk_ohlc(np.random.default_rng(4), 16, 20))
        self.volume = torch.rand(16, 20, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return 16

    def __getitem__(self, i):
        return self.chart(self.data[i], self.volume[i])


def test_ohlc_chart_module(tmp_path):
    chart = torch_render.OHLCChart(40, 70, style="candle", bar_width=3, volume_rows=8, dtype=torch.uint8)
    x = torch.from_numpy(_random_walk_ohlc(np.random.default_rng(8), 4, 20))
    v, ma = torch.rand(4, 20), x[:, None, :, 3]
    batch = chart(x, v, ma)
    assert torch.equal(batch, torch_render.render_ohlc(x, 40, 70, volume=v, overlays=ma, style="candle",
                                                       volume_rows=8, dtype=torch.uint8))
    assert torch.equal(chart(x[1], v[1], ma[1]), batch[1])
    path = str(tmp_path / "chart.pt")
    torch.jit.script(chart).save(path)
    assert torch.equal(torch.jit.load(path)(x, v, ma), batch)
    import pickle

    assert torch.equal(pickle.loads(pickle.dumps(chart))(x, v, ma), batch)
    with pytest.raises(TypeError, match="OHLCChart: bar_width must be an int, got 3.0 of type float"):
        torch_render.OHLCChart(40, bar_width=3.0)
    with pytest.raises(ValueError, match="volume_rows leaves no price rows"):
        torch_render.OHLCChart(10, volume_rows=9)


def test_ohlc_chart_in_dataloader_workers():
    ds = _Windows(torch_render.OHLCChart(32, volume_rows=6, dtype=torch.uint8))
    serial = torch.stack([ds[i] for i in range(len(ds))])
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context="fork")
    assert torch.equal(torch.cat(list(loader)), serial)


def test_output_never_requires_grad():
    x = torch.rand(2, 5, 4, requires_grad=True)
    with torch.enable_grad():
        img = torch_render.render_ohlc(x, 10, overlays=x[:, None, :, 3])
    assert not img.requires_grad and img.grad_fn is None
