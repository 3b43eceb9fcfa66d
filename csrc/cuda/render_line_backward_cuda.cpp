// The backward of render_line on CUDA: device guard, workspace from the caching
// allocator, the forward's points pass and both gradient passes on the current
// stream, a launch check after each. No host synchronisation.
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "csrc/cuda/cuda_types.h"
#include "csrc/render_line_backward.h"
#include "kernels/render_line_backward_cuda.h"
#include "kernels/render_line_cuda.h"

namespace torch_render {
namespace {

void render_line_backward_cuda(LinePlan& plan, const at::Tensor& grad, const at::Tensor& series,
                               at::Tensor& series_grad, at::Tensor& range_grad) {
  const c10::cuda::CUDAGuard guard(series.device());
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  kernels::LineParams& p = plan.params;
  const auto options = series.options();
  const at::Tensor xs = at::empty({p.length}, options.dtype(at::kFloat));
  const at::Tensor ys = at::empty({p.batch, p.num_series, p.length}, options.dtype(at::kFloat));
  const at::Tensor primitive_grad =
      at::empty({p.batch, p.num_series, p.length, 2}, options.dtype(at::kDouble));
  p.xs = xs.data_ptr<float>();
  p.ys = ys.data_ptr<float>();
  if (plan.value_range.defined()) p.value_range = plan.value_range.const_data_ptr<double>();
  kernels::LineGradBuffers out;
  out.primitive_grad = primitive_grad.data_ptr<double>();
  out.series_grad = series_grad.data_ptr<double>();
  if (range_grad.defined()) out.range_grad = range_grad.data_ptr<double>();

  const at::Tensor s3 = series.dim() == 3 ? series : series.unsqueeze(1);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, series.scalar_type(),
                                  "render_line_backward_cuda_points", [&] {
    const kernels::SeriesView<typename CudaType<scalar_t>::type> in{
        cuda_data(s3.const_data_ptr<scalar_t>()), s3.stride(0), s3.stride(1), s3.stride(2)};
    C10_CUDA_CHECK(kernels::launch_line_points(p, in, stream));
  });
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(),
                                  "render_line_backward_cuda_primitives", [&] {
    const kernels::PlaneView<typename CudaType<scalar_t>::type> g{
        cuda_data(grad.const_data_ptr<scalar_t>()), grad.stride(0), grad.stride(1),
        grad.stride(2), grad.stride(3)};
    C10_CUDA_CHECK(kernels::launch_line_primitive_grad(p, g, out, stream));
  });
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, series.scalar_type(),
                                  "render_line_backward_cuda_chain", [&] {
    const kernels::SeriesView<typename CudaType<scalar_t>::type> in{
        cuda_data(s3.const_data_ptr<scalar_t>()), s3.stride(0), s3.stride(1), s3.stride(2)};
    C10_CUDA_CHECK(kernels::launch_line_chain(p, in, out, stream));
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, CUDA, m) {
  m.impl("render_line_backward", &render_line_backward_op<render_line_backward_cuda>);
}

}  // namespace torch_render
