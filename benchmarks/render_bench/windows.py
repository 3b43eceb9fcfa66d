"""The price windows every method draws: real closes from ../shared/data when present, else synthetic."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from .settings import DEFAULT_DATA_DIR, WINDOW


def find_kline_file(data_dir: Path) -> Optional[Path]:
    """The first kline file (CSV, gzip CSV or zip) in data_dir, if any."""
    if not data_dir.is_dir():
        return None
    for path in sorted(data_dir.iterdir()):
        name = path.name.lower()
        if path.is_file() and name.endswith((".csv", ".csv.gz", ".zip")):
            return path
    return None


class Windows:
    """Price windows [B, L] float64 spread evenly over one long series of closes."""

    def __init__(self, data: Optional[str], synthetic: bool, length: int = WINDOW):
        self.length = length
        self.closes: Optional[torch.Tensor] = None
        self.source = "synthetic (torch_render.synthetic.synthetic_closes, seed 0)"
        if not synthetic:
            path = Path(data) if data else find_kline_file(DEFAULT_DATA_DIR)
            if path is not None:
                from torch_render._klines import read_closes

                closes = read_closes(path)
                closes = closes[torch.isfinite(closes)]
                if len(closes) >= length:
                    self.closes = closes
                    self.source = f"real closes: {path.name} ({len(closes):,} minutes)"
        self._by_batch: dict[int, torch.Tensor] = {}

    def get(self, batch: int) -> torch.Tensor:
        """[batch, L] float64, contiguous, on the CPU."""
        if batch not in self._by_batch:
            if self.closes is None:
                from torch_render.synthetic import synthetic_closes

                windows = synthetic_closes(batch, self.length, seed=0)
            else:
                n = len(self.closes)
                starts = torch.linspace(0, n - self.length, batch).round().long()
                index = starts[:, None] + torch.arange(self.length)[None, :]
                windows = self.closes[index]
            self._by_batch[batch] = windows.contiguous()
        return self._by_batch[batch]
