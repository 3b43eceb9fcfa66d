"""The results as files: the throughput rows as CSV (--csv), everything as JSON (--json)."""

from __future__ import annotations

import csv
import json

CSV_COLUMNS = ["size", "height", "width", "dtype", "threads", "method", "label", "kind", "batch",
               "images_per_s", "x_fill_out", "x_fill_fresh", "x_fastest_peer", "fastest_peer",
               "images_per_measurement", "seconds_min", "samples"]


def write_csv(path: str, results: list[dict]) -> None:
    """One line per throughput row; samples (images/s of each measurement) joined with ';'."""
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(CSV_COLUMNS)
        for r in results:
            wr.writerow([";".join(f"{s:.1f}" for s in r[k]) if k == "samples" else r[k] for k in CSV_COLUMNS])


def write_json(path: str, res: dict) -> None:
    with open(path, "w") as f:
        json.dump(res, f, indent=1, default=str)
