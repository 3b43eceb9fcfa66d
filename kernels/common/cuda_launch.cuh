// The __global__ kernels and launchers of the shared launch shapes
// (kernels/common/cuda_planes.h), for an op's .cu. Each launcher enqueues on
// `stream` with no host synchronisation, launches nothing for an empty range,
// and returns the launch's error. Functors are passed by value: they carry the
// op's Params.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/common/cuda_planes.h"

// The element types an op's launchers are instantiated for, as X-macro lists
// (M(T) once per type): the input types, and the output types.
#define TR_CUDA_INPUT_TYPES(M) M(float) M(double) M(__half) M(__nv_bfloat16)
#define TR_CUDA_OUTPUT_TYPES(M) TR_CUDA_INPUT_TYPES(M) M(uint8_t)

namespace torch_render {
namespace kernels {
namespace cuda_launch_detail {

template <typename OutT, bool kAligned, typename Value>
__global__ void __launch_bounds__(kPlaneThreads)
    write_planes_kernel(OutT* out, int64_t numel, const Value value) {
  write_planes_thread<OutT, kAligned>(out, numel, value, blockIdx.x, threadIdx.x, blockDim.x,
                                      gridDim.x);
}

template <typename Item>
__global__ void __launch_bounds__(kItemThreads) items_kernel(int64_t count, const Item item) {
  items_thread(count, item, blockIdx.x, threadIdx.x, blockDim.x);
}

}  // namespace cuda_launch_detail

// Writes every element of the contiguous `out` (numel elements) once:
// out[e] = Store<OutT>::convert(value(e)), with 16-byte stores where `out` is aligned.
template <typename OutT, typename Value>
cudaError_t launch_write_planes(OutT* out, int64_t numel, const Value& value,
                                cudaStream_t stream) {
  if (numel == 0) return cudaSuccess;
  const bool aligned = reinterpret_cast<uintptr_t>(out) % 16 == 0;
  const auto blocks = static_cast<unsigned>(write_planes_blocks<OutT>(numel, aligned));
  if (aligned) {
    cuda_launch_detail::write_planes_kernel<OutT, true>
        <<<blocks, kPlaneThreads, 0, stream>>>(out, numel, value);
  } else {
    cuda_launch_detail::write_planes_kernel<OutT, false>
        <<<blocks, kPlaneThreads, 0, stream>>>(out, numel, value);
  }
  return cudaGetLastError();
}

// Runs item(i) for every i in [0, count), one thread each.
template <typename Item>
cudaError_t launch_items(int64_t count, const Item& item, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  const auto blocks = static_cast<unsigned>(items_blocks(count));
  cuda_launch_detail::items_kernel<<<blocks, kItemThreads, 0, stream>>>(count, item);
  return cudaGetLastError();
}

}  // namespace kernels
}  // namespace torch_render
