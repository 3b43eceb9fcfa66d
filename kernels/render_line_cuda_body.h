// render_line on CUDA: the per-thread bodies. Each is a __host__ __device__
// function of (block index, thread index, launch size, params), so a C++ test can
// drive it over the whole launch grid on the CPU (tests/cpp/test_cuda_emulation.cpp)
// and compare with the CPU kernel bit for bit.
#pragma once

#include <cstring>

#include "render_line.h"

namespace torch_render {
namespace kernels {

constexpr int kPointsThreads = 128;
constexpr int kRasterThreads = 256;

// Output elements per raster thread: one 16-byte store.
template <typename OutT>
struct RasterVec {
  static constexpr int value = sizeof(OutT) >= 16 ? 1 : 16 / static_cast<int>(sizeof(OutT));
};

// Threads of the points pass: one per x and one per (image, group).
inline int64_t line_points_threads(const LineParams& p) {
  const int64_t groups = p.batch * p.groups();
  return groups > p.length ? groups : p.length;
}

template <typename T>
TR_HD void line_points_thread(const LineParams& p, const SeriesView<T>& in, int64_t block,
                              int64_t thread, int64_t block_dim) {
  const int64_t i = block * block_dim + thread;
  if (i < p.length) line_x_body(p, i);
  if (i < p.batch * p.groups()) line_points_body(p, in, i / p.groups(), i % p.groups());
}

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

// One 16-byte store of kVec values (aligned), or kVec scalar stores on the host.
template <typename OutT, int kVec>
TR_HD void store_vector(OutT* dst, const OutT (&vals)[kVec]) {
#if defined(__CUDA_ARCH__)
  static_assert(sizeof(OutT) * kVec == 16, "raster stores are 16 bytes");
  *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(vals);
#else
  std::memcpy(dst, vals, sizeof(vals));
#endif
}

// Raster pass: thread (block, thread) of a grid of grid_dim blocks writes chunks
// of kVec consecutive elements, grid-striding over all of them. kAligned: `out`
// is 16-byte aligned, so whole chunks use one vector store.
template <typename OutT, bool kAligned>
TR_HD void line_raster_thread(const LineParams& p, OutT* out, int64_t numel, int64_t block,
                              int64_t thread, int64_t block_dim, int64_t grid_dim) {
  constexpr int kVec = kAligned ? RasterVec<OutT>::value : 1;
  const int64_t chunks = (numel + kVec - 1) / kVec;
  for (int64_t k = block * block_dim + thread; k < chunks; k += grid_dim * block_dim) {
    const int64_t e0 = k * kVec;
    if constexpr (kVec > 1) {
      if (e0 + kVec <= numel) {
        alignas(16) OutT vals[kVec];
        for (int v = 0; v < kVec; ++v) vals[v] = Store<OutT>::convert(raster_value(p, e0 + v));
        store_vector<OutT, kVec>(out + e0, vals);
        continue;
      }
    }
    for (int64_t e = e0; e < e0 + kVec && e < numel; ++e) {
      out[e] = Store<OutT>::convert(raster_value(p, e));
    }
  }
}

// Blocks of the raster launch for `numel` outputs (grid-striding past the cap).
template <typename OutT>
inline int64_t line_raster_blocks(int64_t numel, bool aligned) {
  const int64_t vec = aligned ? RasterVec<OutT>::value : 1;
  const int64_t chunks = (numel + vec - 1) / vec;
  const int64_t blocks = (chunks + kRasterThreads - 1) / kRasterThreads;
  constexpr int64_t kMaxBlocks = int64_t{1} << 30;
  return blocks < kMaxBlocks ? blocks : kMaxBlocks;
}

}  // namespace kernels
}  // namespace torch_render
