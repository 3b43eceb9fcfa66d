"""torch_render.data: kline files (Binance CSV/zip in ms and µs, generic CSV, gzip),
their errors, reindexing with NaN gaps, windows as views, labels, the dataset and
DataLoader workers (fork and spawn) rendering with LineChart."""

from __future__ import annotations

import datetime
import gzip
import math
import zipfile

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import torch_render
from conftest import load_closes, shared_csv
from torch_render import LineChart
from torch_render._klines import read_closes
from torch_render.data import (
    KlineError,
    Klines,
    WindowDataset,
    future_return_labels,
    load_klines,
    windows,
)

NAN = float("nan")
HEADER = "timestamp,open,high,low,close,volume"

# Three Binance 1-minute klines of 2023-01-01 (open time in ms).
BINANCE_MS = [
    "1672531200000,16541.77,16545.70,16508.39,16529.67,4364.83,1672531259999,7.2e7,5000,2200.1,3.6e7,0",
    "1672531260000,16529.59,16556.80,16525.78,16551.47,3590.06,1672531319999,5.9e7,4800,1900.3,3.1e7,0",
    "1672531320000,16551.47,16559.77,16538.14,16548.19,3646.06,1672531379999,6.0e7,4700,1800.0,3.0e7,0",
]
BINANCE_SECONDS = [1672531200, 1672531260, 1672531320]
BINANCE_OHLCV = [
    [16541.77, 16545.70, 16508.39, 16529.67, 4364.83],
    [16529.59, 16556.80, 16525.78, 16551.47, 3590.06],
    [16551.47, 16559.77, 16538.14, 16548.19, 3646.06],
]
# Newer Binance spot files (2025 on) give open and close times in microseconds.
BINANCE_US = [
    "1735689600000000,93576.00,93610.93,93537.50,93610.93,8.21827,1735689659999999,768978.9,1888,3.2,300000.1,0",
    "1735689660000000,93610.93,93652.00,93606.00,93652.00,5.61183,1735689719999999,525458.6,1302,2.9,270000.0,0",
]


def ohlcv(k: Klines) -> list[list[float]]:
    return torch.stack([k.open, k.high, k.low, k.close, k.volume], dim=1).tolist()


def write(path, text: str):
    path.write_text(text)
    return path


# --- the bundled real file ------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_path() -> str:
    path = shared_csv()
    if path is None:
        pytest.skip("no real data: ../shared/data has no *.csv.gz")
    return path


def utc(text: str) -> int:
    return int(datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc).timestamp())


def test_shared_file(shared_path):
    k = load_klines(shared_path)
    assert len(k) == 66087 and k.path == shared_path
    assert k.timestamp.dtype == torch.int64 and k.close.dtype == torch.float64
    assert bool((k.timestamp.diff() > 0).all())
    assert int(k.timestamp[0]) == utc("2023-03-16T22:15:00") and int(k.timestamp[-1]) == utc("2023-05-01T21:01:00")
    np.testing.assert_array_equal(k.close.numpy(), load_closes(shared_path))
    assert int((k.volume == 0).sum()) == 72  # the flat run of the outage
    assert bool((k.high >= torch.maximum(k.open, k.close)).all())
    assert repr(k).endswith("66087 rows, 2023-03-16T22:15:00Z -> 2023-05-01T21:01:00Z, 0 NaN closes)")


def test_shared_file_reindexed_gap_renders_as_gap(shared_path):
    k = load_klines(shared_path, reindex=True)
    assert len(k) == 66167
    assert torch.equal(k.timestamp, k.timestamp[0] + 60 * torch.arange(66167))
    missing = k.close.isnan()
    assert int(missing.sum()) == 80
    for column in (k.open, k.high, k.low, k.volume):
        assert torch.equal(column.isnan(), missing)
    gap = missing.nonzero().flatten()
    assert torch.equal(gap, gap[0] + torch.arange(80))  # one run of 80 minutes
    assert int(k.timestamp[gap[0]]) == utc("2023-03-24T12:40:00")
    assert int(k.timestamp[gap[-1] + 1]) == utc("2023-03-24T14:00:00")
    assert float(k.close[gap[0] - 1]) == 28080.0  # the end of the flat run

    # A window of 10 minutes, the 80 missing, 10 minutes; x_i = 2 i with W = 199.
    first = int(gap[0]) - 10
    window = k.close[first : first + 100]
    image = LineChart(40, 199)(window)  # line width 3: ink within 2 px of a point
    assert image.shape == (1, 40, 199)
    ink = (image[0] < 1).any(dim=0)
    assert bool(ink[: 2 * 9 + 1].all()) and bool(ink[2 * 90 :].all())  # both sides are drawn
    assert not bool(ink[2 * 9 + 3 : 2 * 90 - 2].any())  # nothing across the gap
    # Without the gap the same points would be joined across the image.
    joined = LineChart(40, 199)(window.nan_to_num(nan=28080.0))
    assert bool((joined[0] < 1).any(dim=0).all())


