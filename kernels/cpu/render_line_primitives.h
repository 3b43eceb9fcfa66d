// render_line's CPU raster: its primitives (segments and dots with their
// culling bounds) and how a pixel keeps the inkier value. Compiled with the
// build's flags; every instruction-set copy of the raster uses these.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/render_line.h"

namespace torch_render {
namespace kernels {

// One primitive as the raster uses it: the operands of segment_dist2, and where
// it can reach (rows and, per row, columns) including the culling slack.
struct CpuPrimitive {
  // segment_dist2's operands: ax = x0 - px, ay = y0 - py, (ex, ey), ee.
  float x0, y0, ex, ey, ee;
  // The axis from its lower-y end (xa, ya) to its upper-y end (xb, yb); along it
  // x = xa + (y - ya) * sx. Where sx is of no use (a horizontal or nearly
  // horizontal axis) it is 0 and [x_lo, x_hi] is the axis's whole x extent, which
  // every row then gets; otherwise x_lo = +inf and x_hi = -inf.
  float xa, ya, yb, sx, x_lo, x_hi;
  float reach;  // coverage reach plus the culling slack of its coordinates
  int64_t row_lo, row_hi;  // the rows of the plane it can reach (inclusive)
};

// Number of CpuPrimitives a call may need: at most one per point of a channel.
inline int64_t cpu_scratch_primitives(const LineParams& p) {
  return (p.channel_mode ? 1 : p.num_series) * p.length;
}

// The primitives of (image b, channel ch) that can reach rows [row_begin, row_end)
// of the plane; returns how many were written to `out`.
inline int64_t cpu_primitives(const LineParams& p, int64_t b, int64_t ch, int64_t row_begin,
                              int64_t row_end, CpuPrimitive* out) {
  const float reach = p.reach();
  const float first = static_cast<float>(row_begin);
  const float last = static_cast<float>(row_end - 1);
  int64_t n = 0;
  for (int64_t s = p.group_begin(ch); s < p.group_end(ch); ++s) {
    const float* ys = p.ys + (b * p.num_series + s) * p.length;
    for (int64_t j = 0; j < p.length; ++j) {
      float x0, y0, x1, y1;
      if (!primitive_at(p.xs, ys, j, p.length, &x0, &y0, &x1, &y1)) continue;
      CpuPrimitive q;
      // The slack covers the rounding of the distance and of the bounds below for
      // pixels within reach + 1 of the axis.
      q.reach = reach + cull_slack(fabsf(x0) + fabsf(x1) + 2.0f * (fabsf(y0) + fabsf(y1)) +
                                   2.0f * reach + 2.0f);
      const bool up = y0 <= y1;
      const float xb = up ? x1 : x0;
      q.xa = up ? x0 : x1;
      q.ya = up ? y0 : y1;
      q.yb = up ? y1 : y0;
      // Clip in float before converting so huge coordinates never overflow int64.
      const float lo = std::ceil(max_f(q.ya - q.reach, first));
      const float hi = std::floor(min_f(q.yb + q.reach, last));
      if (!(lo <= hi)) continue;
      q.row_lo = static_cast<int64_t>(lo);
      q.row_hi = static_cast<int64_t>(hi);
      const float sx = q.yb > q.ya ? (xb - q.xa) / (q.yb - q.ya) : 0.0f;
      const bool use_slope = q.yb > q.ya && is_finite(sx);
      q.sx = use_slope ? sx : 0.0f;
      q.x_lo = use_slope ? INFINITY : min_f(q.xa, xb);
      q.x_hi = use_slope ? -INFINITY : max_f(q.xa, xb);
      q.x0 = x0;
      q.y0 = y0;
      q.ex = x1 - x0;
      q.ey = y1 - y0;
      q.ee = q.ex * q.ex + q.ey * q.ey;
      out[n++] = q;
    }
  }
  return n;
}

// Whether a is strictly inkier than b, compared as the output type's values:
// smaller when the ink is below the background (kKeepMin), else larger.
template <bool kKeepMin, typename OutT>
inline bool inkier(OutT a, OutT b) {
  if constexpr (std::is_arithmetic_v<OutT>) {
    return kKeepMin ? a < b : a > b;
  } else {
    const float fa = static_cast<float>(a);
    const float fb = static_cast<float>(b);
    return kKeepMin ? fa < fb : fa > fb;
  }
}

}  // namespace kernels
}  // namespace torch_render
