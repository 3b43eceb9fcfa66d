// render_line on the CPU: at::parallel_for over images for the points pass and,
// through the shared parallel driver (csrc/cpu/parallel_planes.h), over (image,
// channel, row block) for the raster pass, which runs the op's CPU entry point
// (kernels/render_line_cpu.h) with the best instruction set.
#include <cstdint>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "csrc/cpu/parallel_planes.h"
#include "csrc/cpu/render_line_points_cpu.h"
#include "csrc/render_line.h"
#include "kernels/render_line_cpu.h"

namespace torch_render {
namespace {

using kernels::CpuPrimitive;
using kernels::LineParams;

template <typename OutT>
void raster(const LineParams& p, OutT* out, bool fresh) {
  const int64_t planes = p.batch * p.channels();
  const bool stream = stream_output(
      planes * p.height * p.width * static_cast<int64_t>(sizeof(OutT)), fresh);
  const auto primitives = static_cast<size_t>(kernels::cpu_scratch_primitives(p));
  parallel_planes(
      out, planes, p.height, p.width, stream,
      [&] { return std::vector<CpuPrimitive>(primitives); },
      [&](std::vector<CpuPrimitive>& prims, int64_t plane, int64_t row_begin, int64_t row_end,
          const kernels::CpuTileMemory& memory) {
        kernels::render_line_cpu_rows(p, out + plane * p.height * p.width, plane / p.channels(),
                                      plane % p.channels(), row_begin, row_end,
                                      kernels::CpuScratch{prims.data(), memory});
      });
}

void render_line_cpu(LinePlan& plan, const at::Tensor& series, at::Tensor& out) {
  if (plan.fresh_output) advise_huge_pages(out);
  const LineParams& p = plan.params;
  line_points_cpu_pass(p, series);

  AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kByte, out.scalar_type(),
                                  "render_line_cpu_raster",
                                  [&] {
                                    raster(p, out.mutable_data_ptr<scalar_t>(), plan.fresh_output);
                                  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, CPU, m) {
  m.impl("render_line", &render_line_functional<render_line_cpu>);
  m.impl("render_line.out", &render_line_out<render_line_cpu>);
}

}  // namespace torch_render