# --- formats ------------------------------------------------------------------------------


def test_binance_csv_milliseconds(tmp_path):
    path = write(tmp_path / "BTCUSDT-1m-2023-01.csv", "\n".join(BINANCE_MS) + "\n\n")
    k = load_klines(path)
    assert k.timestamp.tolist() == BINANCE_SECONDS and ohlcv(k) == BINANCE_OHLCV
    assert k.path == str(path) and len(k) == 3
    assert torch.equal(read_closes(path), k.close)


def test_binance_csv_microseconds(tmp_path):
    path = write(tmp_path / "BTCUSDT-1m-2025-01.csv", "\r\n".join(BINANCE_US) + "\r\n")
    k = load_klines(path)
    assert k.timestamp.tolist() == [1735689600, 1735689660]
    assert k.close.tolist() == [93610.93, 93652.00] and k.volume.tolist() == [8.21827, 5.61183]


def test_binance_zip(tmp_path):
    path = tmp_path / "BTCUSDT-1m-2023-01.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTCUSDT-1m-2023-01.csv", "\n".join(BINANCE_MS) + "\n")
    k = load_klines(path)
    assert k.timestamp.tolist() == BINANCE_SECONDS and ohlcv(k) == BINANCE_OHLCV

    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.csv", BINANCE_MS[0])
        archive.writestr("b.csv", BINANCE_MS[1])
    with pytest.raises(KlineError, match=r"two\.zip: expected one CSV file in the zip archive, found 2"):
        load_klines(two)


def test_binance_header_and_any_column_order(tmp_path):
    header = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
              "taker_buy_volume,taker_buy_quote_volume,ignore")
    path = write(tmp_path / "with_header.csv", header + "\n" + "\n".join(BINANCE_MS) + "\n")
    k = load_klines(path)
    assert k.timestamp.tolist() == BINANCE_SECONDS and ohlcv(k) == BINANCE_OHLCV

    shuffled = write(tmp_path / "shuffled.csv", "Volume,Close,Low,High,Open,Open time,note\n7,4,1,5,2,60,x\n")
    k = load_klines(shuffled)
    assert k.timestamp.tolist() == [60] and ohlcv(k) == [[2.0, 5.0, 1.0, 4.0, 7.0]]


def test_generic_csv_gzip_detected_by_content(tmp_path):
    text = f"{HEADER}\n1679004900,24899.18,24943.98,24896.29,24934.2,293.13711\n" \
           "1679004960,24935.6,24946.86,24910.48,24933.42,201.9253\n"
    gz = tmp_path / "no_suffix"
    gz.write_bytes(gzip.compress(text.encode()))
    plain = write(tmp_path / "plain.csv", text)
    for path in (gz, plain):
        k = load_klines(path)
        assert k.timestamp.tolist() == [1679004900, 1679004960]
        assert ohlcv(k)[1] == [24935.6, 24946.86, 24910.48, 24933.42, 201.9253]
    assert len(load_klines(write(tmp_path / "empty.csv", HEADER + "\n"))) == 0


def test_generic_csv_timestamp_units(tmp_path):
    for scale in (1, 1000, 1_000_000):
        rows = "".join(f"{t * scale},1,2,0.5,1.5,3\n" for t in BINANCE_SECONDS)
        k = load_klines(write(tmp_path / f"x{scale}.csv", HEADER + "\n" + rows))
        assert k.timestamp.tolist() == BINANCE_SECONDS
    iso = "date,open,high,low,close,volume\n2023-01-01 00:00:00,1,2,0.5,1.5,3\n2023-01-01T01:01:00+01:00,1,2,0.5,1.5,3\n"
    assert load_klines(write(tmp_path / "iso.csv", iso)).timestamp.tolist() == [1672531200, 1672531260]


