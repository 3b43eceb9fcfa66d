// render_line on the CPU: plain loops over raw pointers. The caller owns the
// threading (the binding uses at::parallel_for) and the scratch memory, so
// nothing here allocates.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "render_line.h"

namespace torch_render {
namespace kernels {

// Rows per tile: the tile of an 800-wide float32 image (200 KB) stays in L2, and
// each column's run of rows in it is long enough to vectorise.
constexpr int64_t kCpuTileRows = 64;
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
  // Optional: kCpuTileRows x (col_end - col_begin) output elements. When given,
  // each tile is drawn there (in cache) and streamed to the plane with
  // non-temporal stores, so the output is written once without being read first.
  void* tile = nullptr;
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

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
// An AVX2 clone next to the baseline one, chosen at load time. Same IEEE float32
// operations in every lane and no FMA contraction: the bits do not depend on it.
#define TR_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TR_CPU_CLONES
#endif

// acc[i] = min(acc[i], squared distance from pixel (px, py0 + i) to the primitive),
// for i < n: segment_dist2 unrolled over a run of rows so it vectorises.
TR_CPU_CLONES inline void span_min_dist2(float px, float py0, int n, float x0, float y0,
                                         float x1, float y1, float* acc) {
  const float ax = x0 - px;
  const float ex = x1 - x0;
  const float ey = y1 - y0;
  const float ee = ex * ex + ey * ey;
  // int (not int64) indices: their conversion to float vectorises.
  if (ee > 0.0f) {
    for (int i = 0; i < n; ++i) {
      const float ay = y0 - (py0 + static_cast<float>(i));
      const float t = clamp01(-(ax * ex + ay * ey) / ee);
      const float cx = ax + t * ex;
      const float cy = ay + t * ey;
      acc[i] = min_f(acc[i], cx * cx + cy * cy);
    }
  } else {
    for (int i = 0; i < n; ++i) {
      const float ay = y0 - (py0 + static_cast<float>(i));
      acc[i] = min_f(acc[i], ax * ax + ay * ay);
    }
  }
}

// Runs of rows are computed in whole vectors: rows past a run are real pixels of
// the same column, and a distance to a primitive that cannot reach a pixel never
// changes its minimum where it matters (the pixel is background either way).
constexpr int kCpuVector = 8;

// Fills n elements of `bits` bytes each with one pattern, vectorised.
template <typename U>
TR_CPU_CLONES inline void fill_pattern(U* dst, int64_t n, U pattern) {
  for (int64_t i = 0; i < n; ++i) dst[i] = pattern;
}

// std::fill for any output type, through its bit pattern.
template <typename OutT>
inline void fill_value(OutT* dst, int64_t n, OutT value) {
  if constexpr (sizeof(OutT) == 1) {
    std::memset(dst, static_cast<int>(*reinterpret_cast<const unsigned char*>(&value)), n);
  } else {
    using U = std::conditional_t<sizeof(OutT) == 2, uint16_t,
                                 std::conditional_t<sizeof(OutT) == 4, uint32_t, uint64_t>>;
    static_assert(sizeof(U) == sizeof(OutT), "output types are 1, 2, 4 or 8 bytes");
    U pattern;
    std::memcpy(&pattern, &value, sizeof(U));
    fill_pattern(reinterpret_cast<U*>(dst), n, pattern);
  }
}

// Copies n bytes to dst with non-temporal (cache-bypassing) stores where the
// target has them; the caller ends the batch of copies with stream_fence().
inline void stream_copy(void* dst, const void* src, size_t n) {
#if defined(__SSE2__)
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  const size_t head = std::min(n, (16 - reinterpret_cast<uintptr_t>(d) % 16) % 16);
  std::memcpy(d, s, head);
  size_t i = head;
  for (; i + 16 <= n; i += 16) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
  }
  std::memcpy(d + i, s + i, n - i);
#else
  std::memcpy(dst, src, n);
#endif
}

inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// vals[i] = pixel_value(p, acc[i]) for i < n, vectorised.
TR_CPU_CLONES inline void pixel_values(const LineParams& p, const float* acc, int n, float* vals) {
  for (int i = 0; i < n; ++i) vals[i] = pixel_value(p, acc[i]);
}

// Largest squared distance that can still give coverage (a conservative bound:
// sqrt is monotonic and the factor covers its rounding).
inline float coverage_cutoff(const LineParams& p) {
  const float r = p.reach();
  return r * r * 1.000001f + 1e-30f;
}

// Renders the block rows [row_begin, row_end) x columns [col_begin, col_end) of
// channel ch of image b into `plane`, the contiguous [H, W] plane of that channel:
// background everywhere, then, column by column, the rows some primitive can
// reach, each from the primitives that can reach it. `scratch` holds
// col_end - col_begin ColumnBands and cpu_scratch_spans(p, col_begin, col_end)
// PrimitiveSpans.
template <typename OutT>
void render_line_cpu_block(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                           int64_t row_begin, int64_t row_end, int64_t col_begin,
                           int64_t col_end, CpuScratch scratch) {
  collect_spans(p, b, ch, row_begin, row_end, col_begin, col_end, scratch);
  const OutT bg = Store<OutT>::convert(p.background);
  const float cutoff = coverage_cutoff(p);
  const int64_t cols = col_end - col_begin;
  // Where a tile is drawn: the plane itself, or the scratch tile (then streamed).
  OutT* const tile = static_cast<OutT*>(scratch.tile);
  const int64_t stride = tile != nullptr ? cols : p.width;
  float acc[kCpuTileRows + kCpuVector];
  float vals[kCpuTileRows + kCpuVector];
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kCpuTileRows) {
    const int64_t r1 = std::min(r0 + kCpuTileRows, row_end);
    // Element (row, col) of the tile is at base[row * stride + col].
    OutT* const base = tile != nullptr ? tile - r0 * stride - col_begin : plane;
    for (int64_t row = r0; row < r1; ++row) fill_value(base + row * stride + col_begin, cols, bg);
    for (int64_t col = col_begin; col < col_end; ++col) {
      const ColumnBand& band = scratch.columns[col - col_begin];
      const int64_t lo = std::max(r0, band.row_lo);
      const int64_t hi = std::min(r1 - 1, band.row_hi);
      if (lo > hi) continue;
      const int n = static_cast<int>(hi - lo + 1);
      const int padded = (n + kCpuVector - 1) / kCpuVector * kCpuVector;
      for (int i = 0; i < padded + kCpuVector; ++i) acc[i] = INFINITY;
      const float px = static_cast<float>(col);
      for (int64_t k = band.span_begin; k < band.span_end; ++k) {
        const PrimitiveSpan& sp = scratch.spans[k];
        const int64_t a = std::max(lo, sp.row_lo);
        const int64_t z = std::min(hi, sp.row_hi);
        if (a > z) continue;
        const int first = static_cast<int>(a - lo) / kCpuVector * kCpuVector;
        const int last = static_cast<int>(z - lo) / kCpuVector * kCpuVector + kCpuVector;
        span_min_dist2(px, static_cast<float>(lo + first), last - first, sp.x0, sp.y0, sp.x1,
                       sp.y1, acc + first);
      }
      pixel_values(p, acc, padded, vals);
      OutT* dst = base + lo * stride + col;
      for (int i = 0; i < n; ++i) {
        if (acc[i] <= cutoff) dst[i * stride] = Store<OutT>::convert(vals[i]);
      }
    }
    if (tile != nullptr) {
      for (int64_t row = r0; row < r1; ++row) {
        stream_copy(plane + row * p.width + col_begin, tile + (row - r0) * cols,
                    static_cast<size_t>(cols) * sizeof(OutT));
      }
    }
  }
  if (tile != nullptr) stream_fence();
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
