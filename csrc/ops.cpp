// The library itself and its library-wide ops; each op's schema is registered
// beside its own code (TORCH_LIBRARY_FRAGMENT in csrc/<op>.cpp).
#include <string>

#include <torch/library.h>

#include "kernels/common/cpu_isa.h"

TORCH_LIBRARY(torch_render, m) {
  // The instruction set the CPU raster runs with here: "avx2" or "baseline"
  // (TORCH_RENDER_CPU_ISA=baseline, set before the first call, forces the latter).
  m.def("_cpu_isa() -> str", []() -> std::string {
    return torch_render::kernels::cpu_isa_name(torch_render::kernels::cpu_isa());
  });
  // Whether this library was built with the CUDA kernels.
  m.def("_cuda_built() -> bool", []() -> bool {
#if defined(TORCH_RENDER_WITH_CUDA)
    return true;
#else
    return false;
#endif
  });
}