def test_nan_and_inf_values_are_kept(tmp_path):
    k = load_klines(write(tmp_path / "nan.csv", f"{HEADER}\n60,1,2,0.5,nan,3\n120,1,inf,0.5,1.5,3\n"))
    assert math.isnan(k.close[0]) and math.isinf(k.high[1])


def test_reindex(tmp_path):
    rows = [BINANCE_MS[0], BINANCE_MS[2]]  # the middle minute is missing
    path = write(tmp_path / "gap.csv", "\n".join(rows) + "\n")
    k = load_klines(path, reindex=True)
    assert k.timestamp.tolist() == BINANCE_SECONDS
    assert ohlcv(k)[0] == BINANCE_OHLCV[0] and ohlcv(k)[2] == BINANCE_OHLCV[2]
    assert all(math.isnan(v) for v in ohlcv(k)[1])
    assert len(load_klines(path)) == 2

    hourly = write(tmp_path / "hourly.csv", f"{HEADER}\n1800,1,1,1,1,1\n9000,2,2,2,2,2\n")
    k = load_klines(hourly, reindex=True, interval=3600)
    assert k.timestamp.tolist() == [1800, 5400, 9000] and math.isnan(k.close[1])
    assert len(load_klines(write(tmp_path / "none.csv", HEADER + "\n"), reindex=True)) == 0

    off_grid = write(tmp_path / "off.csv", f"{HEADER}\n0,1,1,1,1,1\n60,1,1,1,1,1\n90,1,1,1,1,1\n")
    with pytest.raises(KlineError, match=r"off\.csv: line 4: timestamp 90 is not on the 60-second grid "
                                         r"that starts at 0 \(line 2\)"):
        load_klines(off_grid, reindex=True)
    assert len(load_klines(off_grid)) == 3  # fine without reindex
    with pytest.raises(ValueError, match="interval"):
        load_klines(off_grid, reindex=True, interval=0)


# --- errors name the file and the line ------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        (f"{HEADER}\n60,1,2,0.5,1.5,3\n120,1,2,x,1.5,3\n", r"bad\.csv: line 3: low is not a number: 'x'"),
        (f"{HEADER}\n60,1,2,0.5,1.5,3\n\n120,1,2,0.5,1.5\n", r"bad\.csv: line 4: expected 6 fields, got 5"),
        (f"{HEADER}\n60,1,2,0.5,1.5,3\n120,1,2,0.5,,3\n", r"bad\.csv: line 3: close is not a number: ''"),
        (f"{HEADER}\n120,1,2,0.5,1.5,3\n60,1,2,0.5,1.5,3\n",
         r"bad\.csv: line 3: timestamp not after the previous row's: 60 \(line 2 has 120\)"),
        (f"{HEADER}\n60,1,2,0.5,1.5,3\n60,1,2,0.5,1.5,4\n",
         r"bad\.csv: line 3: duplicate timestamp: 60 \(line 2 has 60\)"),
        ("timestamp,open,high,low,close\n60,1,2,0.5,1.5\n",
         r"bad\.csv: line 1: the header has no 'volume' column \(expected columns timestamp"),
        ("open,high,low,close,volume\n1,2,0.5,1.5,3\n", r"bad\.csv: line 1: the header has no 'timestamp' column"),
        ("1,2,3\n", r"bad\.csv: line 1: expected a header with columns timestamp .* or a 12-field Binance kline row, got 3"),
        (BINANCE_MS[0] + "\n" + BINANCE_MS[1][:-2] + "\n", r"bad\.csv: line 2: expected 12 fields, got 11"),
        (f"{HEADER}\n1672531200,1,2,0.5,1.5,3\n1672531260000,1,2,0.5,1.5,3\n",
         r"bad\.csv: line 3: timestamp is in milliseconds but line 2's is in seconds: mixed timestamp units"),
        (f"{HEADER}\n1672531200123,1,2,0.5,1.5,3\n",
         r"bad\.csv: line 2: timestamp is not a whole second: '1672531200123' \(read as milliseconds\)"),
        (f"{HEADER}\nyesterday,1,2,0.5,1.5,3\n", r"bad\.csv: line 2: timestamp is not an integer .*'yesterday'"),
        (f"{HEADER}\n1e9,1,2,0.5,1.5,3\n", r"bad\.csv: line 2: timestamp is not an integer"),
        (f"{HEADER}\n123456789012345678,1,2,0.5,1.5,3\n", r"bad\.csv: line 2: timestamp is out of range"),
        ("", r"bad\.csv: no data \(empty file\)"),
        ("\n\n", r"bad\.csv: no data \(empty file\)"),
    ],
)
def test_malformed_files(tmp_path, text, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(KlineError, match=message):
        load_klines(path)


def test_errors_name_zip_member_and_first_bad_line(tmp_path):
    bad = tmp_path / "bad.zip"
    rows = [BINANCE_MS[0], BINANCE_MS[1].replace("16551.47", "oops", 1), BINANCE_MS[2][:-2]]
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("x.csv", "\n".join(rows) + "\n")
    with pytest.raises(KlineError, match=r"bad\.zip \(x\.csv\): line 2: close is not a number: 'oops'"):
        load_klines(bad)
    assert issubclass(KlineError, ValueError)


def test_corrupt_gzip_and_not_utf8(tmp_path):
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress((HEADER + "\n" + "60,1,2,0.5,1.5,3\n" * 1000).encode())[:40])
    with pytest.raises(KlineError, match=r"cut\.csv\.gz: corrupt compressed file"):
        load_klines(cut)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + b"\n60,1,2,0.5,1.5,3\xe9\n")
    with pytest.raises(KlineError, match=r"latin\.csv: not a UTF-8 text file"):
        load_klines(latin)


