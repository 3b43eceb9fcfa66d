"""Read the closes of a kline (candle) file, for the command line.

A thin wrapper over ``torch_render._csv``, the reader that
``torch_render.data.load_klines`` uses too (the same file formats, detection and
messages), that asks for the close column only, so any CSV
with a ``close`` column works here; rows are not checked for order, but each must
be a possible candle in the columns the file has.
"""

from __future__ import annotations

import os
from typing import Union

import torch

from torch_render._csv import _check_prices, _float, _read_table

__all__ = ["read_closes"]

# Column -> (names accepted in a header, index in a Binance row, parser).
_CLOSE = {"close": (("close",), 4, _float)}
_CHECKED = {name: ((name,), i, _float) for i, name in ((1, "open"), (2, "high"), (3, "low"))}


def _check_row(line: int, values: list) -> None:
    close, open_, high, low = values
    _check_prices(open_, high, low, close)


def read_closes(path: Union[str, os.PathLike]) -> torch.Tensor:
    """The close prices of a kline file, in file order.

    Formats (recognised by content, not by the file name):

    - a CSV with a header line that has a ``close`` column (case-insensitive), such
      as ``timestamp,open,high,low,close,volume`` or the header of newer Binance
      files;
    - a Binance kline CSV without a header: 12 fields per line, the close in the
      fifth (``open_time, open, high, low, close, volume, close_time, ...``);
    - either of these gzip-compressed (detected by the gzip magic bytes), or as the
      single CSV inside a ``.zip`` (as in Binance's monthly and daily archives).

    Blank lines (empty or only whitespace) are skipped; nothing else is. Every
    other line, a row of empty fields such as ``,,`` included, must have as many
    fields as the first and a close that parses as a number, or the first bad line
    raises. ``nan``/``inf`` are kept (the renderer draws them as gaps). As in
    ``load_klines``, the prices of each row must be possible: close > 0, and where
    the file has open, high and low columns (a Binance file always has), these
    > 0 too, high >= low and ``low <= open, close <= high``. A header must not name
    a column twice. Rows are not sorted or de-duplicated.

    Args:
        path: the file.

    Returns:
        ``[N]`` float64 tensor on the CPU (N = 0 for a header without rows).

    Raises:
        ValueError: a malformed file, naming the file (and the archive member) and
            the line: wrong field count, a row of empty fields, a close that is not
            a number, a price <= 0, high below low (or below open or close), low
            above open or close, no ``close`` column or a column named twice, a
            corrupt gzip or zip file, a zip archive with no CSV in it, or not
            UTF-8 text.
        OSError: the file cannot be opened.

    Example:
        >>> closes = read_closes("BTCUSDT-1m-2024-01.zip")      # [44640] float64
        >>> windows = closes.unfold(0, 100, 10)                 # [4455, 100] view
    """
    table = _read_table(os.fspath(path), _CLOSE, "a 'close' column", optional=_CHECKED, check=_check_row)
    return torch.tensor(table.columns["close"], dtype=torch.float64)
