"""Kline (candle) files, sliding windows as views, and a dataset of labelled windows.

- :func:`load_klines` reads one file of klines as users have them: a Binance kline
  CSV (12 columns, no header; open time in ms, or µs in newer files) or its monthly
  or daily ``.zip`` archive, or a generic ``timestamp,open,high,low,close,volume``
  CSV with a header; any of them gzip-compressed. It returns a :class:`Klines` of
  tensors and, with ``reindex=True``, puts it on a regular time grid with NaN for
  the missing candles (the renderer draws NaN as a gap).
- :func:`windows` cuts a series into sliding windows as a view (``Tensor.unfold``:
  no copy), ready for ``torch_render.render_line``; :func:`ohlc_windows` does the
  same for the ``[N, 4]`` rows of :attr:`Klines.ohlc`, ready for
  ``torch_render.render_ohlc``.
- :func:`moving_average` is the trailing n-value mean of a long series (window it
  afterwards, so each window's average uses the history before it), and
  :func:`resample` aggregates candles into k-minute bars (missing minutes stay
  missing).
- :func:`future_return_labels` labels each window by the sign (or a class by
  thresholds) of the return over the next ``horizon`` steps.
- :class:`WindowDataset` pairs windows and labels for a ``DataLoader``; it never
  holds images (a transform such as :class:`torch_render.transforms.LineChart`
  renders each sample in the worker, or a batch is rendered on the GPU).

Example:
    >>> k = load_klines("BTCUSDT-1m-2024-01.zip", reindex=True)
    >>> ds = WindowDataset(k.close, length=100, horizon=5, dtype=torch.float32)
    >>> series, label = ds[0]                      # [100] float32, int64 0-d (0 down, 1 up)
    >>> bars = ohlc_windows(k.ohlc, 20)            # [N - 19, 20, 4] view
    >>> volume = windows(k.volume, 20)             # [N - 19, 20] view
    >>> ma = windows(moving_average(k.close, 20), 20)
    >>> images = torch_render.jkx_chart(bars[:256], volume[:256], ma[:256, None])
"""

from __future__ import annotations

import datetime
import math
import operator
import os
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import torch
from torch.utils.data import Dataset

from torch_render._csv import (  # noqa: F401  (KlineError is part of this module's API)
    _KLINE_COLUMNS,
    _KLINE_HEADER,
    _PRICE_COLUMNS,
    KlineError,
    _KlineRowCheck,
    _read_table,
)

__all__ = [
    "KlineError",
    "Klines",
    "load_klines",
    "windows",
    "future_return_labels",
    "WindowDataset",
    "ohlc_windows",
    "moving_average",
    "resample",
    "REINDEX_MAX_ROWS",
]

PathLike = Union[str, os.PathLike]

# The default bound on the rows of ``load_klines(reindex=True)``: ten years of
# minutes, leap days included (3653 days). About 250 MB of float64 columns.
REINDEX_MAX_ROWS = 3653 * 1440


@dataclass(repr=False, eq=False)
class Klines:
    """Candles of one file, oldest first, as CPU tensors of equal length N.

    Attributes:
        timestamp: ``[N]`` int64, the candle open time in unix seconds (UTC),
            strictly increasing.
        open, high, low, close, volume: ``[N]`` float64; NaN where ``reindex=True``
            filled a missing candle.
        path: the file the candles were read from.
    """

    timestamp: torch.Tensor
    open: torch.Tensor
    high: torch.Tensor
    low: torch.Tensor
    close: torch.Tensor
    volume: torch.Tensor
    path: str = ""

    def __len__(self) -> int:
        return self.timestamp.numel()

    @property
    def ohlc(self) -> torch.Tensor:
        """``[N, 4]`` float64 (open, high, low, close), a new contiguous tensor on each
        access (the columns stacked). ``ohlc_windows(k.ohlc, L)`` (or
        ``k.ohlc.unfold(0, L, 1).transpose(1, 2)``) is an ``[N - L + 1, L, 4]`` view of
        it, the ``ohlc`` input of ``torch_render.render_ohlc``."""
        return torch.stack((self.open, self.high, self.low, self.close), dim=1)

    def __repr__(self) -> str:
        if len(self) == 0:
            span = "empty"
        else:
            first, last = (_utc(int(self.timestamp[i])) for i in (0, -1))
            missing = int(self.close.isnan().sum())
            span = f"{first} -> {last}, {missing} NaN close{'s' if missing != 1 else ''}"
        return f"Klines({self.path!r}, {len(self)} rows, {span})"


