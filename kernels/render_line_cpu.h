// render_line on the CPU: plain loops over raw pointers. The caller owns the
// threading (the binding uses at::parallel_for) and the scratch memory, so
// nothing here allocates.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "render_line.h"

namespace torch_render {
namespace kernels {

// Rows per tile: a tile of float32 rows of a 800-wide image stays in L1.
constexpr int64_t kCpuTileRows = 8;

// Per-column cull data for one (image, channel, row block).
struct ColumnBand {
  int64_t js_lo;   // points that can reach the column
  int64_t js_hi;
  int64_t row_lo;  // rows that can get coverage (inclusive; empty if lo > hi)
  int64_t row_hi;
};

// xs [L] of the workspace.
inline void line_x_cpu(const LineParams& p) {
  for (int64_t l = 0; l < p.length; ++l) line_x_body(p, l);
}

// ys of images [b_begin, b_end).
template <typename T>
void line_points_cpu(const LineParams& p, const SeriesView<T>& in, int64_t b_begin,
                     int64_t b_end) {
  for (int64_t b = b_begin; b < b_end; ++b) {
    for (int64_t g = 0; g < p.groups(); ++g) line_points_body(p, in, b, g);
  }
}

// Rows that any primitive of (image b, channel ch) can reach in column col,
// clipped to [row_begin, row_end).
inline ColumnBand column_band(const LineParams& p, int64_t b, int64_t ch, int64_t col,
                              int64_t row_begin, int64_t row_end) {
  const IndexRange js = column_range(p, col);
  const float c = static_cast<float>(col);
  const float reach = p.reach();
  float lo = INFINITY;
  float hi = -INFINITY;
  for (int64_t s = p.group_begin(ch); s < p.group_end(ch); ++s) {
    const float* ys = p.ys + (b * p.num_series + s) * p.length;
    for (int64_t j = js.lo; j <= js.hi; ++j) {
      float x0, y0, x1, y1, rlo, rhi;
      if (primitive_at(p.xs, ys, j, p.length, &x0, &y0, &x1, &y1) &&
          segment_rows(c, reach, x0, y0, x1, y1, &rlo, &rhi)) {
        lo = min_f(lo, rlo);
        hi = max_f(hi, rhi);
      }
    }
  }
  ColumnBand band{js.lo, js.hi, row_begin, row_begin - 1};
  if (lo <= hi) {
    // Clip in float before converting so huge coordinates never overflow int64.
    const float first = static_cast<float>(row_begin);
    const float last = static_cast<float>(row_end - 1);
    lo = std::ceil(max_f(lo, first));
    hi = std::floor(min_f(hi, last));
    if (lo <= hi) {
      band.row_lo = std::max(row_begin, static_cast<int64_t>(lo));
      band.row_hi = std::min(row_end - 1, static_cast<int64_t>(hi));
    }
  }
  return band;
}

// Renders rows [row_begin, row_end) of channel ch of image b into `plane`, the
// contiguous [H, W] plane of that channel. `scratch` holds W ColumnBands.
template <typename OutT>
void render_line_cpu_rows(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                          int64_t row_begin, int64_t row_end, ColumnBand* scratch) {
  const int64_t W = p.width;
  for (int64_t col = 0; col < W; ++col) scratch[col] = column_band(p, b, ch, col, row_begin, row_end);
  const OutT bg = Store<OutT>::convert(p.background);
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kCpuTileRows) {
    const int64_t r1 = std::min(r0 + kCpuTileRows, row_end);
    std::fill(plane + r0 * W, plane + r1 * W, bg);
    for (int64_t col = 0; col < W; ++col) {
      const ColumnBand& band = scratch[col];
      const int64_t lo = std::max(r0, band.row_lo);
      const int64_t hi = std::min(r1 - 1, band.row_hi);
      for (int64_t row = lo; row <= hi; ++row) {
        const float d2 = pixel_dist2(p, b, ch, IndexRange{band.js_lo, band.js_hi}, row, col);
        plane[row * W + col] = Store<OutT>::convert(pixel_value(p, d2));
      }
    }
  }
}

// Reference order of the whole op on one thread (tests and tools): points, then
// every plane. `out` is [B, C, H, W] contiguous; `scratch` holds W ColumnBands.
template <typename T, typename OutT>
void render_line_cpu_serial(const LineParams& p, const SeriesView<T>& in, OutT* out,
                            ColumnBand* scratch) {
  line_x_cpu(p);
  line_points_cpu(p, in, 0, p.batch);
  const int64_t plane_size = p.height * p.width;
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t ch = 0; ch < p.channels(); ++ch) {
      OutT* plane = out + (b * p.channels() + ch) * plane_size;
      render_line_cpu_rows(p, plane, b, ch, 0, p.height, scratch);
    }
  }
}

}  // namespace kernels
}  // namespace torch_render
