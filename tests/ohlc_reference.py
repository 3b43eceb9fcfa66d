"""Independent references of the OHLC chart model (DESIGN §2, "OHLC charts").

``render_ohlc_reference`` evaluates DESIGN's rules for every pixel in float64
NumPy (levels) and plain Python integers (lines): no culling, no column runs, and
overlay lines walked step by step as Pillow's Draw.c loop walks them (written
here from that algorithm, checked against Pillow itself in the tests).
``jkx_pillow`` draws the published JKX rules with Pillow's ``ImageDraw``, one
window at a time, the way the paper's code makes its images.
"""

from __future__ import annotations

import numpy as np

LEVEL_CLAMP = 2.0**40


def round_bfloat16(values: np.ndarray) -> np.ndarray:
    """float32 -> nearest-even bfloat16, returned as float32 (finite inputs)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + np.uint64(0x7FFF) + ((bits >> np.uint64(16)) & np.uint64(1))) & np.uint64(0xFFFF0000)
    return bits.astype(np.uint32).view(np.float32)


def pillow_line(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """Pixels of Pillow's width-1 line from (x0, y0) to (x1, y1), both ends included.

    Draw.c steps from the first point, setting n = max(|dx|, |dy|) pixels (the
    end point excluded), with the error term ``e`` below; ImageDraw.line then sets
    the last point.
    """
    pts = []
    dx, dy = x1 - x0, y1 - y0
    xs, ys = (1 if dx >= 0 else -1), (1 if dy >= 0 else -1)
    dx, dy = abs(dx), abs(dy)
    x, y = x0, y0
    if dx > dy:
        e = 2 * dy - dx
        for _ in range(dx):
            pts.append((x, y))
            if e >= 0:
                y += ys
                e -= 2 * dx
            e += 2 * dy
            x += xs
    else:  # dx <= dy (includes vertical lines)
        e = 2 * dx - dy
        for _ in range(dy):
            pts.append((x, y))
            if e >= 0:
                x += xs
                e -= 2 * dy
            e += 2 * dx
            y += ys
    pts.append((x1, y1))
    return pts


def _levels(values: np.ndarray, lo: float, hi: float, rows: int) -> np.ndarray:
    """level(p) as float64 integers, NaN where nothing is drawn."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return out
    finite = np.isfinite(values)
    if hi == lo:
        out[finite] = (rows - 1) // 2
        return out
    with np.errstate(over="ignore", invalid="ignore"):
        t = (values - lo) * ((rows - 1) / (hi - lo))  # DESIGN's order, float64
    t = np.where(np.isnan(t), 0.0, t)  # inf * 0: a scale of 0 maps everything to 0
    t = np.clip(np.rint(t), -LEVEL_CLAMP, LEVEL_CLAMP)  # rint: round half to even
    out[finite] = t[finite]
    return out


def _volume_rows(volume: np.ndarray, V: int) -> np.ndarray:
    """Rows (>= 1) of each volume bar, 0 where it draws nothing."""
    a = np.abs(np.asarray(volume, dtype=np.float64))
    finite = np.isfinite(a)
    rows = np.zeros(a.shape, dtype=np.int64)
    if not finite.any():
        return rows
    vmax = a[finite].max()
    if not vmax > 0:
        return rows
    with np.errstate(over="ignore", invalid="ignore"):
        t = a * (V / vmax)
    for i in np.flatnonzero(finite):
        n = 0 if np.isnan(t[i]) else int(min(np.rint(t[i]), V))
        rows[i] = max(n, 1)
    return rows


def render_ohlc_marks(ohlc, height, width=None, volume=None, overlays=None, style="bar", bar_width=3,
                      volume_rows=0, value_range=None) -> np.ndarray:
    """Boolean [B, H, W]: the pixels DESIGN's rules mark, evaluated pixel by pixel."""
    ohlc = np.asarray(ohlc, dtype=np.float64)
    B, L, _ = ohlc.shape
    bw, H, V = bar_width, height, volume_rows
    W = L * bw if width is None else width
    P = H - V - 1 if V > 0 else H
    k = (bw - 1) // 2
    marks = np.zeros((B, H, W), dtype=bool)
    cols = np.arange(W)
    bar_of_col = cols // bw
    off_of_col = cols % bw
    for b in range(B):
        prices = ohlc[b].reshape(-1)
        ov = np.zeros((0, L)) if overlays is None else np.asarray(overlays[b], dtype=np.float64)
        if value_range is not None:
            lo, hi = (float(v) for v in np.asarray(value_range[b], dtype=np.float64))
        else:
            allv = np.concatenate([prices, ov.reshape(-1)])
            fin = allv[np.isfinite(allv)]
            lo, hi = (fin.min(), fin.max()) if fin.size else (np.inf, -np.inf)
        lev = _levels(ohlc[b], lo, hi, P)  # [L, 4]
        ov_lev = _levels(ov, lo, hi, P)    # [M, L]
        # Overlay pixels as (column, level), walked as Pillow walks them.
        line_pts = set()
        for m in range(ov_lev.shape[0]):
            for j in range(L - 1):
                a, c = ov_lev[m, j], ov_lev[m, j + 1]
                if np.isfinite(a) and np.isfinite(c):
                    line_pts.update(pillow_line(j * bw + k, int(a), (j + 1) * bw + k, int(c)))
            if L and np.isfinite(ov_lev[m, L - 1]):
                line_pts.add(((L - 1) * bw + k, int(ov_lev[m, L - 1])))
        vol_rows = _volume_rows(volume[b], V) if (volume is not None and V > 0) else None
        for r in range(H):
            for col in range(W):
                i, off = int(bar_of_col[col]), int(off_of_col[col])
                hit = False
                if r < P:
                    level = P - 1 - r
                    hit = (col, level) in line_pts
                    if i < L and not hit:
                        o, h, lw, c = lev[i]
                        if np.isfinite(h) and np.isfinite(lw):
                            lo_l, hi_l = min(h, lw), max(h, lw)
                            if off == k and lo_l <= level <= hi_l:
                                hit = True
                            elif style == "bar":
                                hit = (off <= k and level == o) or (k < off <= 2 * k and level == c)
                            elif np.isfinite(o) and np.isfinite(c) and off <= 2 * k:
                                down = ohlc[b, i, 3] < ohlc[b, i, 0]
                                inside = min(o, c) <= level <= max(o, c)
                                edge = off in (0, 2 * k) or level in (o, c)
                                hit = inside and (down or edge)
                elif vol_rows is not None and r >= H - V and i < L and off == k:
                    n = vol_rows[i]
                    hit = n > 0 and (H - 1 - r) <= n - 1
                marks[b, r, col] = hit
    return marks