def load_klines(
    path: PathLike, *, reindex: bool = False, interval: int = 60, max_rows: Optional[int] = REINDEX_MAX_ROWS
) -> Klines:
    """Read a file of 1-minute (or other) klines.

    Formats, recognised by content and not by the file name:

    - a Binance kline CSV without a header: 12 fields per line,
      ``open_time, open, high, low, close, volume, close_time, ...``; the open time
      in milliseconds, or microseconds (Binance spot files from 2025 on);
    - a CSV with a header line naming the columns ``timestamp`` (or ``open_time``,
      ``time``, ``date``, ``datetime``), ``open``, ``high``, ``low``, ``close`` and
      ``volume`` in any order and case (``Open time`` reads as ``open_time``), other
      columns ignored (as
      ``../shared/data/*.csv.gz``, or Binance files with a header). Timestamps are
      integers in seconds, milliseconds or microseconds, or ISO 8601 date-time text
      (UTC unless it has an offset);
    - either of these gzip-compressed (detected by the gzip magic bytes), or as the
      single CSV inside a ``.zip`` (Binance's monthly and daily archives).

    The unit of integer timestamps is detected per file from their magnitude
    (< 1e11: s, < 1e14: ms, < 1e17: µs); a file that mixes units is an error, and so
    is a timestamp that is not a whole second. Prices and volumes parse as floats
    (``nan`` is kept, and so is ``+inf`` where it breaks no rule below; the renderer
    draws them as gaps).

    Blank lines (empty, or only spaces, tabs and the line break) are skipped, and
    still count in the line numbers of messages, which are 1-based as an editor
    shows them. Nothing else is skipped: every other line must be a valid kline or
    :class:`KlineError` is raised at the first bad one, and the file is not read
    past it. A row of empty fields such as ``,,,,,`` or `` , , `` is an error, not
    a blank line. Each row must be a possible candle: open, high, low and close
    > 0, ``high >= low``, ``high >= max(open, close)``, ``low <= min(open, close)``
    and volume >= 0 (comparisons with a NaN pass). A header must not name a
    column twice (case-insensitive; empty header fields are no names).

    Args:
        path: the file.
        reindex: False (default): the rows as they are. True: one row per
            ``interval`` seconds from the first to the last timestamp; the candles
            that the file lacks get NaN in open, high, low, close and volume. Every
            timestamp must then lie on that grid (``(t - t_first) % interval == 0``).
        interval: the grid step in seconds for ``reindex`` (default 60, 1-minute
            candles).
        max_rows: the most rows ``reindex=True`` may make, checked before anything
            is allocated (a stray timestamp years off would otherwise fill
            millions of NaN rows). Default :data:`REINDEX_MAX_ROWS`, ten years of
            minutes (5,260,320 rows, about 250 MB); None: no bound. Without
            ``reindex`` it is not used.

    Returns:
        a :class:`Klines` of ``[N]`` CPU tensors: timestamp int64 (unix seconds),
        open/high/low/close/volume float64. N = 0 for a header without rows.

    Raises:
        KlineError (a ValueError): naming the file (and zip member) and the line: a
            wrong field count, a row of empty fields, a value that is not a number,
            a price <= 0, high below low (or below open or close), low above open
            or close, a negative volume, a missing column or one named twice in the
            header, an unsorted or duplicate timestamp (naming both lines), mixed
            timestamp units, a timestamp off the ``reindex`` grid, a ``reindex``
            span of more than ``max_rows`` rows, a corrupt gzip or zip file, a zip
            archive with no CSV in it, text that is not UTF-8, an empty file.
        ValueError: ``interval`` or ``max_rows`` out of range.
        OSError: the file cannot be opened.

    Example:
        >>> k = load_klines("../shared/data/btcusdt_binance_1m_20230316_20230501.csv.gz")
        >>> len(k), k.timestamp.dtype, k.close.dtype
        (66087, torch.int64, torch.float64)
        >>> len(load_klines(k.path, reindex=True))       # 80 missing minutes as NaN
        66167
    """
    interval = _check_int("load_klines", "interval (seconds)", interval, 1, _INT64_END)
    if max_rows is not None:
        max_rows = _check_int("load_klines", "max_rows", max_rows, 1)
    path = os.fspath(path)
    # Rows off the grid or past max_rows are found while reading, at the first one.
    check = _KlineRowCheck(interval if reindex else None, max_rows)
    table = _read_table(path, _KLINE_COLUMNS, _KLINE_HEADER, check=check)
    timestamp = torch.tensor([seconds for _, seconds in table.columns["timestamp"]], dtype=torch.int64)
    columns = {name: torch.tensor(table.columns[name], dtype=torch.float64) for name in _PRICE_COLUMNS}
    if reindex and timestamp.numel():
        slots = (timestamp - timestamp[0]) // interval
        count = int(slots[-1]) + 1
        timestamp = timestamp[0] + torch.arange(count, dtype=torch.int64) * interval
        for name, values in columns.items():
            full = torch.full((count,), math.nan, dtype=torch.float64)
            full[slots] = values
            columns[name] = full
    return Klines(timestamp=timestamp, path=path, **columns)


