// render_line: argument checking and planning shared by every backend.
#pragma once

#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include "csrc/workspace.h"
#include "kernels/render_line.h"

namespace torch_render {

// Everything a backend needs: the validated kernel parameters (pointing at the
// float64 value ranges, and at the workspace once allocate_line_workspace ran),
// the buffers they point at, and the output.
struct LinePlan {
  kernels::LineParams params;
  at::Tensor value_range;  // contiguous float64, or undefined
  Workspace workspace;
  std::vector<int64_t> out_shape;
  at::ScalarType out_dtype;
  bool fresh_output = false;  // `out` was just allocated (never touched)
};

// Checks every argument of render_line and builds the plan. Errors name the op,
// the argument, what was expected and what came.
LinePlan plan_render_line(const at::Tensor& series, int64_t height, int64_t width,
                          double line_width, bool antialias, double margin,
                          const std::optional<at::Tensor>& value_range, bool channels,
                          double background, double foreground, at::ScalarType out_dtype,
                          const char* dtype_arg = "dtype");

// Checks the `out` tensor of render_line.out against the plan.
void check_render_line_out(const LinePlan& plan, const at::Tensor& series,
                           const std::optional<at::Tensor>& value_range, const at::Tensor& out);

// Allocates the workspace the points pass writes and the raster reads (xs [L],
// ys [B, S, L], float32) on series' device, and points the params at it. The
// functional and out= forms call it, so that no backend allocates it.
void allocate_line_workspace(LinePlan& plan, const at::Tensor& series);

// series as [B, S, L] (a view).
inline at::Tensor series_bsl(const at::Tensor& series) {
  return series.dim() == 3 ? series : series.unsqueeze(1);
}

// A backend renders a planned call into `out` ([B, C, H, W], contiguous, numel > 0).
using LineBackend = void (*)(LinePlan& plan, const at::Tensor& series, at::Tensor& out);

// The functional op and its out= form on top of a backend.
template <LineBackend Backend>
at::Tensor render_line_functional(const at::Tensor& series, int64_t height, int64_t width,
                                  double line_width, bool antialias, double margin,
                                  const std::optional<at::Tensor>& value_range, bool channels,
                                  double background, double foreground,
                                  std::optional<at::ScalarType> dtype) {
  LinePlan plan = plan_render_line(series, height, width, line_width, antialias, margin,
                                   value_range, channels, background, foreground,
                                   dtype.value_or(at::kFloat));
  at::Tensor out = at::empty(plan.out_shape, series.options().dtype(plan.out_dtype));
  plan.fresh_output = true;
  if (out.numel() > 0) {
    allocate_line_workspace(plan, series);
    Backend(plan, series, out);
  }
  return out;
}

// Returns nothing (schema `Tensor(a!) out) -> ()`), so that torch.compile can
// auto-functionalize it; the Python wrapper returns `out`.
template <LineBackend Backend>
void render_line_out(const at::Tensor& series, int64_t height, int64_t width, double line_width,
                     bool antialias, double margin, const std::optional<at::Tensor>& value_range,
                     bool channels, double background, double foreground, at::Tensor& out) {
  LinePlan plan = plan_render_line(series, height, width, line_width, antialias, margin,
                                   value_range, channels, background, foreground,
                                   out.scalar_type(), "out.dtype");
  check_render_line_out(plan, series, value_range, out);
  if (out.numel() > 0) {
    allocate_line_workspace(plan, series);
    Backend(plan, series, out);
  }
}

}  // namespace torch_render
