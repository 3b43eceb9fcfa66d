"""Throughput and memory of torch_render.render_line against what a user would use instead.

One command (see benchmarks/README.md):

    python benchmarks/bench_render.py                 # the full CPU run (+ GPU section when CUDA is present)
    python benchmarks/bench_render.py --quick         # smoke run: tiny batches, 1 repeat, a few seconds
    python benchmarks/bench_render.py --markdown      # the tables as Markdown (for the README)

The same price windows (real BTC/USDT minutes from ../shared/data when present, else
the seeded synthetic generator) are drawn as 3-px black lines on white by every
method, with the op's layout: first/last point on the centres of the first/last
columns, maximum on row 0, minimum on row H-1. Every method writes H x W float32
(gray in [0, 1]) or uint8 images; peers that draw RGB(A) or 8-bit images pay for the
conversion to the requested output inside the timed loop.

Importable: ``main(argv)`` runs the benchmark and returns the results as a dict (the
same content as ``--json``); ``METHODS`` lists the methods. The methods, the measuring
and the report live in ``render_bench/``, the targets as data in
``render_bench/targets.py`` (benchmarks/README.md: "Code layout").
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

# Before torch is imported (README: "Code notes").
os.environ.setdefault("KINETO_LOG_LEVEL", "5")

# The parts live in benchmarks/render_bench; this file may be run from anywhere, or by runpy
# (python -m torch_render bench), which does not put its folder on sys.path.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import torch  # noqa: E402

from render_bench.measuring.geometry import geometry_check  # noqa: E402
from render_bench.measuring.gpu import gpu_section  # noqa: E402
from render_bench.measuring.memory import memory_section  # noqa: E402
from render_bench.measuring.throughput import throughput_section  # noqa: E402
from render_bench.measuring.timing import set_threads  # noqa: E402
from render_bench.methods import METHOD_BY_KEY, METHODS  # noqa: E402
from render_bench.report.files import write_csv, write_json  # noqa: E402
from render_bench.report.machine import load_average, machine_info  # noqa: E402
from render_bench.report.ratios import add_ratios  # noqa: E402
from render_bench.report.text import format_report  # noqa: E402
from render_bench.report.verdicts import evaluate_targets  # noqa: E402
from render_bench.settings import (DEFAULT_DATA_DIR, DEFAULT_SIZES, DTYPES, QUICK_BATCH,  # noqa: E402
                                   default_batch)
from render_bench.windows import Windows  # noqa: E402

__all__ = ["METHODS", "build_parser", "main"]


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        try:
            h, w = part.lower().strip().split("x")
            sizes.append((int(h), int(w)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"sizes are HxW, comma separated, got {part!r}") from None
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python benchmarks/bench_render.py",
        description="Images/s and memory of torch_render.render_line against matplotlib, cairo, Pillow, "
                    "OpenCV, the replaced scatter pipeline and the cost of writing the output.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--quick", action="store_true",
                   help="smoke run: batches of 4, 1 step, 1 repeat, no RSS subprocess")
    p.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES), help="HxW list")
    p.add_argument("--threads", default="1,all", help="thread counts; 'all' = torch's default thread count")
    p.add_argument("--dtypes", default="float32,uint8", help="output dtypes (float32, uint8)")
    p.add_argument("--methods", default="all",
                   help="comma-separated method keys: " + ", ".join(m.key for m in METHODS))
    p.add_argument("--batch", type=int, default=None,
                   help="images per call for every size (default: 4 at 500x800, 32 at 224x224, 400 at 64x64, "
                        "~6.4 MB of float32 elsewhere)")
    p.add_argument("--min-time", type=float, default=1.0,
                   help="seconds per measurement (steps repeat until it has passed)")
    p.add_argument("--gpu-min-time", type=float, default=None,
                   help="seconds per GPU measurement (CUDA events; default: --min-time)")
    p.add_argument("--repeats", type=int, default=3, help="measurements per method (the median is reported)")
    p.add_argument("--check-images", type=int, default=8, help="windows in the geometry check (0: skip)")
    p.add_argument("--data", default=None, help=f"kline file (default: the first in {DEFAULT_DATA_DIR})")
    p.add_argument("--synthetic", action="store_true", help="use the synthetic generator even if data exist")
    p.add_argument("--no-memory", action="store_true", help="skip the memory section")
    p.add_argument("--no-gpu", action="store_true", help="skip the GPU section")
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    p.add_argument("--csv", metavar="PATH", help="write the throughput rows as CSV")
    p.add_argument("--json", metavar="OUT", help="write all results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def parse_threads(text: str) -> list[int]:
    """--threads: distinct counts in order; 'all' = torch's default thread count."""
    all_threads = torch.get_num_threads()
    threads = []
    for t in text.split(","):
        t = t.strip()
        n = all_threads if t == "all" else int(t)
        if n < 1:
            raise SystemExit(f"--threads: thread counts must be >= 1, got {t}")
        if n not in threads:
            threads.append(n)
    return threads


