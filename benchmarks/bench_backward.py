"""Cost of render_line's backward next to its forward, in the same run (issue 14:
the backward of a batch costs at most 2x its forward, at 224x224 and 500x800).

    python benchmarks/bench_backward.py              # one thread and all threads, CPU (+ CUDA when present)
    python benchmarks/bench_backward.py --quick      # smoke run
    python benchmarks/bench_backward.py --dump-windows DIR   # windows for benchmarks/cpp/line_backward_kernel.cpp

Real BTC/USDT windows of 100 one-minute closes (../shared/data, else the seeded
generator), 3-px antialiased float32 lines. For each size and thread count,
--repeats interleaved rounds of:

- forward: render_line(series, H, W) with no gradient (what a DataLoader transform does);
- forward+graph: the same with series.requires_grad (the autograd bookkeeping);
- backward: the op's backward alone, torch.ops.torch_render.render_line_backward,
  on the incoming gradient of a weighted-sum loss (what loss.backward() runs);
- forward+backward: the whole training step through the renderer.

--methods forward,backward measures those two alone: with no autograd
allocations between its calls, the forward runs at its fastest, and the ratio is
the stricter one. The methods are measured in --repeats interleaved rounds (each
once per round, in turn), so that a ratio compares times taken seconds apart on a machine
whose neighbours come and go. It prints the median images/s of each, the median
of the per-round ratios backward / forward (target <= 2) with their range, and
PASS/MISS.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import torch_render
from torch_render.data import load_klines, windows
from torch_render.synthetic import synthetic_closes

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
TARGET = 2.0


def load_series(batch: int) -> tuple[torch.Tensor, str]:
    files = sorted(DATA.glob("*.csv.gz"))
    if files:
        closes = load_klines(str(files[0])).close
        w = windows(closes, 100, max(1, (closes.shape[0] - 100) // batch))[:batch]
        return w.contiguous(), files[0].name
    return synthetic_closes(batch, 100, seed=0), "synthetic"


def timed_once(fn, sync, min_time: float) -> float:
    """Seconds per call over calls of >= min_time in all."""
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / n


def timed_rounds(fns: dict, device: torch.device, min_time: float, repeats: int) -> dict:
    """Seconds per call of each function in `repeats` interleaved rounds: name -> list."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for fn in fns.values():
        fn()
    sync()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed_once(fn, sync, min_time))
    return times


METHODS = ("forward", "forward+graph", "backward", "forward+backward")


def measure(series: torch.Tensor, height: int, width: int, min_time: float, repeats: int,
            methods: tuple = METHODS) -> dict:
    weights = torch.rand(series.shape[0], 1, height, width, device=series.device,
                         generator=torch.Generator(series.device).manual_seed(0))
    leaf = series.clone().requires_grad_()
    backward = torch.ops.torch_render.render_line_backward

    def forward():
        with torch.no_grad():
            torch_render.render_line(series, height, width)

    def forward_graph():
        torch_render.render_line(leaf, height, width)

    def backward_only():
        backward(weights, series, height, width, 3.0, True, 0.0, None, False, 1.0, 0.0)

    def step():
        leaf.grad = None
        (torch_render.render_line(leaf, height, width) * weights).sum().backward()

    fns = {"forward": forward, "forward+graph": forward_graph, "backward": backward_only,
           "forward+backward": step}
    return timed_rounds({k: fns[k] for k in methods}, series.device, min_time, repeats)


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny batches, short measurements")
    parser.add_argument("--sizes", default="224x224,500x800")
    parser.add_argument("--threads", default="1,all")
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="which of %(default)s to measure (forward and backward always): "
                             "'forward,backward' leaves out the two with autograd, whose "
                             "allocations otherwise sit between the forward's calls")
    parser.add_argument("--dump-windows", metavar="DIR",
                        help="write the 224x224 batch's 32 windows (float64 [32, 100], series.f64) "
                             "for benchmarks/cpp/line_backward_kernel.cpp and exit")
    args = parser.parse_args(argv)
    if args.dump_windows:
        series, source = load_series(32)
        os.makedirs(args.dump_windows, exist_ok=True)
        series.to(torch.float64).contiguous().numpy().tofile(os.path.join(args.dump_windows, "series.f64"))
        print(f"32 windows of {source} in {args.dump_windows}")
        return 0
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    methods = tuple(m for m in METHODS if m in args.methods.split(",") + ["forward", "backward"])
    unknown = set(args.methods.split(",")) - set(METHODS)
    if unknown:
        parser.error(f"--methods: unknown {sorted(unknown)}; expected some of {list(METHODS)}")
    if args.quick:
        args.min_time, args.repeats = 0.02, 1
    batch_for = {(224, 224): 32, (500, 800): 4}
    all_threads = torch.get_num_threads()
    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}")
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and torch_render.cuda_built():
        devices.append(torch.device("cuda"))
        print(f"GPU: {torch.cuda.get_device_name()}")
    rows = []
    for device in devices:
        for threads in (args.threads.split(",") if device.type == "cpu" else ["-"]):
            if device.type == "cpu":
                torch.set_num_threads(all_threads if threads == "all" else int(threads))
            for height, width in sizes:
                batch = 2 if args.quick else batch_for.get((height, width), 16)
                if device.type == "cuda":
                    batch *= 64
                series, source = load_series(batch)
                t = measure(series.to(device), height, width, args.min_time, args.repeats, methods)
                rows.append((device.type, str(torch.get_num_threads()) if device.type == "cpu" else "-",
                             f"{height}x{width}", batch, t))
    torch.set_num_threads(all_threads)
    print(f"data: {source}; {args.repeats} interleaved rounds of >= {args.min_time} s per method; "
          f"images/s (higher is better), medians over the rounds; bwd/fwd: median of the per-round ratios")
    head = f"{'device':6} {'thr':>3} {'size':>8} {'B':>4} {'forward':>10} {'fwd+graph':>10} " \
           f"{'backward':>10} {'fwd+bwd':>10} {'bwd/fwd':>8} {'(min .. max)':>14}  target <= {TARGET:g}"
    print(head)
    failed = False
    for device, threads, size, batch, t in rows:
        ratios = [b / f for b, f in zip(t["backward"], t["forward"])]
        ratio = statistics.median(ratios)
        ok = ratio <= TARGET
        failed |= not ok
        ips = {k: batch / statistics.median(v) for k, v in t.items()}
        spread = f"({min(ratios):.2f} .. {max(ratios):.2f})"
        col = {k: f"{ips[k]:10.1f}" if k in t else f"{'-':>10}" for k in METHODS}
        print(f"{device:6} {threads:>3} {size:>8} {batch:>4} {col['forward']} "
              f"{col['forward+graph']} {col['backward']} {col['forward+backward']} "
              f"{ratio:8.2f} {spread:>14}  "
              f"{'PASS' if ok else 'MISS'}")
    return 0 if args.quick or not failed else 1


if __name__ == "__main__":
    sys.exit(main())