def windows(series: torch.Tensor, length: int, step: int = 1) -> torch.Tensor:
    """Sliding windows of a series along its last dimension, as a view (no copy).

    Window n covers ``series[..., n * step : n * step + length]``. The result is a
    strided view of ``series`` (``Tensor.unfold``): it shares its storage, costs no
    memory, and writes to the series show through. ``torch_render.render_line``
    takes it as is; ``.contiguous()`` (or ``torch.stack`` in a DataLoader's
    collate) copies only what is used.

    Args:
        series: ``[T]``, or ``[*, T]`` for several series on the same time axis
            (``[S, T]``: S series drawn in one chart), any dtype and device.
        length: window length L (1 <= L <= T).
        step: distance between window starts (>= 1). Default 1.

    Returns:
        ``[N, L]`` for ``[T]``, or ``[N, *, L]`` for ``[*, T]`` (windows first, so
        ``[S, T]`` gives the ``[B, S, L]`` batch layout of ``render_line``), with
        N = (T - L) // step + 1.

    Example:
        >>> closes = torch.randn(10_000, dtype=torch.float64).cumsum(0)
        >>> w = windows(closes, 100, step=10)          # [991, 100], shares closes' storage
        >>> images = torch_render.render_line(w[:64], 500, 800)
    """
    if not isinstance(series, torch.Tensor) or series.dim() < 1:
        raise ValueError(f"windows: series must be a tensor of at least 1 dimension, got {_describe(series)}")
    length = _check_int("windows", "length", length, 1)
    step = _check_int("windows", "step", step, 1)
    if length > series.shape[-1]:
        raise ValueError(f"windows: length {length} is longer than the series ({series.shape[-1]} points)")
    view = series.unfold(-1, length, step)  # [*, N, L]
    return view.movedim(-2, 0) if series.dim() > 1 else view


