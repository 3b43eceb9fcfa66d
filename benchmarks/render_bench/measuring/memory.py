"""The CPU memory section: peak extra memory of one call beyond its output, from the
torch profiler (allocator events) and from the resident set of a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Callable

import torch
import torch_render

from ..settings import DTYPES
from ..windows import Windows

RSS_TIMEOUT_S = 120


def profiler_peak_bytes(fn: Callable[[], object], device_type: str = "CPU") -> int:
    """Peak of the running sum of the torch allocator's allocations during fn(), from
    the profiler's memory events (allocations that are still alive at the end, such as
    a fresh output, are included)."""
    import warnings

    from torch.profiler import ProfilerActivity, profile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"
              and str(e.device_type()).upper().endswith(device_type)]
    events.sort(key=lambda e: e.start_ns())
    running = peak = 0
    for e in events:
        running += e.nbytes()
        peak = max(peak, running)
    return peak


# Run with `python -c` in a fresh process: argv = h w batch dtype threads series.pt variant.
# Prints the peak resident growth of one call in bytes (README: "Memory", "Code notes").
RSS_CHILD_SCRIPT = r"""
import json, sys, torch, torch_render
h, w, batch, dtype, threads, variant = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
                                        int(sys.argv[5]), sys.argv[7])
torch.set_num_threads(threads)
series = torch.load(sys.argv[6])
dt = {"float32": torch.float32, "uint8": torch.uint8}[dtype]
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
torch_render.render_line(series[:1], 8, 8, line_width=3.0, dtype=dt)  # page the code in
if variant == "out":
    out = torch.empty((batch, 1, h, w), dtype=dt)
    out.fill_(0)  # resident before the measurement
    reset_peak(); before = status("VmRSS")
    torch_render.render_line(series, h, w, line_width=3.0, out=out)
    extra = status("VmHWM") - before
else:
    reset_peak(); before = status("VmRSS")
    img = torch_render.render_line(series, h, w, line_width=3.0, dtype=dt)
    extra = status("VmHWM") - before - img.numel() * img.element_size()
print(json.dumps(extra))
"""


def rss_peak_extra(series: torch.Tensor, h: int, w: int, dtype: str, threads: int) -> dict:
    """Peak resident memory of one out= call and of one fresh-output call beyond the
    output, each in a fresh process (page granularity; /proc/self/clear_refs resets
    the peak). A variant that cannot be measured here is left out."""
    import tempfile

    extra = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "series.pt")
        torch.save(series, path)
        for variant in ("out", "fresh"):
            try:
                proc = subprocess.run(
                    [sys.executable, "-c", RSS_CHILD_SCRIPT, str(h), str(w), str(series.shape[0]), dtype,
                     str(threads), path, variant],
                    capture_output=True, text=True, timeout=RSS_TIMEOUT_S,
                )
                if proc.returncode == 0:
                    extra[variant] = int(json.loads(proc.stdout.strip().splitlines()[-1]))
            except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
                pass
    return extra


def scratch_bound_bytes(batch: int, length: int, segments_per_point: int = 1) -> int:
    """The bound on the extra memory of one call: the float32 y and x coordinates of
    the points, B*S*L*4 + L*4 bytes."""
    return batch * segments_per_point * length * 4 + length * 4


def memory_section(windows: Windows, sizes, dtypes, batches, threads: int, quick: bool) -> list[dict]:
    rows = []
    for (h, w) in sizes:
        batch = batches[(h, w)]
        series = windows.get(batch)
        bound = scratch_bound_bytes(batch, series.shape[-1])
        for dtype in dtypes:
            dt = DTYPES[dtype]
            out = torch.empty((batch, 1, h, w), dtype=dt)
            out_bytes = out.numel() * out.element_size()
            torch_render.render_line(series, h, w, out=out)  # warm
            prof_out = profiler_peak_bytes(lambda: torch_render.render_line(series, h, w, out=out))
            del out
            prof_fresh = profiler_peak_bytes(lambda: torch_render.render_line(series, h, w, dtype=dt)) - out_bytes
            rss = {} if quick else rss_peak_extra(series, h, w, dtype, threads)
            rows.append(dict(
                size=f"{h}x{w}", dtype=dtype, batch=batch, threads=threads, output_bytes=out_bytes,
                bound_bytes=bound, profiler_out=prof_out, profiler_fresh=prof_fresh,
                rss_out=rss.get("out"), rss_fresh=rss.get("fresh"),
                ok=max(prof_out, prof_fresh) <= bound,
            ))
    return rows
