"""Kline (candle) files, sliding windows as views, and a dataset of labelled windows.

- :func:`load_klines` reads one file of klines as users have them: a Binance kline
  CSV (12 columns, no header; open time in ms, or µs in newer files) or its monthly
  or daily ``.zip`` archive, or a generic ``timestamp,open,high,low,close,volume``
  CSV with a header; any of them gzip-compressed. It returns a :class:`Klines` of
  tensors and, with ``reindex=True``, puts it on a regular time grid with NaN for
  the missing candles (the renderer draws NaN as a gap).
- :func:`windows` cuts a series into sliding windows as a view (``Tensor.unfold``:
  no copy), ready for ``torch_render.render_line``.
- :func:`future_return_labels` labels each window by the sign (or a class by
  thresholds) of the return over the next ``horizon`` steps.
- :class:`WindowDataset` pairs windows and labels for a ``DataLoader``; it never
  holds images (a transform such as :class:`torch_render.transforms.LineChart`
  renders each sample in the worker, or a batch is rendered on the GPU).

Example:
    >>> k = load_klines("BTCUSDT-1m-2024-01.zip", reindex=True)
    >>> ds = WindowDataset(k.close, length=100, horizon=5, dtype=torch.float32)
    >>> series, label = ds[0]                      # [100] float32, int64 0-d (0 down, 1 up)
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

from torch_render._csv import KlineError, _check_prices, _ColumnSpec, _float, _read_table

__all__ = [
    "KlineError",
    "Klines",
    "load_klines",
    "windows",
    "future_return_labels",
    "WindowDataset",
    "REINDEX_MAX_ROWS",
]

PathLike = Union[str, os.PathLike]

_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
# Header names accepted for the open time, in order of preference ("open_time" is
# the header of Binance files that have one).
_TIME_NAMES = ("timestamp", "open_time", "time", "date", "datetime")
_KLINE_HEADER = "columns timestamp (or open_time, time, date, datetime), open, high, low, close, volume"

# Integer timestamps by magnitude: below 1e11 seconds (up to year 5138), below 1e14
# milliseconds, below 1e17 microseconds.
_UNITS = ((10**11, "seconds", 1), (10**14, "milliseconds", 1000), (10**17, "microseconds", 1_000_000))

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


# --- reading files: the row checks and timestamps of load_klines ------------------------

_INT64_END = 2**63  # the first integer past int64


class _KlineRowCheck:
    """The row check of ``load_klines``: one timestamp unit per file, strictly
    increasing timestamps, possible prices and a volume >= 0; with a reindex
    ``interval``, timestamps on its grid and fewer than ``max_rows`` steps (None: no
    bound) after the first."""

    def __init__(self, interval: Optional[int] = None, max_rows: Optional[int] = None) -> None:
        self.interval = interval
        self.max_rows = max_rows
        self.first: Optional[tuple[int, str, int]] = None  # (line, unit, seconds) of the first row
        self.previous: Optional[tuple[int, int]] = None  # (line, seconds) of the last row

    def __call__(self, line: int, values: list) -> None:
        (unit, seconds), open_, high, low, close, volume = values
        if self.first is None:
            self.first = (line, unit, seconds)
        elif unit != self.first[1]:
            raise ValueError(
                f"timestamp is in {unit} but line {self.first[0]}'s is in {self.first[1]}: "
                "mixed timestamp units"
            )
        if self.previous is not None and seconds <= self.previous[1]:
            what = "duplicate timestamp" if seconds == self.previous[1] else "timestamp not after the previous row's"
            raise ValueError(
                f"{what}: {seconds} (line {self.previous[0]} has {self.previous[1]}); rows must be "
                "sorted by strictly increasing open time"
            )
        self.previous = (line, seconds)
        if self.interval is not None:
            first_line, _, first = self.first
            steps, off = divmod(seconds - first, self.interval)
            if off:
                raise ValueError(
                    f"timestamp {seconds} is not on the {self.interval}-second grid that starts at "
                    f"{first} (line {first_line})"
                )
            if self.max_rows is not None and steps >= self.max_rows:
                raise ValueError(
                    f"reindex=True would make more than max_rows={self.max_rows} rows of "
                    f"{self.interval} s: this row is {steps} steps after line {first_line}'s; pass a "
                    "larger max_rows, or max_rows=None, to allow it"
                )
        _check_prices(open_, high, low, close)
        if volume < 0:
            raise ValueError(f"volume must be >= 0, got {volume!r}")


def _timestamp(text: str) -> tuple[str, int]:
    """(unit, unix seconds) of one timestamp; ValueError says what is wrong with it."""
    try:
        raw = int(text)
    except ValueError:
        try:
            moment = datetime.datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"is not an integer (seconds, milliseconds or microseconds) or an ISO 8601 "
                f"date-time: {text!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        since = moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        if since.microseconds:
            raise ValueError(f"is not a whole second: {text!r}") from None
        return "date-time text", since.days * 86400 + since.seconds
    for limit, unit, scale in _UNITS:
        if abs(raw) < limit:
            if raw % scale:
                raise ValueError(f"is not a whole second: {text!r} (read as {unit})")
            return unit, raw // scale
    raise ValueError(f"is out of range (more than 17 digits): {text!r}")


# Column -> (names accepted in a header, index in a Binance row, parser).
_KLINE_COLUMNS: dict[str, _ColumnSpec] = {
    "timestamp": (_TIME_NAMES, 0, _timestamp),
    **{name: ((name,), i + 1, _float) for i, name in enumerate(_PRICE_COLUMNS)},
}


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


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {list(value.shape)}"
    return type(value).__name__
