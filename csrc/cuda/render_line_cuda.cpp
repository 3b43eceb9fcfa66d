// render_line on CUDA: device guard, workspace from the caching allocator, both
// passes on the current stream, a launch check after each. No host synchronisation.
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "csrc/cuda/cuda_types.h"
#include "csrc/cuda/render_line_points_cuda.h"
#include "csrc/render_line.h"
#include "kernels/render_line_cuda.h"

namespace torch_render {
namespace {

void render_line_cuda(LinePlan& plan, const at::Tensor& series, at::Tensor& out) {
  const c10::cuda::CUDAGuard guard(series.device());
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const kernels::LineParams& p = plan.params;
  line_points_cuda_pass(p, series, stream);
  AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kByte, out.scalar_type(),
                                  "render_line_cuda_raster", [&] {
    C10_CUDA_CHECK(
        kernels::launch_line_raster(p, cuda_data(out.mutable_data_ptr<scalar_t>()), stream));
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, CUDA, m) {
  m.impl("render_line", &render_line_functional<render_line_cuda>);
  m.impl("render_line.out", &render_line_out<render_line_cuda>);
}

}  // namespace torch_render