def future_return_labels(
    close: torch.Tensor,
    length: int,
    horizon: int,
    *,
    step: int = 1,
    thresholds: Optional[Union[Sequence[float], torch.Tensor]] = None,
) -> torch.Tensor:
    """Label each window of ``windows(close, length, step)`` by its future return.

    For the window that ends at index ``t = n * step + length - 1`` the return is
    ``r = close[t + horizon] / close[t] - 1`` (computed in float64). Only windows
    with a full horizon get a label, so there are
    N = (T - horizon - length) // step + 1 of them (0 if none): label n belongs to
    window n, and the last windows of ``windows(close, length, step)`` have none.

    Classes: with ``thresholds=None`` 1 if ``r > 0`` (up) and 0 otherwise (down or
    flat); with ascending ``thresholds`` ``[q_0, ..., q_{K-1}]`` the class is the
    number of thresholds strictly below r (``torch.bucketize``), 0 to K, so
    ``thresholds=[0.0]`` is the sign. A return that is not finite (a NaN close at
    t or t + horizon, as ``load_klines(reindex=True)`` gives for missing minutes,
    or a zero close) gets -1; :class:`WindowDataset` leaves those windows out.

    Args:
        close: ``[T]`` floating closes.
        length: window length L (1 <= L <= T).
        horizon: steps ahead (>= 1).
        step: distance between window starts (>= 1), as in :func:`windows`.
        thresholds: optional strictly ascending finite return thresholds.

    Returns:
        ``[N]`` int64 on ``close``'s device: 0 .. K (K = 1 without thresholds), or -1.

    Example:
        >>> close = torch.tensor([10.0, 11.0, 10.5, 10.5, 12.0])
        >>> future_return_labels(close, length=2, horizon=1)      # r: -0.045, 0, +0.14
        tensor([0, 0, 1])
        >>> future_return_labels(close, 2, 1, thresholds=[-0.01, 0.01])
        tensor([0, 1, 2])
    """
    if not isinstance(close, torch.Tensor) or close.dim() != 1 or not close.is_floating_point():
        raise ValueError(f"future_return_labels: close must be a 1-D floating tensor, got {_describe(close)}")
    length = _check_int("future_return_labels", "length", length, 1)
    horizon = _check_int("future_return_labels", "horizon", horizon, 1)
    step = _check_int("future_return_labels", "step", step, 1)
    total = close.numel()
    if length > total:
        raise ValueError(f"future_return_labels: length {length} is longer than the series ({total} points)")
    if thresholds is None:
        boundaries = torch.zeros(1, dtype=torch.float64, device=close.device)
    else:
        boundaries = torch.as_tensor(thresholds, dtype=torch.float64, device="cpu").flatten()
        if (
            boundaries.numel() == 0
            or not bool(boundaries.isfinite().all())
            or not bool((boundaries[1:] > boundaries[:-1]).all())
        ):
            raise ValueError(
                "future_return_labels: thresholds must be a non-empty, strictly ascending "
                f"sequence of finite numbers, got {boundaries.tolist()}"
            )
        boundaries = boundaries.to(close.device)
    count = max((total - horizon - length) // step + 1, 0)
    ends = torch.arange(count, device=close.device) * step + (length - 1)
    values = close.to(torch.float64)
    returns = values[ends + horizon] / values[ends] - 1
    labels = torch.bucketize(returns, boundaries)
    return labels.masked_fill_(~returns.isfinite(), -1)


class WindowDataset(Dataset):
    """Sliding windows of a price series with future-return labels, for a DataLoader.

    Item i is ``(window, label)``: the window a view of ``series`` (no copy, unless
    ``dtype`` converts it), the label a 0-d int64 tensor (see
    :func:`future_return_labels`). Windows whose return is not finite (label -1:
    a NaN close at the window's end or at the horizon, e.g. a missing minute of
    ``load_klines(reindex=True)``) are left out, as are the last windows that have
    no full horizon; ``len()`` counts only the items served. Windows with NaN
    inside are kept: the renderer draws them as gaps. No image is ever stored:
    ``transform`` (for example ``LineChart(H, W, batched=False)``) runs per item,
    so DataLoader workers render on the CPU; without it, render whole batches on
    the GPU with ``LineChart`` or ``torch_render.render_line``.

    Args:
        series: ``[T]`` closes, or ``[S, T]`` series drawn together (for example
            close and a moving average), floating.
        length: window length L.
        horizon: label horizon in steps (>= 1).
        step: distance between window starts. Default 1.
        thresholds: return thresholds for classes (default: the sign, 0 down or
            flat, 1 up).
        close: ``[T]`` closes for the labels; defaults to ``series`` when it is 1-D
            and is required when it is 2-D.
        dtype: None (default): windows keep the dtype of ``series`` and stay views;
            a floating dtype (e.g. ``torch.float32``): each window is converted
            when its item is fetched.
        transform: optional callable applied to each window (``[L]`` or ``[S, L]``).

    Example:
        >>> k = load_klines("BTCUSDT-1m-2024-01.zip", reindex=True)
        >>> ds = WindowDataset(k.close, 100, horizon=5, transform=LineChart(224, 224, batched=False))
        >>> loader = DataLoader(ds, batch_size=256, num_workers=4)   # [256, 1, 224, 224], [256]
    """

    def __init__(
        self,
        series: torch.Tensor,
        length: int,
        horizon: int,
        *,
        step: int = 1,
        thresholds: Optional[Union[Sequence[float], torch.Tensor]] = None,
        close: Optional[torch.Tensor] = None,
        dtype: Optional[torch.dtype] = None,
        transform: Optional[Callable[[torch.Tensor], object]] = None,
    ) -> None:
        if not isinstance(series, torch.Tensor) or series.dim() not in (1, 2) or not series.is_floating_point():
            raise ValueError(f"WindowDataset: series must be a [T] or [S, T] floating tensor, got {_describe(series)}")
        if close is None:
            if series.dim() != 1:
                raise ValueError("WindowDataset: close is required when series is [S, T]")
            close = series
        elif not isinstance(close, torch.Tensor) or close.dim() != 1 or close.numel() != series.shape[-1]:
            raise ValueError(
                f"WindowDataset: close must be a [T] tensor with T = {series.shape[-1]}, got {_describe(close)}"
            )
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"WindowDataset: dtype must be None or a floating torch.dtype, got {dtype!r}")
        self.windows = windows(series, length, step)
        labels = future_return_labels(close, length, horizon, step=step, thresholds=thresholds)
        self.indices = (labels >= 0).nonzero().flatten()  # window index of each item
        self.labels = labels[self.indices]  # [len(self)] int64
        self.dtype = dtype
        self.transform = transform

    def __len__(self) -> int:
        return self.indices.numel()

    def __getitem__(self, index: int) -> tuple[object, torch.Tensor]:
        size = len(self)
        if not -size <= index < size:
            raise IndexError(f"WindowDataset: index {index} out of range for {size} items")
        window = self.windows[int(self.indices[index])]
        if self.dtype is not None:
            window = window.to(self.dtype)
        if self.transform is not None:
            window = self.transform(window)
        return window, self.labels[index]

    def __repr__(self) -> str:
        shape = list(self.windows.shape[1:])
        return (
            f"WindowDataset({len(self)} items of {shape} of {len(self.windows)} windows, "
            f"dtype={self.dtype or self.windows.dtype}, transform={self.transform!r})"
        )


