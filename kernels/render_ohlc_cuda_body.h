// render_ohlc on CUDA: the per-thread work as functors for the shared launch
// shapes of kernels/common/cuda_planes.h (one thread per image for the points
// and volume passes, write_planes for the raster), so a C++ test drives them
// over the whole launch grid on the CPU (tests/cpp/test_render_ohlc.cpp) and
// compares with the CPU kernel bit for bit.
#pragma once

#include "kernels/common/cuda_planes.h"
#include "kernels/render_ohlc.h"

namespace torch_render {
namespace kernels {

// Points pass of image b.
template <typename T, typename U>
struct OhlcPointsItem {
  OhlcParams p;
  OhlcView<T> in;
  OverlayView<U> ov;
  TR_HD void operator()(int64_t b) const { ohlc_points_body(p, in, ov, b); }
};

// Volume pass of image b.
template <typename T>
struct OhlcVolumeItem {
  OhlcParams p;
  VolumeView<T> in;
  TR_HD void operator()(int64_t b) const { ohlc_volume_body(p, in, b); }
};

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

// The raster's per-pixel functor for write_planes.
struct OhlcPixel {
  OhlcParams p;
  TR_HD float operator()(int64_t e) const { return ohlc_raster_value(p, e); }
};

}  // namespace kernels
}  // namespace torch_render
