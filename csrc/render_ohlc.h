// render_ohlc: argument checking and planning shared by every backend.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include "csrc/workspace.h"
#include "kernels/render_ohlc.h"

namespace torch_render {

// Everything a backend needs: the validated kernel parameters (pointing at the
// float64 value ranges, and at the workspace once allocate_ohlc_workspace ran),
// the inputs and the buffers they point at.
struct OhlcPlan {
  kernels::OhlcParams params;
  at::Tensor value_range;  // contiguous float64 [B, 2], or undefined
  at::Tensor scale;        // contiguous float64 [B], or undefined
  at::Tensor volume;       // [B, L], or undefined (no volume, or volume_rows == 0)
  at::Tensor overlays;     // [B, M, L], or undefined (M == 0 or none)
  std::vector<int64_t> out_shape;
  at::ScalarType out_dtype;
  Workspace workspace;  // bars, overlay levels, volume rows
};

// Checks every argument of render_ohlc and builds the plan. Errors name the op,
// the argument, what was expected and what came.
OhlcPlan plan_render_ohlc(const at::Tensor& ohlc, int64_t height, std::optional<int64_t> width,
                          const std::optional<at::Tensor>& volume,
                          const std::optional<at::Tensor>& overlays, std::string_view style,
                          int64_t bar_width, int64_t volume_rows,
                          const std::optional<at::Tensor>& value_range,
                          const std::optional<at::Tensor>& scale, double background,
                          double foreground, at::ScalarType out_dtype, const char* dtype_arg);

// Checks the `out` tensor of render_ohlc.out against the plan.
void check_render_ohlc_out(const OhlcPlan& plan, const at::Tensor& ohlc, const at::Tensor& out);

// Allocates the workspace the points and volume passes write and the raster reads,
// on ohlc's device, and points the params at it.
void allocate_ohlc_workspace(OhlcPlan& plan, const at::Tensor& ohlc);

// A backend renders a planned call into `out` ([B, 1, H, W], contiguous, numel > 0).
using OhlcBackend = void (*)(OhlcPlan& plan, const at::Tensor& ohlc, at::Tensor& out);

template <OhlcBackend Backend>
at::Tensor render_ohlc_functional(const at::Tensor& ohlc, int64_t height,
                                  std::optional<int64_t> width,
                                  const std::optional<at::Tensor>& volume,
                                  const std::optional<at::Tensor>& overlays,
                                  std::string_view style, int64_t bar_width, int64_t volume_rows,
                                  const std::optional<at::Tensor>& value_range, double background,
                                  double foreground, std::optional<at::ScalarType> dtype,
                                  const std::optional<at::Tensor>& scale) {
  OhlcPlan plan = plan_render_ohlc(ohlc, height, width, volume, overlays, style, bar_width,
                                   volume_rows, value_range, scale, background, foreground,
                                   dtype.value_or(at::kFloat), "dtype");
  at::Tensor out = at::empty(plan.out_shape, ohlc.options().dtype(plan.out_dtype));
  if (out.numel() > 0) Backend(plan, ohlc, out);
  return out;
}

template <OhlcBackend Backend>
void render_ohlc_out(const at::Tensor& ohlc, int64_t height, std::optional<int64_t> width,
                     const std::optional<at::Tensor>& volume,
                     const std::optional<at::Tensor>& overlays, std::string_view style,
                     int64_t bar_width, int64_t volume_rows,
                     const std::optional<at::Tensor>& value_range, double background,
                     double foreground, at::Tensor& out, const std::optional<at::Tensor>& scale) {
  OhlcPlan plan = plan_render_ohlc(ohlc, height, width, volume, overlays, style, bar_width,
                                   volume_rows, value_range, scale, background, foreground,
                                   out.scalar_type(), "out.dtype");
  check_render_ohlc_out(plan, ohlc, out);
  if (out.numel() > 0) Backend(plan, ohlc, out);
}

}  // namespace torch_render
