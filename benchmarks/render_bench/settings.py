"""What every method draws and the settings of the default run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"

LINE_WIDTH = 3.0  # px
WINDOW = 100  # closes per window
DPI = 100  # matplotlib: figure size = pixels / DPI
CV2_THICKNESS = 2  # OpenCV's thickness that inks about as much as a 3-px line (README: "OpenCV thickness")

DEFAULT_SIZES = "500x800,224x224,64x64"
# Images per call of the batched methods (and slots of the reused output of the
# per-image ones); README: "Timing".
DEFAULT_BATCH = {(500, 800): 4, (224, 224): 32, (64, 64): 400}
DEFAULT_BATCH_BYTES = 6.4e6  # float32 output per call at the sizes DEFAULT_BATCH does not name
QUICK_BATCH = 4
GPU_BATCHES = (256, 1024)
GPU_QUICK_BATCHES = (4,)

DTYPES = {"float32": torch.float32, "uint8": torch.uint8}
NP_DTYPES = {"float32": np.float32, "uint8": np.uint8}
BACKGROUND = {"float32": 1.0, "uint8": 255}
FOREGROUND = {"float32": 0.0, "uint8": 0}
INV255 = np.float32(1.0 / 255.0)


def default_batch(height: int, width: int) -> int:
    """Images per call at H x W when --batch is not given (and not --quick)."""
    return DEFAULT_BATCH.get((height, width), max(1, round(DEFAULT_BATCH_BYTES / (4 * height * width))))
