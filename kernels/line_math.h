// Geometry of the line-chart model (docs/rendering.md), shared by the CPU and
// CUDA kernels. Point coordinates are evaluated in float64 (the image must not
// depend on the price level) and stored as float32; the raster is float32. Every
// function has a fixed operation order so both backends produce the same bits;
// build with -ffp-contract=off / --fmad=false.
#pragma once

#include "kernels/common/host_device.h"

namespace torch_render {
namespace kernels {

// |u| is clamped to this many plot heights so extreme values stay finite.
constexpr float kMaxRelativeValue = 1.0e6f;
// y is clamped to this many pixels beyond the first and last rows, where float32
// still resolves an eighth of a pixel, so culling and distances stay exact enough.
constexpr float kFarPixels = 1048576.0f;  // 2^20

TR_HD bool is_finite(float v) { return v - v == 0.0f; }
TR_HD bool is_finite(double v) { return v - v == 0.0; }

TR_HD float clamp01(float v) { return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; }

TR_HD float min_f(float a, float b) { return b < a ? b : a; }
TR_HD float max_f(float a, float b) { return b > a ? b : a; }

// Extent of the plot box along one axis of n pixels: n - 1 - 2 * margin.
TR_HD float plot_span(int64_t n, float margin) {
  return static_cast<float>(n - 1) - 2.0f * margin;
}
TR_HD double plot_span(int64_t n, double margin) {
  return static_cast<double>(n - 1) - 2.0 * margin;
}

// x of point i of L, in float64 then rounded: m + i * span_w / (L - 1), or the
// centre column if L == 1.
TR_HD float point_x(int64_t i, int64_t length, int64_t width, double margin, double span_w) {
  if (length == 1) return static_cast<float>(static_cast<double>(width - 1) * 0.5);
  return static_cast<float>(margin +
                            (static_cast<double>(i) * span_w) / static_cast<double>(length - 1));
}

// u = (v - lo) / (hi - lo) of finite v, lo != hi, in float64; where a difference
// overflows float64, halving both keeps the ratio (exactly, but for the last bit
// of a denormal, which is nothing next to such a range): then halved is set.
struct ValueFraction {
  double u;
  bool halved;
};

TR_HD ValueFraction value_fraction(double v, double lo, double hi) {
  double num = v - lo;
  double den = hi - lo;
  const bool halved = !is_finite(num) || !is_finite(den);
  if (halved) {
    num = v * 0.5 - lo * 0.5;
    den = hi * 0.5 - lo * 0.5;
  }
  return {num / den, halved};
}

// y of fraction u: m + (1 - u) * span_h, with u clamped to kMaxRelativeValue plot
// heights and y to kFarPixels beyond the plot; *moves says whether neither clamp
// acted (then y moves with u).
TR_HD double fraction_y(double u, int64_t height, double margin, double span_h, bool* moves) {
  const double u_max = kMaxRelativeValue;
  const bool u_inside = u <= u_max && u >= -u_max;
  u = u > u_max ? u_max : (u < -u_max ? -u_max : u);
  const double y = margin + (1.0 - u) * span_h;
  const double far = kFarPixels;
  const double y_max = static_cast<double>(height - 1) + far;
  *moves = u_inside && y >= -far && y <= y_max;
  return y < -far ? -far : (y > y_max ? y_max : y);
}

// y of value v for the range [lo, hi], in float64 then rounded; NaN marks a point
// that is not drawn (non-finite value or range).
TR_HD float point_y(double v, double lo, double hi, int64_t height, double margin,
                    double span_h) {
  if (!is_finite(v) || !is_finite(lo) || !is_finite(hi)) return NAN;
  if (hi == lo) return static_cast<float>(static_cast<double>(height - 1) * 0.5);
  bool moves;
  return static_cast<float>(fraction_y(value_fraction(v, lo, hi).u, height, margin, span_h,
                                       &moves));
}

// Squared distance from pixel centre (px, py) to the capsule axis (x0, y0)-(x1, y1);
// a zero-length segment is a dot.
TR_HD float segment_dist2(float px, float py, float x0, float y0, float x1, float y1) {
  const float ax = x0 - px;
  const float ay = y0 - py;
  const float ex = x1 - x0;
  const float ey = y1 - y0;
  const float ee = ex * ex + ey * ey;
  float t = 0.0f;
  if (ee > 0.0f) t = clamp01(-(ax * ex + ay * ey) / ee);
  const float cx = ax + t * ex;
  const float cy = ay + t * ey;
  return cx * cx + cy * cy;
}

// Coverage of a pixel whose centre is at distance d from the line.
TR_HD float coverage(float d, float half_width, bool antialias) {
  if (antialias) return clamp01((half_width + 0.5f) - d);
  return d <= half_width ? 1.0f : 0.0f;
}

// Largest distance at which a pixel can still get coverage.
TR_HD float coverage_reach(float half_width, bool antialias) {
  return antialias ? half_width + 0.5f : half_width;
}

// Slack added to every conservative bound so float rounding never culls a pixel
// that the distance test would cover: 1/16 pixel plus 2^-20 of the magnitude of
// the coordinates involved (float32 distances err by a few ulps of those).
constexpr float kCullSlack = 0.0625f;
constexpr float kCullSlackRelative = 9.5367431640625e-07f;  // 2^-20

TR_HD float cull_slack(float magnitude) { return kCullSlack + magnitude * kCullSlackRelative; }

// Inclusive range of point indices j whose segment (j, j+1) or dot can reach
// column c (a superset: the distance test decides).
struct IndexRange {
  int64_t lo;
  int64_t hi;
};

TR_HD IndexRange column_points(int64_t c, int64_t length, int64_t width, float margin,
                               float span_w, float reach) {
  const float cf = static_cast<float>(c);
  const float r = reach + cull_slack(cf + margin);
  if (length == 1 || !(span_w > 0.0f)) {
    const float x = point_x(0, length, width, margin, span_w);
    const float dx = cf - x;
    if (dx <= r && dx >= -r) return {0, length - 1};
    return {0, -1};
  }
  const float step = span_w / static_cast<float>(length - 1);
  const float last = static_cast<float>(length - 1);
  float lo = floorf((cf - r - margin) / step) - 1.0f;
  float hi = floorf((cf + r - margin) / step) + 1.0f;
  lo = lo < 0.0f ? 0.0f : (lo > last ? last + 1.0f : lo);
  hi = hi < -1.0f ? -1.0f : (hi > last ? last : hi);
  return {static_cast<int64_t>(lo), static_cast<int64_t>(hi)};
}

// Rows (as floats, inclusive) that segment (x0, y0)-(x1, y1) can reach within
// column c; returns false when it cannot reach the column at all.
TR_HD bool segment_rows(float c, float reach, float x0, float y0, float x1, float y1,
                        float* row_lo, float* row_hi) {
  const float r = reach + cull_slack(fabsf(c) + fabsf(y0) + fabsf(y1));
  float ya = y0;
  float yb = y1;
  const float ex = x1 - x0;
  if (ex > 0.0f) {
    const float xa = max_f(c - r, x0);
    const float xb = min_f(c + r, x1);
    if (xa > xb) return false;
    const float slope = (y1 - y0) / ex;
    if (is_finite(slope)) {
      // Exact at the segment's own ends, where far-off y would lose whole rows.
      ya = xa == x0 ? y0 : y0 + (xa - x0) * slope;
      yb = xb == x1 ? y1 : y0 + (xb - x0) * slope;
    }
  } else {
    const float dx = c - x0;
    if (dx > r || dx < -r) return false;
  }
  *row_lo = min_f(ya, yb) - r;
  *row_hi = max_f(ya, yb) + r;
  return true;
}

}  // namespace kernels
}  // namespace torch_render
