"""Read the closes of a kline (candle) file, for the command line.

A thin wrapper over the reader of ``torch_render.data.load_klines`` (the same file
formats, detection and messages) that asks for the close column only, so any CSV
with a ``close`` column works here, and rows are neither sorted nor checked.
"""

from __future__ import annotations

import os
from typing import Union

import torch

from torch_render.data import _float, _read_table

__all__ = ["read_closes"]

_BINANCE_CLOSE = 4
_CLOSE_ONLY = {"close": (("close",), _BINANCE_CLOSE, _float)}


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

    Blank lines are skipped. Every other line must have as many fields as the first
    and a close that parses as a number; ``nan``/``inf`` are kept (the renderer
    draws them as gaps). Rows are not sorted or de-duplicated.

    Args:
        path: the file.

    Returns:
        ``[N]`` float64 tensor on the CPU (N = 0 for a header without rows).

    Raises:
        ValueError: a malformed file, naming the file (and the archive member) and
            the line: wrong field count, a close that is not a number, no ``close``
            column, a corrupt gzip or zip file, or not UTF-8 text.
        OSError: the file cannot be opened.

    Example:
        >>> closes = read_closes("BTCUSDT-1m-2024-01.zip")      # [44640] float64
        >>> windows = closes.unfold(0, 100, 10)                 # [4455, 100] view
    """
    table = _read_table(os.fspath(path), _CLOSE_ONLY, "a 'close' column")
    return torch.tensor(table.columns["close"], dtype=torch.float64)
