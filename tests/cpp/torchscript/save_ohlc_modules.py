"""Save scripted render_ohlc modules and their expected images, for the C++ test.

Writes into ``--out-dir`` (``tests/cpp/torchscript/test_render_ohlc_torchscript.cpp``
loads them with ``torch::jit::load`` and runs them from C++):

- ``chart.pt``: ``torch.jit.script(torch_render.transforms.OHLCChart(64,
  style="candle", volume_rows=12, dtype=torch.uint8))``, saved;
- ``op.pt``: a scripted module whose ``forward(ohlc, volume, overlays,
  value_range)`` calls ``torch.ops.torch_render.render_ohlc`` (bars 5 columns
  wide, wider than the bars, a volume panel, a value range, float32, grey on
  dark) and whose ``render_into(ohlc, out)`` calls its ``out=`` form;
- ``expected.pt``: a scripted module whose buffers are the inputs (a fixed random
  walk with missing values, volumes with a zero and a NaN, a moving average with
  its NaN warm-up, value ranges) and the images each module must give, computed by
  the float64 brute-force reference ``tests/ohlc_reference.py`` (never by the op).

The op itself is not called here: the C++ test compares the op's output, through
TorchScript and through the dispatcher, with the reference's.

Usage:
    python tests/cpp/torchscript/save_ohlc_modules.py --out-dir DIR

The ``torch_render`` package must be importable (the modules script its
``OHLCChart`` and call its operators); CTest puts the source tree on PYTHONPATH.
"""

import argparse
import os
import sys
from typing import Dict, Optional

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))  # tests/: ohlc_reference

from ohlc_reference import render_ohlc_reference  # noqa: E402

# The C++ example's store of named tensors (examples/cpp/make_model.py), read the same way.
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "examples", "cpp"))
from make_model import TensorStore  # noqa: E402

B, L = 6, 20
CHART = dict(height=64, style="candle", volume_rows=12, dtype=torch.uint8)
OP = dict(height=50, width=110, style="bar", bar_width=5, volume_rows=9, background=0.25, foreground=0.75)


class OhlcOp(nn.Module):
    """render_ohlc with fixed options, by the op's name, as TorchScript users write it."""

    def forward(self, ohlc: torch.Tensor, volume: torch.Tensor, overlays: torch.Tensor,
                value_range: Optional[torch.Tensor]) -> torch.Tensor:
        return torch.ops.torch_render.render_ohlc(
            ohlc, 50, 110, volume=volume, overlays=overlays, style="bar", bar_width=5, volume_rows=9,
            value_range=value_range, background=0.25, foreground=0.75, dtype=torch.float32)

    @torch.jit.export
    def render_into(self, ohlc: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        torch.ops.torch_render.render_ohlc(ohlc, 50, 110, style="candle", bar_width=5, out=out)
        return out


def inputs() -> Dict[str, torch.Tensor]:
    """The same inputs on every run: float32 OHLC windows with gaps, volumes, a 5-bar MA."""
    rng = np.random.default_rng(20261130)
    close = 100.0 + np.cumsum(rng.normal(0.0, 1.0, (B, L + 4)), axis=1)
    open_ = close + rng.normal(0.0, 0.5, close.shape)
    high = np.maximum(open_, close) + rng.exponential(0.5, close.shape)
    low = np.minimum(open_, close) - rng.exponential(0.5, close.shape)
    ohlc = np.stack([open_, high, low, close], axis=-1)
    ma = np.stack([np.convolve(c, np.ones(5) / 5, mode="full")[: L + 4] for c in close])
    ma[:, :4] = np.nan  # fewer than 5 values
    ohlc, ma = ohlc[:, 4:], ma[:, 4:]
    ma[0, :3] = np.nan  # a window starting in the warm-up
    ohlc[1, 5, 1] = np.nan  # missing high: the bar is skipped
    ohlc[2, 7, 0] = np.nan  # missing open
    ohlc[2, 9, 3] = np.inf  # missing close
    ohlc[3] = ohlc[3, :1, 3:4]  # a flat window
    volume = rng.exponential(100.0, (B, L))
    volume[1, 3] = 0.0
    volume[4, 11] = np.nan
    finite = np.where(np.isfinite(ohlc), ohlc, np.nan)
    value_range = np.stack([np.nanmin(finite[:, :, 2], 1) + 0.5, np.nanmax(finite[:, :, 1], 1) - 0.5], axis=1)
    value_range[3] = (90.0, 110.0)
    f32 = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(torch.float32)  # noqa: E731
    return {"ohlc": f32(ohlc), "volume": f32(volume), "overlays": f32(ma[:, None, :]),
            "value_range": torch.from_numpy(value_range)}


def expected(x: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The reference's images for the two modules (inputs as the op sees them: float32)."""
    n = {k: v.numpy() for k, v in x.items()}
    chart = render_ohlc_reference(n["ohlc"], 64, volume=n["volume"], overlays=n["overlays"], style="candle",
                                  volume_rows=12, dtype="uint8")
    op = render_ohlc_reference(n["ohlc"], 50, 110, volume=n["volume"], overlays=n["overlays"], style="bar",
                               bar_width=5, volume_rows=9, value_range=n["value_range"], background=0.25,
                               foreground=0.75, dtype="float32")
    op_auto = render_ohlc_reference(n["ohlc"], 50, 110, volume=n["volume"], overlays=n["overlays"], style="bar",
                                    bar_width=5, volume_rows=9, background=0.25, foreground=0.75, dtype="float32")
    into = render_ohlc_reference(n["ohlc"], 50, 110, style="candle", bar_width=5, dtype="float32")
    return {"chart_images": torch.from_numpy(chart).to(torch.uint8),
            "op_images": torch.from_numpy(op).to(torch.float32),
            "op_images_auto_range": torch.from_numpy(op_auto).to(torch.float32),
            "into_images": torch.from_numpy(into).to(torch.float32)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args(argv)
    try:
        import torch_render
    except ImportError as err:
        raise SystemExit(f"save_ohlc_modules.py: cannot import torch_render ({err}); the test scripts "
                         "torch_render.transforms.OHLCChart, so the package must be importable")
    from torch_render.transforms import OHLCChart

    os.makedirs(args.out_dir, exist_ok=True)
    chart = torch.jit.script(OHLCChart(CHART["height"], style=CHART["style"], volume_rows=CHART["volume_rows"],
                                       dtype=CHART["dtype"]))
    torch.jit.save(chart, os.path.join(args.out_dir, "chart.pt"))
    torch.jit.save(torch.jit.script(OhlcOp()), os.path.join(args.out_dir, "op.pt"))
    x = inputs()
    want = expected(x)
    torch.jit.save(torch.jit.script(TensorStore({**x, **want})), os.path.join(args.out_dir, "expected.pt"))
    print(f"save_ohlc_modules.py: ops from {os.path.dirname(torch_render.__file__)}; wrote chart.pt, op.pt, "
          f"expected.pt into {args.out_dir}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in want.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
