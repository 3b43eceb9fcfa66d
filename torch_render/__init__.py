"""torch_render: PyTorch operators that draw price series as chart images.

Importing the package loads the compiled library, which registers the operators
under ``torch.ops.torch_render``; nothing else happens at import.

Example:
    >>> import torch, torch_render
    >>> series = torch.randn(64, 100).cumsum(-1)
    >>> torch_render.render_line(series, 500, 800).shape
    torch.Size([64, 1, 500, 800])
"""

import torch  # noqa: F401  (loads libtorch before the extension)

from torch_render import _C  # noqa: F401  (registers torch.ops.torch_render.*)
from torch_render.ops import cuda_built, render_line

__version__ = "0.1.0"

__all__ = ["render_line", "cuda_built", "__version__"]
