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

// The value range of image b, series group g: the explicit one, or the min and
// max of its finite values (lo = +inf, hi = -inf if none); with kCount, how many
// values equal each (the backward shares their gradient among them).
struct GroupRange {
  double lo = INFINITY;
  double hi = -INFINITY;
  int64_t n_lo = 0;
  int64_t n_hi = 0;
};

template <bool kCount, typename T>
TR_HD GroupRange group_range(const LineParams& p, const SeriesView<T>& in, int64_t b, int64_t g) {
  GroupRange r;
  if (p.value_range != nullptr) {
    const double* v = p.value_range + b * p.range_stride_b + g * p.range_stride_g;
    r.lo = v[0];
    r.hi = v[1];
    return r;
  }
  for (int64_t s = p.group_begin(g); s < p.group_end(g); ++s) {
    for (int64_t l = 0; l < p.length; ++l) {
      const double v = in.at(b, s, l);
      if (!is_finite(v)) continue;
      if (kCount) {
        if (v < r.lo) r.n_lo = 0;
        if (v > r.hi) r.n_hi = 0;
      }
      r.lo = v < r.lo ? v : r.lo;
      r.hi = v > r.hi ? v : r.hi;
      if (kCount) {
        r.n_lo += v == r.lo ? 1 : 0;
        r.n_hi += v == r.hi ? 1 : 0;
      }
    }
  }
  return r;
}

// Points pass for image b, series group g: value range, then y of every point
// (float64 throughout; only y is stored, as float32).
template <typename T>
TR_HD void line_points_body(const LineParams& p, const SeriesView<T>& in, int64_t b, int64_t g) {
  const GroupRange r = group_range<false>(p, in, b, g);
  const double span_h = p.span_h();
  for (int64_t s = p.group_begin(g); s < p.group_end(g); ++s) {
    float* y = p.ys + (b * p.num_series + s) * p.length;
    for (int64_t l = 0; l < p.length; ++l) {
      y[l] = point_y(in.at(b, s, l), r.lo, r.hi, p.height, p.margin, span_h);
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

// A primitive with where it can reach, as the CPU raster and the backward cull it:
// the operands of segment_dist2, and the rows and (per row) columns of pixels
// that can be within its coverage reach, including the culling slack.
struct LinePrimitive {
  // segment_dist2's operands: ax = x0 - px, ay = y0 - py, (ex, ey), ee.
  float x0, y0, ex, ey, ee;
  // The axis from its lower-y end (xa, ya) to its upper-y end (xb, yb); along it
  // x = xa + (y - ya) * sx. Where sx is of no use (a horizontal or nearly
  // horizontal axis) it is 0 and [x_lo, x_hi] is the axis's whole x extent, which
  // every row then gets; otherwise x_lo = +inf and x_hi = -inf.
  float xa, ya, yb, sx, x_lo, x_hi;
  float reach;  // coverage reach plus the culling slack of its coordinates
  int64_t row_lo, row_hi;  // the rows in [first, last] it can reach (inclusive)
};

// The reach of primitive (x0, y0)-(x1, y1) for culling: the coverage reach plus a
// slack that covers the rounding of the distance and of the bounds of
// line_primitive and row_columns for pixels within reach + 1 of the axis.
TR_HD float primitive_reach(float x0, float y0, float x1, float y1, float reach) {
  return reach +
         cull_slack(fabsf(x0) + fabsf(x1) + 2.0f * (fabsf(y0) + fabsf(y1)) + 2.0f * reach + 2.0f);
}

// The primitive (x0, y0)-(x1, y1) of coverage reach `reach`, culled to rows
// [first, last]; false when it reaches none of them.
TR_HD bool line_primitive(float x0, float y0, float x1, float y1, float reach, float first,
                          float last, LinePrimitive* q) {
  q->reach = primitive_reach(x0, y0, x1, y1, reach);
  const bool up = y0 <= y1;
  const float xb = up ? x1 : x0;
  q->xa = up ? x0 : x1;
  q->ya = up ? y0 : y1;
  q->yb = up ? y1 : y0;
  // Clip in float before converting so huge coordinates never overflow int64.
  const float lo = ceilf(max_f(q->ya - q->reach, first));
  const float hi = floorf(min_f(q->yb + q->reach, last));
  if (!(lo <= hi)) return false;
  q->row_lo = static_cast<int64_t>(lo);
  q->row_hi = static_cast<int64_t>(hi);
  const float sx = q->yb > q->ya ? (xb - q->xa) / (q->yb - q->ya) : 0.0f;
  const bool use_slope = q->yb > q->ya && is_finite(sx);
  q->sx = use_slope ? sx : 0.0f;
  q->x_lo = use_slope ? INFINITY : min_f(q->xa, xb);
  q->x_hi = use_slope ? -INFINITY : max_f(q->xa, xb);
  q->x0 = x0;
  q->y0 = y0;
  q->ex = x1 - x0;
  q->ey = y1 - y0;
  q->ee = q->ex * q->ex + q->ey * q->ey;
  return true;
}

// The columns (inclusive, as floats) that primitive q can reach in row py,
// clipped to [first, last]: a pixel within reach of the axis has its nearest
// axis point within reach in y, so in the part of the axis with y in
// [py - reach, py + reach], and within reach in x of that part. (The rounding of
// x here is far below the slack in q.reach.) Each step is monotone in py, so
// both bounds are.
TR_HD void row_columns(const LinePrimitive& q, float py, float first, float last, float* lo,
                       float* hi) {
  const float t0 = min_f(max_f(py - q.reach, q.ya), q.yb);
  const float t1 = max_f(min_f(py + q.reach, q.yb), q.ya);
  const float x0 = q.xa + (t0 - q.ya) * q.sx;
  const float x1 = q.xa + (t1 - q.ya) * q.sx;
  *lo = max_f(min_f(min_f(x0, x1), q.x_lo) - q.reach, first);
  *hi = min_f(max_f(max_f(x0, x1), q.x_hi) + q.reach, last);
}

// segment_dist2 from pixel centre (px, py) to primitive q (the same operations).
TR_HD float primitive_dist2(const LinePrimitive& q, float px, float py) {
  const float ax = q.x0 - px;
  const float ay = q.y0 - py;
  float t = 0.0f;
  if (q.ee > 0.0f) t = clamp01(-(ax * q.ex + ay * q.ey) / q.ee);
  const float cx = ax + t * q.ex;
  const float cy = ay + t * q.ey;
  return cx * cx + cy * cy;
}

}  // namespace kernels
}  // namespace torch_render
