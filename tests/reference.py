"""Independent NumPy brute-force reference of the line-chart model (docs/rendering.md).

Every pixel is measured against every primitive (segment or dot) of its channel, with
no culling. All arithmetic is float32 in the operation order the document writes
(numpy evaluates each elementwise operation separately, correctly rounded, with no
fused multiply-add), so the result should match the op bit for bit; the tests allow
1e-6. Separable per-primitive terms (those that depend only on the row or only on the
column) are computed on a row or column vector and broadcast: each element still
sees exactly the same float32 operations.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
_ZERO = F32(0.0)
_HALF = F32(0.5)
_ONE = F32(1.0)
_U_CLAMP = F32(1e6)
_FAR = F32(2**20)  # y is clamped to this many pixels beyond the first and last rows

OUTPUT_DTYPES = ("float32", "float16", "bfloat16", "float64", "uint8")


def to_float32(values) -> np.ndarray:
    """Round any floating array to float32 (nearest; beyond the float32 range -> +-inf)."""
    arr = np.asarray(values)
    with np.errstate(over="ignore", invalid="ignore"):
        return arr.astype(np.float32)


def round_bfloat16(values: np.ndarray) -> np.ndarray:
    """float32 -> nearest-even bfloat16, returned as float32 (finite inputs)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + np.uint64(0x7FFF) + ((bits >> np.uint64(16)) & np.uint64(1))) & np.uint64(0xFFFF0000)
    return bits.astype(np.uint32).view(np.float32)


def _y_coords(v: np.ndarray, lo: F32, hi: F32, height: int, m: F32, span_h: F32) -> np.ndarray:
    """y of every value of one series (NaN marks a gap)."""
    y = np.full(v.shape, np.nan, dtype=np.float32)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return y
    finite = np.isfinite(v)
    if hi == lo:
        y[finite] = F32(height - 1) * _HALF
        return y
    vf = np.where(finite, v, _ZERO).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        num = vf - lo
        den = F32(hi - lo)
        # the difference overflowed float32: both are taken halved
        bad = ~np.isfinite(num) | (not np.isfinite(den))
        num_h = vf * _HALF - lo * _HALF
        den_h = F32(hi * _HALF - lo * _HALF)
        u_main = np.where(bad, num_h / den_h, num / den).astype(np.float32)
    u = np.clip(u_main, -_U_CLAMP, _U_CLAMP).astype(np.float32)
    yy = (m + (_ONE - u) * span_h).astype(np.float32)
    yy = np.clip(yy, -_FAR, F32(height - 1) + _FAR).astype(np.float32)
    y[finite] = yy[finite]
    return y


def _x_coords(length: int, width: int, m: F32, span_w: F32) -> np.ndarray:
    if length == 1:
        return np.array([F32(width - 1) * _HALF], dtype=np.float32)
    i = np.arange(length, dtype=np.float32)
    return m + (i * span_w) / F32(length - 1)


def _primitives(x: np.ndarray, y: np.ndarray):
    """(x0, y0, x1, y1) of the segments and dots of one series."""
    drawn = np.isfinite(y)
    prims = []
    n = len(y)
    for j in range(n):
        if not drawn[j]:
            continue
        nxt = j + 1 < n and drawn[j + 1]
        prv = j > 0 and drawn[j - 1]
        if nxt:
            prims.append((x[j], y[j], x[j + 1], y[j + 1]))
        if not nxt and not prv:
            prims.append((x[j], y[j], x[j], y[j]))
    return prims


