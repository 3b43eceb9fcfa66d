"""The CPU throughput section: every selected method at every size, dtype and thread count."""

from __future__ import annotations

import gc
from typing import Callable, Sequence

from ..methods import Case, MethodSpec, Skip
from ..report.text import fmt_rate
from ..windows import Windows
from .timing import set_threads, time_method


def throughput_section(windows: Windows, sizes, dtypes: Sequence[str], threads: Sequence[int],
                       selected: Sequence[MethodSpec], batches: dict, min_time: float, repeats: int,
                       quick: bool, log: Callable[..., None]) -> tuple[list[dict], dict]:
    """One row per (size, dtype, threads, method), and the methods skipped with why.
    Leaves the thread count at the last one of ``threads``."""
    results, skipped = [], {}
    for (h, w) in sizes:
        batch = batches[(h, w)]
        series = windows.get(batch)
        for dtype in dtypes:
            for n in threads:
                set_threads(n)
                for spec in selected:
                    if spec.key in skipped:
                        continue
                    case = Case(h, w, dtype, batch, series)
                    try:
                        method = spec.make(case)
                        timing = time_method(method, min_time, repeats, quick)
                    except Skip as e:
                        skipped[spec.key] = str(e)
                        log(f"  skipped {spec.key}: {e}")
                        continue
                    del method
                    gc.collect()
                    results.append(dict(size=f"{h}x{w}", height=h, width=w, dtype=dtype, threads=n,
                                        method=spec.key, label=spec.label, kind=spec.kind,
                                        per_image=spec.per_image, batch=batch, **timing))
                    log(f"  {h}x{w} {dtype} {n}t {spec.label:45s} {fmt_rate(timing['images_per_s']):>10} "
                        f"images/s ({timing['images_per_measurement']} images/measurement)")
    return results, skipped
