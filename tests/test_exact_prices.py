"""The image does not depend on the price level (DESIGN §2 "Precision").

The op against ``exact_render_line``, the model in plain float64 with no float32
step and no clamp (tests/reference.py): antialiased pixels within 1e-4, aliased
pixels equal but for at most 1 in 10^4 boundary pixels, at price levels from 1e-6
to 1e9, relative ranges down to 1e-9, near +-1e308, among denormals, with explicit
value ranges, and on real BTC windows at the pipeline's 500x800.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import torch_render
from reference import exact_render_line

TINY = 5e-324  # the smallest positive denormal double


def shape01(seed: int, batch: int, length: int = 100) -> np.ndarray:
    """Random walks scaled to [0, 1] per row, float64."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((batch, length)).cumsum(-1)
    w -= w.min(-1, keepdims=True)
    return w / w.max(-1, keepdims=True)


def assert_close_to_model(series: np.ndarray, height: int, width: int, *, dtype=torch.float64,
                          **kw) -> None:
    got = torch_render.render_line(torch.tensor(series, dtype=dtype), height, width, **kw)
    want = exact_render_line(torch.tensor(series, dtype=dtype).double().numpy(), height, width,
                             **{k: (v.numpy() if isinstance(v, torch.Tensor) else v)
                                for k, v in kw.items()})
    err = np.abs(got.double().numpy() - want)
    assert err.max() <= 1e-4, f"max abs error {err.max():.3g} ({int((err > 1e-4).sum())} pixels)"
    assert (want < 1.0).any(), "the line must be visible"


@pytest.mark.parametrize("level", [1e-6, 1e-3, 1.0, 1.00002, 105_000.37, 1e9])
@pytest.mark.parametrize("relative_range", [1e-1, 2e-4, 1e-6, 1e-9])
def test_antialiased_matches_float64_model_at_any_price_level(level, relative_range):
    series = level * (1.0 + relative_range * shape01(int(level * 7 + 1 / relative_range) % 2**31, 3))
    assert_close_to_model(series, 60, 96)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_narrow_dtypes_are_scaled_in_float64(dtype):
    """Values of every dtype are exact in float64: a quiet window of float32 BTC prices
    is drawn where the model puts those float32 values (one step of 1/128 is 5 px)."""
    if dtype == torch.float32:
        series = 105_000.0 + np.round(shape01(3, 2) * 40.0 * 128.0) / 128.0  # float32-exact
    elif dtype == torch.float16:
        series = 1000.0 + np.round(shape01(4, 2) * 16.0) / 2.0               # float16-exact
    else:
        series = 256.0 + np.round(shape01(5, 2) * 32.0) * 2.0               # bfloat16-exact
    assert_close_to_model(series, 64, 100, dtype=dtype)


def test_near_the_ends_of_the_double_range():
    ramp = np.linspace(0.0, 1.0, 20)[None]
    assert_close_to_model(1e308 + 0.7e308 * ramp, 40, 60)         # 1e308 .. 1.7e308
    assert_close_to_model(-1.7e308 * (1.0 - 2.0 * ramp), 40, 60)   # hi - lo overflows
    assert_close_to_model(-1e308 - 0.7e308 * ramp, 40, 60)


def test_denormal_ramp_is_not_flat():
    series = TINY * np.arange(1, 21, dtype=np.float64)[None]  # 20 distinct denormals
    assert_close_to_model(series, 40, 60)
    img = torch_render.render_line(torch.tensor(series), 40, 60)
    # The first point is on the bottom row, the last on the top row.
    assert img[0, 0, 39, 0] == 0.0 and img[0, 0, 0, 59] == 0.0


def test_explicit_value_range_read_in_float64():
    series = shape01(6, 2, 30) * 2e299 - 1e299
    vr = torch.tensor([[-1e300, 1e300], [-1e299, 1e299]], dtype=torch.float64)
    assert_close_to_model(series, 50, 70, value_range=vr)
    # A 1e-9 range around a 1e9 level, given explicitly.
    series = 1e9 + shape01(7, 1, 30) * 1.0
    vr = torch.tensor([[1e9 - 0.25, 1e9 + 1.25]], dtype=torch.float64)
    assert_close_to_model(series, 50, 70, value_range=vr)


def test_aliased_at_most_one_in_ten_thousand_boundary_pixels_differ():
    differ = 0
    boundary = 0
    for k, (level, rel) in enumerate([(105_000.37, 4e-4), (1.00002, 2e-4), (1e9, 1e-9), (1e-6, 1e-6)]):
        series = level * (1.0 + rel * shape01(100 + k, 4))
        got = torch_render.render_line(torch.tensor(series), 100, 160, antialias=False).numpy()
        want = exact_render_line(series, 100, 160, antialias=False)
        # boundary: pixels whose exact distance lies within half a pixel of the edge
        soft = exact_render_line(series, 100, 160, line_width=2.0)  # d within [0, 2] -> coverage ramp
        boundary += int(((soft > 0.0) & (soft < 1.0)).sum())
        differ += int((got != want).sum())
    assert boundary > 1000
    assert differ <= boundary / 10_000, f"{differ} of {boundary} boundary pixels differ"


def test_real_btc_windows_at_500x800(btc_windows):
    """The pipeline's chart: real one-minute BTC closes (~$28,000, windows as quiet
    as a few dollars) against the float64 model."""
    quiet = np.argsort(np.ptp(btc_windows, axis=1))[:2]  # the two quietest windows
    series = btc_windows[np.concatenate([quiet, [0]])]
    assert_close_to_model(series, 500, 800)
    # Also as a stablecoin-like series: the same shape at 1.0 with a 2e-4 range.
    w = btc_windows[quiet[:1]]
    stable = 1.0 + 2e-4 * (w - w.min()) / np.ptp(w)
    assert_close_to_model(stable, 500, 800)
