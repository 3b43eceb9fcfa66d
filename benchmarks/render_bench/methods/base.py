"""What a method is: the case it draws (Case), the timed step (Method), and Skip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..settings import DTYPES


class Skip(Exception):
    """A method that cannot run here (a missing optional package): reported, not a failure."""


@dataclass
class Case:
    """One cell of the benchmark: image size, output dtype, batch and the windows drawn."""

    height: int
    width: int
    dtype: str  # "float32" | "uint8"
    batch: int
    series: torch.Tensor  # [batch, L] float64 on the CPU
    device: str = "cpu"

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.batch, 1, self.height, self.width)


class Method:
    """One way of producing images. ``step()`` renders ``per_step`` images; reused
    outputs are allocated in ``__init__`` (outside the timed region)."""

    per_step: int = 1

    def step(self) -> None:
        raise NotImplementedError

    def result(self) -> np.ndarray:
        """[batch, H, W] float64 gray in [0, 1] after ``batch / per_step`` steps."""
        raise NotImplementedError


def as_gray(images, dtype: str) -> np.ndarray:
    """[B, (1,) H, W] float32 or uint8 images as [B, H, W] float64 gray in [0, 1]."""
    a = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    a = a.reshape(a.shape[0], a.shape[-2], a.shape[-1]).astype(np.float64)
    return a / 255.0 if dtype == "uint8" else a