def ohlc_windows(ohlc: torch.Tensor, length: int, step: int = 1) -> torch.Tensor:
    """Sliding windows of OHLC rows, as a view (no copy): the ``ohlc`` of ``render_ohlc``.

    Window n covers rows ``n * step .. n * step + length - 1`` of ``ohlc``; the result
    is ``ohlc.unfold(0, length, step).transpose(1, 2)``, a strided view that shares
    the storage of ``ohlc``. Pair it with ``windows(k.volume, length, step)`` and
    ``windows(moving_average(k.close, n), length, step)`` for the same windows'
    volumes and moving averages.

    Args:
        ohlc: ``[T, 4]`` floating tensor (open, high, low, close), e.g.
            :attr:`Klines.ohlc`, any device.
        length: bars per window L (1 <= L <= T).
        step: distance between window starts (>= 1). Default 1.

    Returns:
        ``[N, L, 4]`` view with N = (T - L) // step + 1.

    Raises:
        TypeError: ``ohlc`` not a floating tensor; ``length`` or ``step`` not an int.
        ValueError: ``ohlc`` not ``[T, 4]``; ``length`` or ``step`` < 1; L > T.

    Example:
        >>> k = load_klines("../shared/data/btcusdt_binance_1m_20230316_20230501.csv.gz")
        >>> bars = ohlc_windows(k.ohlc, 20)                 # [66068, 20, 4] view
        >>> images = torch_render.render_ohlc(bars[:256], 64)
    """
    op = "ohlc_windows"
    _check_floating(op, "ohlc", ohlc)
    length = _check_count(op, "length", length)
    step = _check_count(op, "step", step)
    if ohlc.dim() != 2 or ohlc.shape[1] != 4:
        raise ValueError(f"{op}: ohlc must be [T, 4] (open, high, low, close), got shape {list(ohlc.shape)}")
    if length > ohlc.shape[0]:
        raise ValueError(f"{op}: length must be <= T = {ohlc.shape[0]} (the rows of ohlc), got {length}")
    return ohlc.unfold(0, length, step).transpose(1, 2)


