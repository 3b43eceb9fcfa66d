"""jkx_chart equal pixel for pixel to a Pillow drawing of the published JKX rules
(tests/ohlc_reference.py: jkx_pillow) on real BTC/USDT windows of ../shared/data."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest
import torch

import torch_render
from conftest import shared_csv
from ohlc_reference import jkx_pillow

pytest.importorskip("PIL")


@pytest.fixture(scope="module")
def ohlcv() -> np.ndarray:
    """[N, 5] open, high, low, close, volume of the bundled file (float64)."""
    path = shared_csv()
    if path is None:
        pytest.skip("no real data in ../shared/data")
    with gzip.open(path, "rt") as f:
        return np.loadtxt(f, delimiter=",", skiprows=1)[:, 1:6]


def _moving_average(close: np.ndarray, n: int) -> np.ndarray:
    """n-bar mean of closes ending at each bar, NaN where fewer than n exist."""
    c = np.concatenate([[0.0], np.cumsum(close)])
    ma = np.full(close.shape, np.nan)
    ma[n - 1:] = (c[n:] - c[:-n]) / n
    return ma


def _windows(ohlcv: np.ndarray, L: int, count: int, seed: int):
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ohlcv) - L, size=count)
    ma = _moving_average(ohlcv[:, 3], L)
    ohlc = np.stack([ohlcv[s:s + L, :4] for s in starts])
    vol = np.stack([ohlcv[s:s + L, 4] for s in starts])
    mas = np.stack([ma[s:s + L] for s in starts])[:, None, :]
    return ohlc, vol, mas


def _compare(ohlc, vol, mas, height=None):
    got = torch_render.jkx_chart(
        torch.from_numpy(ohlc),
        None if vol is None else torch.from_numpy(vol),
        None if mas is None else torch.from_numpy(mas),
        height=height,
    )
    assert got.dtype == torch.uint8
    for b in range(len(ohlc)):
        want = jkx_pillow(ohlc[b], None if vol is None else vol[b], None if mas is None else mas[b], height)
        assert got.shape[1:] == (1,) + want.shape
        diff = np.argwhere(got[b, 0].numpy() != want)
        assert diff.size == 0, f"window {b}: {len(diff)} pixels differ, first (row, col) {diff[0].tolist()}"
    return got


@pytest.mark.parametrize("L", [5, 20, 60])
@pytest.mark.parametrize("with_volume", [False, True])
@pytest.mark.parametrize("with_ma", [False, True])
def test_real_windows(ohlcv, L, with_volume, with_ma):
    ohlc, vol, mas = _windows(ohlcv, L, 48, seed=L)
    got = _compare(ohlc, vol if with_volume else None, mas if with_ma else None)
    H = {5: 32, 20: 64, 60: 96}[L]
    assert got.shape == (48, 1, H, 3 * L)
    assert set(got.unique().tolist()) == {0, 255}


@pytest.mark.parametrize("L", [5, 20, 60])
def test_missing_values_and_zero_volumes(ohlcv, L):
    ohlc, vol, mas = _windows(ohlcv, L, 64, seed=100 + L)
    rng = np.random.default_rng(L)
    for field in range(4):  # missing opens, highs, lows, closes (never the first close)
        hole = rng.random(ohlc.shape[:2]) < 0.1
        if field == 3:
            hole[:, 0] = False
        ohlc[..., field][hole] = np.nan
    mas[rng.random(mas.shape) < 0.15] = np.nan
    vol[rng.random(vol.shape) < 0.1] = np.nan
    vol[rng.random(vol.shape) < 0.1] = 0.0
    vol[:3] = 0.0  # windows without any volume: an empty panel
    _compare(ohlc, vol, mas)


def test_strided_window_views_and_float32(ohlcv):
    series = torch.from_numpy(ohlcv[:500].copy())
    ohlc = series[:, :4].unfold(0, 20, 1).transpose(1, 2)  # [481, 20, 4] view
    vol = series[:, 4].unfold(0, 20, 1)
    got = torch_render.jkx_chart(ohlc, vol)
    want = torch_render.jkx_chart(ohlc.contiguous(), vol.contiguous())
    assert torch.equal(got, want)
    for b in (0, 17, 480):
        assert np.array_equal(got[b, 0].numpy(), jkx_pillow(ohlc[b].numpy(), vol[b].numpy()))
    # float32 prices: the preset reads them exactly (in float64)
    f32 = ohlc[:64].float()
    got32 = torch_render.jkx_chart(f32, vol[:64])
    for b in range(64):
        assert np.array_equal(got32[b, 0].numpy(), jkx_pillow(f32[b].double().numpy(), vol[b].numpy()))


def test_outputs_past_the_cache_are_the_same_images(ohlcv):
    """An output of 8 MiB or more is written with non-temporal stores (the
    bitmask raster's stream_output): the images equal those of batches small
    enough to be written through the cache, on one thread and on two."""
    series = torch.from_numpy(ohlcv[:2400].copy())
    ohlc = series[:, :4].unfold(0, 20, 1).transpose(1, 2)  # [2381, 20, 4]: 9.1 MB of images
    vol = series[:, 4].unfold(0, 20, 1)
    ma = torch.from_numpy(_moving_average(ohlcv[:2400, 3], 20)).unfold(0, 20, 1)[:, None, :]
    assert ohlc.shape[0] * 64 * 60 >= 8 << 20
    chunks = torch.cat([torch_render.jkx_chart(ohlc[i:i + 500], vol[i:i + 500], ma[i:i + 500])
                        for i in range(0, ohlc.shape[0], 500)])
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            assert torch.equal(torch_render.jkx_chart(ohlc, vol, ma), chunks)
            out = torch.full((ohlc.shape[0], 1, 64, 60), 7, dtype=torch.uint8)
            torch_render.jkx_chart(ohlc, vol, ma, out=out)
            assert torch.equal(out, chunks)
    finally:
        torch.set_num_threads(threads)
    for b in (0, 1234, ohlc.shape[0] - 1):
        assert np.array_equal(chunks[b, 0].numpy(), jkx_pillow(ohlc[b].numpy(), vol[b].numpy(), ma[b].numpy()))


def test_other_lengths_need_a_height(ohlcv):
    ohlc, vol, mas = _windows(ohlcv, 10, 8, seed=3)
    with pytest.raises(ValueError, match="jkx_chart: height is required unless L is 5, 20 or 60, got L = 10"):
        torch_render.jkx_chart(torch.from_numpy(ohlc))
    _compare(ohlc, vol, mas, height=48)


def test_preset_is_scale_invariant_only_through_the_first_close(ohlcv):
    # Multiplying a window by 1/close_0 first is what makes a window and its
    # rescaled copy give one image (up to float64 rounding of the product).
    ohlc, vol, _ = _windows(ohlcv, 20, 16, seed=5)
    a = torch_render.jkx_chart(torch.from_numpy(ohlc), torch.from_numpy(vol))
    b = torch_render.jkx_chart(torch.from_numpy(ohlc * 2.0), torch.from_numpy(vol * 3.0))
    assert torch.equal(a, b)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"jkx_chart: ohlc must be \[B, L, 4\]"):
        torch_render.jkx_chart(torch.rand(4, 20))
    with pytest.raises(TypeError, match="jkx_chart: height must be an int or None, got 64.0 of type float"):
        torch_render.jkx_chart(torch.rand(4, 20, 4), height=64.0)
    with pytest.raises(ValueError, match=r"render_ohlc: volume must be \[B, L\]"):
        torch_render.jkx_chart(torch.rand(4, 20, 4), torch.rand(4, 19))


def _pillow_batch(ohlc, vol=None, mas=None, height=None) -> torch.Tensor:
    """[B, 1, H, 3L] uint8: jkx_pillow of each window (the reference, not the op)."""
    return torch.from_numpy(np.stack([
        jkx_pillow(ohlc[b], None if vol is None else vol[b], None if mas is None else mas[b], height)
        for b in range(len(ohlc))
    ]))[:, None]


@pytest.mark.parametrize("out_dtype", [torch.uint8, torch.float32])
def test_out_form(ohlcv, out_dtype):
    ohlc, vol, mas = _windows(ohlcv, 20, 12, seed=21)
    want = _pillow_batch(ohlc, vol, mas)
    if out_dtype != torch.uint8:
        want = (want > 0).to(out_dtype)  # foreground 1.0 on background 0.0
    out = torch.full((12, 1, 64, 60), 7, dtype=out_dtype)
    args = (torch.from_numpy(ohlc), torch.from_numpy(vol), torch.from_numpy(mas))
    got = torch_render.jkx_chart(*args, out=out)
    assert got is out
    assert torch.equal(out, want)
    # dtype may be given when it is out's.
    out.fill_(7)
    assert torch_render.jkx_chart(*args, dtype=out_dtype, out=out) is out and torch.equal(out, want)
    # An explicit height, L = 10: the shape follows it.
    o10, v10, m10 = _windows(ohlcv, 10, 3, seed=22)
    out10 = torch.empty(3, 1, 40, 30, dtype=out_dtype)
    torch_render.jkx_chart(torch.from_numpy(o10), torch.from_numpy(v10), torch.from_numpy(m10), height=40, out=out10)
    want10 = _pillow_batch(o10, v10, m10, height=40)
    assert torch.equal(out10, want10 if out_dtype == torch.uint8 else (want10 > 0).to(out_dtype))


def test_out_form_errors():
    x, v = torch.rand(2, 20, 4) + 1, torch.rand(2, 20)
    ok = torch.empty(2, 1, 64, 60, dtype=torch.uint8)
    with pytest.raises(TypeError, match=re.escape(
            "jkx_chart: dtype and out.dtype must agree, got dtype=torch.float32 and out.dtype=torch.uint8")):
        torch_render.jkx_chart(x, v, dtype=torch.float32, out=ok)
    with pytest.raises(TypeError, match="jkx_chart: out must be a Tensor, got 3 of type int"):
        torch_render.jkx_chart(x, v, out=3)
    with pytest.raises(TypeError, match="jkx_chart: dtype must be a torch.dtype, got 'uint8' of type str"):
        torch_render.jkx_chart(x, v, dtype="uint8")
    # The rest as render_ohlc checks its out: shape, dtype, device, contiguity, grad.
    bad = [
        (torch.empty(2, 1, 64, 61, dtype=torch.uint8), ValueError, "render_ohlc: out must have shape [2, 1, 64, 60], got [2, 1, 64, 61]"),
        (torch.empty(2, 1, 60, 64, dtype=torch.uint8).transpose(2, 3), ValueError, "render_ohlc: out must be contiguous, got strides [3840, 3840, 1, 64]"),
        (torch.empty(2, 1, 64, 60, dtype=torch.int32), TypeError, "render_ohlc: out.dtype must be torch.float32"),
        (torch.empty(2, 1, 64, 60, device="meta"), RuntimeError, "render_ohlc: out must be on the device of ohlc (cpu), got meta"),
        (torch.zeros(2, 1, 64, 60, requires_grad=True), RuntimeError, "render_ohlc: out must not require grad"),
    ]
    for out, exc, msg in bad:
        with pytest.raises(exc, match=re.escape(msg)):
            torch_render.jkx_chart(x, v, out=out)
    with pytest.raises(RuntimeError, match="render_ohlc: out must not overlap the memory of volume"):
        buf = torch.zeros(2 * 64 * 60 + 40)
        torch_render.jkx_chart(x, buf[:40].view(2, 20), out=buf[10:10 + 2 * 64 * 60].view(2, 1, 64, 60))


def _jkx_fn(x, v, ma):
    return torch_render.jkx_chart(x, v, ma)


@pytest.mark.filterwarnings("ignore:`torch\\.jit\\.:DeprecationWarning")
def test_jit_trace(ohlcv, tmp_path):
    ohlc, vol, mas = _windows(ohlcv, 20, 10, seed=23)
    x, v, ma = torch.from_numpy(ohlc), torch.from_numpy(vol), torch.from_numpy(mas)
    want = _pillow_batch(ohlc, vol, mas)
    # The trace specialises on L (the height rule reads it): torch says so.
    with pytest.warns(torch.jit.TracerWarning, match="Python integer"):
        traced = torch.jit.trace(_jkx_fn, (x[:4], v[:4], ma[:4]))
    assert torch.equal(traced(x, v, ma), want)  # another batch size
    path = str(tmp_path / "jkx_traced.pt")
    torch.jit.save(traced, path)
    assert torch.equal(torch.jit.load(path)(x[3:], v[3:], ma[3:]), want[3:])
    # The trace holds L = 20's height: another L keeps 64 rows (documented).
    o5, v5, m5 = (torch.from_numpy(a) for a in _windows(ohlcv, 5, 2, seed=24))
    assert traced(o5, v5, m5).shape == (2, 1, 64, 15)


@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_compile_fullgraph_and_export(ohlcv, backend):
    ohlc, vol, mas = _windows(ohlcv, 20, 6, seed=25)
    x, v, ma = torch.from_numpy(ohlc), torch.from_numpy(vol), torch.from_numpy(mas)
    want = _pillow_batch(ohlc, vol, mas)
    torch._dynamo.reset()
    assert torch.equal(torch.compile(_jkx_fn, backend=backend, fullgraph=True)(x, v, ma), want)

    class Jkx(torch.nn.Module):
        def forward(self, x, v, ma):
            return torch_render.jkx_chart(x, v, ma)

    assert torch.equal(torch.export.export(Jkx(), (x, v, ma)).module()(x, v, ma), want)
    # The out= form compiles too (functionalized).
    out = torch.empty(6, 1, 64, 60, dtype=torch.uint8)
    fn = torch.compile(lambda x, v, ma, out: torch_render.jkx_chart(x, v, ma, out=out), backend=backend, fullgraph=True)
    fn(x, v, ma, out)
    assert torch.equal(out, want)


@pytest.mark.filterwarnings("ignore:`torch\\.jit\\.:DeprecationWarning")
def test_torchscript_is_refused_with_a_reason():
    # Keyword-only arguments with defaults (the contract's signature) do not script.
    with pytest.raises(Exception, match="keyword-only arguments"):
        torch.jit.script(torch_render.jkx_chart)
