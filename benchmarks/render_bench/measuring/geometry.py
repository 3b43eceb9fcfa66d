"""Geometry check (not timed): every method draws the same picture as the op."""

from __future__ import annotations

import numpy as np
import torch_render

from ..methods import Case, MethodSpec, OpenCVPolylines, Skip
from ..settings import LINE_WIDTH
from ..windows import Windows


def geometry_check(windows: Windows, sizes, n: int, selected: list[MethodSpec]) -> list[dict]:
    """Mean |difference| to the op's float32 render and ink (sum of 1 - value)
    relative to the op's, over n windows, for each drawing method (not timed)."""
    rows = []
    specs = [m for m in selected if m.kind in ("op", "peer")]
    for (h, w) in sizes:
        series = windows.get(n)
        ref = torch_render.render_line(series, h, w, line_width=LINE_WIDTH)[:, 0].double().numpy()
        ref_ink = (1 - ref).sum()
        untimed = [("cv2_aa_t3", "OpenCV LINE_AA thickness=3 (not timed)",
                    lambda case: OpenCVPolylines(case, thickness=3))]
        for key, label, make in [(m.key, m.label, m.make) for m in specs] + untimed:
            case = Case(h, w, "float32", n, series)
            try:
                method = make(case)
                for _ in range(n // method.per_step):
                    method.step()
                img = method.result()
            except Skip:
                continue
            rows.append(dict(size=f"{h}x{w}", method=key, label=label,
                             mean_abs_diff=float(np.abs(img - ref).mean()),
                             ink_ratio=float((1 - img).sum() / ref_ink)))
    return rows
