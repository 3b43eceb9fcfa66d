"""The CSV/zip reader under the kline readers: a file's bytes (plain, gzip or the one
CSV of a zip archive, recognised by content), its records with 1-based line numbers,
and the parsed columns of a kline CSV (a header naming them, or a headerless
12-field Binance row), with the checks that every kline reader shares; and the
columns, timestamp parser and row check of ``load_klines``.

``torch_render.data.load_klines`` (all columns, rows in time order) and
``torch_render._klines.read_closes`` (the close column, for the command line) are
built on :func:`_read_table`; this module depends on neither.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import gzip
import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Callable, Iterator, Optional

__all__ = ["KlineError"]

_GZIP_MAGIC = b"\x1f\x8b"
# A zip archive starts with a local file header, or, when it holds no file at all,
# with its end-of-central-directory record.
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_BINANCE_FIELDS = 12  # open_time, open, high, low, close, volume, close_time, ...


class KlineError(ValueError):
    """A malformed kline file; the message names the file (and zip member) and line."""

# A column's spec: the names accepted in a header, its index in a headerless Binance
# row and its parser (which raises ValueError with the rest of the message).
_ColumnSpec = tuple[tuple[str, ...], int, Callable[[str], object]]


@dataclass
class _Table:
    """The parsed values of the wanted columns of a CSV, with each row's line number."""

    name: str  # the file, and the zip member, for messages
    lines: list[int]
    columns: dict[str, list]