def moving_average(close: torch.Tensor, n: int) -> torch.Tensor:
    """Trailing n-value moving average along the last dimension, NaN until n values exist.

    ``out[..., t] = mean(close[..., t - n + 1 : t + 1])`` for ``t >= n - 1`` (the mean
    of n values, computed in float64 and returned in ``close``'s dtype), and NaN for
    ``t < n - 1``. A NaN among the n values makes that mean NaN (so a missing minute
    of ``load_klines(reindex=True)`` blanks the n means that include it); an
    infinite value makes it infinite (or NaN).

    Compute it on the long series and then cut windows of the result (with
    :func:`windows`): each window's moving average then uses the history before the
    window, and its first value is NaN only when fewer than n - 1 values precede
    it in the series. The renderer drops overlay segments with a NaN end, so the
    line starts where the average exists.

    Args:
        close: ``[T]`` or ``[..., T]`` floating tensor (closes), any device.
        n: the number of values averaged (>= 1); n = 1 returns ``close`` converted
            to float64 and back.

    Returns:
        a tensor of ``close``'s shape, dtype and device.

    Raises:
        TypeError: ``close`` not a floating tensor; ``n`` not an int.
        ValueError: ``close`` 0-d; ``n`` < 1.

    Example:
        >>> moving_average(torch.tensor([1.0, 2.0, 3.0, 4.0]), 2)
        tensor([nan, 1.5000, 2.5000, 3.5000])
        >>> k = load_klines("../shared/data/btcusdt_binance_1m_20230316_20230501.csv.gz")
        >>> ma = windows(moving_average(k.close, 20), 20)   # [66068, 20]; NaN only in windows 0-18
    """
    op = "moving_average"
    _check_floating(op, "close", close)
    n = _check_count(op, "n", n)
    if close.dim() < 1:
        raise ValueError(f"{op}: close must have at least 1 dimension ([T] or [..., T]), got a 0-d tensor")
    values = close.to(torch.float64)
    out = torch.full_like(values, math.nan)
    if n <= values.shape[-1]:
        out[..., n - 1 :] = values.unfold(-1, n, 1).mean(dim=-1)
    return out.to(close.dtype)


def resample(klines: Klines, minutes: int, *, max_rows: Optional[int] = REINDEX_MAX_ROWS) -> Klines:
    """Aggregate candles into k-minute bars on a regular grid (k = ``minutes``).

    Bins: a candle with open time t (unix seconds) falls in bin
    ``floor(t / (60 * k))``, i.e. its minute index ``t // 60`` integer-divided by k.
    Bins are so aligned to the unix epoch: 5-minute bars open at :00, :05, ...;
    60-minute bars on the hour; 1440-minute bars at 00:00 UTC. Each bar's
    timestamp is its bin's start ``bin * 60 * k``, whether or not that minute has
    a candle.

    Each bar: open = the open of its first candle, high = the max of the highs,
    low = the min of the lows, close = the close of its last candle, volume = the
    sum of the volumes. Missing data stays missing, never filled from a
    neighbour: the result has one row per bin from the first candle's bin to the
    last's, and a bin without a candle (or whose candles are all NaN) is NaN in
    every column. A partly missing bin (some of its minutes absent, or NaN as
    ``load_klines(reindex=True)`` fills them) is aggregated from the values that
    are there, field by field: NaN values are skipped (open is the first non-NaN
    open in the bin, close the last non-NaN close, high/low/volume over the
    non-NaN values), and a field is NaN only when the bin has no value of it.

    Args:
        klines: candles in time order (strictly increasing timestamps), as
            :func:`load_klines` returns them, with or without ``reindex``.
        minutes: bar length k in minutes (>= 1); 1 puts 1-minute candles on a
            regular minute grid (as ``reindex=True``).
        max_rows: the most rows the result may have, checked before anything is
            allocated (default :data:`REINDEX_MAX_ROWS`); None: no bound.

    Returns:
        a :class:`Klines` (same ``path``) of ``last_bin - first_bin + 1`` rows (0
        for empty ``klines``), float64 columns.

    Raises:
        TypeError: ``klines`` not a :class:`Klines`; ``minutes`` or ``max_rows``
            not an int.
        ValueError: ``minutes`` or ``max_rows`` < 1; columns that are not 1-D of
            equal length, a timestamp that is not int64, timestamps not strictly
            increasing; more than ``max_rows`` bins.

    Example:
        >>> k = load_klines("../shared/data/btcusdt_binance_1m_20230316_20230501.csv.gz")
        >>> k5 = resample(k, 5)                        # 13234 bars; the outage's 16 empty bins are NaN
        >>> bars = ohlc_windows(k5.ohlc, 20)
    """
    op = "resample"
    if not isinstance(klines, Klines):
        raise TypeError(f"{op}: klines must be a torch_render.data.Klines, got {type(klines).__name__}")
    minutes = _check_count(op, "minutes", minutes)
    if max_rows is not None:
        max_rows = _check_count(op, "max_rows", max_rows)
    columns = {name: getattr(klines, name) for name in ("timestamp", *_PRICE_COLUMNS)}
    size = len(klines)
    for name, column in columns.items():
        if not isinstance(column, torch.Tensor) or column.dim() != 1 or column.numel() != size:
            raise ValueError(f"{op}: klines.{name} must be a [N] tensor with N = {size}, got {_describe(column)}")
    timestamp = columns.pop("timestamp")
    if timestamp.dtype != torch.int64:
        raise ValueError(f"{op}: klines.timestamp must be int64 (unix seconds), got {timestamp.dtype}")
    if size > 1 and not bool((timestamp[1:] > timestamp[:-1]).all()):
        raise ValueError(f"{op}: klines.timestamp must be strictly increasing (oldest first), it is not")
    if size == 0:
        return Klines(timestamp=timestamp.clone(), path=klines.path, **{k: v.clone() for k, v in columns.items()})
    seconds = 60 * minutes
    bins = torch.div(timestamp, seconds, rounding_mode="floor")
    slot = bins - bins[0]
    count = int(slot[-1]) + 1
    if max_rows is not None and count > max_rows:
        raise ValueError(
            f"{op}: {minutes}-minute bars from {_utc(int(timestamp[0]))} to {_utc(int(timestamp[-1]))} "
            f"would be {count} rows, more than max_rows={max_rows}; pass a larger max_rows, or None"
        )
    grid = (bins[0] + torch.arange(count, dtype=torch.int64, device=timestamp.device)) * seconds
    out = {name: _aggregate(values.to(torch.float64), slot, count, how)
           for (name, values), how in zip(columns.items(), ("first", "amax", "amin", "last", "sum"))}
    return Klines(timestamp=grid, path=klines.path, **out)


