"""The targets (render_bench/targets.py), each with its measured ratio and PASS/MISS."""

from __future__ import annotations

from typing import Optional

from ..targets import ALL_THREADS, CPU_TARGETS, FASTEST_PEER, GPU_TARGET, Row
from .ratios import fastest_peer_rate, rate_of


def _rate(results: list[dict], row: Row, all_threads: int) -> Optional[float]:
    threads = all_threads if row.threads == ALL_THREADS else row.threads
    if row.method == FASTEST_PEER:
        return fastest_peer_rate(results, row.size, row.dtype, threads)
    return rate_of(results, row.size, row.dtype, threads, row.method)


def _verdict(name: str, ratio: Optional[float], required: float) -> dict:
    if ratio is None:
        return dict(target=name, ratio=None, bound=required, status="n/a (not measured)")
    return dict(target=name, ratio=ratio, bound=required, status="PASS" if ratio >= required else "MISS")


def evaluate_targets(results: list[dict], all_threads: int, gpu: dict) -> list[dict]:
    verdicts = []
    for target in CPU_TARGETS:
        if ALL_THREADS in (target.measured.threads, target.reference.threads) and all_threads <= 1:
            continue
        measured = _rate(results, target.measured, all_threads)
        reference = _rate(results, target.reference, all_threads)
        ratio = None if measured is None or reference is None else measured / reference
        verdicts.append(_verdict(target.name.format(all_threads=all_threads), ratio, target.required))
    if gpu.get("rows"):
        for r in gpu["rows"]:
            if (r.get("method") == GPU_TARGET["method"] and r["dtype"] == GPU_TARGET["dtype"]
                    and r["size"] in GPU_TARGET["sizes"] and r["batch"] >= GPU_TARGET["min_batch"]):
                verdicts.append(_verdict(GPU_TARGET["name"].format(size=r["size"], batch=r["batch"]),
                                         r["fraction_of_copy"], GPU_TARGET["required"]))
    else:
        verdicts.append(dict(target=GPU_TARGET["name_not_run"], ratio=None, bound=GPU_TARGET["required"],
                             status=f"n/a ({gpu.get('skipped', 'not run')})"))
    return verdicts
