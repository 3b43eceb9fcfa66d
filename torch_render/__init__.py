"""torch_render: PyTorch operators that draw price series as chart images.

Importing the package loads the compiled library, which registers the operators
under ``torch.ops.torch_render``; nothing else happens at import.

Example:
    >>> import torch, torch_render
    >>> series = torch.randn(64, 100).cumsum(-1)
    >>> torch_render.render_line(series, 500, 800).shape
    torch.Size([64, 1, 500, 800])
    >>> torch_render.LineChart(224, 224)(series).shape          # the op as an nn.Module
    torch.Size([64, 1, 224, 224])

``torch_render.data`` reads kline files (``load_klines``) and makes sliding windows
as views with labels (``windows``, ``ohlc_windows``, ``future_return_labels``,
``WindowDataset``), moving averages with history (``moving_average``) and k-minute
bars (``resample``); ``torch_render.transforms`` holds the ``nn.Module`` transforms
(``LineChart``, ``OHLCChart``).
"""

import torch  # noqa: F401  (loads libtorch before the extension)

from torch_render import _C  # noqa: F401  (registers torch.ops.torch_render.*)
from torch_render.ops import cpu_isa, cuda_built, render_line
from torch_render import _line_backward  # noqa: F401  (the backward's fake kernel)
from torch_render.ohlc import OHLCChart, jkx_chart, render_ohlc
from torch_render import data, transforms  # noqa: E402  (after _C: they call the ops)
from torch_render.transforms import LineChart

__version__ = "0.1.0"

__all__ = ["render_line", "render_ohlc", "jkx_chart", "OHLCChart", "cuda_built", "cpu_isa", "LineChart", "data", "transforms", "__version__"]
