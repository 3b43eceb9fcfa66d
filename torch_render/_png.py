"""Minimal PNG output for rendered charts: the standard library (zlib, struct) and
torch only, so looking at a chart needs no matplotlib or Pillow."""

from __future__ import annotations

import math
import os
import struct
import zlib
from typing import Union

import torch

__all__ = ["write_png", "contact_sheet"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _to_uint8(image: torch.Tensor) -> torch.Tensor:
    """uint8 as is; floating values in [0, 1] to round(255 * v) (clamped, NaN to 0)."""
    if image.dtype == torch.uint8:
        return image
    if not image.dtype.is_floating_point:
        raise TypeError(f"write_png: image must be uint8 or floating, got {image.dtype}")
    values = torch.nan_to_num(image.float(), nan=0.0).clamp_(0.0, 1.0)
    return (values * 255.0).round_().to(torch.uint8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def write_png(path: Union[str, os.PathLike], image: torch.Tensor, *, compression: int = 6) -> None:
    """Write an 8-bit greyscale or RGB PNG.

    Args:
        path: file to write (overwritten).
        image: ``[H, W]`` (greyscale) or ``[H, W, 3]`` (RGB) tensor, uint8, or
            floating with values in [0, 1] (stored as ``round(255 * v)``, clamped;
            NaN stored as 0); any device (it is copied to the CPU).
        compression: zlib level 0-9. Default 6.

    Example:
        >>> img = torch_render.render_line(torch.randn(1, 100).cumsum(-1), 500, 800)
        >>> write_png("chart.png", img[0, 0])
    """
    if image.dim() == 3 and image.shape[2] == 3:
        color_type, channels = 2, 3
    elif image.dim() == 2:
        color_type, channels = 0, 1
    else:
        raise ValueError(f"write_png: image must be [H, W] or [H, W, 3], got shape {list(image.shape)}")
    height, width = int(image.shape[0]), int(image.shape[1])
    if height < 1 or width < 1:
        raise ValueError(f"write_png: image must not be empty, got shape {list(image.shape)}")
    pixels = _to_uint8(image.detach()).cpu().reshape(height, width * channels)
    # Each scanline is preceded by its filter type; 0 (None) compresses charts well.
    rows = torch.cat([torch.zeros(height, 1, dtype=torch.uint8), pixels], dim=1)
    raw = rows.contiguous().numpy().tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    data = (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, compression))
        + _chunk(b"IEND", b"")
    )
    with open(path, "wb") as f:
        f.write(data)


def contact_sheet(
    images: torch.Tensor, columns: int, pad: int = 4, pad_value: float = 0.5
) -> torch.Tensor:
    """Tile the first channel of each image in a grid with separators.

    Images fill the grid row by row; cells past the last image, the ``pad``-pixel
    gaps between cells and the border around the grid have ``pad_value``.

    Args:
        images: ``[N, C, H, W]`` tensor (N >= 1), uint8 or floating; only channel 0
            is used.
        columns: number of grid columns (>= 1); fewer when N is smaller.
        pad: separator and border width in pixels (>= 0). Default 4.
        pad_value: separator value in [0, 1] (grey 0.5 by default); for uint8
            images it is stored as ``round(255 * pad_value)``.

    Returns:
        ``[rows * (H + pad) + pad, cols * (W + pad) + pad]`` tensor of the images'
        dtype and device, with ``cols = min(columns, N)`` and
        ``rows = ceil(N / cols)``.

    Example:
        >>> sheet = contact_sheet(torch_render.render_line(closes[:16], 500, 800), 4)
        >>> write_png("charts.png", sheet)
    """
    if images.dim() != 4:
        raise ValueError(f"contact_sheet: images must be [N, C, H, W], got shape {list(images.shape)}")
    n, _, height, width = (int(s) for s in images.shape)
    if n < 1 or images.shape[1] < 1:
        raise ValueError(
            f"contact_sheet: need at least one image and one channel, got shape {list(images.shape)}"
        )
    if int(columns) < 1:
        raise ValueError(f"contact_sheet: columns must be >= 1, got {columns}")
    if int(pad) < 0:
        raise ValueError(f"contact_sheet: pad must be >= 0, got {pad}")
    cols = min(int(columns), n)
    rows = math.ceil(n / cols)
    pad = int(pad)
    fill = float(pad_value)
    if images.dtype == torch.uint8:
        if not 0.0 <= fill <= 1.0:
            raise ValueError(f"contact_sheet: pad_value must be in [0, 1], got {pad_value}")
        fill = round(255 * fill)
    sheet = images.new_full((rows * (height + pad) + pad, cols * (width + pad) + pad), fill)
    for i in range(n):
        top = pad + (i // cols) * (height + pad)
        left = pad + (i % cols) * (width + pad)
        sheet[top : top + height, left : left + width] = images[i, 0]
    return sheet
