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

// One primitive as the raster uses it (kernels/render_line.h).
using CpuPrimitive = LinePrimitive;

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
      if (!line_primitive(x0, y0, x1, y1, reach, first, last, &out[n])) continue;
      ++n;
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
