// render_ohlc on the CPU: at::parallel_for over images for the points passes and
// the raster (kernels/render_ohlc_cpu.h).
#include <cstdint>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "csrc/render_ohlc.h"
#include "kernels/render_ohlc_cpu.h"

namespace torch_render {
namespace {

using kernels::OhlcParams;

// Images per parallel task: about 64 KiB of output each.
int64_t image_grain(const OhlcParams& p, int64_t elem_size) {
  const int64_t bytes = p.height * p.width * elem_size;
  const int64_t grain = (int64_t{64} << 10) / (bytes > 0 ? bytes : 1);
  return grain > 1 ? grain : 1;
}

void render_ohlc_cpu(OhlcPlan& plan, const at::Tensor& ohlc, at::Tensor& out) {
  OhlcParams& p = plan.params;
  const auto ints = ohlc.options().dtype(at::kLong);
  const at::Tensor bars = at::empty({p.batch, p.length, kernels::kBarFields}, ints);
  const at::Tensor levels = at::empty({p.batch, p.num_overlays, p.length}, ints);
  const at::Tensor rows = plan.volume.defined() ? at::empty({p.batch, p.length}, ints) : at::Tensor();
  p.bars = bars.data_ptr<int64_t>();
  p.overlays = levels.data_ptr<int64_t>();
  p.volume = rows.defined() ? rows.data_ptr<int64_t>() : nullptr;
  if (plan.value_range.defined()) p.value_range = plan.value_range.const_data_ptr<double>();

  // Without overlays, their view has ohlc's type and is never read.
  const at::Tensor& ov = plan.overlays.defined() ? plan.overlays : ohlc;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, ohlc.scalar_type(),
                                  "render_ohlc_cpu_points", [&] {
    using T = scalar_t;
    const kernels::OhlcView<T> in{ohlc.const_data_ptr<T>(), ohlc.stride(0), ohlc.stride(1),
                                  ohlc.stride(2)};
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, ov.scalar_type(),
                                    "render_ohlc_cpu_overlays", [&] {
      using U = scalar_t;
      const bool has = plan.overlays.defined();
      const kernels::OverlayView<U> view{has ? ov.const_data_ptr<U>() : nullptr,
                                         has ? ov.stride(0) : 0, has ? ov.stride(1) : 0,
                                         has ? ov.stride(2) : 0};
      at::parallel_for(0, p.batch, 16, [&](int64_t begin, int64_t end) {
        kernels::ohlc_points_cpu(p, in, view, begin, end);
      });
    });
  });
  if (p.volume != nullptr) {
    const at::Tensor& vol = plan.volume;
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, vol.scalar_type(),
                                    "render_ohlc_cpu_volume", [&] {
      const kernels::VolumeView<scalar_t> in{vol.const_data_ptr<scalar_t>(), vol.stride(0),
                                             vol.stride(1)};
      at::parallel_for(0, p.batch, 16, [&](int64_t begin, int64_t end) {
        kernels::ohlc_volume_cpu(p, in, begin, end);
      });
    });
  }
  AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kByte, out.scalar_type(),
                                  "render_ohlc_cpu_raster", [&] {
    scalar_t* dst = out.mutable_data_ptr<scalar_t>();
    const int64_t plane = p.height * p.width;
    at::parallel_for(0, p.batch, image_grain(p, sizeof(scalar_t)), [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) kernels::render_ohlc_cpu_image(p, dst + b * plane, b);
    });
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, CPU, m) {
  m.impl("render_ohlc", &render_ohlc_functional<render_ohlc_cpu>);
  m.impl("render_ohlc.out", &render_ohlc_out<render_ohlc_cpu>);
}

}  // namespace torch_render