# --- windows and labels ------------------------------------------------------------------


def test_windows_are_views():
    closes = torch.arange(20, dtype=torch.float64)
    w = windows(closes, 5, step=3)
    assert w.shape == (6, 5)  # (20 - 5) // 3 + 1
    assert w._base is closes and w.untyped_storage().data_ptr() == closes.untyped_storage().data_ptr()
    assert w.stride() == (3, 1)
    assert w[2].tolist() == [6, 7, 8, 9, 10]
    closes[7] = -1.0  # writes show through: nothing was copied
    assert w[2, 1] == -1.0 and w[1, 4] == -1.0

    stacked = torch.stack([torch.arange(10.0), 100 + torch.arange(10.0)])  # [S=2, T=10]
    ws = windows(stacked, 4, 2)
    assert ws.shape == (4, 2, 4)  # [N, S, L], the [B, S, L] layout of render_line
    assert ws.untyped_storage().data_ptr() == stacked.untyped_storage().data_ptr()
    assert ws[1].tolist() == [[2, 3, 4, 5], [102, 103, 104, 105]]
    assert windows(closes, 20).shape == (1, 20)


def test_windows_errors():
    with pytest.raises(ValueError, match="windows: length 11 is longer than the series"):
        windows(torch.zeros(10), 11)
    with pytest.raises(ValueError, match="windows: step must be an integer >= 1"):
        windows(torch.zeros(10), 2, 0)
    with pytest.raises(ValueError, match="windows: length must be an integer >= 1"):
        windows(torch.zeros(10), 2.0)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        windows(torch.tensor(1.0), 1)


CLOSE = torch.tensor([10.0, 11.0, 10.5, 10.5, 12.0, 11.0, NAN, 13.0], dtype=torch.float64)


def hand_labels(close: list[float], length: int, horizon: int, step: int, thresholds=None) -> list[int]:
    labels = []
    t = length - 1
    while t + horizon < len(close):
        r = close[t + horizon] / close[t] - 1
        if not math.isfinite(r):
            labels.append(-1)
        elif thresholds is None:
            labels.append(1 if r > 0 else 0)
        else:
            labels.append(sum(q < r for q in thresholds))
        t += step
    return labels


def test_future_return_labels():
    assert future_return_labels(CLOSE, 2, 2).tolist() == [0, 1, 1, -1, 1]
    assert future_return_labels(CLOSE, 2, 2, thresholds=[-0.05, 0.05]).tolist() == [1, 2, 1, -1, 2]
    assert future_return_labels(CLOSE, 2, 2, step=2).tolist() == [0, 1, 1]
    assert future_return_labels(CLOSE, 3, 1).tolist() == [0, 1, 0, -1, -1]  # flat (10.5 -> 10.5) is 0
    assert future_return_labels(CLOSE, 6, 2).tolist() == [1] and future_return_labels(CLOSE, 7, 1).tolist() == [-1]
    assert future_return_labels(CLOSE, 7, 2).numel() == 0  # no window has a full horizon
    gen = torch.Generator().manual_seed(1)
    close = torch.randn(300, generator=gen, dtype=torch.float64).mul(0.01).cumsum(0).exp() * 100
    close[[50, 51, 120]] = NAN
    for length, horizon, step, thresholds in [(20, 5, 1, None), (30, 1, 7, None), (10, 15, 3, [-0.01, 0.0, 0.02])]:
        labels = future_return_labels(close, length, horizon, step=step, thresholds=thresholds)
        assert labels.dtype == torch.int64
        assert labels.tolist() == hand_labels(close.tolist(), length, horizon, step, thresholds)
        assert len(labels) <= len(windows(close, length, step))
    assert future_return_labels(close.float(), 20, 5).tolist() == future_return_labels(close, 20, 5).tolist()


