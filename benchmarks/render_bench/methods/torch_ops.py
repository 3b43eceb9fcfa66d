"""The batched methods: torch_render itself, the floors (the cost of writing the output)
and the replaced scatter pipeline written with torch ops."""

from __future__ import annotations

import numpy as np
import torch

import torch_render

from ..settings import BACKGROUND, FOREGROUND, LINE_WIDTH, NP_DTYPES
from .base import Case, Method, as_gray


class OpFreshOutput(Method):
    """torch_render.render_line with a fresh output tensor per call."""

    def __init__(self, case: Case):
        self.case, self.per_step, self.last = case, case.batch, None

    def step(self):
        c = self.case
        self.last = None  # freed before the call, as the fresh-fill floor does (README: "Code notes")
        self.last = torch_render.render_line(c.series, c.height, c.width, line_width=LINE_WIDTH, dtype=c.torch_dtype)

    def result(self):
        return as_gray(self.last.cpu(), self.case.dtype)


class OpReusedOutput(Method):
    """torch_render.render_line(..., out=buf) into a buffer allocated once."""

    def __init__(self, case: Case):
        self.case, self.per_step = case, case.batch
        self.out = torch.empty(case.shape, dtype=case.torch_dtype, device=case.device)

    def step(self):
        c = self.case
        torch_render.render_line(c.series, c.height, c.width, line_width=LINE_WIDTH, out=self.out)

    def result(self):
        return as_gray(self.out.cpu(), self.case.dtype)


class FillFreshFloor(Method):
    """Floor: torch.empty(B, 1, H, W).fill_(bg), a new tensor per call."""

    def __init__(self, case: Case):
        self.case, self.per_step = case, case.batch

    def step(self):
        c = self.case
        torch.empty(c.shape, dtype=c.torch_dtype, device=c.device).fill_(BACKGROUND[c.dtype])


class FillReusedFloor(Method):
    """Floor: out.fill_(bg) on a reused buffer (faulted in before the timing)."""

    def __init__(self, case: Case):
        self.case, self.per_step = case, case.batch
        self.out = torch.empty(case.shape, dtype=case.torch_dtype, device=case.device)
        self.out.fill_(BACKGROUND[case.dtype])

    def step(self):
        self.out.fill_(BACKGROUND[self.case.dtype])


class NumpyFillFresh(Method):
    """Context only: np.empty(...).fill(bg), a new array per call."""

    def __init__(self, case: Case):
        self.case, self.per_step = case, case.batch

    def step(self):
        c = self.case
        np.empty((c.batch, 1, c.height, c.width), dtype=NP_DTYPES[c.dtype]).fill(BACKGROUND[c.dtype])


class ReplacedScatter(Method):
    """The replaced pipeline's algorithm with torch ops, vectorised over the batch:
    16 interpolated points per segment, rounded to pixels, each stamped as a 3x3
    block by one index_put_ into the reused output (after filling it with white)."""

    POINTS = 16  # interpolated points per segment

    def __init__(self, case: Case):
        self.case, self.per_step = case, case.batch
        self.out = torch.empty(case.shape, dtype=case.torch_dtype, device=case.device)
        self.out.fill_(BACKGROUND[case.dtype])
        offsets = torch.arange(-1, 2, device=case.device)
        self.row_offsets = offsets.repeat_interleave(3)  # the 3x3 block
        self.col_offsets = offsets.repeat(3)
        self.along_segment = torch.linspace(0.0, 1.0, self.POINTS, device=case.device)
        self.ink = torch.tensor(FOREGROUND[case.dtype], dtype=case.torch_dtype, device=case.device)
        self.series = case.series.to(device=case.device, dtype=torch.float32)

    def step(self):
        c, v, t = self.case, self.series, self.along_segment
        h, w = c.height, c.width
        b, n = v.shape
        lo = v.amin(-1, keepdim=True)
        hi = v.amax(-1, keepdim=True)
        span = hi - lo
        u = torch.where(span > 0, (v - lo) / torch.where(span > 0, span, 1.0), 0.5)
        y = (1.0 - u) * (h - 1)  # [B, L]
        x = torch.arange(n, device=v.device, dtype=torch.float32) * ((w - 1) / max(n - 1, 1))
        px = x[:-1, None] + t * (x[1:] - x[:-1])[:, None]  # [L-1, P]
        py = y[:, :-1, None] + t * (y[:, 1:] - y[:, :-1])[..., None]  # [B, L-1, P]
        cols = torch.round(px).long()[..., None] + self.col_offsets  # [L-1, P, 9]
        rows = torch.round(py).long()[..., None] + self.row_offsets  # [B, L-1, P, 9]
        cols = cols.clamp_(0, w - 1)  # exact at the edges (README: "Code notes")
        rows = rows.clamp_(0, h - 1)
        base = torch.arange(b, device=v.device).view(b, 1, 1, 1) * (h * w)
        flat = (base + rows * w + cols).reshape(-1)
        self.out.fill_(BACKGROUND[c.dtype])
        self.out.view(-1).index_put_((flat,), self.ink)

    def result(self):
        return as_gray(self.out.cpu(), self.case.dtype)
