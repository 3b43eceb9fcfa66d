// The backward of render_line on CUDA: both passes through the shared items
// launcher (kernels/common/cuda_launch.cuh), one thread per primitive, then one
// per image; each thread sums in the CPU's order, so the bits are the CPU's.
// Built with --fmad=false.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/common/cuda_launch.cuh"
#include "kernels/render_line_backward_cuda.h"

namespace torch_render {
namespace kernels {

template <typename G>
cudaError_t launch_line_primitive_grad(const LineParams& p, const PlaneView<G>& grad,
                                       const LineGradBuffers& out, cudaStream_t stream) {
  return launch_items(line_primitive_items(p), LinePrimitiveGradItem<G>{p, grad, out}, stream);
}

template <typename T>
cudaError_t launch_line_chain(const LineParams& p, const SeriesView<T>& in,
                              const LineGradBuffers& out, cudaStream_t stream) {
  return launch_items(p.batch, LineChainItem<T>{p, in, out}, stream);
}

#define TR_INSTANTIATE_BACKWARD(T)                                                          \
  template cudaError_t launch_line_primitive_grad<T>(const LineParams&, const PlaneView<T>&, \
                                                     const LineGradBuffers&, cudaStream_t);  \
  template cudaError_t launch_line_chain<T>(const LineParams&, const SeriesView<T>&,         \
                                            const LineGradBuffers&, cudaStream_t);
TR_INSTANTIATE_BACKWARD(float)
TR_INSTANTIATE_BACKWARD(double)
TR_INSTANTIATE_BACKWARD(__half)
TR_INSTANTIATE_BACKWARD(__nv_bfloat16)
#undef TR_INSTANTIATE_BACKWARD

}  // namespace kernels
}  // namespace torch_render