def test_future_return_labels_errors():
    with pytest.raises(ValueError, match="thresholds must be a non-empty, strictly ascending"):
        future_return_labels(CLOSE, 2, 1, thresholds=[0.1, -0.1])
    with pytest.raises(ValueError, match="thresholds"):
        future_return_labels(CLOSE, 2, 1, thresholds=[])
    with pytest.raises(ValueError, match="horizon must be an integer >= 1"):
        future_return_labels(CLOSE, 2, 0)
    with pytest.raises(ValueError, match="close must be a 1-D floating tensor"):
        future_return_labels(torch.arange(5), 2, 1)


# --- the dataset ------------------------------------------------------------------------


def test_window_dataset():
    ds = WindowDataset(CLOSE, 2, horizon=2)
    assert len(ds) == 4  # 7 windows, 5 with a full horizon, 1 with a NaN return
    assert ds.indices.tolist() == [0, 1, 2, 4] and ds.labels.tolist() == [0, 1, 1, 1]
    items = [ds[i] for i in range(len(ds))]
    for (window, label), start, expected in zip(items, [0, 1, 2, 4], [0, 1, 1, 1]):
        assert window.tolist() == CLOSE[start : start + 2].tolist()
        assert window.untyped_storage().data_ptr() == CLOSE.untyped_storage().data_ptr()  # a view
        assert label.dtype == torch.int64 and label.dim() == 0 and int(label) == expected
    assert ds[-1][0].tolist() == [12.0, 11.0]
    with pytest.raises(IndexError):
        ds[4]
    assert list(ds)[0][0].tolist() == [10.0, 11.0]  # iteration stops at the end

    as32 = WindowDataset(CLOSE, 2, horizon=2, dtype=torch.float32)
    window, _ = as32[1]
    assert window.dtype == torch.float32 and window.tolist() == [11.0, 10.5]

    stacked = torch.stack([CLOSE, CLOSE * 2])
    multi = WindowDataset(stacked, 3, horizon=1, close=CLOSE, transform=LineChart(8, 12, batched=False))
    image, label = multi[0]
    assert image.shape == (1, 8, 12) and int(label) == future_return_labels(CLOSE, 3, 1)[0]
    assert "WindowDataset(" in repr(multi)
    with pytest.raises(ValueError, match="close is required"):
        WindowDataset(stacked, 3, horizon=1)
    with pytest.raises(TypeError, match="dtype"):
        WindowDataset(CLOSE, 3, horizon=1, dtype=torch.int64)


def test_window_dataset_shared_file(shared_path):
    k = load_klines(shared_path, reindex=True)
    ds = WindowDataset(k.close, 100, horizon=5)
    # 66068 windows, 66063 with a full horizon; 85 end on or 5 before a missing minute.
    assert len(ds.windows) == 66068 and len(ds) == 66063 - 85
    assert int(ds.labels.min()) == 0 and int(ds.labels.max()) == 1
    window, label = ds[len(ds) // 2]
    assert window.shape == (100,) and window.untyped_storage().data_ptr() == k.close.untyped_storage().data_ptr()


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_workers_render_with_line_chart(context):
    gen = torch.Generator().manual_seed(3)
    close = torch.randn(36, generator=gen, dtype=torch.float64).cumsum(0) + 100
    ds = WindowDataset(close, 20, horizon=1, dtype=torch.float32, transform=LineChart(32, 48, batched=False))
    assert len(ds) == 16
    loader = DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context=context)
    batches = list(loader)
    assert len(batches) == 4
    expected_images = LineChart(32, 48)(windows(close, 20)[:16].float())  # one batched call
    for i, (images, labels) in enumerate(batches):
        assert images.shape == (4, 1, 32, 48) and labels.dtype == torch.int64
        assert torch.equal(images, expected_images[4 * i : 4 * i + 4])
        assert torch.equal(labels, ds.labels[4 * i : 4 * i + 4])
    assert torch.equal(expected_images, torch_render.render_line(windows(close, 20)[:16].float(), 32, 48))


