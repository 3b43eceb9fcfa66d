// The backward of render_line (docs/rendering.md "Gradients"): checks and plan
// shared by every backend, and the op on top of a backend.
#pragma once

#include <optional>
#include <tuple>

#include <ATen/core/Tensor.h>

#include "csrc/render_line.h"
#include "kernels/render_line_backward.h"

namespace torch_render {

// A planned backward: the forward's plan with its workspace, the float64 results
// and the pass-1 workspace, all allocated; the kernels' pointers to them.
struct LineBackwardPlan {
  LinePlan line;
  at::Tensor series_grad;  // float64 [B, S, L]
  at::Tensor range_grad;   // float64, value_range's shape, zeros; or undefined
  kernels::LineGradBuffers buffers;
};

// A backend fills plan.series_grad (every element) and plan.range_grad, if defined,
// from `grad` ([B, C, H, W], floating, any strides), running the forward's points
// pass first.
using LineBackwardBackend = void (*)(const LineBackwardPlan& plan, const at::Tensor& grad,
                                     const at::Tensor& series);

// Checks `grad` against the forward's plan and allocates everything.
LineBackwardPlan plan_render_line_backward(const at::Tensor& grad, const at::Tensor& series,
                                           int64_t height, int64_t width, double line_width,
                                           bool antialias, double margin,
                                           const std::optional<at::Tensor>& value_range,
                                           bool channels, double background, double foreground);

// (d loss / d series, d loss / d value_range) in the dtypes and shapes of series
// and value_range (an empty tensor when there is no value_range).
std::tuple<at::Tensor, at::Tensor> finish_render_line_backward(
    LineBackwardPlan& plan, const at::Tensor& series,
    const std::optional<at::Tensor>& value_range);

template <LineBackwardBackend Backend>
std::tuple<at::Tensor, at::Tensor> render_line_backward_op(
    const at::Tensor& grad, const at::Tensor& series, int64_t height, int64_t width,
    double line_width, bool antialias, double margin,
    const std::optional<at::Tensor>& value_range, bool channels, double background,
    double foreground) {
  LineBackwardPlan plan =
      plan_render_line_backward(grad, series, height, width, line_width, antialias, margin,
                                value_range, channels, background, foreground);
  if (plan.series_grad.numel() > 0) Backend(plan, grad, series);
  return finish_render_line_backward(plan, series, value_range);
}

// Calls torch_render::render_line_backward through the dispatcher (the forward's
// autograd kernel uses it, so a double backward reaches the backward's own).
std::tuple<at::Tensor, at::Tensor> call_render_line_backward(
    const at::Tensor& grad, const at::Tensor& series, int64_t height, int64_t width,
    double line_width, bool antialias, double margin,
    const std::optional<at::Tensor>& value_range, bool channels, double background,
    double foreground);

}  // namespace torch_render
