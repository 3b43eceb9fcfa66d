// render_ohlc on CUDA: the per-thread bodies, __host__ __device__ functions of
// (block index, thread index, launch size, params), so a C++ test drives them
// over the whole launch grid on the CPU (tests/cpp/test_render_ohlc.cpp) and
// compares with the CPU kernel bit for bit.
#pragma once

#include "render_line_cuda_body.h"  // RasterVec, store_vector, kRasterThreads
#include "render_ohlc.h"

namespace torch_render {
namespace kernels {

constexpr int kOhlcPointsThreads = 128;

// Points and volume passes: one thread per image.
template <typename T, typename U>
TR_HD void ohlc_points_thread(const OhlcParams& p, const OhlcView<T>& in,
                              const OverlayView<U>& ov, int64_t block, int64_t thread,
                              int64_t block_dim) {
  const int64_t b = block * block_dim + thread;
  if (b < p.batch) ohlc_points_body(p, in, ov, b);
}

template <typename T>
TR_HD void ohlc_volume_thread(const OhlcParams& p, const VolumeView<T>& in, int64_t block,
                              int64_t thread, int64_t block_dim) {
  const int64_t b = block * block_dim + thread;
  if (b < p.batch) ohlc_volume_body(p, in, b);
}

// Whether one row is inside any run it is given.
struct RowHit {
  int64_t row;
  bool hit;
  TR_HD void operator()(int64_t r0, int64_t r1) { hit = hit || (r0 <= row && row <= r1); }
};

// Value of flat output element e ([B, 1, H, W] order).
TR_HD float ohlc_raster_value(const OhlcParams& p, int64_t e) {
  const int64_t col = e % p.width;
  const int64_t rest = e / p.width;
  const int64_t row = rest % p.height;
  const int64_t b = rest / p.height;
  RowHit hit{row, false};
  ohlc_column_runs(p, b, col, hit);
  return hit.hit ? p.foreground : p.background;
}

// Raster pass: as line_raster_thread, chunks of kVec elements, grid-striding.
template <typename OutT, bool kAligned>
TR_HD void ohlc_raster_thread(const OhlcParams& p, OutT* out, int64_t numel, int64_t block,
                              int64_t thread, int64_t block_dim, int64_t grid_dim) {
  constexpr int kVec = kAligned ? RasterVec<OutT>::value : 1;
  const int64_t chunks = (numel + kVec - 1) / kVec;
  for (int64_t k = block * block_dim + thread; k < chunks; k += grid_dim * block_dim) {
    const int64_t e0 = k * kVec;
    if constexpr (kVec > 1) {
      if (e0 + kVec <= numel) {
        alignas(16) OutT vals[kVec];
        for (int v = 0; v < kVec; ++v) vals[v] = Store<OutT>::convert(ohlc_raster_value(p, e0 + v));
        store_vector<OutT, kVec>(out + e0, vals);
        continue;
      }
    }
    for (int64_t e = e0; e < e0 + kVec && e < numel; ++e) {
      out[e] = Store<OutT>::convert(ohlc_raster_value(p, e));
    }
  }
}

}  // namespace kernels
}  // namespace torch_render