def to_dtype(values: np.ndarray, dtype: str) -> np.ndarray:
    """float32 pixel values as the op stores them in `dtype` (float64 for comparison)."""
    v = values.astype(np.float32)
    if dtype == "uint8":
        return np.clip(np.rint(np.float32(255.0) * v), 0, 255).astype(np.float64)
    if dtype == "float16":
        return v.astype(np.float16).astype(np.float64)
    if dtype == "bfloat16":
        return round_bfloat16(v).astype(np.float64)
    return v.astype(np.float64)


def render_ohlc_reference(ohlc, height, width=None, *, volume=None, overlays=None, style="bar", bar_width=3,
                          volume_rows=0, value_range=None, background=1.0, foreground=0.0,
                          dtype="float32") -> np.ndarray:
    """[B, 1, H, W] float64 array of the values the op stores in `dtype`."""
    marks = render_ohlc_marks(ohlc, height, width, volume, overlays, style, bar_width, volume_rows, value_range)
    bg, fg = np.float32(background), np.float32(foreground)
    values = np.where(marks, fg, bg).astype(np.float32)
    return to_dtype(values, dtype)[:, None]


JKX_HEIGHTS = {5: 32, 20: 64, 60: 96}


def jkx_pillow(ohlc, volume=None, ma=None, height=None) -> np.ndarray:
    """One window's JKX image ([H, 3L] uint8) drawn with Pillow's ImageDraw.

    The published rules: prices (OHLC and moving averages) times
    1 / first close; the price area scaled to its min and max; per bar a 3-pixel
    column: open tick left, high-low bar in the middle, close tick right; the moving
    average a line through the bars' middles; volume bars in a panel of int(H / 5)
    rows below a 1-pixel gap, scaled to the window's maximum volume; drawn upward,
    then flipped; white (255) on black.
    """
    from PIL import Image, ImageDraw

    ohlc = np.asarray(ohlc, dtype=np.float64)
    L = ohlc.shape[0]
    H = JKX_HEIGHTS[L] if height is None else height
    V = int(H / 5) if volume is not None else 0
    P = H - V - 1 if V else H
    W = 3 * L
    scale = 1.0 / ohlc[0, 3]
    prices = ohlc * scale
    mas = [] if ma is None else [np.asarray(m, dtype=np.float64) * scale for m in np.atleast_2d(ma)]
    allv = np.concatenate([prices.reshape(-1)] + [m.reshape(-1) for m in mas])
    fin = allv[np.isfinite(allv)]
    lo, hi = (fin.min(), fin.max()) if fin.size else (np.nan, np.nan)

    def level(p):
        if not (np.isfinite(p) and np.isfinite(lo)):
            return None
        if hi == lo:
            return (P - 1) // 2
        return int(np.rint((p - lo) * ((P - 1) / (hi - lo))))

    img = Image.new("L", (W, P), 0)
    draw = ImageDraw.Draw(img)
    for i in range(L):
        o, h, lw, c = (level(v) for v in prices[i])
        x = 3 * i + 1
        if h is None or lw is None:
            continue
        draw.line([(x, lw), (x, h)], fill=255)
        if o is not None:
            draw.line([(x - 1, o), (x, o)], fill=255)
        if c is not None:
            draw.point((x + 1, c), fill=255)
    for m in mas:
        pts = [level(v) for v in m]
        for j in range(L - 1):
            if pts[j] is not None and pts[j + 1] is not None:
                draw.line([(3 * j + 1, pts[j]), (3 * j + 4, pts[j + 1])], fill=255)
        if pts[-1] is not None:
            draw.point((3 * (L - 1) + 1, pts[-1]), fill=255)
    price = np.flipud(np.array(img))
    if not V:
        return price
    vimg = Image.new("L", (W, V), 0)
    vdraw = ImageDraw.Draw(vimg)
    vol = np.abs(np.asarray(volume, dtype=np.float64))
    fin = vol[np.isfinite(vol)]
    vmax = fin.max() if fin.size else np.nan
    if vmax > 0:
        for i in range(L):
            if np.isfinite(vol[i]):
                n = int(np.rint(vol[i] * (V / vmax)))
                vdraw.line([(3 * i + 1, 0), (3 * i + 1, n - 1)], fill=255)
    panel = np.flipud(np.array(vimg))
    return np.concatenate([price, np.zeros((1, W), dtype=np.uint8), panel], axis=0)
