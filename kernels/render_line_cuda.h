// render_line on CUDA: launchers (torch-free). Both passes are enqueued on
// `stream` with no host synchronisation; each returns the launch's error.
#pragma once

#include <cuda_runtime.h>

#include "render_line.h"

namespace torch_render {
namespace kernels {

// Points pass: fills p.xs and p.ys. T: float, double, __half or __nv_bfloat16.
template <typename T>
cudaError_t launch_line_points(const LineParams& p, const SeriesView<T>& in, cudaStream_t stream);

// Raster pass: writes every element of the contiguous [B, C, H, W] `out` once.
// OutT: float, double, __half, __nv_bfloat16 or uint8_t.
template <typename OutT>
cudaError_t launch_line_raster(const LineParams& p, OutT* out, cudaStream_t stream);

}  // namespace kernels
}  // namespace torch_render