# --- issue 11: rows of empty fields, impossible prices, duplicate columns, empty
# archives and unbounded reindexing are errors, not silently skipped or allocated ----------

GOOD = "60,1,2,0.5,1.5,3"
LATER = "120,1,2,0.5,1.5,3"


@pytest.mark.parametrize(
    "row, message",
    [
        (",,", r"line 3: expected 6 fields, got 3"),
        (",,,,,", r"line 3: expected 6 values, got a row of 6 empty fields: ',,,,,'"),
        (" , , ", r"line 3: expected 6 fields, got 3"),
        (" , , , , , ", r"line 3: expected 6 values, got a row of 6 empty fields: ' , , , , , '"),
        ('""', r"line 3: expected 6 fields, got 1"),  # a quoted empty field is not a blank line
        (",", r"line 3: expected 6 fields, got 2"),
    ],
)
def test_rows_of_empty_fields_are_errors(tmp_path, row, message):
    path = write(tmp_path / "holes.csv", f"{HEADER}\n{GOOD}\n{row}\n{LATER}\n")
    with pytest.raises(KlineError, match=r"holes\.csv: " + message):
        load_klines(path)
    with pytest.raises(ValueError, match=r"holes\.csv: " + message):
        read_closes(path)  # the command line's reader


def test_rows_of_empty_fields_binance_and_zip(tmp_path):
    empty = "," * 11
    path = write(tmp_path / "b.csv", "\n".join([BINANCE_MS[0], BINANCE_MS[1], empty, BINANCE_MS[2]]) + "\n")
    expected = r"b\.csv: line 3: expected 12 values, got a row of 12 empty fields"
    with pytest.raises(KlineError, match=expected):
        load_klines(path)
    with pytest.raises(ValueError, match=expected):
        read_closes(path)
    archive_path = tmp_path / "b.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("b.csv", "\r\n".join([BINANCE_MS[0], " ,  ,", BINANCE_MS[1]]) + "\r\n")
    with pytest.raises(KlineError, match=r"b\.zip \(b\.csv\): line 2: expected 12 fields, got 3"):
        load_klines(archive_path)


def test_blank_lines_are_skipped_and_counted(tmp_path):
    # Empty or whitespace-only lines (spaces, tabs, CR) are skipped, but still count
    # in the line numbers of later errors, as an editor shows them.
    text = f"\n  \n{HEADER}\n\t\n{GOOD}\n   \r\n\n{LATER}\n \n"
    k = load_klines(write(tmp_path / "blank.csv", text))
    assert k.timestamp.tolist() == [60, 120] and ohlcv(k) == [[1, 2, 0.5, 1.5, 3]] * 2
    assert read_closes(tmp_path / "blank.csv").tolist() == [1.5, 1.5]
    bad = write(tmp_path / "blank_bad.csv", text + "\t\n180,1,2,0.5,x,3\n")
    with pytest.raises(KlineError, match=r"blank_bad\.csv: line 11: close is not a number: 'x'"):
        load_klines(bad)
    crlf = write(tmp_path / "crlf.csv", f"{HEADER}\r\n\r\n{GOOD}\r\n,,,,,\r\n{LATER}\r\n")
    with pytest.raises(KlineError, match=r"crlf\.csv: line 4: expected 6 values, got a row of 6 empty"):
        load_klines(crlf)


def test_multiline_record_error_names_its_first_line(tmp_path):
    path = write(tmp_path / "quoted.csv", f'{HEADER}\n{GOOD}\n120,"1\n\n2",2,0.5,1.5,3\n')
    with pytest.raises(KlineError, match=r"quoted\.csv: line 3: open is not a number: '1\\n\\n2'"):
        load_klines(path)


