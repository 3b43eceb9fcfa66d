// render_line on CUDA: __global__ wrappers around the bodies of
// render_line_cuda_body.h, and their launchers. Built with --fmad=false.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "render_line_cuda.h"
#include "render_line_cuda_body.h"

namespace torch_render {
namespace kernels {
namespace {

template <typename T>
__global__ void __launch_bounds__(kPointsThreads)
    line_points_kernel(const LineParams p, const SeriesView<T> in) {
  line_points_thread(p, in, blockIdx.x, threadIdx.x, blockDim.x);
}

template <typename OutT, bool kAligned>
__global__ void __launch_bounds__(kRasterThreads)
    line_raster_kernel(const LineParams p, OutT* out, int64_t numel) {
  line_raster_thread<OutT, kAligned>(p, out, numel, blockIdx.x, threadIdx.x, blockDim.x,
                                     gridDim.x);
}

}  // namespace

template <typename T>
cudaError_t launch_line_points(const LineParams& p, const SeriesView<T>& in, cudaStream_t stream) {
  const int64_t threads = line_points_threads(p);
  if (threads == 0) return cudaSuccess;
  const int64_t blocks = (threads + kPointsThreads - 1) / kPointsThreads;
  line_points_kernel<T><<<static_cast<unsigned>(blocks), kPointsThreads, 0, stream>>>(p, in);
  return cudaGetLastError();
}

template <typename OutT>
cudaError_t launch_line_raster(const LineParams& p, OutT* out, cudaStream_t stream) {
  const int64_t numel = p.batch * p.channels() * p.height * p.width;
  if (numel == 0) return cudaSuccess;
  const bool aligned = reinterpret_cast<uintptr_t>(out) % 16 == 0;
  const auto blocks = static_cast<unsigned>(line_raster_blocks<OutT>(numel, aligned));
  if (aligned) {
    line_raster_kernel<OutT, true><<<blocks, kRasterThreads, 0, stream>>>(p, out, numel);
  } else {
    line_raster_kernel<OutT, false><<<blocks, kRasterThreads, 0, stream>>>(p, out, numel);
  }
  return cudaGetLastError();
}

#define TR_INSTANTIATE_POINTS(T) \
  template cudaError_t launch_line_points<T>(const LineParams&, const SeriesView<T>&, cudaStream_t);
TR_INSTANTIATE_POINTS(float)
TR_INSTANTIATE_POINTS(double)
TR_INSTANTIATE_POINTS(__half)
TR_INSTANTIATE_POINTS(__nv_bfloat16)
#undef TR_INSTANTIATE_POINTS

#define TR_INSTANTIATE_RASTER(T) \
  template cudaError_t launch_line_raster<T>(const LineParams&, T*, cudaStream_t);
TR_INSTANTIATE_RASTER(float)
TR_INSTANTIATE_RASTER(double)
TR_INSTANTIATE_RASTER(__half)
TR_INSTANTIATE_RASTER(__nv_bfloat16)
TR_INSTANTIATE_RASTER(uint8_t)
#undef TR_INSTANTIATE_RASTER

}  // namespace kernels
}  // namespace torch_render
