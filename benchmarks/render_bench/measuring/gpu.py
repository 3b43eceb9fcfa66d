"""The GPU section: images/s from CUDA events, write bandwidth against a device-to-device
copy of the same bytes, and the peak extra device memory of one call."""

from __future__ import annotations

import math
import statistics
from typing import Callable

import torch
import torch_render

from ..methods import Case, ReplacedScatter
from ..settings import BACKGROUND, DTYPES, GPU_BATCHES, GPU_QUICK_BATCHES
from ..windows import Windows
from .memory import scratch_bound_bytes


def seconds_per_call(fn: Callable[[], object], min_time: float, repeats: int, quick: bool) -> float:
    """Median seconds per call from CUDA events; each measurement times k calls, with k
    grown until one measurement lasts about 1.1 * min_time (k = 1 with quick)."""
    fn()
    torch.cuda.synchronize()
    calls = 1

    def seconds_for(calls):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3

    if not quick:
        while True:
            dt = seconds_for(calls)
            if dt >= 0.2 * min_time:
                break
            calls = max(calls * 2, math.ceil(calls * 0.25 * min_time / max(dt, 1e-6)))
        calls = max(calls, math.ceil(calls * 1.1 * min_time / dt))
    return statistics.median([seconds_for(calls) / calls for _ in range(repeats)])


def gpu_section(windows: Windows, sizes, dtypes, min_time: float, repeats: int, quick: bool,
                device: str = "cuda") -> dict:
    """Images/s, write bandwidth against a device-to-device copy of the same bytes,
    and peak extra device memory per call, at B = 256 and 1024 (4 with quick)."""
    if not torch.cuda.is_available():
        return dict(skipped="CUDA is not available (torch.cuda.is_available() is False)")
    if not torch_render.cuda_built():
        return dict(skipped="torch_render was built without CUDA kernels")
    dev = torch.device(device)
    rows, mem = [], []

    def timed(fn):
        return seconds_per_call(fn, min_time, repeats, quick)

    batches = GPU_QUICK_BATCHES if quick else GPU_BATCHES
    for (h, w) in sizes:
        for batch in batches:
            series = windows.get(batch).to(dev)
            for dtype in dtypes:
                dt = DTYPES[dtype]
                try:
                    out = torch.empty((batch, 1, h, w), dtype=dt, device=dev)
                    nbytes = out.numel() * out.element_size()
                    src = torch.empty_like(out).fill_(BACKGROUND[dtype])
                    t_copy = timed(lambda: out.copy_(src))
                    del src
                    copy_bw = 2 * nbytes / t_copy  # read + write
                    variants = [
                        ("op_out", "torch_render (out=, reused)",
                         lambda: torch_render.render_line(series, h, w, out=out)),
                        ("op", "torch_render (fresh output)",
                         lambda: torch_render.render_line(series, h, w, dtype=dt)),
                        ("fill_out", "floor: out.fill_(bg)", lambda: out.fill_(BACKGROUND[dtype])),
                        ("scatter", "replaced scatter, torch ops (out=)",
                         ReplacedScatter(Case(h, w, dtype, batch, windows.get(batch), device=device)).step),
                    ]
                    rows.append(dict(size=f"{h}x{w}", dtype=dtype, batch=batch, method="copy",
                                     label="device-to-device out.copy_(src)", images_per_s=batch / t_copy,
                                     write_gbs=nbytes / t_copy / 1e9, copy_gbs=copy_bw / 1e9,
                                     fraction_of_copy=None))
                    for key, label, fn in variants:
                        t = timed(fn)
                        rows.append(dict(size=f"{h}x{w}", dtype=dtype, batch=batch, method=key, label=label,
                                         images_per_s=batch / t, write_gbs=nbytes / t / 1e9,
                                         copy_gbs=copy_bw / 1e9, fraction_of_copy=(nbytes / t) / copy_bw))
                    # Peak extra device memory of one call beyond the output.
                    torch.cuda.synchronize()
                    base = torch.cuda.memory_allocated()
                    torch.cuda.reset_peak_memory_stats()
                    torch_render.render_line(series, h, w, out=out)
                    torch.cuda.synchronize()
                    extra_out = torch.cuda.max_memory_allocated() - base
                    del out
                    torch.cuda.synchronize()
                    base = torch.cuda.memory_allocated()
                    torch.cuda.reset_peak_memory_stats()
                    img = torch_render.render_line(series, h, w, dtype=dt)
                    torch.cuda.synchronize()
                    extra_fresh = torch.cuda.max_memory_allocated() - base - nbytes
                    del img
                    mem.append(dict(size=f"{h}x{w}", dtype=dtype, batch=batch, output_bytes=nbytes,
                                    bound_bytes=scratch_bound_bytes(batch, series.shape[-1]),
                                    cuda_out=extra_out, cuda_fresh=extra_fresh))
                except torch.cuda.OutOfMemoryError as e:
                    rows.append(dict(size=f"{h}x{w}", dtype=dtype, batch=batch, method="skipped",
                                     label=f"out of memory: {e}".splitlines()[0]))
                torch.cuda.empty_cache()
    return dict(device=torch.cuda.get_device_name(), rows=rows, memory=mem)
