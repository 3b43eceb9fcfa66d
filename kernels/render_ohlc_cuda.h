// render_ohlc on CUDA: launchers (torch-free). Every pass is enqueued on `stream`
// with no host synchronisation; each returns the launch's error.
#pragma once

#include <cuda_runtime.h>

#include "render_ohlc.h"

namespace torch_render {
namespace kernels {

// Points pass: fills p.bars and p.overlays. T, U: float, double, __half or
// __nv_bfloat16 (U: the overlays' type; any of them when M == 0).
template <typename T, typename U>
cudaError_t launch_ohlc_points(const OhlcParams& p, const OhlcView<T>& in,
                               const OverlayView<U>& ov, cudaStream_t stream);

// Volume pass: fills p.volume (which must be set).
template <typename T>
cudaError_t launch_ohlc_volume(const OhlcParams& p, const VolumeView<T>& in, cudaStream_t stream);

// Raster pass: writes every element of the contiguous [B, 1, H, W] `out` once.
// OutT: float, double, __half, __nv_bfloat16 or uint8_t.
template <typename OutT>
cudaError_t launch_ohlc_raster(const OhlcParams& p, OutT* out, cudaStream_t stream);

}  // namespace kernels
}  // namespace torch_render
