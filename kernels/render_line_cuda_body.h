// render_line on CUDA: the per-thread work, as functors for the shared launch
// shapes of kernels/common/cuda_planes.h (a test drives them over the whole
// launch grid on the CPU, tests/cpp/test_cuda_emulation.cpp, and compares with
// the CPU kernel bit for bit).
#pragma once

#include "kernels/common/cuda_planes.h"
#include "kernels/render_line.h"

namespace torch_render {
namespace kernels {

// Items of the points pass: one per x and one per (image, group).
inline int64_t line_points_items(const LineParams& p) {
  const int64_t groups = p.batch * p.groups();
  return groups > p.length ? groups : p.length;
}

// Points pass, item i: x of point i, and the ys of (image, group) i.
template <typename T>
struct LinePointsItem {
  LineParams p;
  SeriesView<T> in;
  TR_HD void operator()(int64_t i) const {
    if (i < p.length) line_x_body(p, i);
    if (i < p.batch * p.groups()) line_points_body(p, in, i / p.groups(), i % p.groups());
  }
};

// Value of flat output element e ([B, C, H, W] order). Takes the primitives that
// the CPU kernel's culling keeps (same range of points, same row test), so the
// minimum distance and the value are the CPU's bits.
TR_HD float raster_value(const LineParams& p, int64_t e) {
  const int64_t col = e % p.width;
  const int64_t rest = e / p.width;
  const int64_t row = rest % p.height;
  const int64_t plane = rest / p.height;
  const int64_t b = plane / p.channels();
  const int64_t ch = plane % p.channels();
  const IndexRange js = column_range(p, col);
  const float px = static_cast<float>(col);
  const float py = static_cast<float>(row);
  const float reach = p.reach();
  float best = INFINITY;
  for (int64_t s = p.group_begin(ch); s < p.group_end(ch); ++s) {
    const float* ys = p.ys + (b * p.num_series + s) * p.length;
    for (int64_t j = js.lo; j <= js.hi; ++j) {
      float x0, y0, x1, y1, lo, hi;
      if (primitive_at(p.xs, ys, j, p.length, &x0, &y0, &x1, &y1) &&
          segment_rows(px, reach, x0, y0, x1, y1, &lo, &hi) && lo <= py && py <= hi) {
        best = min_f(best, segment_dist2(px, py, x0, y0, x1, y1));
      }
    }
  }
  return pixel_value(p, best);
}

// Raster pass: the value of each output element.
struct LineRasterValue {
  LineParams p;
  TR_HD float operator()(int64_t e) const { return raster_value(p, e); }
};

}  // namespace kernels
}  // namespace torch_render
