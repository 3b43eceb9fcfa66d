// render_ohlc on CUDA: __global__ wrappers around the bodies of
// render_ohlc_cuda_body.h, and their launchers. Built with --fmad=false.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "render_ohlc_cuda.h"
#include "render_ohlc_cuda_body.h"

namespace torch_render {
namespace kernels {
namespace {

template <typename T, typename U>
__global__ void __launch_bounds__(kOhlcPointsThreads)
    ohlc_points_kernel(const OhlcParams p, const OhlcView<T> in, const OverlayView<U> ov) {
  ohlc_points_thread(p, in, ov, blockIdx.x, threadIdx.x, blockDim.x);
}

template <typename T>
__global__ void __launch_bounds__(kOhlcPointsThreads)
    ohlc_volume_kernel(const OhlcParams p, const VolumeView<T> in) {
  ohlc_volume_thread(p, in, blockIdx.x, threadIdx.x, blockDim.x);
}

template <typename OutT, bool kAligned>
__global__ void __launch_bounds__(kRasterThreads)
    ohlc_raster_kernel(const OhlcParams p, OutT* out, int64_t numel) {
  ohlc_raster_thread<OutT, kAligned>(p, out, numel, blockIdx.x, threadIdx.x, blockDim.x,
                                     gridDim.x);
}

unsigned image_blocks(int64_t batch) {
  return static_cast<unsigned>((batch + kOhlcPointsThreads - 1) / kOhlcPointsThreads);
}

}  // namespace

template <typename T, typename U>
cudaError_t launch_ohlc_points(const OhlcParams& p, const OhlcView<T>& in,
                               const OverlayView<U>& ov, cudaStream_t stream) {
  if (p.batch == 0) return cudaSuccess;
  ohlc_points_kernel<T, U><<<image_blocks(p.batch), kOhlcPointsThreads, 0, stream>>>(p, in, ov);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_ohlc_volume(const OhlcParams& p, const VolumeView<T>& in, cudaStream_t stream) {
  if (p.batch == 0) return cudaSuccess;
  ohlc_volume_kernel<T><<<image_blocks(p.batch), kOhlcPointsThreads, 0, stream>>>(p, in);
  return cudaGetLastError();
}

template <typename OutT>
cudaError_t launch_ohlc_raster(const OhlcParams& p, OutT* out, cudaStream_t stream) {
  const int64_t numel = p.batch * p.height * p.width;
  if (numel == 0) return cudaSuccess;
  const bool aligned = reinterpret_cast<uintptr_t>(out) % 16 == 0;
  const auto blocks = static_cast<unsigned>(line_raster_blocks<OutT>(numel, aligned));
  if (aligned) {
    ohlc_raster_kernel<OutT, true><<<blocks, kRasterThreads, 0, stream>>>(p, out, numel);
  } else {
    ohlc_raster_kernel<OutT, false><<<blocks, kRasterThreads, 0, stream>>>(p, out, numel);
  }
  return cudaGetLastError();
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
TR_INSTANTIATE_INPUT(float)
TR_INSTANTIATE_INPUT(double)
TR_INSTANTIATE_INPUT(__half)
TR_INSTANTIATE_INPUT(__nv_bfloat16)
#undef TR_INSTANTIATE_INPUT
#undef TR_INSTANTIATE_POINTS

#define TR_INSTANTIATE_RASTER(T) \
  template cudaError_t launch_ohlc_raster<T>(const OhlcParams&, T*, cudaStream_t);
TR_INSTANTIATE_RASTER(float)
TR_INSTANTIATE_RASTER(double)
TR_INSTANTIATE_RASTER(__half)
TR_INSTANTIATE_RASTER(__nv_bfloat16)
TR_INSTANTIATE_RASTER(uint8_t)
#undef TR_INSTANTIATE_RASTER

}  // namespace kernels
}  // namespace torch_render