def _aggregate(values: torch.Tensor, slot: torch.Tensor, count: int, how: str) -> torch.Tensor:
    """Per bin (``slot`` of each row, ascending) the first, last, max, min or sum of the
    non-NaN ``values``; NaN for a bin with none."""
    present = ~values.isnan()
    slot, values = slot[present], values[present]
    out = torch.full((count,), math.nan, dtype=torch.float64, device=values.device)
    if how in ("amax", "amin"):
        return out.scatter_reduce_(0, slot, values, how, include_self=False)
    if how == "sum":
        totals = torch.zeros_like(out).index_add_(0, slot, values)
        seen = torch.zeros(count, dtype=torch.bool, device=values.device)
        seen[slot] = True
        return torch.where(seen, totals, out)
    # first / last: the smallest / largest row position per bin, then its value.
    rows = torch.arange(values.numel(), device=values.device)
    pick = torch.full((count,), -1, dtype=torch.int64, device=values.device)
    pick.scatter_reduce_(0, slot, rows, "amin" if how == "first" else "amax", include_self=False)
    return torch.where(pick >= 0, values[pick.clamp(min=0)] if values.numel() else out, out)


_INT64_END = 2**63  # the first integer past int64


def _utc(seconds: int) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_int(op: str, name: str, value: object, low: int, end: Optional[int] = None) -> int:
    """``value`` as an int in ``[low, end)`` (no upper bound for ``end=None``)."""
    try:
        number = operator.index(value)  # int, NumPy integers, 0-d integer tensors; not float
    except TypeError:
        number = None
    if number is None or isinstance(value, bool) or number < low or (end is not None and number >= end):
        bound = "" if end is None else (" and < 2**63" if end == _INT64_END else f" and < {end}")
        raise ValueError(f"{op}: {name} must be an integer >= {low}{bound}, got {value!r}")
    return number


def _check_count(op: str, name: str, value: object, low: int = 1) -> int:
    """``value`` as an int >= ``low``: TypeError for a non-integer (bool, float, str),
    ValueError below ``low``."""
    if isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int, got bool")
    try:
        number = operator.index(value)  # int, NumPy integers; not float
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__}") from None
    if number < low:
        raise ValueError(f"{op}: {name} must be >= {low}, got {number}")
    return number


def _check_floating(op: str, name: str, value: object) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{op}: {name} must be a floating tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{op}: {name} must be a floating tensor, got a {value.dtype} tensor")


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {list(value.shape)}"
    return type(value).__name__
