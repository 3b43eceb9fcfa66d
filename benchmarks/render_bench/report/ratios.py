"""Ratios of each throughput row to the floors and to the fastest peer of its group."""

from __future__ import annotations

from typing import Optional


def add_ratios(results: list[dict]) -> None:
    """Adds x_fill_out, x_fill_fresh, x_fastest_peer and fastest_peer to each row, within
    its (size, dtype, threads) group."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["size"], r["dtype"], r["threads"]), []).append(r)
    for rows in groups.values():
        rate_by_method = {r["method"]: r["images_per_s"] for r in rows}
        peers = [r for r in rows if r["kind"] == "peer"]
        fastest = max(peers, key=lambda r: r["images_per_s"]) if peers else None
        for r in rows:
            ips = r["images_per_s"]
            r["x_fill_out"] = ips / rate_by_method["fill_out"] if "fill_out" in rate_by_method else None
            r["x_fill_fresh"] = ips / rate_by_method["fill_fresh"] if "fill_fresh" in rate_by_method else None
            r["x_fastest_peer"] = ips / fastest["images_per_s"] if fastest else None
            r["fastest_peer"] = fastest["method"] if fastest else None


def rate_of(results: list[dict], size: str, dtype: str, threads: int, method: str) -> Optional[float]:
    """images/s of one row, or None when it was not measured."""
    for r in results:
        if (r["size"], r["dtype"], r["threads"], r["method"]) == (size, dtype, threads, method):
            return r["images_per_s"]
    return None


def fastest_peer_rate(results: list[dict], size: str, dtype: str, threads: int) -> Optional[float]:
    """images/s of the fastest peer of a group, or None when no peer was measured."""
    rates = [r["images_per_s"] for r in results
             if (r["size"], r["dtype"], r["threads"], r["kind"]) == (size, dtype, threads, "peer")]
    return max(rates) if rates else None
