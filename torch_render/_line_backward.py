"""The fake kernel of ``torch_render::render_line_backward``, the backward of
``render_line`` (registered in C++ as the forward's autograd kernel; see
docs/rendering.md "Gradients"). PT2 traces the backward through it."""

from typing import Optional

import torch

from torch_render._checks import FLOATING, scalar_type
from torch_render.ops import _check_render_line


@torch.library.register_fake("torch_render::render_line_backward")
def _render_line_backward_fake(
    grad: torch.Tensor,
    series: torch.Tensor,
    height: int,
    width: int,
    line_width: float,
    antialias: bool,
    margin: float,
    value_range: Optional[torch.Tensor],
    channels: bool,
    background: float,
    foreground: float,
) -> tuple:
    """plan_render_line_backward's checks (csrc/render_line_backward.cpp) on metadata."""
    torch._check_type(
        grad.dtype in FLOATING,
        lambda: "render_line_backward: grad must be a floating tensor (float16, bfloat16, float32 or "
        f"float64; uint8 images are not differentiable), got {scalar_type(grad.dtype)}",
    )
    shape = _check_render_line(
        series, height, width, line_width, margin, value_range, channels, background, foreground,
        grad.dtype, "grad.dtype",
    )
    torch._check(
        grad.device == series.device,
        lambda: f"render_line_backward: grad must be on the device of series ({series.device}), got {grad.device}",
    )
    torch._check_value(
        list(grad.shape) == shape,
        lambda: f"render_line_backward: grad must have the shape of the image, {shape}, got {list(grad.shape)}",
    )
    series_grad = series.new_empty(series.shape)
    if value_range is None:
        return series_grad, series.new_empty((0,))
    return series_grad, value_range.new_empty(value_range.shape)
