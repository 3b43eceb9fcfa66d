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
// Columns per block: bounds the scratch memory of one call whatever the width.
constexpr int64_t kCpuBlockCols = 2048;

// A primitive that can reach one column, with the rows it can reach there.
struct PrimitiveSpan {
  float x0, y0, x1, y1;
  int64_t row_lo;  // inclusive, within the rows being rendered
  int64_t row_hi;
};

// The primitives of one column: spans [span_begin, span_end) of the scratch, and
// the union of their rows (empty if row_lo > row_hi).
struct ColumnBand {
  int64_t span_begin;
  int64_t span_end;
  int64_t row_lo;
  int64_t row_hi;
};

// Caller-owned memory of one render_line_cpu_rows call (one per thread).
struct CpuScratch {
  ColumnBand* columns;    // [W]
  PrimitiveSpan* spans;   // [cpu_scratch_spans(p)]
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

// Number of PrimitiveSpans a call for columns [col_begin, col_end) may need.
inline int64_t cpu_scratch_spans(const LineParams& p, int64_t col_begin, int64_t col_end) {
  const int64_t per_point = p.channel_mode ? 1 : p.num_series;
  int64_t total = 0;
  for (int64_t col = col_begin; col < col_end; ++col) {
    const IndexRange js = column_range(p, col);
    if (js.hi >= js.lo) total += (js.hi - js.lo + 1) * per_point;
  }
  return total;
}

inline int64_t cpu_scratch_spans(const LineParams& p) { return cpu_scratch_spans(p, 0, p.width); }

// Collects, for every column of [col_begin, col_end), the primitives of (image b,
// channel ch) that can reach it within rows [row_begin, row_end).
inline void collect_spans(const LineParams& p, int64_t b, int64_t ch, int64_t row_begin,
                          int64_t row_end, int64_t col_begin, int64_t col_end,
                          CpuScratch scratch) {
  const float reach = p.reach();
  const float first = static_cast<float>(row_begin);
  const float last = static_cast<float>(row_end - 1);
  int64_t n = 0;
  for (int64_t col = col_begin; col < col_end; ++col) {
    const IndexRange js = column_range(p, col);
    const float c = static_cast<float>(col);
    ColumnBand band{n, n, row_end, row_begin - 1};
    for (int64_t s = p.group_begin(ch); s < p.group_end(ch); ++s) {
      const float* ys = p.ys + (b * p.num_series + s) * p.length;
      for (int64_t j = js.lo; j <= js.hi; ++j) {
        float x0, y0, x1, y1, lo, hi;
        if (!primitive_at(p.xs, ys, j, p.length, &x0, &y0, &x1, &y1) ||
            !segment_rows(c, reach, x0, y0, x1, y1, &lo, &hi)) {
          continue;
        }
        // Clip in float before converting so huge coordinates never overflow int64.
        lo = std::ceil(max_f(lo, first));
        hi = std::floor(min_f(hi, last));
        if (!(lo <= hi)) continue;
        const int64_t row_lo = static_cast<int64_t>(lo);
        const int64_t row_hi = static_cast<int64_t>(hi);
        scratch.spans[n++] = PrimitiveSpan{x0, y0, x1, y1, row_lo, row_hi};
        band.row_lo = std::min(band.row_lo, row_lo);
        band.row_hi = std::max(band.row_hi, row_hi);
      }
    }
    band.span_end = n;
    scratch.columns[col - col_begin] = band;
  }
}

// Renders the block rows [row_begin, row_end) x columns [col_begin, col_end) of
// channel ch of image b into `plane`, the contiguous [H, W] plane of that channel:
// background everywhere, then the pixels some primitive can reach, each from the
// primitives that can reach it. `scratch` holds col_end - col_begin ColumnBands and
// cpu_scratch_spans(p, col_begin, col_end) PrimitiveSpans.
template <typename OutT>
void render_line_cpu_block(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                           int64_t row_begin, int64_t row_end, int64_t col_begin,
                           int64_t col_end, CpuScratch scratch) {
  const int64_t W = p.width;
  collect_spans(p, b, ch, row_begin, row_end, col_begin, col_end, scratch);
  const OutT bg = Store<OutT>::convert(p.background);
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kCpuTileRows) {
    const int64_t r1 = std::min(r0 + kCpuTileRows, row_end);
    for (int64_t row = r0; row < r1; ++row) {
      std::fill(plane + row * W + col_begin, plane + row * W + col_end, bg);
    }
    for (int64_t col = col_begin; col < col_end; ++col) {
      const ColumnBand& band = scratch.columns[col - col_begin];
      const int64_t lo = std::max(r0, band.row_lo);
      const int64_t hi = std::min(r1 - 1, band.row_hi);
      const float px = static_cast<float>(col);
      for (int64_t row = lo; row <= hi; ++row) {
        const float py = static_cast<float>(row);
        float best = INFINITY;
        for (int64_t k = band.span_begin; k < band.span_end; ++k) {
          const PrimitiveSpan& sp = scratch.spans[k];
          if (row >= sp.row_lo && row <= sp.row_hi) {
            best = min_f(best, segment_dist2(px, py, sp.x0, sp.y0, sp.x1, sp.y1));
          }
        }
        if (best < INFINITY) plane[row * W + col] = Store<OutT>::convert(pixel_value(p, best));
      }
    }
  }
}

// All columns of rows [row_begin, row_end); `scratch` sized for cpu_scratch_spans(p).
template <typename OutT>
void render_line_cpu_rows(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                          int64_t row_begin, int64_t row_end, CpuScratch scratch) {
  render_line_cpu_block(p, plane, b, ch, row_begin, row_end, 0, p.width, scratch);
}

// The whole op on one thread (tests and tools): points, then every plane. `out` is
// [B, C, H, W] contiguous; `scratch` holds W ColumnBands and cpu_scratch_spans(p)
// PrimitiveSpans.
template <typename T, typename OutT>
void render_line_cpu_serial(const LineParams& p, const SeriesView<T>& in, OutT* out,
                            CpuScratch scratch) {
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
