"""The command line: ``python -m torch_render render ...``.

``render`` is the main job: it draws N price windows (synthetic, or sliding windows
of a kline file) as charts in batches on a device, reports the throughput and
writes a PNG contact sheet of the first charts. ``--chart`` picks the chart: a line
of closes (``line``, the default, ``render_line``), OHLC bars or candlesticks with
a volume panel (``ohlc``, ``candle``: ``render_ohlc``), or the image of Jiang,
Kelly & Xiu with volume and a 20-bar moving average (``jkx``: ``jkx_chart``).

Bad arguments are found before anything is drawn: an integer past its range (int64
at most), sizes whose closes, images or contact sheet cannot fit in memory or in a
PNG, an ``--out`` that cannot be written. Each gives one line on stderr that names
the flag, and exit status 2, as argparse's own errors do.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from typing import NoReturn, Optional, Sequence

import torch

PROG = "python -m torch_render"

_INT64_MAX = 2**63 - 1
_PNG_SIDE_MAX = 2**31 - 1  # the largest width or height a PNG can have
_FLOAT32_MAX = 3.4028234663852886e38  # the op's bound on line_width
_SEED_RANGE = (-(2**63), 2**64 - 1, "[-2**63, 2**64 - 1]")  # what torch.Generator.manual_seed takes

CHARTS = ("line", "ohlc", "candle", "jkx")
MA_BARS = 20  # the moving average of --chart jkx, in bars (the paper's I20 images)
_MAX_BAR_WIDTH = 1 << 16  # render_ohlc's bound


class _UsageError(ValueError):
    """A flag whose value cannot work, found before rendering: reported like
    argparse's own errors (one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"torch_render: error: {message} (see '{self.prog} --help')\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except an absent (None) one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None:
            return action.help or ""
        return super()._get_help_string(action) or ""


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _int_in(low: int, high: int = _INT64_MAX, shown: Optional[str] = None):
    """An argparse type: an integer in [low, high] (high: int64's largest by default)."""
    if shown is None:
        ends = {_INT64_MAX: "2**63 - 1", _PNG_SIDE_MAX: "2**31 - 1"}
        shown = f"[{low}, {ends.get(high, high)}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # also for more than 4300 digits
            raise argparse.ArgumentTypeError(f"expected an integer, got {_shown(text)}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in {shown}, got {text.strip()}")
        return value

    return parse


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {_shown(text)}") from None
    if not (math.isfinite(value) and 0 <= value <= _FLOAT32_MAX):
        raise argparse.ArgumentTypeError(f"must be finite, >= 0 and a float32 value, got {text.strip()}")
    return value


