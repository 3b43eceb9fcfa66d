// render_line on CUDA: both passes through the shared launchers
// (kernels/common/cuda_launch.cuh). Built with --fmad=false.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/common/cuda_launch.cuh"
#include "kernels/render_line_cuda.h"
#include "kernels/render_line_cuda_body.h"

namespace torch_render {
namespace kernels {

template <typename T>
cudaError_t launch_line_points(const LineParams& p, const SeriesView<T>& in, cudaStream_t stream) {
  return launch_items(line_points_items(p), LinePointsItem<T>{p, in}, stream);
}

template <typename OutT>
cudaError_t launch_line_raster(const LineParams& p, OutT* out, cudaStream_t stream) {
  const int64_t numel = p.batch * p.channels() * p.height * p.width;
  return launch_write_planes(out, numel, LineRasterValue{p}, stream);
}

#define TR_INSTANTIATE_POINTS(T) \
  template cudaError_t launch_line_points<T>(const LineParams&, const SeriesView<T>&, cudaStream_t);
TR_CUDA_INPUT_TYPES(TR_INSTANTIATE_POINTS)
#undef TR_INSTANTIATE_POINTS

#define TR_INSTANTIATE_RASTER(T) \
  template cudaError_t launch_line_raster<T>(const LineParams&, T*, cudaStream_t);
TR_CUDA_OUTPUT_TYPES(TR_INSTANTIATE_RASTER)
#undef TR_INSTANTIATE_RASTER

}  // namespace kernels
}  // namespace torch_render
