// render_ohlc on the CPU: plain loops over raw pointers. The caller owns the
// threading (the binding runs at::parallel_for over images) and the workspace,
// so nothing here allocates.
//
// The raster of an image fills it with the background, then writes the
// foreground into the runs of rows that ohlc_column_runs gives for each column:
// one write per pixel plus one per marked pixel, and the same marked set as the
// CUDA per-pixel test (tests/cpp/test_render_ohlc.cpp checks it bit for bit).
#pragma once

#include <cstdint>

#include "render_ohlc.h"

namespace torch_render {
namespace kernels {

// Points pass for images [b_begin, b_end).
template <typename T, typename U>
inline void ohlc_points_cpu(const OhlcParams& p, const OhlcView<T>& in, const OverlayView<U>& ov,
                            int64_t b_begin, int64_t b_end) {
  for (int64_t b = b_begin; b < b_end; ++b) ohlc_points_body(p, in, ov, b);
}

// Volume pass for images [b_begin, b_end) (only with p.volume set).
template <typename T>
inline void ohlc_volume_cpu(const OhlcParams& p, const VolumeView<T>& in, int64_t b_begin,
                            int64_t b_end) {
  for (int64_t b = b_begin; b < b_end; ++b) ohlc_volume_body(p, in, b);
}

template <typename OutT>
struct CpuRunWriter {
  OutT* column;  // the column's pixel of row 0
  int64_t stride;
  OutT value;
  void operator()(int64_t r0, int64_t r1) const {
    for (int64_t r = r0; r <= r1; ++r) column[r * stride] = value;
  }
};

// Raster of image b into its [H, W] plane (after the points passes).
template <typename OutT>
inline void render_ohlc_cpu_image(const OhlcParams& p, OutT* plane, int64_t b) {
  const OutT bg = Store<OutT>::convert(p.background);
  const OutT fg = Store<OutT>::convert(p.foreground);
  const int64_t n = p.height * p.width;
  for (int64_t e = 0; e < n; ++e) plane[e] = bg;
  // Columns past the bars stay background.
  for (int64_t i = 0; i < p.length; ++i) {
    for (int64_t off = 0; off < p.bar_width; ++off) {
      CpuRunWriter<OutT> writer{plane + i * p.bar_width + off, p.width, fg};
      ohlc_bar_column_runs(p, b, i, off, writer);
    }
  }
}

// Both passes and the raster of every image on this thread (tests, references).
template <typename T, typename U, typename V, typename OutT>
inline void render_ohlc_cpu_serial(const OhlcParams& p, const OhlcView<T>& in,
                                   const OverlayView<U>& ov, const VolumeView<V>* volume,
                                   OutT* out) {
  ohlc_points_cpu(p, in, ov, 0, p.batch);
  if (p.volume != nullptr && volume != nullptr) ohlc_volume_cpu(p, *volume, 0, p.batch);
  for (int64_t b = 0; b < p.batch; ++b) {
    render_ohlc_cpu_image(p, out + b * p.height * p.width, b);
  }
}

}  // namespace kernels
}  // namespace torch_render
