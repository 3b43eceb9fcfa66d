// render_line's points pass on CUDA, shared by the forward and the backward:
// fills the workspace of a planned call (allocate_line_workspace) on `stream`.
#pragma once

#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>

#include "csrc/cuda/cuda_types.h"
#include "csrc/render_line.h"
#include "kernels/render_line_cuda.h"

namespace torch_render {

inline void line_points_cuda_pass(const kernels::LineParams& p, const at::Tensor& series,
                                  cudaStream_t stream) {
  const at::Tensor s3 = series_bsl(series);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, series.scalar_type(),
                                  "render_line_cuda_points", [&] {
    const kernels::SeriesView<typename CudaType<scalar_t>::type> in{
        cuda_data(s3.const_data_ptr<scalar_t>()), s3.stride(0), s3.stride(1), s3.stride(2)};
    C10_CUDA_CHECK(kernels::launch_line_points(p, in, stream));
  });
}

}  // namespace torch_render
