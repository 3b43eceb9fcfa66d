"""The CPU timing loop: a warm-up step, then the median images/s of repeated measurements."""

from __future__ import annotations

import statistics
import time

import torch

from ..methods import Method


def set_threads(n: int) -> None:
    """n threads for torch (and for OpenCV, whose drawing is single-threaded anyway)."""
    torch.set_num_threads(n)
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:
        pass


def time_method(method: Method, min_time: float, repeats: int, quick: bool) -> dict:
    """Median images/s over ``repeats`` measurements; each measurement repeats
    ``step()`` until at least min_time seconds have passed (one step with quick)."""
    method.step()  # warm-up (first-call costs, lazy imports, caches)
    rates, times, counts = [], [], []
    for _ in range(repeats):
        steps = 0
        t0 = time.perf_counter()
        while True:
            method.step()
            steps += 1
            dt = time.perf_counter() - t0
            if quick or dt >= min_time:
                break
        rates.append(steps * method.per_step / dt)
        times.append(dt)
        counts.append(steps * method.per_step)
    return dict(images_per_s=statistics.median(rates), samples=rates,
                images_per_measurement=min(counts), seconds_min=min(times))
