"""Shared fixtures: the real BTC/USDT minutes of ../shared/data when present; the
plain-loop moving average the data helpers are checked against."""

from __future__ import annotations

import glob
import gzip
import os

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")


def shared_csv() -> str | None:
    """The bundled Binance 1-minute OHLCV file, or None where ../shared is absent."""
    files = sorted(glob.glob(os.path.join(SHARED_DATA, "*.csv.gz")))
    return files[0] if files else None


def load_closes(path: str) -> np.ndarray:
    """Closes of a `timestamp,open,high,low,close,volume` CSV (gzip or not), float64."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", skiprows=1)
    return table[:, 4]


def loop_moving_average(values: list[float], n: int) -> list[float]:
    """The trailing n-value mean by a plain float64 loop (the reference of
    ``torch_render.data.moving_average``): NaN for the first n - 1 values, and NaN
    wherever a NaN is among the n values (it propagates through the sum)."""
    out = []
    for t in range(len(values)):
        if t < n - 1:
            out.append(float("nan"))
            continue
        total = 0.0
        for x in values[t - n + 1 : t + 1]:
            total += x
        out.append(total / n)
    return out


@pytest.fixture(scope="session")
def btc_closes() -> np.ndarray:
    """All closes of the bundled file; skips (with the reason) where it is absent."""
    path = shared_csv()
    if path is None:
        pytest.skip(f"no real data: {SHARED_DATA} has no *.csv.gz")
    return load_closes(path)


@pytest.fixture(scope="session")
def btc_windows(btc_closes: np.ndarray) -> np.ndarray:
    """64 real 100-minute windows spread over the file, [64, 100] float64."""
    starts = np.linspace(0, len(btc_closes) - 100, 64).astype(np.int64)
    return np.stack([btc_closes[s : s + 100] for s in starts])