@pytest.mark.parametrize(
    "row, message",
    [
        ("120,1,0.5,2,1.5,3", r"line 3: high 0\.5 is below low 2\.0"),
        ("120,3,2,0.5,1.5,3", r"line 3: high 2\.0 is below open 3\.0"),
        ("120,1,2,0.5,2.5,3", r"line 3: high 2\.0 is below close 2\.5"),
        ("120,0.4,2,0.5,1.5,3", r"line 3: low 0\.5 is above open 0\.4"),
        ("120,1,2,0.5,0.25,3", r"line 3: low 0\.5 is above close 0\.25"),
        ("120,0,2,0.5,1.5,3", r"line 3: open must be a price > 0, got 0\.0"),
        ("120,1,2,-0.5,1.5,3", r"line 3: low must be a price > 0, got -0\.5"),
        ("120,1,2,0.5,-0.0,3", r"line 3: close must be a price > 0, got -0\.0"),
        ("120,1,2,-inf,1.5,3", r"line 3: low must be a price > 0, got -inf"),
        ("120,-1,-0.5,-2,-1.5,3", r"line 3: open must be a price > 0, got -1\.0"),
        ("120,1,2,0.5,1.5,-3", r"line 3: volume must be >= 0, got -3\.0"),
    ],
)
def test_impossible_prices_are_errors(tmp_path, row, message):
    path = write(tmp_path / "prices.csv", f"{HEADER}\n{GOOD}\n{row}\n{LATER}\n")
    with pytest.raises(KlineError, match=r"prices\.csv: " + message):
        load_klines(path)


def test_impossible_prices_command_line_reader(tmp_path):
    # read_closes checks the columns it finds: close always, open/high/low if present.
    below = write(tmp_path / "below.csv", f"{HEADER}\n{GOOD}\n120,1,0.5,2,1.5,3\n")
    with pytest.raises(ValueError, match=r"below\.csv: line 3: high 0\.5 is below low 2\.0"):
        read_closes(below)
    zero = write(tmp_path / "zero.csv", "close\n1.5\n0\n")
    with pytest.raises(ValueError, match=r"zero\.csv: line 3: close must be a price > 0, got 0\.0"):
        read_closes(zero)
    binance = write(tmp_path / "b.csv", BINANCE_MS[0] + "\n" + BINANCE_MS[1].replace("16525.78", "16600", 1) + "\n")
    with pytest.raises(ValueError, match=r"b\.csv: line 2: high 16556\.8 is below low 16600\.0"):
        read_closes(binance)
    assert read_closes(write(tmp_path / "ok.csv", "close,open\n2,1\nnan,1\n")).tolist()[0] == 2.0


def test_nan_prices_are_not_compared(tmp_path):
    k = load_klines(write(tmp_path / "nan.csv", f"{HEADER}\n60,nan,nan,nan,nan,nan\n120,1,nan,0.5,1.5,3\n"))
    assert math.isnan(k.open[0]) and math.isnan(k.high[1]) and k.low[1] == 0.5


@pytest.mark.parametrize(
    "header, message",
    [
        ("timestamp,open,high,low,close,close,volume", r"'close' twice \(fields 5 and 6\)"),
        ("timestamp,open,high,low,Close,volume,close", r"'close' twice \(fields 5 and 7\)"),
        ("timestamp,open,high,low,close,volume,Timestamp", r"'timestamp' twice \(fields 1 and 7\)"),
        ("timestamp,open,high,low,close,volume,note,note", r"'note' twice \(fields 7 and 8\)"),
    ],
)
def test_duplicate_header_columns_are_errors(tmp_path, header, message):
    fields = header.count(",") + 1
    row = ",".join(["60", "1", "2", "0.5", "1.5", "3"] + ["1.5"] * (fields - 6))
    path = write(tmp_path / "dup.csv", f"{header}\n{row}\n")
    with pytest.raises(KlineError, match=r"dup\.csv: line 1: the header names the column " + message):
        load_klines(path)
    with pytest.raises(ValueError, match=r"dup\.csv: line 1: the header names the column " + message):
        read_closes(path)
    # Unnamed columns (empty header fields) are not names, and may repeat.
    ok = write(tmp_path / "unnamed.csv", f"{HEADER},,\n60,1,2,0.5,1.5,3,x,y\n")
    assert load_klines(ok).timestamp.tolist() == [60]


def test_zip_without_csv(tmp_path):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    with pytest.raises(KlineError, match=r"empty\.zip: no CSV file in the zip archive \(it is empty\)"):
        load_klines(empty)
    with pytest.raises(ValueError, match=r"empty\.zip: no CSV file in the zip archive"):
        read_closes(empty)

    folder = tmp_path / "folder.zip"
    with zipfile.ZipFile(folder, "w") as archive:
        archive.writestr("data/", "")
    with pytest.raises(KlineError, match=r"folder\.zip: no CSV file in the zip archive \(it is empty\)"):
        load_klines(folder)

    others = tmp_path / "others.zip"
    with zipfile.ZipFile(others, "w") as archive:
        archive.writestr("README.txt", "hello")
        archive.writestr("data.json", "{}")
    with pytest.raises(KlineError, match=r"others\.zip: no CSV file in the zip archive \(it has 2 files: "
                                         r"'README\.txt', 'data\.json'\)"):
        load_klines(others)

    # A single member is read whatever its name, as before.
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w") as archive:
        archive.writestr("BTCUSDT-1m-2023-01", "\n".join(BINANCE_MS) + "\n")
    assert load_klines(one).timestamp.tolist() == BINANCE_SECONDS


