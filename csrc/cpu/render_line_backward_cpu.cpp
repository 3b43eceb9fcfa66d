// The backward of render_line on the CPU: the forward's points pass, then both
// gradient passes of kernels/render_line_backward.h (pass 1 through the
// instruction-set dispatch of kernels/render_line_backward_cpu.h, plane by plane
// where it can) with at::parallel_for over their items (each item writes only its
// own slots, so any split gives the same bits).
#include <memory>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include "csrc/cpu/render_line_points_cpu.h"
#include "csrc/render_line_backward.h"
#include "kernels/render_line_backward_cpu.h"

namespace torch_render {
namespace {

// Items per task: a primitive's pixels are few (its capsule), an image's chain is
// O(S * L).
constexpr int64_t kPrimitiveGrain = 64;

void render_line_backward_cpu(const LineBackwardPlan& plan, const at::Tensor& grad,
                              const at::Tensor& series) {
  const kernels::LineParams& p = plan.line.params;
  line_points_cpu_pass(p, series);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(),
                                  "render_line_backward_cpu_primitives", [&] {
    const kernels::LinePrimitiveGradItem<scalar_t> item{
        p,
        {grad.const_data_ptr<scalar_t>(), grad.stride(0), grad.stride(1), grad.stride(2),
         grad.stride(3)},
        plan.buffers};
    // Plane by plane where there are planes enough for every thread (else the
    // primitives are the items, so that one image still uses them all); the same
    // bits either way.
    const int64_t planes = p.batch * p.channels();
    if (kernels::line_plane_grad_applies<scalar_t>(p) && planes >= at::get_num_threads()) {
      const int64_t doubles = kernels::line_plane_grad_scratch(p, nullptr, nullptr);
      at::parallel_for(0, planes, 1, [&](int64_t begin, int64_t end) {
        // Each thread's own memory, not zeroed: the pass sets what it reads.
        const std::unique_ptr<double[]> memory(new double[static_cast<size_t>(doubles)]);
        kernels::LinePlaneGradScratch scratch;
        kernels::line_plane_grad_scratch(p, memory.get(), &scratch);
        kernels::line_plane_grad_cpu(item, begin, end, scratch);
      });
      return;
    }
    at::parallel_for(0, kernels::line_primitive_items(p), kPrimitiveGrain,
                     [&](int64_t begin, int64_t end) {
                       kernels::line_primitive_grad_cpu(item, begin, end);
                     });
  });
  const at::Tensor s3 = series_bsl(series);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, series.scalar_type(),
                                  "render_line_backward_cpu_chain", [&] {
    const kernels::LineChainItem<scalar_t> item{
        p, {s3.const_data_ptr<scalar_t>(), s3.stride(0), s3.stride(1), s3.stride(2)},
        plan.buffers};
    at::parallel_for(0, p.batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) item(b);
    });
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, CPU, m) {
  m.impl("render_line_backward", &render_line_backward_op<render_line_backward_cpu>);
}

}  // namespace torch_render