def _add_chart_arguments(command: argparse.ArgumentParser, *, count: int) -> None:
    """The arguments of every command that draws windows of prices."""
    command.add_argument(
        "--chart", choices=CHARTS, default="line",
        help="line: a line of closes; ohlc: OHLC bars and candle: candlesticks, each with a "
             "volume panel of height/5 rows; jkx: the Jiang-Kelly-Xiu image (white bars on "
             f"black, volume, a {MA_BARS}-bar moving average of closes)",
    )
    command.add_argument(
        "--csv", metavar="PATH",
        help="kline file to take the prices from: for line charts a CSV with a 'close' column or "
             "a Binance kline CSV; for the others a kline file with open, high, low, close and "
             "volume (as load_klines reads); plain, gzip or zip (default: synthetic prices)",
    )
    command.add_argument("--count", type=_int_in(1), default=count, metavar="N", help="number of charts")
    command.add_argument(
        "--length", type=_int_in(1), metavar="L", help="closes (bars) per chart; default 100, for jkx 20"
    )
    command.add_argument(
        "--height", type=_int_in(1, _PNG_SIDE_MAX),
        help="image height in pixels (< 2**31); default 500, for jkx the preset's (32, 64, 96 "
             "for 5, 20, 60 bars; required for other lengths)",
    )
    command.add_argument(
        "--width", type=_int_in(1, _PNG_SIDE_MAX),
        help="image width in pixels (< 2**31); default 800; ohlc and candle bars are width // L "
             "columns wide; jkx images are 3 * L wide (the only width it takes)",
    )
    command.add_argument(
        "--line-width", type=_nonnegative_float, default=3.0, help="line width in pixels (line charts)"
    )
    command.add_argument("--device", default="cpu", help="cpu, cuda or cuda:INDEX")
    command.add_argument(
        "--seed", type=_int_in(*_SEED_RANGE), default=0,
        help="seed of the synthetic prices, -2**63 to 2**64 - 1 (as torch.Generator.manual_seed)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Render price series as chart images with the torch_render operators.",
        epilog=f"The main job: '{PROG} render' (see '{PROG} render --help').",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    render = commands.add_parser(
        "render",
        help="render N charts in batches, report images/s and write a PNG contact sheet",
        description=(
            "Render N charts of L closes (or bars) each, in batches on a device, print the "
            "throughput and write a PNG contact sheet of the first charts. The prices "
            "come from a seeded built-in generator, or with --csv from a kline file as "
            "N sliding windows spread evenly over it."
        ),
        formatter_class=_HelpFormatter,
    )
    _add_chart_arguments(render, count=256)
    render.add_argument("--batch", type=_int_in(1), default=64, help="charts per render call")
    render.add_argument("--dtype", choices=("float32", "uint8"), default="float32", help="image dtype")
    render.add_argument("--out", default="charts.png", metavar="PNG", help="contact sheet file")
    render.add_argument(
        "--sheet", type=_int_in(0), default=16, metavar="K",
        help="charts on the contact sheet (0: write no sheet)",
    )
    render.set_defaults(run=_render, parser=render)

    preview = commands.add_parser(
        "preview",
        help="render N windows to a PNG contact sheet for a person to look at",
        description=(
            "Render N windows of prices (a kline file's, spread evenly over it, or the "
            "built-in generator's) as line, OHLC, candlestick or JKX charts and write "
            "them as one PNG contact sheet: the visual check the replaced pipeline had."
        ),
        formatter_class=_HelpFormatter,
    )
    _add_chart_arguments(preview, count=16)
    preview.add_argument("--out", required=True, metavar="PNG", help="contact sheet file")
    preview.set_defaults(run=_preview, parser=preview)

    bench = commands.add_parser(
        "bench",
        help="run the benchmark against matplotlib, cairo, Pillow, OpenCV and the memory floor",
        description=(
            "Run benchmarks/bench_render.py of the source checkout (--quick for a short "
            "run); every further argument is passed to it (see its --help)."
        ),
        formatter_class=_HelpFormatter,
    )
    bench.add_argument("--quick", action="store_true", help="a short run with small batches")
    bench.set_defaults(run=_bench, parser=bench)
    return parser


def _device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device: expected cpu, cuda or cuda:INDEX, got {name!r}") from None
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise ValueError(f"--device: expected cpu, cuda or cuda:INDEX, got {name!r}")
    if not torch.cuda.is_available():
        why = "this torch has no CUDA support" if torch.version.cuda is None else "no CUDA device is visible"
        raise ValueError(f"--device {name}: CUDA is not available ({why})")
    from torch_render.ops import cuda_built

    if not cuda_built():
        raise ValueError(f"--device {name}: torch_render was built without its CUDA kernels")
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return torch.device("cuda", torch.cuda.current_device() if device.index is None else device.index)


def _windows(args: argparse.Namespace, device: torch.device) -> tuple[torch.Tensor, str]:
    """[N, L] closes on the device (a strided view for --csv) and where they came from."""
    if args.csv is None:
        from torch_render.synthetic import synthetic_closes

        closes = synthetic_closes(args.count, args.length, seed=args.seed)
        return closes.to(device), f"synthetic closes (seed {args.seed})"
    from torch_render._klines import read_closes

    closes = read_closes(args.csv)
    n, count, length = closes.numel(), args.count, args.length
    stride = _spread(args.csv, n, count, length, "closes")
    windows = closes.to(device).unfold(0, length, stride)[:count]
    spacing = f", windows every {stride}" if count > 1 else ""
    return windows, f"{args.csv} ({n} closes{spacing})"


def _spread(path: str, n: int, count: int, length: int, what: str) -> int:
    """The largest stride that still yields ``count`` windows of ``length`` from ``n``
    rows, which spreads them over the file; ValueError when there are too few."""
    if n < count + length - 1:
        raise ValueError(
            f"{path}: {n} {what} are too few for {count} windows of {length} "
            f"(need at least {count + length - 1})"
        )
    return (n - length) // (count - 1) if count > 1 else 1


def _bars(
    args: argparse.Namespace, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor], str]:
    """The OHLC windows of ``--chart ohlc|candle|jkx`` on the device: bars
    ``[N, L, 4]``, volumes ``[N, L]`` and, for jkx, the MA_BARS-bar moving average of
    closes ``[N, 1, L]`` (None otherwise), computed with the history before each
    window; views of the file's series for ``--csv``. And where they came from."""
    from torch_render.data import load_klines, moving_average, ohlc_windows, windows

    count, length, jkx = args.count, args.length, args.chart == "jkx"
    if args.csv is None:
        from torch_render.synthetic import synthetic_ohlcv

        # Each synthetic series has MA_BARS - 1 bars of history before its window.
        history = MA_BARS - 1 if jkx else 0
        ohlc, volume = synthetic_ohlcv(count, history + length, seed=args.seed)
        ma = moving_average(ohlc[..., 3], MA_BARS)[:, None, history:].to(device) if jkx else None
        return ohlc[:, history:].to(device), volume[:, history:].to(device), ma, (
            f"synthetic bars (seed {args.seed})"
        )
    k = load_klines(args.csv)
    stride = _spread(args.csv, len(k), count, length, "klines")
    bars = ohlc_windows(k.ohlc.to(device), length, stride)[:count]
    volume = windows(k.volume.to(device), length, stride)[:count]
    ma = None
    if jkx:  # on the whole series, then windowed: each window's average has its history
        ma = windows(moving_average(k.close.to(device), MA_BARS), length, stride)[:count, None]
    spacing = f", windows every {stride}" if count > 1 else ""
    return bars, volume, ma, f"{args.csv} ({len(k)} klines{spacing})"


