// The CUDA type with the layout of each ATen scalar type, for passing tensor
// data to the torch-free kernels: CudaType<c10::Half>::type is __half, etc.
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace torch_render {

template <typename T>
struct CudaType {
  using type = T;
};
template <>
struct CudaType<c10::Half> {
  using type = __half;
};
template <>
struct CudaType<c10::BFloat16> {
  using type = __nv_bfloat16;
};

// data_ptr of a tensor of scalar_t as the CUDA type.
template <typename scalar_t>
const typename CudaType<scalar_t>::type* cuda_data(const scalar_t* data) {
  return reinterpret_cast<const typename CudaType<scalar_t>::type*>(data);
}
template <typename scalar_t>
typename CudaType<scalar_t>::type* cuda_data(scalar_t* data) {
  return reinterpret_cast<typename CudaType<scalar_t>::type*>(data);
}

}  // namespace torch_render