@contextlib.contextmanager
def _open_source(path: str) -> Iterator[tuple[IO[bytes], str]]:
    """The file's bytes (decompressed) and its name for messages."""
    with open(path, "rb") as f:
        magic = f.read(4)
    try:
        if magic[:2] == _GZIP_MAGIC:
            with gzip.open(path, "rb") as raw:
                yield raw, path
        elif magic in _ZIP_MAGICS:
            with zipfile.ZipFile(path) as archive:
                member = _single_csv(archive, path)
                with archive.open(member) as raw:
                    yield raw, f"{path} ({member})"
        else:
            with open(path, "rb") as raw:
                yield raw, path
    except (gzip.BadGzipFile, zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise KlineError(f"{path}: corrupt compressed file: {e}") from None


def _single_csv(archive: zipfile.ZipFile, path: str) -> str:
    """The one data file of a Binance-style archive."""
    files = [info.filename for info in archive.infolist() if not info.is_dir()]
    csvs = [name for name in files if name.lower().endswith(".csv")]
    if len(files) == 1:
        return files[0]
    if len(csvs) == 1:
        return csvs[0]
    if not files:
        raise KlineError(f"{path}: no CSV file in the zip archive (it is empty)")
    if not csvs:
        shown = ", ".join(map(repr, files[:5])) + (", ..." if len(files) > 5 else "")
        raise KlineError(f"{path}: no CSV file in the zip archive (it has {len(files)} files: {shown})")
    raise KlineError(
        f"{path}: expected one CSV file in the zip archive, found {len(csvs)} among {len(files)} files"
    )


def _rows(raw: IO[bytes], name: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each record of a UTF-8 CSV stream but blank lines.

    A blank line is empty or only whitespace; a record of empty fields (``,,``) is
    not blank and is yielded. The number is the record's first line, 1-based.
    """
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    consumed = 0  # lines handed to the csv reader so far
    last = ""

    def lines() -> Iterator[str]:
        nonlocal consumed, last
        for last in text:
            consumed += 1
            yield last

    reader = csv.reader(lines())
    while True:
        first = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise KlineError(f"{name}: line {first}: {e}") from None
        except UnicodeDecodeError:
            # Decoding runs ahead in blocks, so no exact line can be named here.
            raise KlineError(f"{name}: not a UTF-8 text file") from None
        # A one-line record with no non-whitespace text: csv gives [] or ['  '].
        if consumed == first and len(row) <= 1 and not last.strip():
            continue
        yield first, row


def _read_table(
    path: str,
    wanted: dict[str, _ColumnSpec],
    header_text: str,
    *,
    optional: Optional[dict[str, _ColumnSpec]] = None,
    check: Optional[Callable[[int, list], None]] = None,
) -> _Table:
    """Read and parse the wanted columns of a kline CSV (and the ``optional`` ones
    that it has; None where a header lacks them), each given as a ``_ColumnSpec``.

    The first non-blank line is a header if a field is one of the accepted names
    (case-insensitive, a space read as "_"), else it must be a 12-field Binance row;
    every later line must have as many fields as the first. ``check`` gets each
    row's parsed values (in the order of ``wanted`` then ``optional``) and raises
    ValueError with the rest of the message for a row that is not possible. The
    first bad line raises, and nothing after it is read.
    """
    specs = {**wanted, **(optional or {})}
    names = {n for accepted, _, _ in specs.values() for n in accepted}
    parsers = [(column, parse) for column, (_, _, parse) in specs.items()]
    with _open_source(path) as (raw, name):
        lines: list[int] = []
        values: list[list] = [[] for _ in specs]
        index: list[Optional[int]] = []
        num_fields = 0
        for line, row in _rows(raw, name):
            if not index:
                header = [field.strip().lower().replace(" ", "_") for field in row]  # "Open time"
                num_fields = len(row)
                if names.intersection(header):
                    _check_header(header, wanted, header_text, f"{name}: line {line}")
                    # The first accepted name present (e.g. "timestamp" before "time").
                    index = [
                        next((header.index(n) for n in accepted if n in header), None)
                        for accepted, _, _ in specs.values()
                    ]
                    continue
                if num_fields != _BINANCE_FIELDS:
                    raise KlineError(
                        f"{name}: line {line}: expected a header with {header_text} or a "
                        f"{_BINANCE_FIELDS}-field Binance kline row, got {num_fields} fields"
                    )
                index = [binance for _, binance, _ in specs.values()]
            if len(row) != num_fields:
                raise KlineError(f"{name}: line {line}: expected {num_fields} fields, got {len(row)}")
            if not any(field.strip() for field in row):
                raise KlineError(
                    f"{name}: line {line}: expected {num_fields} values, got a row of "
                    f"{num_fields} empty fields: {','.join(row)!r}"
                )
            parsed = []
            for i, (column_name, parse) in zip(index, parsers):
                try:
                    parsed.append(None if i is None else parse(row[i]))
                except ValueError as e:
                    raise KlineError(f"{name}: line {line}: {column_name} {e}") from None
            if check is not None:
                try:
                    check(line, parsed)
                except ValueError as e:
                    raise KlineError(f"{name}: line {line}: {e}") from None
            lines.append(line)
            for column, value in zip(values, parsed):
                column.append(value)
    if not index:
        raise KlineError(f"{name}: no data (empty file)")
    return _Table(name, lines, dict(zip(specs, values)))


def _check_header(header: list[str], wanted: dict[str, _ColumnSpec], header_text: str, where: str) -> None:
    """A header (normalised names) names every wanted column, and no column twice."""
    seen: dict[str, int] = {}
    for i, field in enumerate(header):
        if field and field in seen:
            raise KlineError(
                f"{where}: the header names the column {field!r} twice (fields {seen[field] + 1} "
                f"and {i + 1}); expected each column once"
            )
        seen.setdefault(field, i)
    missing = [col for col, (accepted, _, _) in wanted.items() if not set(accepted) & set(header)]
    if missing:
        raise KlineError(
            f"{where}: the header has no {', '.join(map(repr, missing))} "
            f"column (expected {header_text}; found {', '.join(map(repr, header))})"
        )


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"is not a number: {text!r}") from None


def _check_prices(open_: Optional[float], high: Optional[float], low: Optional[float], close: float) -> None:
    """ValueError unless the prices (those given; None: no such column) can be a
    candle's. NaN passes every comparison (a missing value, drawn as a gap)."""
    for label, value in (("open", open_), ("high", high), ("low", low), ("close", close)):
        if value is not None and value <= 0:
            raise ValueError(f"{label} must be a price > 0, got {value!r}")
    if high is not None and low is not None and high < low:
        raise ValueError(f"high {high!r} is below low {low!r}")
    for label, value in (("open", open_), ("close", close)):
        if value is None:
            continue
        if high is not None and high < value:
            raise ValueError(f"high {high!r} is below {label} {value!r}")
        if low is not None and low > value:
            raise ValueError(f"low {low!r} is above {label} {value!r}")


# --- the columns of a kline file and load_klines' row check ----------------------------

_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
# Header names accepted for the open time, in order of preference ("open_time" is
# the header of Binance files that have one).
_TIME_NAMES = ("timestamp", "open_time", "time", "date", "datetime")
_KLINE_HEADER = "columns timestamp (or open_time, time, date, datetime), open, high, low, close, volume"

# Integer timestamps by magnitude: below 1e11 seconds (up to year 5138), below 1e14
# milliseconds, below 1e17 microseconds.
_UNITS = ((10**11, "seconds", 1), (10**14, "milliseconds", 1000), (10**17, "microseconds", 1_000_000))


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
