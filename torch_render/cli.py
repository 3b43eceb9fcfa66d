"""The command line: ``python -m torch_render render ...``.

``render`` is the main job: it draws N price windows (synthetic, or sliding windows
of a kline file's closes) as charts in batches on a device, reports the throughput
and writes a PNG contact sheet of the first charts.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import NoReturn, Optional, Sequence

import torch

PROG = "python -m torch_render"


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


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be finite and >= 0, got {text}")
    return value


def _add_chart_arguments(command: argparse.ArgumentParser, *, count: int) -> None:
    """The arguments of every command that draws windows of closes."""
    command.add_argument(
        "--csv", metavar="PATH",
        help="kline file to take the closes from: a CSV with a 'close' column or a "
             "Binance kline CSV, plain, gzip or zip (default: synthetic closes)",
    )
    command.add_argument("--count", type=_int_at_least(1), default=count, metavar="N", help="number of charts")
    command.add_argument("--length", type=_int_at_least(1), default=100, metavar="L", help="closes per chart")
    command.add_argument("--height", type=_int_at_least(1), default=500, help="image height in pixels")
    command.add_argument("--width", type=_int_at_least(1), default=800, help="image width in pixels")
    command.add_argument("--line-width", type=_nonnegative_float, default=3.0, help="line width in pixels")
    command.add_argument("--device", default="cpu", help="cpu, cuda or cuda:INDEX")
    command.add_argument("--seed", type=int, default=0, help="seed of the synthetic closes")


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
            "Render N line charts of L closes each, in batches on a device, print the "
            "throughput and write a PNG contact sheet of the first charts. The closes "
            "come from a seeded built-in generator, or with --csv from a kline file as "
            "N sliding windows spread evenly over it."
        ),
        formatter_class=_HelpFormatter,
    )
    _add_chart_arguments(render, count=256)
    render.add_argument("--batch", type=_int_at_least(1), default=64, help="charts per render call")
    render.add_argument("--dtype", choices=("float32", "uint8"), default="float32", help="image dtype")
    render.add_argument("--out", default="charts.png", metavar="PNG", help="contact sheet file")
    render.add_argument(
        "--sheet", type=_int_at_least(0), default=16, metavar="K",
        help="charts on the contact sheet (0: write no sheet)",
    )
    render.set_defaults(run=_render)

    preview = commands.add_parser(
        "preview",
        help="render N windows to a PNG contact sheet for a person to look at",
        description=(
            "Render N windows of closes (a kline file's, spread evenly over it, or the "
            "built-in generator's) and write them as one PNG contact sheet: the visual "
            "check the replaced pipeline had."
        ),
        formatter_class=_HelpFormatter,
    )
    _add_chart_arguments(preview, count=16)
    preview.add_argument("--out", required=True, metavar="PNG", help="contact sheet file")
    preview.set_defaults(run=_preview)

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
    bench.set_defaults(run=_bench)
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
    if n < count + length - 1:
        raise ValueError(
            f"{args.csv}: {n} closes are too few for {count} windows of {length} "
            f"(need at least {count + length - 1})"
        )
    # The largest stride that still yields `count` windows spreads them over the file.
    stride = (n - length) // (count - 1) if count > 1 else 1
    windows = closes.to(device).unfold(0, length, stride)[:count]
    spacing = f", windows every {stride}" if count > 1 else ""
    return windows, f"{args.csv} ({n} closes{spacing})"


def _device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''})"


def _render(args: argparse.Namespace) -> int:
    import torch_render
    from torch_render._png import contact_sheet, write_png

    out_dir = os.path.dirname(os.path.abspath(args.out))
    if args.sheet > 0 and not os.path.isdir(out_dir):
        raise ValueError(f"--out {args.out}: the folder {out_dir} does not exist")
    device = _device(args.device)
    windows, source = _windows(args, device)
    dtype = getattr(torch, args.dtype)
    count, batch = windows.shape[0], args.batch

    # One output buffer for every batch: the charts are dropped once counted (the
    # sheet's are copied), and on the CPU a fresh output per batch (100 MB at the
    # defaults) costs almost as much in page faults as the drawing itself.
    buffer = torch.empty((min(batch, count), 1, args.height, args.width), dtype=dtype, device=device)

    def draw(series: torch.Tensor) -> torch.Tensor:
        return torch_render.render_line(
            series, args.height, args.width, line_width=args.line_width,
            out=buffer[: series.shape[0]],
        )

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    draw(windows[:batch])  # warm-up: CUDA context, kernel load, threads, the buffer's pages
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
        images = draw(windows[first : first + batch])
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

    charts = f"{count} chart{'s' if count != 1 else ''}"
    print(
        f"rendered {charts} of {args.height}x{args.width} on {_device_label(device)} "
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
    except (ValueError, RuntimeError, OSError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"torch_render: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("torch_render: interrupted", file=sys.stderr)
        return 130
