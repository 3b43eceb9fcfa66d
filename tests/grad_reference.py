"""The antialiased line-chart model of docs/rendering.md written with float64 torch
ops, so that autograd through it gives the gradients that render_line's backward
must match. Independent of the op: no float32 step, no clamps of u or y, no
culling; the distance is the minimum over every capsule (torch.amin, whose ties
share the gradient), the value range the min and max of the finite values
(torch.amin / torch.amax, ties shared) or the given value_range.
"""

from __future__ import annotations

import math
from typing import Optional

import torch

F64 = torch.float64


def _point_xs(length: int, width: int, margin: float) -> list[float]:
    if length == 1:
        return [(width - 1) / 2.0]
    span_w = width - 1 - 2.0 * margin
    return [margin + i * span_w / (length - 1) for i in range(length)]


def _primitives(finite: list[bool]) -> list[tuple[int, int]]:
    """(j, k) end points of each drawn primitive: segments j -> j + 1 between finite
    points, and dots (j, j) at finite points with no finite neighbour."""
    n = len(finite)
    prims = []
    for j in range(n):
        if not finite[j]:
            continue
        if j + 1 < n and finite[j + 1]:
            prims.append((j, j + 1))
        elif not (j > 0 and finite[j - 1]):
            prims.append((j, j))
    return prims


def _scaled_ys(values: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, height: int,
               margin: float) -> torch.Tensor:
    """y of every value (any shape) for the range [lo, hi]; NaN-free where values are not
    finite (those points are never drawn)."""
    finite = torch.isfinite(values)
    if bool(hi == lo):
        return torch.full_like(values, (height - 1) / 2.0)
    safe = torch.where(finite, values, lo.detach())
    u = (safe - lo) / (hi - lo)
    return margin + (1.0 - u) * (height - 1 - 2.0 * margin)


def _capsule_dist(px: torch.Tensor, py: torch.Tensor, x0: float, y0: torch.Tensor, x1: float,
                  y1: torch.Tensor, dot: bool) -> torch.Tensor:
    """Distance from pixel centres (px, py) to the capsule axis (x0, y0)-(x1, y1)."""
    if dot:
        dx, dy = px - x0, py - y0
    else:
        ex, ey = x1 - x0, y1 - y0
        ee = ex * ex + ey * ey
        t = (((px - x0) * ex + (py - y0) * ey) / ee).clamp(0.0, 1.0)
        dx, dy = px - (x0 + t * ex), py - (y0 + t * ey)
    d2 = dx * dx + dy * dy
    positive = d2 > 0
    return torch.where(positive, torch.where(positive, d2, 1.0).sqrt(), 0.0)


def render_line_f64(
    series: torch.Tensor,
    height: int,
    width: int,
    *,
    line_width: float = 3.0,
    margin: float = 0.0,
    value_range: Optional[torch.Tensor] = None,
    channels: bool = False,
    background: float = 1.0,
    foreground: float = 0.0,
    column_block: int = 48,
) -> torch.Tensor:
    """[B, C, H, W] float64 image of the antialiased model; differentiable with
    respect to `series` and `value_range` (float64 tensors)."""
    s = series if series.dim() == 3 else series.unsqueeze(1)
    B, S, L = s.shape
    C = S if channels else 1
    xs = _point_xs(L, width, margin)
    h = line_width / 2.0
    reach = h + 0.5
    rows = torch.arange(height, dtype=F64)[:, None]
    images = []
    for b in range(B):
        planes = []
        for c in range(C):
            members = [c] if channels else list(range(S))
            vals = s[b, members]  # [S', L]
            finite = torch.isfinite(vals)
            if value_range is not None:
                r = value_range[b, c] if value_range.dim() == 3 else value_range[b]
                lo, hi = r[0], r[1]
            else:
                if not bool(finite.any()):
                    planes.append(torch.full((height, width), float(background), dtype=F64))
                    continue
                lo = torch.amin(torch.where(finite, vals, math.inf))
                hi = torch.amax(torch.where(finite, vals, -math.inf))
            ys = _scaled_ys(vals, lo, hi, height, margin)
            prims = []  # (x0, y0, x1, y1, dot)
            for k in range(len(members)):
                for j, e in _primitives([bool(f) for f in finite[k]]):
                    prims.append((xs[j], ys[k, j], xs[e], ys[k, e], j == e))
            blocks = []
            for c0 in range(0, width, column_block):
                c1 = min(width, c0 + column_block)
                cols = torch.arange(c0, c1, dtype=F64)[None, :]
                near = [p for p in prims
                        if min(p[0], p[2]) - reach - 1 <= c1 - 1 and max(p[0], p[2]) + reach + 1 >= c0]
                if not near:
                    blocks.append(torch.full((height, c1 - c0), float(background), dtype=F64))
                    continue
                d = torch.stack([_capsule_dist(cols, rows, *p) for p in near]).amin(0)
                a = (reach - d).clamp(0.0, 1.0)
                blocks.append(background + a * (foreground - background))
            planes.append(torch.cat(blocks, dim=1))
        images.append(torch.stack(planes))
    return torch.stack(images)