def parse_dtypes(text: str) -> list[str]:
    dtypes = [d.strip() for d in text.split(",")]
    for d in dtypes:
        if d not in DTYPES:
            raise SystemExit(f"--dtypes: expected some of {list(DTYPES)}, got {d!r}")
    return dtypes


def select_methods(text: str) -> list:
    if text == "all":
        return list(METHODS)
    keys = [k.strip() for k in text.split(",")]
    unknown = [k for k in keys if k not in METHOD_BY_KEY]
    if unknown:
        raise SystemExit(f"--methods: unknown {unknown}; expected some of {[m.key for m in METHODS]}")
    return [m for m in METHODS if m.key in keys]


def main(argv: Optional[Sequence[str]] = None) -> dict:
    cmd_args = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(cmd_args)
    all_threads = torch.get_num_threads()
    threads = parse_threads(args.threads)
    dtypes = parse_dtypes(args.dtypes)
    selected = select_methods(args.methods)
    sizes = args.sizes
    repeats = 1 if args.quick else max(1, args.repeats)
    min_time = args.min_time
    check_images = 2 if args.quick else args.check_images

    def batch_for(h, w):
        if args.batch:
            return args.batch
        if args.quick:
            return QUICK_BATCH
        return default_batch(h, w)

    batches = {(h, w): batch_for(h, w) for (h, w) in sizes}
    windows = Windows(args.data, args.synthetic)
    machine = machine_info(windows)
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    log(f"bench_render: {machine['cpu']}, torch {torch.__version__}, data: {windows.source}")

    t_start = time.perf_counter()
    results, skipped = throughput_section(windows, sizes, dtypes, threads, selected, batches, min_time, repeats,
                                          args.quick, log)
    set_threads(all_threads)
    add_ratios(results)
    log(f"throughput done in {time.perf_counter() - t_start:.0f} s")

    memory = []
    if not args.no_memory:
        memory = memory_section(windows, sizes, dtypes, batches, max(threads), args.quick)
    gpu = dict(skipped="--no-gpu") if args.no_gpu else gpu_section(
        windows, sizes, dtypes, args.gpu_min_time or min_time, repeats, args.quick)
    geometry = []
    if args.check_images > 0:
        geometry = geometry_check(windows, sizes, check_images, selected)

    res = dict(
        machine=machine,
        config=dict(command=" ".join(["python benchmarks/bench_render.py", *cmd_args]),
                    quick=args.quick, sizes=[f"{h}x{w}" for h, w in sizes], threads=threads, dtypes=dtypes,
                    methods=[m.key for m in selected], batches={f"{h}x{w}": b for (h, w), b in batches.items()},
                    min_time=min_time, repeats=repeats, data=windows.source, check_images=check_images),
        results=results, skipped=skipped, memory=memory, gpu=gpu, geometry=geometry,
        seconds=time.perf_counter() - t_start,
    )
    res["loadavg_end"] = load_average()
    res["targets"] = evaluate_targets(results, max(threads), gpu)

    print(format_report(res, args.markdown), end="")
    if args.csv:
        write_csv(args.csv, results)
    if args.json:
        write_json(args.json, res)
    return res


if __name__ == "__main__":
    main()
