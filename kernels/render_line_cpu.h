// render_line on the CPU: plain loops over raw pointers. The caller owns the
// threading (the binding uses at::parallel_for) and the scratch memory, so
// nothing here allocates.
//
// The raster draws each primitive where it can reach instead of testing every
// pixel against the primitives near it: a block is filled with the background,
// then every primitive that reaches the block's rows shades, row by row, the run
// of columns it can reach, and each pixel keeps the inkier of its value and the
// primitive's. That is the model's value exactly: pixel_value is monotone in the
// squared distance (every step of it rounds monotonically), so the value of the
// minimum distance is the inkiest of the values, and a primitive that does not
// reach a pixel gives it the background, which never wins.
//
// The raster is compiled once per instruction set (the baseline copy here, the
// AVX2 copy in kernels/cpu/render_line_cpu_avx2.cpp), see render_line_cpu_isa.h.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "render_line.h"

namespace torch_render {
namespace kernels {

// Bytes of output rows filled and shaded together: small enough to stay in L2
// while every primitive of those rows reads and writes them, large enough that a
// 224x224 float32 image is one tile (filled ahead by the image before it; on the
// development Xeon 256 KB drew 224x224 ~10% faster than 128 KB, 500x800 the same).
constexpr int64_t kCpuTileBytes = int64_t{256} << 10;

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

// Caller-owned memory of one render_line_cpu_block call (one per thread).
struct CpuScratch {
  CpuPrimitive* primitives;  // [cpu_scratch_primitives(p)]
  // Optional: cpu_tile_rows(p, sizeof(OutT)) x (col_end - col_begin) output
  // elements. When given, each tile is drawn there (in cache) and streamed to the
  // plane with non-temporal stores, so the output is written once without being
  // read first.
  void* tile = nullptr;
  // Optional: the output bytes [ahead, ahead + ahead_bytes) that the caller
  // draws next (the next block's first rows). The last tile reads them ahead
  // while it is shaded, or with fill_ahead (whole rows of the plane's width
  // only) fills them with the background: all of them, by the end of the call.
  void* ahead = nullptr;
  int64_t ahead_bytes = 0;
  bool fill_ahead = false;
  // Rows at the start of the block that already hold the background (filled
  // ahead by the call before).
  int64_t filled_rows = 0;
};

// Number of CpuPrimitives a call may need: at most one per point of a channel.
inline int64_t cpu_scratch_primitives(const LineParams& p) {
  return (p.channel_mode ? 1 : p.num_series) * p.length;
}

// Rows of one tile for an output of `elem_bytes`-byte elements.
inline int64_t cpu_tile_rows(const LineParams& p, int64_t elem_bytes) {
  const int64_t row_bytes = std::max<int64_t>(1, p.width * elem_bytes);
  return std::max<int64_t>(1, std::min<int64_t>(p.height, kCpuTileBytes / row_bytes));
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

// std::fill for any output type, through its bit pattern (vectorised by the
// compiler for the instruction set of the includer).
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
    U* d = reinterpret_cast<U*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = pattern;
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

// Whether a is strictly inkier than b when the ink is below the background
// (kMin) or above it, compared as the output type's values.
template <bool kMin, typename OutT>
inline bool inkier(OutT a, OutT b) {
  if constexpr (std::is_arithmetic_v<OutT>) {
    return kMin ? a < b : a > b;
  } else {
    const float fa = static_cast<float>(a);
    const float fb = static_cast<float>(b);
    return kMin ? fa < fb : fa > fb;
  }
}

// The baseline copy of the raster, compiled with the includer's flags.
namespace baseline {
#include "render_line_cpu_isa.h"
}  // namespace baseline

// ---------------------------------------------------------------------------
// Instruction sets. The AVX2 copy (kernels/cpu/render_line_cpu_avx2.cpp, built on
// x86-64 with GCC or Clang) serves float32 and uint8 outputs; every other case,
// and every CPU without AVX2, takes the baseline copy. All copies give the same
// bits (tests/cpp/test_render_line_cpu.cpp runs each against the brute force).

enum class CpuIsa { kBaseline = 0, kAvx2 = 1 };

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#define TR_HAVE_AVX2_KERNELS 1
namespace avx2 {
// Defined and instantiated (float, uint8_t) in kernels/cpu/render_line_cpu_avx2.cpp.
template <typename OutT>
void render_line_cpu_block(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                           int64_t row_begin, int64_t row_end, int64_t col_begin,
                           int64_t col_end, CpuScratch scratch);
}  // namespace avx2
#endif

inline const char* cpu_isa_name(CpuIsa isa) { return isa == CpuIsa::kAvx2 ? "avx2" : "baseline"; }

// Whether this build and this CPU can run `isa`.
inline bool cpu_isa_supported(CpuIsa isa) {
  if (isa == CpuIsa::kBaseline) return true;
#if defined(TR_HAVE_AVX2_KERNELS)
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

namespace detail {
// The active instruction set: the best supported one, or TORCH_RENDER_CPU_ISA
// (baseline or avx2; an unsupported or unknown name falls back to the best).
inline std::atomic<int>& cpu_isa_state() {
  static std::atomic<int> state([] {
    CpuIsa best = cpu_isa_supported(CpuIsa::kAvx2) ? CpuIsa::kAvx2 : CpuIsa::kBaseline;
    if (const char* env = std::getenv("TORCH_RENDER_CPU_ISA")) {
      if (std::strcmp(env, "baseline") == 0) best = CpuIsa::kBaseline;
    }
    return static_cast<int>(best);
  }());
  return state;
}
}  // namespace detail

inline CpuIsa cpu_isa() { return static_cast<CpuIsa>(detail::cpu_isa_state().load()); }

// Makes `isa` the active instruction set (tests); false if it is not supported.
inline bool set_cpu_isa(CpuIsa isa) {
  if (!cpu_isa_supported(isa)) return false;
  detail::cpu_isa_state().store(static_cast<int>(isa));
  return true;
}

// Renders the block rows [row_begin, row_end) x columns [col_begin, col_end) of
// channel ch of image b into `plane`, the contiguous [H, W] plane of that channel,
// writing nothing outside the block, with the active instruction set. `scratch`
// holds cpu_scratch_primitives(p) CpuPrimitives (and optionally a tile).
template <typename OutT>
void render_line_cpu_block(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                           int64_t row_begin, int64_t row_end, int64_t col_begin,
                           int64_t col_end, CpuScratch scratch) {
#if defined(TR_HAVE_AVX2_KERNELS)
  if constexpr (std::is_same_v<OutT, float> || std::is_same_v<OutT, uint8_t>) {
    if (cpu_isa() == CpuIsa::kAvx2) {
      avx2::render_line_cpu_block(p, plane, b, ch, row_begin, row_end, col_begin, col_end,
                                  scratch);
      return;
    }
  }
#endif
  baseline::render_line_cpu_block(p, plane, b, ch, row_begin, row_end, col_begin, col_end,
                                  scratch);
}

// All columns of rows [row_begin, row_end).
template <typename OutT>
void render_line_cpu_rows(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                          int64_t row_begin, int64_t row_end, CpuScratch scratch) {
  render_line_cpu_block(p, plane, b, ch, row_begin, row_end, 0, p.width, scratch);
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
  for (int64_t i = 0; i < planes; ++i) {
    OutT* plane = out + i * plane_size;
    CpuScratch s = scratch;
    s.filled_rows = i > 0 ? ahead_rows : 0;
    if (i + 1 < planes) {
      s.ahead = plane + plane_size;
      s.ahead_bytes = ahead_rows * p.width * static_cast<int64_t>(sizeof(OutT));
      s.fill_ahead = true;
    }
    render_line_cpu_rows(p, plane, i / p.channels(), i % p.channels(), 0, p.height, s);
  }
}

}  // namespace kernels
}  // namespace torch_render
