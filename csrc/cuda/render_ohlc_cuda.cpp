// render_ohlc on CUDA: device guard, the workspace (csrc/render_ohlc.h), the
// passes on the current stream, a launch check after each. No host synchronisation.
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <torch/library.h>

#include "csrc/cuda/cuda_types.h"
#include "csrc/render_ohlc.h"
#include "kernels/render_ohlc_cuda.h"

namespace torch_render {
namespace {

template <typename T>
const typename CudaType<T>::type* cuda_ptr(const at::Tensor& t) {
  return cuda_data(t.const_data_ptr<T>());
}

void render_ohlc_cuda(OhlcPlan& plan, const at::Tensor& ohlc, at::Tensor& out) {
  const c10::cuda::CUDAGuard guard(ohlc.device());
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  allocate_ohlc_workspace(plan, ohlc);
  const kernels::OhlcParams& p = plan.params;

  const at::Tensor& ov = plan.overlays.defined() ? plan.overlays : ohlc;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, ohlc.scalar_type(),
                                  "render_ohlc_cuda_points", [&] {
    using T = typename CudaType<scalar_t>::type;
    const kernels::OhlcView<T> in{cuda_ptr<scalar_t>(ohlc), ohlc.stride(0), ohlc.stride(1),
                                  ohlc.stride(2)};
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, ov.scalar_type(),
                                    "render_ohlc_cuda_overlays", [&] {
      using U = typename CudaType<scalar_t>::type;
      const bool has = plan.overlays.defined();
      const kernels::OverlayView<U> view{has ? cuda_ptr<scalar_t>(ov) : nullptr,
                                         has ? ov.stride(0) : 0, has ? ov.stride(1) : 0,
                                         has ? ov.stride(2) : 0};
      C10_CUDA_CHECK(kernels::launch_ohlc_points(p, in, view, stream));
    });
  });
  if (p.volume != nullptr) {
    const at::Tensor& vol = plan.volume;
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, vol.scalar_type(),
                                    "render_ohlc_cuda_volume", [&] {
      using T = typename CudaType<scalar_t>::type;
      const kernels::VolumeView<T> in{cuda_ptr<scalar_t>(vol), vol.stride(0), vol.stride(1)};
      C10_CUDA_CHECK(kernels::launch_ohlc_volume(p, in, stream));
    });
  }
  AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kByte, out.scalar_type(),
                                  "render_ohlc_cuda_raster", [&] {
    using T = typename CudaType<scalar_t>::type;
    C10_CUDA_CHECK(kernels::launch_ohlc_raster(
        p, reinterpret_cast<T*>(out.mutable_data_ptr<scalar_t>()), stream));
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, CUDA, m) {
  m.impl("render_ohlc", &render_ohlc_functional<render_ohlc_cuda>);
  m.impl("render_ohlc.out", &render_ohlc_out<render_ohlc_cuda>);
}

}  // namespace torch_render
