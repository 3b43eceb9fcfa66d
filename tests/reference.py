"""Independent NumPy brute-force reference of the line-chart model (docs/rendering.md).

Every pixel is measured against every primitive (segment or dot) of its channel, with
no culling. The point coordinates are evaluated in float64 and stored as float32, the
raster is float32, in the operation order the document writes (numpy evaluates each
elementwise operation separately, correctly rounded, with no fused multiply-add), so
the result should match the op bit for bit; the tests allow 1e-6.
``exact_render_line`` is the model evaluated in plain float64 throughout (no float32
step, no clamp): the op must agree with it to 1e-4 per pixel at any price level. Separable per-primitive terms (those that depend only on the row or only on the
column) are computed on a row or column vector and broadcast: each element still
sees exactly the same float32 operations.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
_ZERO = F32(0.0)
_HALF = F32(0.5)
_ONE = F32(1.0)
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


def _y_coords(v: np.ndarray, lo: float, hi: float, height: int, m: float, span_h: float) -> np.ndarray:
    """y of every value of one series (NaN marks a gap): float64 steps, stored as float32."""
    y = np.full(v.shape, np.nan, dtype=np.float32)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return y
    finite = np.isfinite(v)
    if hi == lo:
        y[finite] = F32((height - 1) * 0.5)
        return y
    vf = np.where(finite, v, 0.0).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        num = vf - lo
        den = np.float64(hi - lo)
        # the difference overflowed float64: both are taken halved
        bad = ~np.isfinite(num) | (not np.isfinite(den))
        num_h = vf * 0.5 - lo * 0.5
        den_h = np.float64(hi * 0.5 - lo * 0.5)
        u_main = np.where(bad, num_h / den_h, num / den)
    u = np.clip(u_main, -1e6, 1e6)
    yy = np.clip(m + (1.0 - u) * span_h, -float(_FAR), (height - 1) + float(_FAR))
    y[finite] = yy[finite].astype(np.float32)
    return y


def _x_coords(length: int, width: int, m: float, span_w: float) -> np.ndarray:
    """x of every point: float64 steps, stored as float32."""
    if length == 1:
        return np.array([(width - 1) * 0.5], dtype=np.float32)
    i = np.arange(length, dtype=np.float64)
    return (m + (i * span_w) / (length - 1)).astype(np.float32)


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
    s = np.asarray(series, dtype=np.float64)  # every input dtype is exact in float64
    if s.ndim == 2:
        s = s[:, None, :]
    if s.ndim != 3:
        raise ValueError(f"series must be [B, L] or [B, S, L], got {s.shape}")
    B, S, L = s.shape
    H, W = int(height), int(width)
    C = S if channels else 1
    m = float(margin)
    span_w = (W - 1) - 2.0 * m
    span_h = (H - 1) - 2.0 * m
    h = F32(F32(line_width) * _HALF)
    bg = F32(background)
    fg = F32(foreground)

    vr = None
    if value_range is not None:
        vr = np.asarray(value_range, dtype=np.float64)
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
                lo, hi = float(vr[b, group[0], 0]), float(vr[b, group[0], 1])
            else:
                vals = s[b, group, :]
                fin = vals[np.isfinite(vals)]
                lo = float(fin.min()) if fin.size else np.nan
                hi = float(fin.max()) if fin.size else np.nan
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


def exact_render_line(
    series,
    height: int,
    width: int,
    *,
    line_width: float = 3.0,
    antialias: bool = True,
    margin: float = 0.0,
    value_range=None,
    background: float = 1.0,
    foreground: float = 0.0,
) -> np.ndarray:
    """The model in plain float64 (overlay mode): [B, 1, H, W] float64 pixel values.

    No float32 rounding and no clamping anywhere: the pure definition the op's
    float32 output must stay within 1e-4 of (antialiased) at every price level.
    """
    s = np.asarray(series, dtype=np.float64)
    if s.ndim == 2:
        s = s[:, None, :]
    B, S, L = s.shape
    H, W = int(height), int(width)
    m = float(margin)
    h = float(line_width) / 2.0
    xs = np.full(L, (W - 1) / 2.0) if L == 1 else m + np.arange(L) * ((W - 1 - 2 * m) / (L - 1))
    px = np.arange(W, dtype=np.float64)[None, :]
    py = np.arange(H, dtype=np.float64)[:, None]
    out = np.empty((B, 1, H, W), dtype=np.float64)
    for b in range(B):
        if value_range is not None:
            lo, hi = (float(t) for t in np.asarray(value_range, dtype=np.float64)[b])
        else:
            fin = s[b][np.isfinite(s[b])]
            lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (np.nan, np.nan)
        best = np.full((H, W), np.inf)
        for k in range(S):
            v = s[b, k]
            with np.errstate(over="ignore", invalid="ignore"):
                if hi == lo:
                    ys = np.where(np.isfinite(v), (H - 1) / 2.0, np.nan)
                else:
                    # (v - lo) / (hi - lo) without overflow near +-1e308
                    u = (v / 2 - lo / 2) / (hi / 2 - lo / 2)
                    if np.isfinite(hi - lo) and np.all(np.isfinite(v[np.isfinite(v)] - lo)):
                        u = (v - lo) / (hi - lo)
                    ys = m + (1.0 - u) * (H - 1 - 2 * m)
                ys = np.where(np.isfinite(v), ys, np.nan)
            for x0, y0, x1, y1 in _primitives(xs, ys):
                ex, ey = x1 - x0, y1 - y0
                ee = ex * ex + ey * ey
                ax, ay = x0 - px, y0 - py
                t = np.clip(-(ax * ex + ay * ey) / ee, 0.0, 1.0) if ee > 0 else 0.0
                np.minimum(best, (ax + t * ex) ** 2 + (ay + t * ey) ** 2, out=best)
        d = np.sqrt(best)
        a = np.clip(h + 0.5 - d, 0.0, 1.0) if antialias else (d <= h).astype(np.float64)
        out[b, 0] = background + a * (foreground - background)
    return out
