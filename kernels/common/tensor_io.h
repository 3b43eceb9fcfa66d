// Tensor I/O shared by every op and backend: reading an input element as double
// (exact for every input type), storing a float as an output element, and a
// strided [B, S, L] view of an input.
#pragma once

#include "kernels/common/host_device.h"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace torch_render {
namespace kernels {

// Conversion of an input value to double (exact for every input type).
template <typename T>
struct Load {
  TR_HD static double convert(T v) { return static_cast<double>(v); }
};

// A strided [B, S, L] view of an input (series, or fields of bars).
template <typename T>
struct SeriesView {
  const T* data;
  int64_t stride_b;
  int64_t stride_s;
  int64_t stride_l;
  TR_HD double at(int64_t b, int64_t s, int64_t l) const {
    return Load<T>::convert(data[b * stride_b + s * stride_s + l * stride_l]);
  }
};

// Conversion of a value in float to the output type (round half to even for uint8).
template <typename T>
struct Store {
  TR_HD static T convert(float v) { return static_cast<T>(v); }
};

template <>
struct Store<uint8_t> {
  TR_HD static uint8_t convert(float v) {
    float q = rintf(255.0f * v);
    q = q > 0.0f ? (q < 255.0f ? q : 255.0f) : 0.0f;
    // Through int32 (the same value): float -> int32 conversions vectorise.
    return static_cast<uint8_t>(static_cast<int32_t>(q));
  }
};

#if defined(__CUDACC__)
// Explicit intrinsics: torch builds CUDA code with the implicit half conversions off.
template <>
struct Load<__half> {
  TR_HD static double convert(__half v) { return static_cast<double>(__half2float(v)); }
};
template <>
struct Load<__nv_bfloat16> {
  TR_HD static double convert(__nv_bfloat16 v) {
    return static_cast<double>(__bfloat162float(v));
  }
};
template <>
struct Store<__half> {
  TR_HD static __half convert(float v) { return __float2half_rn(v); }
};
template <>
struct Store<__nv_bfloat16> {
  TR_HD static __nv_bfloat16 convert(float v) { return __float2bfloat16_rn(v); }
};
#endif

}  // namespace kernels
}  // namespace torch_render
