// The backward of render_line on CUDA: device guard, the forward's points pass and
// both gradient passes on the current stream (the plan allocated the workspace
// with the caching allocator), a launch check after each. No host synchronisation.
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "csrc/cuda/cuda_types.h"
#include "csrc/cuda/render_line_points_cuda.h"
#include "csrc/render_line_backward.h"
#include "kernels/render_line_backward_cuda.h"

namespace torch_render {
namespace {

void render_line_backward_cuda(const LineBackwardPlan& plan, const at::Tensor& grad,
                               const at::Tensor& series) {
  const c10::cuda::CUDAGuard guard(series.device());
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const kernels::LineParams& p = plan.line.params;
  line_points_cuda_pass(p, series, stream);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(),
                                  "render_line_backward_cuda_primitives", [&] {
    const kernels::PlaneView<typename CudaType<scalar_t>::type> g{
        cuda_data(grad.const_data_ptr<scalar_t>()), grad.stride(0), grad.stride(1),
        grad.stride(2), grad.stride(3)};
    C10_CUDA_CHECK(kernels::launch_line_primitive_grad(p, g, plan.buffers, stream));
  });
  const at::Tensor s3 = series_bsl(series);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, series.scalar_type(),
                                  "render_line_backward_cuda_chain", [&] {
    const kernels::SeriesView<typename CudaType<scalar_t>::type> in{
        cuda_data(s3.const_data_ptr<scalar_t>()), s3.stride(0), s3.stride(1), s3.stride(2)};
    C10_CUDA_CHECK(kernels::launch_line_chain(p, in, plan.buffers, stream));
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, CUDA, m) {
  m.impl("render_line_backward", &render_line_backward_op<render_line_backward_cuda>);
}

}  // namespace torch_render
