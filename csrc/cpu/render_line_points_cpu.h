// render_line's points pass on the CPU, shared by the forward and the backward:
// fills the workspace of a planned call (allocate_line_workspace) with the xs and
// the ys of every image (at::parallel_for over images).
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include "csrc/render_line.h"
#include "kernels/render_line_cpu.h"

namespace torch_render {

inline void line_points_cpu_pass(const kernels::LineParams& p, const at::Tensor& series) {
  kernels::line_x_cpu(p);
  const at::Tensor s3 = series_bsl(series);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, series.scalar_type(),
                                  "render_line_cpu_points", [&] {
    const kernels::SeriesView<scalar_t> in{s3.const_data_ptr<scalar_t>(), s3.stride(0),
                                           s3.stride(1), s3.stride(2)};
    at::parallel_for(0, p.batch, 1, [&](int64_t begin, int64_t end) {
      kernels::line_points_cpu(p, in, begin, end);
    });
  });
}

}  // namespace torch_render