def _resolve_sizes(args: argparse.Namespace) -> None:
    """Fill in the length, height and width left out (the chart's defaults);
    _UsageError for sizes the chart cannot be drawn at."""
    chart = getattr(args, "chart", "line")
    if args.length is None:
        args.length = 20 if chart == "jkx" else 100
    length = args.length
    if chart == "jkx":
        from torch_render.ohlc import JKX_HEIGHTS

        if args.height is None:
            if length not in JKX_HEIGHTS:
                raise _UsageError(
                    f"--chart jkx --length {length}: give --height (the preset's heights are for "
                    f"{', '.join(map(str, JKX_HEIGHTS))} bars)"
                )
            args.height = JKX_HEIGHTS[length]
        if args.width is None:
            args.width = 3 * length
        if args.width != 3 * length or args.width > _PNG_SIDE_MAX:
            raise _UsageError(
                f"--chart jkx --length {length}: the image is 3 * L = {3 * length} pixels wide "
                f"(bars 3 pixels wide; at most {_PNG_SIDE_MAX}), got --width {args.width}"
            )
        return
    args.height = 500 if args.height is None else args.height
    args.width = 800 if args.width is None else args.width
    if chart != "line" and args.width < length:
        raise _UsageError(
            f"--chart {chart}: --width {args.width} is narrower than --length {length} bars "
            "(one column per bar at least)"
        )