def test_reindex_span_is_bounded(tmp_path):
    # Two rows 20 years apart: 10.5 million minutes. Refused before any allocation.
    twenty_years = 20 * 365 * 86400
    far = write(tmp_path / "far.csv", f"{HEADER}\n0,1,2,0.5,1.5,3\n{twenty_years},1,2,0.5,1.5,3\n")
    with pytest.raises(KlineError, match=r"far\.csv: line 3: reindex=True would make more than "
                                         r"max_rows=5260320 rows of 60 s: this row is 10512000 steps "
                                         r"after line 2's; pass a larger max_rows, or max_rows=None"):
        load_klines(far, reindex=True)
    assert len(load_klines(far)) == 2  # fine without reindex

    # Ten years of minutes (with leap days) is the default bound; the bound counts rows.
    path = write(tmp_path / "gap.csv", f"{HEADER}\n0,1,2,0.5,1.5,3\n60,1,2,0.5,1.5,3\n240,1,2,0.5,1.5,3\n")
    assert len(load_klines(path, reindex=True, max_rows=5)) == 5
    with pytest.raises(KlineError, match=r"gap\.csv: line 4: reindex=True would make more than "
                                         r"max_rows=4 rows of 60 s: this row is 4 steps after line 2's"):
        load_klines(path, reindex=True, max_rows=4)
    assert len(load_klines(path, reindex=True, max_rows=None)) == 5
    hourly = load_klines(path, reindex=True, interval=20, max_rows=13)
    assert len(hourly) == 13 and int(hourly.close.isnan().sum()) == 10
    assert len(load_klines(path, max_rows=1)) == 3  # only reindexing is bounded
    for bad in (0, -1, 2.5, "5", True):
        with pytest.raises(ValueError, match="max_rows"):
            load_klines(path, reindex=True, max_rows=bad)


def test_reindex_interval_beyond_int64(tmp_path):
    path = write(tmp_path / "one.csv", f"{HEADER}\n{GOOD}\n")
    with pytest.raises(ValueError, match=r"load_klines: interval \(seconds\) must be an integer >= 1 and < 2\*\*63"):
        load_klines(path, reindex=True, interval=2**63)


def test_first_bad_line_wins_and_nothing_after_it_is_read(tmp_path):
    # Row checks run while reading: an error names the first bad line, whatever its
    # kind, even where a later line is malformed too.
    unsorted = write(tmp_path / "u.csv", f"{HEADER}\n{LATER}\n{GOOD}\n180,1,2,0.5,oops,3\n")
    with pytest.raises(KlineError, match=r"u\.csv: line 3: timestamp not after the previous row's"):
        load_klines(unsorted)
    off_grid = write(tmp_path / "g.csv", f"{HEADER}\n{GOOD}\n90,1,2,0.5,1.5,3\n180,1,2,0.5,oops,3\n")
    with pytest.raises(KlineError, match=r"g\.csv: line 3: timestamp 90 is not on the 60-second grid"):
        load_klines(off_grid, reindex=True)
    with pytest.raises(KlineError, match=r"g\.csv: line 4: close is not a number: 'oops'"):
        load_klines(off_grid)
    far = write(tmp_path / "f.csv", f"{HEADER}\n{GOOD}\n{LATER}\n999999960,1,2,0.5,1.5,3\n1,,\n")
    with pytest.raises(KlineError, match=r"f\.csv: line 4: reindex=True would make more than max_rows=100 "):
        load_klines(far, reindex=True, max_rows=100)
    mixed = write(tmp_path / "m.csv", f"{HEADER}\n{GOOD}\n120000000000,1,2,0.5,1.5,3\n180,1,0.5,2,1.5,3\n")
    with pytest.raises(KlineError, match=r"m\.csv: line 3: timestamp is in milliseconds but line 2's"):
        load_klines(mixed)
