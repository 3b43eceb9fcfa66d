// render_ohlc on CUDA: its launchers, on the shared launch shapes
// (kernels/common/cuda_launch.cuh). Built with --fmad=false.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/common/cuda_launch.cuh"
#include "kernels/render_ohlc_cuda.h"
#include "kernels/render_ohlc_cuda_body.h"

namespace torch_render {
namespace kernels {

template <typename T, typename U>
cudaError_t launch_ohlc_points(const OhlcParams& p, const OhlcView<T>& in,
                               const OverlayView<U>& ov, cudaStream_t stream) {
  return launch_items(p.batch, OhlcPointsItem<T, U>{p, in, ov}, stream);
}

template <typename T>
cudaError_t launch_ohlc_volume(const OhlcParams& p, const VolumeView<T>& in, cudaStream_t stream) {
  return launch_items(p.batch, OhlcVolumeItem<T>{p, in}, stream);
}

template <typename OutT>
cudaError_t launch_ohlc_raster(const OhlcParams& p, OutT* out, cudaStream_t stream) {
  return launch_items(p.batch * p.width, OhlcColumnItem<OutT>{p, OutputSink<OutT>{out}}, stream);
}

#define TR_INSTANTIATE_POINTS(T, U)                                                         \
  template cudaError_t launch_ohlc_points<T, U>(const OhlcParams&, const OhlcView<T>&,      \
                                                const OverlayView<U>&, cudaStream_t);
#define TR_INSTANTIATE_INPUT(T)                                                      \
  TR_INSTANTIATE_POINTS(T, float)                                                    \
  TR_INSTANTIATE_POINTS(T, double)                                                   \
  TR_INSTANTIATE_POINTS(T, __half)                                                   \
  TR_INSTANTIATE_POINTS(T, __nv_bfloat16)                                            \
  template cudaError_t launch_ohlc_volume<T>(const OhlcParams&, const VolumeView<T>&, \
                                             cudaStream_t);
// (TR_CUDA_INPUT_TYPES cannot nest in itself: the overlay types are spelled out.)
TR_CUDA_INPUT_TYPES(TR_INSTANTIATE_INPUT)
#undef TR_INSTANTIATE_INPUT
#undef TR_INSTANTIATE_POINTS

#define TR_INSTANTIATE_RASTER(T) \
  template cudaError_t launch_ohlc_raster<T>(const OhlcParams&, T*, cudaStream_t);
TR_CUDA_OUTPUT_TYPES(TR_INSTANTIATE_RASTER)
#undef TR_INSTANTIATE_RASTER

}  // namespace kernels
}  // namespace torch_render
