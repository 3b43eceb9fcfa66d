// render_line's CPU raster, compiled once per instruction set: the baseline copy
// in kernels/render_line_cpu.h, the AVX2 copy in kernels/cpu/render_line_cpu_avx2.cpp.
//
// No include guard on purpose (kernels/common/cpu_isa.h): the includer includes
// this file inside namespace kernels::baseline, or inside kernels::avx2 under
// `#pragma GCC target("avx2")` with TR_CPU_AVX2 defined. Everything it uses from
// outside comes from kernels/render_line_cpu.h, included before (so those
// helpers keep the baseline target and are inlined here).
//
// The raster draws each primitive where it can reach instead of testing every
// pixel against the primitives near it: a tile of rows is filled with the
// background (kernels/common/cpu_tiles_isa.h), then every primitive that reaches
// the tile's rows shades, row by row, the run of columns it can reach, and each
// pixel keeps the inkier of its value and the primitive's. That is the model's
// value exactly: pixel_value is monotone in the squared distance (every step of
// it rounds monotonically), so the value of the minimum distance is the inkiest
// of the values, and a primitive that does not reach a pixel gives it the
// background, which never wins.

#include "kernels/common/cpu_tiles_isa.h"
#include "kernels/cpu/render_line_shade_isa.h"
#include "kernels/cpu/render_line_rows_isa.h"

// The primitives of one call, shaded tile by tile (the op of draw_tiles).
template <bool kKeepMin, bool kAntialias>
struct LineTileOp {
  const CpuPrimitive* primitives;
  int64_t count;
  Shaders<kAntialias> shaders;
  int64_t width;

  int64_t shaded_rows(int64_t r0, int64_t r1) const {
    int64_t rows = 0;
    for (int64_t k = 0; k < count; ++k) {
      const CpuPrimitive& q = primitives[k];
      rows += std::max<int64_t>(0, std::min(r1 - 1, q.row_hi) - std::max(r0, q.row_lo) + 1);
    }
    return rows;
  }

  template <typename OutT>
  void shade(int64_t r0, int64_t r1, OutT* base, int64_t stride, FillAheadCursor* ahead) const {
    for (int64_t k = 0; k < count; ++k) {
      const CpuPrimitive& q = primitives[k];
      const int64_t lo = std::max(r0, q.row_lo);
      const int64_t hi = std::min(r1 - 1, q.row_hi);
      if (lo > hi) continue;
      // segment_dist2 takes t = 0 unless ee > 0 (dots, and segments so short
      // that ee underflows).
      if (q.ee > 0.0f) {
        shade_rows<true, kKeepMin>(q, shaders, lo, hi, width, base, stride, ahead);
      } else {
        shade_rows<false, kKeepMin>(q, shaders, lo, hi, width, base, stride, ahead);
      }
    }
  }
};

template <bool kKeepMin, bool kAntialias, typename OutT>
void render_rows(const LineParams& p, OutT* plane, int64_t b, int64_t ch, int64_t row_begin,
                 int64_t row_end, CpuScratch scratch) {
  const int64_t n = cpu_primitives(p, b, ch, row_begin, row_end, scratch.primitives);
  LineTileOp<kKeepMin, kAntialias> op{scratch.primitives, n, Shaders<kAntialias>(p), p.width};
  draw_tiles(plane, p.width, row_begin, row_end,
             cpu_tile_rows(p.height, p.width, static_cast<int64_t>(sizeof(OutT))),
             Store<OutT>::convert(p.background), scratch.tiles, op);
}

// See render_line_cpu_rows in kernels/render_line_cpu.h.
template <typename OutT>
void render_line_cpu_rows(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                          int64_t row_begin, int64_t row_end, CpuScratch scratch) {
  // Ink below the background keeps the smaller value (equal colours: either).
  const bool keep_min = p.foreground <= p.background;
  if (keep_min) {
    if (p.antialias) {
      render_rows<true, true>(p, plane, b, ch, row_begin, row_end, scratch);
    } else {
      render_rows<true, false>(p, plane, b, ch, row_begin, row_end, scratch);
    }
  } else if (p.antialias) {
    render_rows<false, true>(p, plane, b, ch, row_begin, row_end, scratch);
  } else {
    render_rows<false, false>(p, plane, b, ch, row_begin, row_end, scratch);
  }
}
