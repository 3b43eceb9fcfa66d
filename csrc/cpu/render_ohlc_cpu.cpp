// render_ohlc on the CPU: one at::parallel_for over images; each image's points
// passes and raster run together on a scratch of its task
// (kernels/render_ohlc_cpu.h).
#include <algorithm>
#include <cstdint>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "csrc/render_ohlc.h"
#include "kernels/render_ohlc_cpu.h"

namespace torch_render {
namespace {

using kernels::OhlcParams;

void render_ohlc_cpu(OhlcPlan& plan, const at::Tensor& ohlc_arg, at::Tensor& out) {
  OhlcParams& p = plan.params;  // value_range and scale already point into the plan
  // The fused loop reads every input as one dtype (instantiated per input and
  // output dtype, not per combination of four): mixed inputs go through float64,
  // which holds every value of each exactly.
  at::Tensor ohlc = ohlc_arg, overlays = plan.overlays, volume = plan.volume;
  const at::ScalarType in_type = ohlc.scalar_type();
  if ((overlays.defined() && overlays.scalar_type() != in_type) ||
      (volume.defined() && volume.scalar_type() != in_type)) {
    ohlc = ohlc.to(at::kDouble);
    if (overlays.defined()) overlays = overlays.to(at::kDouble);
    if (volume.defined()) volume = volume.to(at::kDouble);
  }
  // Outputs too large to stay in cache are streamed past it (kStreamOutputBytes).
  p.stream_output = static_cast<int64_t>(out.nbytes()) >= kernels::kStreamOutputBytes;
  // One task per thread, each with its scratch, made here: none in the
  // parallel region, none per image.
  const int64_t tasks = std::max<int64_t>(1, std::min<int64_t>(p.batch, at::get_num_threads()));
  const auto options = ohlc.options();
  const at::Tensor ints =
      at::zeros({tasks, kernels::ohlc_scratch_ints(p)}, options.dtype(at::kLong));
  const at::Tensor reals =
      at::empty({tasks, kernels::ohlc_scratch_reals(p)}, options.dtype(at::kDouble));
  const bool has_ov = overlays.defined(), has_vol = volume.defined();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, ohlc.scalar_type(),
                                  "render_ohlc_cpu", [&] {
    using T = scalar_t;
    const kernels::OhlcView<T> in{ohlc.const_data_ptr<T>(), ohlc.stride(0), ohlc.stride(1),
                                  ohlc.stride(2)};
    const kernels::OverlayView<T> ov{has_ov ? overlays.const_data_ptr<T>() : nullptr,
                                     has_ov ? overlays.stride(0) : 0,
                                     has_ov ? overlays.stride(1) : 0,
                                     has_ov ? overlays.stride(2) : 0};
    const kernels::VolumeView<T> vol{has_vol ? volume.const_data_ptr<T>() : nullptr,
                                     has_vol ? volume.stride(0) : 0,
                                     has_vol ? volume.stride(1) : 0};
    AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kByte, out.scalar_type(),
                                    "render_ohlc_cpu_out", [&] {
      scalar_t* dst = out.mutable_data_ptr<scalar_t>();
      const int64_t plane = p.height * p.width;
      at::parallel_for(0, tasks, 1, [&](int64_t t_begin, int64_t t_end) {
        for (int64_t t = t_begin; t < t_end; ++t) {
          const kernels::OhlcCpuScratch scratch = kernels::ohlc_scratch(
              p, has_vol, ints.data_ptr<int64_t>() + t * ints.size(1),
              reals.data_ptr<double>() + t * reals.size(1));
          for (int64_t b = p.batch * t / tasks; b < p.batch * (t + 1) / tasks; ++b) {
            kernels::render_ohlc_cpu_image(p, in, ov, &vol, b, scratch, dst + b * plane);
          }
          kernels::ohlc_stream_fence(p);
        }
      });
    });
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, CPU, m) {
  m.impl("render_ohlc", &render_ohlc_functional<render_ohlc_cpu>);
  m.impl("render_ohlc.out", &render_ohlc_out<render_ohlc_cpu>);
}

}  // namespace torch_render
