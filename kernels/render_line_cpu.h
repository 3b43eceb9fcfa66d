// render_line on the CPU: the op's one CPU entry point (render_line_cpu_rows),
// which owns its tiling and filling ahead, and the serial driver over a whole
// batch. Plain loops over raw pointers; the caller owns the threading (the
// binding uses at::parallel_for) and the scratch memory, so nothing here allocates.
//
// The raster is compiled once per instruction set (kernels/common/cpu_isa.h):
// the baseline copy here, the AVX2 copy in kernels/cpu/render_line_cpu_avx2.cpp,
// both from kernels/cpu/render_line_isa.h.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/common/cpu_isa.h"
#include "kernels/common/cpu_memory.h"
#include "kernels/common/cpu_tiles.h"
#include "kernels/cpu/render_line_primitives.h"
#include "kernels/render_line.h"

namespace torch_render {
namespace kernels {

// Caller-owned memory of one render_line_cpu_rows call (one per thread).
struct CpuScratch {
  CpuPrimitive* primitives;  // [cpu_scratch_primitives(p)]
  CpuTileMemory tiles = {};  // optional streaming tile and fill ahead
};

// Rows of one tile of render_line's output with `elem_bytes`-byte elements.
inline int64_t cpu_tile_rows(const LineParams& p, int64_t elem_bytes) {
  return cpu_tile_rows(p.height, p.width, elem_bytes);
}

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

// The baseline copy of the raster, compiled with the includer's flags.
namespace baseline {
#include "kernels/cpu/render_line_isa.h"
}  // namespace baseline

#if defined(TR_HAVE_AVX2_KERNELS)
namespace avx2 {
// Defined and instantiated (float, uint8_t) in kernels/cpu/render_line_cpu_avx2.cpp.
template <typename OutT>
void render_line_cpu_rows(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                          int64_t row_begin, int64_t row_end, CpuScratch scratch);
}  // namespace avx2
#endif

// Renders rows [row_begin, row_end) of channel ch of image b into `plane`, the
// contiguous [H, W] plane of that channel, writing nothing outside those rows
// but scratch.tiles.fill_ahead, with the active instruction set (the AVX2 copy
// serves float32 and uint8 outputs). Needs the points pass done for image b.
template <typename OutT>
void render_line_cpu_rows(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                          int64_t row_begin, int64_t row_end, CpuScratch scratch) {
#if defined(TR_HAVE_AVX2_KERNELS)
  if constexpr (std::is_same_v<OutT, float> || std::is_same_v<OutT, uint8_t>) {
    if (cpu_isa() == CpuIsa::kAvx2) {
      avx2::render_line_cpu_rows(p, plane, b, ch, row_begin, row_end, scratch);
      return;
    }
  }
#endif
  baseline::render_line_cpu_rows(p, plane, b, ch, row_begin, row_end, scratch);
}

// The whole op on one thread (tests and tools): points, then every plane. `out` is
// [B, C, H, W] contiguous; `scratch` holds cpu_scratch_primitives(p) CpuPrimitives.
template <typename T, typename OutT>
void render_line_cpu_serial(const LineParams& p, const SeriesView<T>& in, OutT* out,
                            CpuScratch scratch) {
  line_x_cpu(p);
  line_points_cpu(p, in, 0, p.batch);
  const int64_t plane_size = p.height * p.width;
  const int64_t planes = p.batch * p.channels();
  // Each plane fills the first tile of the next one while it is shaded.
  const int64_t ahead_rows = cpu_tile_rows(p, static_cast<int64_t>(sizeof(OutT)));
  int64_t filled = 0;
  for (int64_t i = 0; i < planes; ++i) {
    OutT* plane = out + i * plane_size;
    CpuScratch s = scratch;
    s.tiles.filled_rows = filled;
    filled = i + 1 < planes ? fill_next_rows(&s.tiles, plane + plane_size, ahead_rows, p.width)
                            : 0;
    render_line_cpu_rows(p, plane, i / p.channels(), i % p.channels(), 0, p.height, s);
  }
}

}  // namespace kernels
}  // namespace torch_render