def _min_d2(prims, height: int, width: int) -> np.ndarray:
    """Minimum squared distance from every pixel centre to the primitives, [H, W]."""
    px = np.arange(width, dtype=np.float32)[None, :]   # x = column
    py = np.arange(height, dtype=np.float32)[:, None]  # y = row
    best = np.full((height, width), np.inf, dtype=np.float32)
    for x0, y0, x1, y1 in prims:
        x0, y0, x1, y1 = F32(x0), F32(y0), F32(x1), F32(y1)
        ax = x0 - px          # [1, W]
        ay = y0 - py          # [H, 1]
        ex = F32(x1 - x0)
        ey = F32(y1 - y0)
        ee = F32(ex * ex + ey * ey)
        if ee > _ZERO:
            dot = ax * ex + ay * ey                      # [H, W]
            t = np.clip(-dot / ee, _ZERO, _ONE).astype(np.float32)
            cx = ax + t * ex
            cy = ay + t * ey
        else:
            t = _ZERO
            cx = np.broadcast_to(ax + t * ex, (height, width))
            cy = np.broadcast_to(ay + t * ey, (height, width))
        d2 = cx * cx + cy * cy
        np.minimum(best, d2, out=best)
    return best


def reference_render_line(
    series,
    height: int,
    width: int,
    *,
    line_width: float = 3.0,
    antialias: bool = True,
    margin: float = 0.0,
    value_range=None,
    channels: bool = False,
    background: float = 1.0,
    foreground: float = 0.0,
    dtype: str = "float32",
) -> np.ndarray:
    """Render ``series`` ([B, L] or [B, S, L]) to [B, C, H, W] by the model of docs/rendering.md.

    ``dtype``: "float32", "float16", "float64", "uint8", or "bfloat16" (float32 array of
    the nearest-even bfloat16 values).
    """
    s = to_float32(series)
    if s.ndim == 2:
        s = s[:, None, :]
    if s.ndim != 3:
        raise ValueError(f"series must be [B, L] or [B, S, L], got {s.shape}")
    B, S, L = s.shape
    H, W = int(height), int(width)
    C = S if channels else 1
    m = F32(margin)
    span_w = F32(F32(W - 1) - F32(2) * m)
    span_h = F32(F32(H - 1) - F32(2) * m)
    h = F32(F32(line_width) * _HALF)
    bg = F32(background)
    fg = F32(foreground)

    vr = None
    if value_range is not None:
        vr = to_float32(value_range)
        if vr.ndim == 2:
            vr = np.broadcast_to(vr[:, None, :], (B, S, 2))
        elif not channels:
            raise ValueError("value_range [B, S, 2] needs channels=True")

    xs = _x_coords(L, W, m, span_w)
    values = np.empty((B, C, H, W), dtype=np.float32)
    for b in range(B):
        groups = [list(range(S))] if not channels else [[k] for k in range(S)]
        for c, group in enumerate(groups):
            prims = []
            if vr is not None:
                lo, hi = F32(vr[b, group[0], 0]), F32(vr[b, group[0], 1])
            else:
                vals = s[b, group, :]
                fin = vals[np.isfinite(vals)]
                lo = F32(fin.min()) if fin.size else F32(np.nan)
                hi = F32(fin.max()) if fin.size else F32(np.nan)
            for k in group:
                y = _y_coords(s[b, k], lo, hi, H, m, span_h)
                prims += _primitives(xs, y)
            d = np.sqrt(_min_d2(prims, H, W))
            if antialias:
                a = np.clip(F32(h + _HALF) - d, _ZERO, _ONE).astype(np.float32)
            else:
                a = np.where(d <= h, _ONE, _ZERO).astype(np.float32)
            v = (bg + a * F32(fg - bg)).astype(np.float32)
            v = np.clip(v, min(bg, fg), max(bg, fg)).astype(np.float32)
            values[b, c] = np.where(a == _ONE, fg, v)

    if dtype == "float32":
        return values
    if dtype == "float16":
        return values.astype(np.float16)
    if dtype == "float64":
        return values.astype(np.float64)
    if dtype == "bfloat16":
        return round_bfloat16(values)
    if dtype == "uint8":
        return np.clip(np.rint(F32(255) * values), 0, 255).astype(np.uint8)
    raise ValueError(f"unknown dtype {dtype!r}")
