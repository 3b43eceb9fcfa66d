// render_ohlc on CUDA: the per-thread work as functors for the shared launch
// shapes of kernels/common/cuda_planes.h (one thread per image for the points
// and volume passes, one per image column for the raster), so a C++ test drives them
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

// The rows [r0, r0 + 64) that any run it is given holds, as bits (bit r - r0).
struct RowBits {
  int64_t r0;
  uint64_t mask;
  TR_HD void operator()(int64_t a, int64_t c) {  // rows a .. c, inclusive
    a = a > r0 ? a : r0;
    c = c < r0 + 63 ? c : r0 + 63;
    if (a > c) return;
    const int64_t n = c - a + 1;  // 1 .. 64
    const uint64_t run = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    mask |= run << (a - r0);
  }
};

// Writes element e of the contiguous output.
template <typename OutT>
struct OutputSink {
  OutT* out;
  TR_HD void operator()(int64_t e, OutT v) const { out[e] = v; }
};

// The raster as one item per image column (i = b * W + col): the column's runs
// (ohlc_column_runs) once per 64 rows, then each of its H pixels, foreground
// where a run holds the row, else background (Store<OutT> of either), to
// element (b H + row) W + col. A gather: each pixel written once, by the
// thread of its column; the threads of a warp take neighbouring columns, so each
// row's stores are contiguous. (Per pixel, each of a column's H threads would
// find the same runs, divisions included.)
template <typename OutT, typename Sink = OutputSink<OutT>>
struct OhlcColumnItem {
  OhlcParams p;
  Sink sink;
  TR_HD void operator()(int64_t i) const {
    const int64_t b = i / p.width;
    const int64_t col = i - b * p.width;
    const OutT fg = Store<OutT>::convert(p.foreground);
    const OutT bg = Store<OutT>::convert(p.background);
    const int64_t first = b * p.height * p.width + col;
    for (int64_t r0 = 0; r0 < p.height; r0 += 64) {
      RowBits rows{r0, 0};
      ohlc_column_runs(p, b, col, rows);
      const int64_t n = p.height - r0 < 64 ? p.height - r0 : 64;
      for (int64_t r = 0; r < n; ++r) {
        sink(first + (r0 + r) * p.width, (rows.mask >> r) & 1 ? fg : bg);
      }
    }
  }
};

}  // namespace kernels
}  // namespace torch_render
