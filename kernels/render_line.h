// render_line: parameters and the per-element bodies shared by every backend.
//
// Two passes (docs/rendering.md):
//   1. points: for every (image, series group) find the value range and map each
//      value to its pixel y (NaN for points that are not drawn), all in float64,
//      storing y as float32; x depends only on the point index and is computed once.
//   2. raster: every output pixel takes the minimum squared distance to the
//      segments and dots of its channel that can reach its column and turns it
//      into coverage and a value.
#pragma once

#include "kernels/common/host_device.h"
#include "kernels/common/tensor_io.h"
#include "kernels/line_math.h"

namespace torch_render {
namespace kernels {

struct LineParams {
  int64_t batch = 0;       // B
  int64_t num_series = 0;  // S
  int64_t length = 0;      // L
  int64_t height = 0;      // H
  int64_t width = 0;       // W
  bool channel_mode = false;  // C = S (one channel per series) or 1 (overlay)
  bool antialias = true;
  float half_width = 1.5f;
  double margin = 0.0;
  float background = 1.0f;
  float foreground = 0.0f;

  // Explicit ranges, float64: (lo, hi) of image b, group g at
  // value_range[b * range_stride_b + g * range_stride_g]; null: from the data.
  const double* value_range = nullptr;
  int64_t range_stride_b = 0;
  int64_t range_stride_g = 0;

  // Workspace written by the points pass: xs [L], ys [B, S, L] contiguous.
  float* xs = nullptr;
  float* ys = nullptr;

  TR_HD int64_t channels() const { return channel_mode ? num_series : 1; }
  TR_HD int64_t groups() const { return channel_mode ? num_series : 1; }
  TR_HD int64_t group_begin(int64_t g) const { return channel_mode ? g : 0; }
  TR_HD int64_t group_end(int64_t g) const { return channel_mode ? g + 1 : num_series; }
  TR_HD double span_w() const { return plot_span(width, margin); }
  TR_HD double span_h() const { return plot_span(height, margin); }
  // The same in float32, for the raster's culling bounds.
  TR_HD float margin_f() const { return static_cast<float>(margin); }
  TR_HD float span_w_f() const { return plot_span(width, margin_f()); }
  TR_HD float reach() const { return coverage_reach(half_width, antialias); }
};

TR_HD void line_x_body(const LineParams& p, int64_t l) {
  p.xs[l] = point_x(l, p.length, p.width, p.margin, p.span_w());
}

// Points pass for image b, series group g: value range, then y of every point
// (float64 throughout; only y is stored, as float32).
template <typename T>
TR_HD void line_points_body(const LineParams& p, const SeriesView<T>& in, int64_t b, int64_t g) {
  const int64_t s0 = p.group_begin(g);
  const int64_t s1 = p.group_end(g);
  double lo = INFINITY;
  double hi = -INFINITY;
  if (p.value_range != nullptr) {
    const double* r = p.value_range + b * p.range_stride_b + g * p.range_stride_g;
    lo = r[0];
    hi = r[1];
  } else {
    for (int64_t s = s0; s < s1; ++s) {
      for (int64_t l = 0; l < p.length; ++l) {
        const double v = in.at(b, s, l);
        if (is_finite(v)) {
          lo = v < lo ? v : lo;
          hi = v > hi ? v : hi;
        }
      }
    }
  }
  const double span_h = p.span_h();
  for (int64_t s = s0; s < s1; ++s) {
    float* y = p.ys + (b * p.num_series + s) * p.length;
    for (int64_t l = 0; l < p.length; ++l) {
      y[l] = point_y(in.at(b, s, l), lo, hi, p.height, p.margin, span_h);
    }
  }
}

// The primitive that point j of one series draws: the segment to point j + 1
// when both are finite, a dot when j has no finite neighbour, else nothing.
TR_HD bool primitive_at(const float* xs, const float* ys, int64_t j, int64_t length,
                        float* x0, float* y0, float* x1, float* y1) {
  const float yj = ys[j];
  if (!(yj == yj)) return false;
  *x0 = xs[j];
  *y0 = yj;
  if (j + 1 < length) {
    const float yn = ys[j + 1];
    if (yn == yn) {
      *x1 = xs[j + 1];
      *y1 = yn;
      return true;
    }
  }
  if (j > 0 && ys[j - 1] == ys[j - 1]) return false;  // the end of segment j - 1
  *x1 = *x0;
  *y1 = *y0;
  return true;
}

// Pixel value from the squared distance to the line. Full coverage is exactly the
// foreground, and rounding never leaves [min(bg, fg), max(bg, fg)].
TR_HD float pixel_value(const LineParams& p, float dist2) {
  const float a = coverage(sqrtf(dist2), p.half_width, p.antialias);
  if (a == 1.0f) return p.foreground;
  const float v = p.background + a * (p.foreground - p.background);
  const float lo = min_f(p.background, p.foreground);
  const float hi = max_f(p.background, p.foreground);
  return v < lo ? lo : (v > hi ? hi : v);
}

TR_HD IndexRange column_range(const LineParams& p, int64_t col) {
  return column_points(col, p.length, p.width, p.margin_f(), p.span_w_f(), p.reach());
}

}  // namespace kernels
}  // namespace torch_render
