// render_line's points pass on the CPU, shared by the forward and the backward:
// allocates the xs/ys workspace, points the params at it and at the float64
// value ranges, and fills it (at::parallel_for over images).
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>

#include "csrc/render_line.h"
#include "kernels/render_line_cpu.h"

namespace torch_render {

struct LinePointsWorkspace {
  at::Tensor xs;  // float32 [L]
  at::Tensor ys;  // float32 [B, S, L]
};

// series as [B, S, L] (a view).
inline at::Tensor series_bsl(const at::Tensor& series) {
  return series.dim() == 3 ? series : series.unsqueeze(1);
}

inline LinePointsWorkspace line_points_cpu_pass(LinePlan& plan, const at::Tensor& series) {
  kernels::LineParams& p = plan.params;
  LinePointsWorkspace ws{at::empty({p.length}, series.options().dtype(at::kFloat)),
                         at::empty({p.batch, p.num_series, p.length},
                                   series.options().dtype(at::kFloat))};
  p.xs = ws.xs.data_ptr<float>();
  p.ys = ws.ys.data_ptr<float>();
  if (plan.value_range.defined()) p.value_range = plan.value_range.const_data_ptr<double>();
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
  return ws;
}

}  // namespace torch_render
