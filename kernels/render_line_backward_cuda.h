// The backward of render_line on CUDA: launchers (torch-free). Both gradient
// passes are enqueued on `stream` after the forward's points pass
// (launch_line_points), with no host synchronisation; each returns the launch's
// error.
#pragma once

#include <cuda_runtime.h>

#include "render_line_backward.h"

namespace torch_render {
namespace kernels {

// Pass 1, one thread per primitive: out.primitive_grad. G: the incoming
// gradient's type (float, double, __half or __nv_bfloat16).
template <typename G>
cudaError_t launch_line_primitive_grad(const LineParams& p, const PlaneView<G>& grad,
                                       const LineGradBuffers& out, cudaStream_t stream);

// Pass 2, one thread per image: out.series_grad and out.range_grad. T: the
// series' type.
template <typename T>
cudaError_t launch_line_chain(const LineParams& p, const SeriesView<T>& in,
                              const LineGradBuffers& out, cudaStream_t stream);

}  // namespace kernels
}  // namespace torch_render
