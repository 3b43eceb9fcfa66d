// Portability macros for code shared by the C++ and CUDA compilers.
#pragma once

#if defined(__CUDACC__)
#define TR_HD __host__ __device__ __forceinline__
#else
#define TR_HD inline
#endif

#if defined(__CUDACC__) || defined(__CUDA_ARCH__)
#include <cuda_runtime.h>
#endif

#include <cmath>
#include <cstdint>