def _device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''})"


def _check_out(path: str) -> None:
    """_UsageError unless a file can be written at ``path``; what is there is left as
    it is (an existing file is not truncated, a probe file is removed)."""
    where = f"argument --out: {path}"
    if os.path.isdir(path):
        raise _UsageError(f"{where}: is a folder; expected the name of a PNG file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        why = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise _UsageError(f"{where}: the folder {folder} {why}")
    try:
        if os.path.exists(path):
            # Append mode truncates nothing; O_NONBLOCK keeps a FIFO from blocking.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
            try:
                os.write(fd, b"")  # files such as /proc/version open for writing but refuse writes
            finally:
                os.close(fd)
        else:
            fd, probe = tempfile.mkstemp(prefix=".torch_render-", suffix=".probe", dir=folder)
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        raise _UsageError(f"{where}: cannot write a file there: {e.strerror or e}") from None


def _gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"


def _memory(device: torch.device) -> int:
    """Bytes of memory of the device (for the CPU: the machine's physical memory)."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform: no check
        return sys.maxsize * 2


def _check_sizes(args: argparse.Namespace, device: torch.device) -> None:
    """_UsageError for sizes that cannot work: a contact sheet larger than a PNG can
    be, or prices and images that cannot fit in memory (counting only what is
    surely allocated, so a request that fits is never refused). Fills in the
    chart's default sizes first (``_resolve_sizes``)."""
    _resolve_sizes(args)
    batch_flag, sheet_flag = getattr(args, "size_flags", ("--batch", "--sheet"))
    count, length, height, width = args.count, args.length, args.height, args.width
    shown = min(args.sheet, count)
    if shown > 0:
        columns = math.ceil(math.sqrt(shown))
        rows = -(-shown // columns)
        sheet_height, sheet_width = rows * (height + 4) + 4, columns * (width + 4) + 4
        if max(sheet_height, sheet_width) > _PNG_SIDE_MAX:
            raise _UsageError(
                f"{sheet_flag} {args.sheet}, --height {height}, --width {width}: the contact sheet "
                f"would be {sheet_height}x{sheet_width} pixels, more than a PNG can hold "
                f"({_PNG_SIDE_MAX} per side); show fewer or smaller charts"
            )
    itemsize = torch.empty((), dtype=getattr(torch, args.dtype)).element_size()
    image = height * width * itemsize
    batch = min(args.batch, count)
    on_device = [
        (f"{batch_flag} {batch} x --height {height} x --width {width} output images", batch * image),
        (f"{shown} charts kept for the contact sheet ({sheet_flag})", shown * image),
    ]
    on_host = []
    if args.csv is None:  # float64, made on the host and copied to the device
        if getattr(args, "chart", "line") == "line":
            closes = (f"--count {count} x --length {length} synthetic closes", count * length * 8)
        else:  # the tick path (4 per bar), its bars and volumes, with MA_BARS of history
            closes = (f"--count {count} x --length {length} synthetic bars", count * (length + MA_BARS) * 72)
        on_device.append(closes)
        if device.type != "cpu":
            on_host.append(closes)
    for where, parts in ((device, on_device), (torch.device("cpu"), on_host)):
        available = _memory(where)
        if parts and sum(size for _, size in parts) > available:
            total = sum(size for _, size in parts)
            # The parts that matter (>= 1% of the total), largest first.
            parts = sorted((part for part in parts if part[1] * 100 >= total), key=lambda part: -part[1])
            what = " and ".join(f"{text} ({_gib(size)})" for text, size in parts)
            raise _UsageError(
                f"{what} need more than the {_gib(available)} of memory of {where}; ask for "
                "fewer or smaller charts"
            )


def _render(args: argparse.Namespace) -> int:
    import torch_render
    from torch_render._png import contact_sheet, write_png

    if args.sheet > 0:
        _check_out(args.out)
    device = _device(args.device)
    _check_sizes(args, device)
    dtype = getattr(torch, args.dtype)
    count, batch, height, width = args.count, args.batch, args.height, args.width

    # One output buffer for every batch: the charts are dropped once counted (the
    # sheet's are copied), and on the CPU a fresh output per batch (100 MB at the
    # defaults) costs almost as much in page faults as the drawing itself.
    buffer = torch.empty((min(batch, count), 1, height, width), dtype=dtype, device=device)

    if args.chart == "line":
        windows, source = _windows(args, device)

        def draw(first: int, end: int) -> torch.Tensor:
            return torch_render.render_line(
                windows[first:end], height, width, line_width=args.line_width, out=buffer[: end - first]
            )
    else:
        bars, volume, ma, source = _bars(args, device)
        style = "candle" if args.chart == "candle" else "bar"
        bar_width = min(width // args.length, _MAX_BAR_WIDTH)

        def draw(first: int, end: int) -> torch.Tensor:
            if args.chart == "jkx":  # the preset makes its own output (no out=)
                return torch_render.jkx_chart(
                    bars[first:end], volume[first:end], ma[first:end], height=height, dtype=dtype
                )
            return torch_render.render_ohlc(
                bars[first:end], height, width, volume=volume[first:end], style=style,
                bar_width=bar_width, volume_rows=height // 5, out=buffer[: end - first],
            )

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    draw(0, min(batch, count))  # warm-up: CUDA context, kernel load, threads, the buffer's pages
    sync()

    kept: list[torch.Tensor] = []
    kept_count = 0
    try:
        from tqdm import tqdm
    except ImportError:  # the progress bar is optional
        tqdm = None
    progress = tqdm(total=count, unit="img", file=sys.stderr, disable=None) if tqdm else None
    start = time.perf_counter()
    for first in range(0, count, batch):
        images = draw(first, min(first + batch, count))
        if kept_count < args.sheet:
            # A copy, as the next batch overwrites the buffer; kept on the device so
            # the timed loop has no host round trip.
            kept.append(images[: args.sheet - kept_count].clone())
            kept_count += kept[-1].shape[0]
        if progress is not None:
            progress.update(images.shape[0])
    sync()
    elapsed = time.perf_counter() - start
    if progress is not None:
        progress.close()

    kind = "" if args.chart == "line" else f"{args.chart} "
    charts = f"{count} {kind}chart{'s' if count != 1 else ''}"
    print(
        f"rendered {charts} of {height}x{width} on {_device_label(device)} "
        f"in {elapsed:.2f} s: {count / elapsed:.0f} images/s",
        flush=True,
    )
    if kept:
        shown = torch.cat(kept).cpu()
        columns = math.ceil(math.sqrt(shown.shape[0]))
        sheet = contact_sheet(shown, columns)
        write_png(args.out, sheet)
        shown_count = f"{shown.shape[0]} chart{'s' if shown.shape[0] != 1 else ''}"
        print(f"wrote {args.out}: the first {shown_count} from {source}, "
              f"a {sheet.shape[0]}x{sheet.shape[1]} contact sheet")
    return 0


def _preview(args: argparse.Namespace) -> int:
    args.batch = args.count
    args.sheet = args.count
    args.dtype = "float32"
    args.size_flags = ("--count", "--count")  # preview has no --batch or --sheet
    return _render(args)


def _bench(args: argparse.Namespace) -> int:
    import runpy

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = os.path.join(repo, "benchmarks", "bench_render.py")
    if not os.path.isfile(script):
        raise OSError(f"bench: {script} not found: the benchmark ships with the source checkout")
    argv = [script, *(["--quick"] if args.quick else []), *args.bench_args]
    saved = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = saved
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) != "bench":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.bench_args = extra
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except _UsageError as e:
        args.parser.error(str(e))
    except (ValueError, RuntimeError, OSError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"torch_render: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("torch_render: interrupted", file=sys.stderr)
        return 130
