// The AVX2 copy of render_line's CPU raster (kernels/cpu/render_line_isa.h), for
// float32 and uint8 outputs. Compiled with the baseline flags of the build: only
// the code below the pragma may use AVX2, and render_line_cpu_rows runs it only
// where the CPU has AVX2.
#include "kernels/render_line_cpu.h"

#if defined(TR_HAVE_AVX2_KERNELS)

#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2")

namespace torch_render {
namespace kernels {
namespace avx2 {

#define TR_CPU_AVX2 1
#include "kernels/cpu/render_line_isa.h"
#undef TR_CPU_AVX2

template void render_line_cpu_rows<float>(const LineParams&, float*, int64_t, int64_t, int64_t,
                                          int64_t, CpuScratch);
template void render_line_cpu_rows<uint8_t>(const LineParams&, uint8_t*, int64_t, int64_t,
                                            int64_t, int64_t, CpuScratch);

}  // namespace avx2
}  // namespace kernels
}  // namespace torch_render

#pragma GCC pop_options

#endif  // TR_HAVE_AVX2_KERNELS
