// render_ohlc on the CPU: plain loops over raw pointers. The caller owns the
// threading (the binding runs at::parallel_for over images) and the memory.
//
// One image at a time, points and raster together
// (kernels/cpu/render_ohlc_levels.h, kernels/cpu/render_ohlc_raster.h, and for
// uint8 bars of at most 64 columns with AVX2 kernels/cpu/render_ohlc_bits.h):
// its levels go to a scratch of O(L (M + 10) + H) numbers that stays in L1,
// where a batch-sized workspace written by a points pass and read back by the
// raster costs as much as writing the output at 64x60 uint8.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/render_ohlc_bits.h"
#include "kernels/cpu/render_ohlc_levels.h"
#include "kernels/cpu/render_ohlc_raster.h"
#include "kernels/render_ohlc.h"

namespace torch_render {
namespace kernels {

// Sizes of a scratch: int64 elements (levels, raw levels, the bitmask raster's
// rows where it fits) and doubles (values).
inline int64_t ohlc_scratch_ints(const OhlcParams& p) {
  return p.length * (kBarFields + p.num_overlays + 1 + 4) +
         (ohlc_bits_fit(p) ? ohlc_bits_scratch(p) : 0);
}
inline int64_t ohlc_scratch_reals(const OhlcParams& p) {
  return p.length * (4 + p.num_overlays);
}

// The scratch in `ints` (zeroed) and `reals` (sizes above); `volume`: with a
// volume panel.
inline OhlcCpuScratch ohlc_scratch(const OhlcParams& p, bool volume, int64_t* ints,
                                   double* reals) {
  const int64_t L = p.length;
  OhlcCpuScratch s;
  s.levels = {ints, ints + L * kBarFields,
              volume ? ints + L * (kBarFields + p.num_overlays) : nullptr};
  s.raw_levels = ints + L * (kBarFields + p.num_overlays + 1);
  s.levels.raw = s.raw_levels;
  // (uint64 through the int64 array: the same type but for its sign, may alias.)
  s.bits = ohlc_bits_fit(p) ? reinterpret_cast<uint64_t*>(s.raw_levels + 4 * L) : nullptr;
  s.values = reals;
  return s;
}

// The workspace slices of image b (p.bars, p.overlays, p.volume).
inline OhlcImageLevels ohlc_workspace_levels(const OhlcParams& p, int64_t b) {
  return {p.bars + b * p.length * kBarFields, p.overlays + b * p.num_overlays * p.length,
          p.volume != nullptr ? p.volume + b * p.length : nullptr};
}

// Image b whole: its levels into the scratch, then its raster (volume: null
// when p has no volume panel).
template <typename T, typename U, typename V, typename OutT>
inline void render_ohlc_cpu_image(const OhlcParams& p, const OhlcView<T>& in,
                                  const OverlayView<U>& ov, const VolumeView<V>* volume,
                                  int64_t b, const OhlcCpuScratch& scratch, OutT* plane) {
  // The bitmask raster reads the levels as computed; the bars' fields are made
  // only for the byte raster.
  const bool bits = ohlc_bits_raster_used<OutT>(p, scratch.levels, scratch.bits);
  ohlc_image_levels_cpu(p, in, ov, b, scratch, !bits);
  if (scratch.levels.volume != nullptr) ohlc_image_volume_cpu(p, *volume, b, scratch);
  ohlc_raster_cpu(p, scratch.levels, plane, scratch.bits);
}

// The raster of image b from p's workspace (after the points passes).
template <typename OutT>
inline void render_ohlc_cpu_image(const OhlcParams& p, OutT* plane, int64_t b) {
  ohlc_raster_cpu(p, ohlc_workspace_levels(p, b), plane);
}

// Points pass for images [b_begin, b_end) into p's workspace.
template <typename T, typename U>
inline void ohlc_points_cpu(const OhlcParams& p, const OhlcView<T>& in, const OverlayView<U>& ov,
                            int64_t b_begin, int64_t b_end) {
  for (int64_t b = b_begin; b < b_end; ++b) ohlc_points_body(p, in, ov, b);
}

// Volume pass for images [b_begin, b_end) into p's workspace (p.volume set).
template <typename T>
inline void ohlc_volume_cpu(const OhlcParams& p, const VolumeView<T>& in, int64_t b_begin,
                            int64_t b_end) {
  for (int64_t b = b_begin; b < b_end; ++b) ohlc_volume_body(p, in, b);
}

// Every image on this thread, as the binding draws them, their levels written to
// p's workspace (tests and tools: the one function here that allocates). `volume`
// may be null when p.volume is.
template <typename T, typename U, typename V, typename OutT>
inline void render_ohlc_cpu_serial(const OhlcParams& p, const OhlcView<T>& in,
                                   const OverlayView<U>& ov, const VolumeView<V>* volume,
                                   OutT* out) {
  OhlcParams q = p;
  if (volume == nullptr) q.volume = nullptr;
  std::vector<int64_t> ints(static_cast<size_t>(ohlc_scratch_ints(q)));
  std::vector<double> reals(static_cast<size_t>(ohlc_scratch_reals(q)));
  OhlcCpuScratch scratch = ohlc_scratch(q, q.volume != nullptr, ints.data(), reals.data());
  for (int64_t b = 0; b < p.batch; ++b) {
    scratch.levels = ohlc_workspace_levels(q, b);
    scratch.levels.raw = scratch.raw_levels;  // as ohlc_scratch sets it
    render_ohlc_cpu_image(q, in, ov, volume, b, scratch, out + b * p.height * p.width);
  }
  ohlc_stream_fence(q);
}

}  // namespace kernels
}  // namespace torch_render
