"""torch_render.data's OHLC helpers: ``Klines.ohlc``, ``ohlc_windows`` (views),
``moving_average`` (trailing mean with history) and ``resample`` (k-minute bars),
each against a plain float64 Python loop, on made-up and on the real BTC minutes."""

from __future__ import annotations

import math
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import loop_moving_average, shared_csv
from torch_render.data import Klines, load_klines, moving_average, ohlc_windows, resample, windows

NAN = float("nan")


@pytest.fixture(scope="module")
def btc() -> Klines:
    path = shared_csv()
    if path is None:
        pytest.skip("no real data: ../shared/data has no *.csv.gz")
    return load_klines(path)


def same(a: list[float], b: list[float], rel: float = 0.0) -> bool:
    """Equal lists of floats, NaN equal to NaN, within ``rel`` relative error."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if math.isnan(x) or math.isnan(y):
            if not (math.isnan(x) and math.isnan(y)):
                return False
        elif abs(x - y) > rel * max(abs(x), abs(y)):
            return False
    return True


# --- Klines.ohlc and ohlc_windows -----------------------------------------------------


def make_klines(rows: list[tuple[int, float, float, float, float, float]]) -> Klines:
    columns = list(zip(*rows)) if rows else [()] * 6
    return Klines(
        timestamp=torch.tensor(columns[0], dtype=torch.int64),
        **{name: torch.tensor(columns[i + 1], dtype=torch.float64)
           for i, name in enumerate(("open", "high", "low", "close", "volume"))},
    )


def test_klines_ohlc_stacks_the_columns():
    k = make_klines([(60 * i, 10.0 + i, 12.0 + i, 9.0 + i, 11.0 + i, float(i)) for i in range(5)])
    ohlc = k.ohlc
    assert ohlc.shape == (5, 4) and ohlc.dtype == torch.float64 and ohlc.is_contiguous()
    assert ohlc.tolist() == [[10.0 + i, 12.0 + i, 9.0 + i, 11.0 + i] for i in range(5)]


def test_ohlc_windows_are_views_in_window_order(btc):
    ohlc = btc.ohlc[:500]
    for length, step in ((20, 1), (5, 3), (60, 7), (500, 1)):
        view = ohlc_windows(ohlc, length, step)
        count = (500 - length) // step + 1
        assert view.shape == (count, length, 4)
        assert view.untyped_storage().data_ptr() == ohlc.untyped_storage().data_ptr()  # no copy
        for n in (0, count // 2, count - 1):
            for j in (0, length - 1):
                assert view[n, j].tolist() == ohlc[n * step + j].tolist()
    # The README's spelling is the same view.
    assert torch.equal(ohlc_windows(ohlc, 20), ohlc.unfold(0, 20, 1).transpose(1, 2))
    view = ohlc_windows(ohlc, 20)
    ohlc[25, 3] = -1.0  # writes show through
    assert view[6, 19, 3] == -1.0 and view[25, 0, 3] == -1.0


def test_ohlc_windows_errors():
    ohlc = torch.rand(30, 4, dtype=torch.float64)
    cases = [
        ((ohlc.tolist(), 5), TypeError, "ohlc_windows: ohlc must be a floating tensor, got list"),
        ((ohlc.long(), 5), TypeError, "ohlc_windows: ohlc must be a floating tensor, got a torch.int64"),
        ((ohlc[:, :3], 5), ValueError, r"ohlc_windows: ohlc must be \[T, 4\] .*got shape \[30, 3\]"),
        ((ohlc[None], 5), ValueError, r"ohlc_windows: ohlc must be \[T, 4\]"),
        ((ohlc, 5.0), TypeError, "ohlc_windows: length must be an int, got float"),
        ((ohlc, True), TypeError, "ohlc_windows: length must be an int, got bool"),
        ((ohlc, 0), ValueError, "ohlc_windows: length must be >= 1, got 0"),
        ((ohlc, 31), ValueError, r"ohlc_windows: length must be <= T = 30 \(the rows of ohlc\), got 31"),
        ((ohlc, 5, 0), ValueError, "ohlc_windows: step must be >= 1, got 0"),
        ((ohlc, 5, "2"), TypeError, "ohlc_windows: step must be an int, got str"),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            ohlc_windows(*args)


# --- moving_average -------------------------------------------------------------------


def test_moving_average_small_example():
    close = torch.tensor([1.0, 2.0, 3.0, 4.0, NAN, 6.0, 7.0, 8.0], dtype=torch.float64)
    got = moving_average(close, 2).tolist()
    assert same(got, [NAN, 1.5, 2.5, 3.5, NAN, NAN, 6.5, 7.5])
    assert same(moving_average(close, 3).tolist(), [NAN, NAN, 2.0, 3.0, NAN, NAN, NAN, 7.0])
    assert same(moving_average(close, 1).tolist(), close.tolist())
    assert moving_average(close, 9).isnan().all()  # fewer than n values anywhere


@pytest.mark.parametrize("n", [1, 2, 5, 20, 37])
def test_moving_average_matches_loop_on_real_closes(btc, n):
    close = btc.close[10_000:12_000].clone()
    close[[3, 500, 501, 1999]] = NAN  # missing minutes
    got = moving_average(close, n)
    assert got.dtype == torch.float64 and got.shape == close.shape
    assert same(got.tolist(), loop_moving_average(close.tolist(), n), rel=1e-14)


def test_moving_average_windows_use_the_history_before_each_window(btc):
    close = btc.close[:400]
    ma = windows(moving_average(close, 20), 20)  # [381, 20], aligned with windows(close, 20)
    reference = loop_moving_average(close.tolist(), 20)
    for w in range(ma.shape[0]):
        expected = reference[w : w + 20]
        assert same(ma[w].tolist(), expected, rel=1e-14)
        # NaN exactly where fewer than 20 closes exist up to that minute.
        assert [math.isnan(x) for x in ma[w].tolist()] == [w + j < 19 for j in range(20)]
    # Window 19 on: no NaN, the first value averages the 19 closes before the window too.
    assert not ma[19:].isnan().any()
    assert ma[100, 0].item() == pytest.approx(sum(close[81:101].tolist()) / 20, rel=1e-14)


def test_moving_average_batched_and_dtypes():
    torch.manual_seed(0)
    series = torch.randn(3, 2, 50, dtype=torch.float64).cumsum(-1) + 100
    got = moving_average(series, 7)
    assert got.shape == series.shape
    for i in range(3):
        for j in range(2):
            assert same(got[i, j].tolist(), loop_moving_average(series[i, j].tolist(), 7), rel=1e-14)
    # float32 in, float32 out: the float64 mean rounded once.
    single = series[0, 0].float()
    got32 = moving_average(single, 7)
    assert got32.dtype == torch.float32
    expected = torch.tensor(loop_moving_average(single.double().tolist(), 7), dtype=torch.float64).float()
    assert torch.equal(got32.isnan(), expected.isnan())
    assert torch.equal(got32[6:], expected[6:])
    # A strided view in, the same values as its contiguous copy.
    view = series[:, 1, ::2]
    assert torch.equal(moving_average(view, 4).isnan(), moving_average(view.contiguous(), 4).isnan())
    assert torch.allclose(moving_average(view, 4), moving_average(view.contiguous(), 4), equal_nan=True)


def test_moving_average_errors():
    close = torch.arange(10, dtype=torch.float64)
    cases = [
        ((close.tolist(), 3), TypeError, "moving_average: close must be a floating tensor, got list"),
        ((close.long(), 3), TypeError, "moving_average: close must be a floating tensor, got a torch.int64"),
        ((close[0], 3), ValueError, "moving_average: close must have at least 1 dimension"),
        ((close, 3.0), TypeError, "moving_average: n must be an int, got float"),
        ((close, None), TypeError, "moving_average: n must be an int, got NoneType"),
        ((close, 0), ValueError, "moving_average: n must be >= 1, got 0"),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            moving_average(*args)


# --- resample -------------------------------------------------------------------------


def loop_resample(k: Klines, minutes: int) -> list[list[float]]:
    """Rows (timestamp, open, high, low, close, volume) of k-minute bars by hand: each
    candle to bin (t // 60) // k, one row per bin from the first to the last, each
    field over the non-NaN values of its bin (NaN if none)."""
    ts = k.timestamp.tolist()
    cols = [getattr(k, name).tolist() for name in ("open", "high", "low", "close", "volume")]
    members: dict[int, list[int]] = {}
    for i, t in enumerate(ts):
        members.setdefault((t // 60) // minutes, []).append(i)
    rows = []
    for b in range(min(members), max(members) + 1):
        fields = [[col[i] for i in members.get(b, []) if not math.isnan(col[i])] for col in cols]
        opens, highs, lows, closes, volumes = fields
        total = 0.0
        for v in volumes:
            total += v
        rows.append([
            float(b * minutes * 60),
            opens[0] if opens else NAN,
            max(highs) if highs else NAN,
            min(lows) if lows else NAN,
            closes[-1] if closes else NAN,
            total if volumes else NAN,
        ])
    return rows


def klines_rows(k: Klines) -> list[list[float]]:
    return [[float(t), *rest] for t, *rest in zip(
        k.timestamp.tolist(), *(getattr(k, n).tolist() for n in ("open", "high", "low", "close", "volume"))
    )]


def assert_rows_equal(got: Klines, expected: list[list[float]]) -> None:
    assert got.timestamp.dtype == torch.int64 and got.close.dtype == torch.float64
    rows = klines_rows(got)
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected):
        assert same(row[:5], want[:5]), (row, want)  # first, last, max and min are exact
        assert same(row[5:], want[5:], rel=1e-14), (row, want)


def test_resample_small_example():
    t0 = 1_700_000_100  # minute index 28_333_335
    rows = [
        (t0, 10.0, 11.0, 9.0, 10.5, 1.0),
        (t0 + 60, 10.5, 12.0, 10.0, 11.0, 2.0),
        (t0 + 120, 11.0, 11.5, 8.0, 9.0, 3.0),
        # minutes t0 + 180 .. t0 + 420 missing
        (t0 + 480, 9.0, 9.5, 8.5, 9.2, 4.0),
    ]
    k = make_klines(rows)
    k5 = resample(k, 5)
    # Minute indexes 28_333_335 .. 28_333_343: bins 5_666_667 (335..339) and 5_666_668 (340..344).
    assert k5.timestamp.tolist() == [5_666_667 * 300, 5_666_668 * 300]
    assert klines_rows(k5)[0][1:] == [10.0, 12.0, 8.0, 9.0, 6.0]
    assert klines_rows(k5)[1][1:] == [9.0, 9.5, 8.5, 9.2, 4.0]  # a partly missing bin
    k2 = resample(k, 2)  # bins 14_166_667 .. 14_166_671; those of minutes 338-341 are empty
    assert len(k2) == 5
    for empty in klines_rows(k2)[2:4]:
        assert all(math.isnan(x) for x in empty[1:])  # empty bins: NaN, not filled
    assert_rows_equal(k2, loop_resample(k, 2))


@pytest.mark.parametrize("minutes", [1, 3, 5, 60, 1440])
def test_resample_real_minutes_matches_loop(btc, minutes):
    part = Klines(**{name: getattr(btc, name)[9_000:13_000] for name in
                     ("timestamp", "open", "high", "low", "close", "volume")}, path=btc.path)
    assert_rows_equal(resample(part, minutes), loop_resample(part, minutes))


def test_resample_whole_file_keeps_the_outage_missing(btc):
    k5 = resample(btc, 5)
    assert len(k5) == 13_234 and k5.path == btc.path
    assert (k5.timestamp % 300 == 0).all() and (k5.timestamp.diff() == 300).all()
    # The 80 missing minutes of 2023-03-24 12:40Z .. 13:59Z are 16 empty bars.
    empty = k5.close.isnan()
    assert int(empty.sum()) == 16
    first_missing = 1679661600  # 2023-03-24T12:40:00Z
    assert k5.timestamp[empty].tolist() == [first_missing + 300 * i for i in range(16)]
    for name in ("open", "high", "low", "volume"):
        assert torch.equal(getattr(k5, name).isnan(), empty)
    # Reindexed input (NaN rows for the gap) gives the same bars.
    reindexed = load_klines(btc.path, reindex=True)
    again = resample(reindexed, 5)
    assert torch.equal(again.timestamp, k5.timestamp)
    for name in ("open", "high", "low", "close", "volume"):
        assert torch.equal(getattr(again, name).nan_to_num(-1.0), getattr(k5, name).nan_to_num(-1.0))
    # 1-minute "bars" are the reindexed file.
    k1 = resample(btc, 1)
    assert torch.equal(k1.timestamp, reindexed.timestamp)
    assert torch.equal(k1.close.nan_to_num(-1.0), reindexed.close.nan_to_num(-1.0))


@settings(max_examples=60, deadline=None)
@given(
    minutes=st.integers(1, 12),
    start=st.integers(-10**6, 10**6),
    steps=st.lists(st.integers(1, 7), min_size=1, max_size=40),
    seed=st.integers(0, 2**32 - 1),
    nan_share=st.sampled_from([0.0, 0.2, 0.6]),
)
def test_resample_matches_loop_with_gaps_and_nans(minutes, start, steps, seed, nan_share):
    rng = random.Random(seed)
    t = start * 60 + rng.choice([0, 0, 17])  # mostly whole minutes, some not
    rows = []
    for step in steps:
        low = rng.uniform(50, 100)
        prices = [low + rng.uniform(0, 5) for _ in range(3)]
        row = [prices[0], max(prices) + 1, low, prices[1], rng.uniform(0, 10)]
        row = [NAN if rng.random() < nan_share else x for x in row]
        rows.append((t, *row))
        t += 60 * step
    k = make_klines(rows)
    assert_rows_equal(resample(k, minutes), loop_resample(k, minutes))


def test_resample_empty_and_errors(tmp_path):
    empty = make_klines([])
    out = resample(empty, 5)
    assert len(out) == 0 and out.timestamp.dtype == torch.int64 and out.close.dtype == torch.float64
    k = make_klines([(0, 1.0, 1.0, 1.0, 1.0, 1.0), (60, 1.0, 1.0, 1.0, 1.0, 1.0)])
    unsorted = make_klines([(60, 1.0, 1.0, 1.0, 1.0, 1.0), (0, 1.0, 1.0, 1.0, 1.0, 1.0)])
    ragged = Klines(timestamp=k.timestamp, open=k.open, high=k.high, low=k.low, close=k.close,
                    volume=k.volume[:1])
    far = make_klines([(0, 1.0, 1.0, 1.0, 1.0, 1.0), (60 * 10**6, 1.0, 1.0, 1.0, 1.0, 1.0)])
    cases = [
        ((k.close, 5), {}, TypeError, "resample: klines must be a torch_render.data.Klines, got Tensor"),
        ((k, 5.0), {}, TypeError, "resample: minutes must be an int, got float"),
        ((k, "5"), {}, TypeError, "resample: minutes must be an int, got str"),
        ((k, 0), {}, ValueError, "resample: minutes must be >= 1, got 0"),
        ((k, 5), {"max_rows": 1.5}, TypeError, "resample: max_rows must be an int, got float"),
        ((k, 5), {"max_rows": 0}, ValueError, "resample: max_rows must be >= 1, got 0"),
        ((unsorted, 5), {}, ValueError, "resample: klines.timestamp must be strictly increasing"),
        ((ragged, 5), {}, ValueError, r"resample: klines.volume must be a \[N\] tensor with N = 2"),
        ((far, 1), {"max_rows": 1000}, ValueError,
         "resample: 1-minute bars .* would be 1000001 rows, more than max_rows=1000"),
    ]
    for args, kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            resample(*args, **kwargs)
    assert len(resample(far, 1, max_rows=None)) == 10**6 + 1
