"""Read the closes of a kline (candle) file, for the command line.

This is deliberately small and self-contained: one function that returns the close
column as a 1-D float64 tensor, using only the standard library (gzip, zipfile, csv)
and torch. The full loader of the project (``torch_render.data.load_klines``:
timestamps, OHLCV, gaps, many files) is a separate, later piece of work and will
supersede this module.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zipfile
import zlib
from typing import IO, Iterator, Union

import torch

__all__ = ["read_closes"]

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_BINANCE_FIELDS = 12  # open_time, open, high, low, close, volume, close_time, ...
_BINANCE_CLOSE = 4


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
    path = os.fspath(path)
    with open(path, "rb") as f:
        magic = f.read(4)
    try:
        if magic[:2] == _GZIP_MAGIC:
            with gzip.open(path, "rb") as raw:
                return _parse(raw, path)
        if magic == _ZIP_MAGIC:
            with zipfile.ZipFile(path) as archive:
                member = _single_csv(archive, path)
                with archive.open(member) as raw:
                    return _parse(raw, f"{path} ({member})")
        with open(path, "rb") as raw:
            return _parse(raw, path)
    except (gzip.BadGzipFile, zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise ValueError(f"{path}: corrupt compressed file: {e}") from None


def _single_csv(archive: zipfile.ZipFile, path: str) -> str:
    """The one data file of a Binance-style archive."""
    files = [info.filename for info in archive.infolist() if not info.is_dir()]
    csvs = [name for name in files if name.lower().endswith(".csv")]
    if len(files) == 1:
        return files[0]
    if len(csvs) == 1:
        return csvs[0]
    raise ValueError(
        f"{path}: expected one CSV file in the zip archive, found {len(csvs)} among {len(files)} files"
    )


def _rows(raw: IO[bytes], name: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of the non-blank lines of a UTF-8 CSV stream."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ValueError(f"{name}: line {reader.line_num}: {e}") from None
        except UnicodeDecodeError:
            # Decoding runs ahead in blocks, so no exact line can be named here.
            raise ValueError(f"{name}: not a UTF-8 text file") from None
        if row and any(field.strip() for field in row):
            yield reader.line_num, row


def _parse(raw: IO[bytes], name: str) -> torch.Tensor:
    closes: list[float] = []
    close_col = -1
    num_fields = 0
    for line, row in _rows(raw, name):
        if close_col < 0:
            header = [field.strip().lower() for field in row]
            if "close" in header:
                close_col, num_fields = header.index("close"), len(row)
                continue
            if len(row) != _BINANCE_FIELDS:
                raise ValueError(
                    f"{name}: line {line}: expected a header with a 'close' column or a "
                    f"{_BINANCE_FIELDS}-field Binance kline row, got {len(row)} fields"
                )
            close_col, num_fields = _BINANCE_CLOSE, _BINANCE_FIELDS
        if len(row) != num_fields:
            raise ValueError(f"{name}: line {line}: expected {num_fields} fields, got {len(row)}")
        try:
            closes.append(float(row[close_col]))
        except ValueError:
            raise ValueError(f"{name}: line {line}: close is not a number: {row[close_col]!r}") from None
    if close_col < 0:
        raise ValueError(f"{name}: no data (empty file)")
    return torch.tensor(closes, dtype=torch.float64)
