// The backward of render_line on the CPU: pass 1 over a range of items with the
// active instruction set (kernels/common/cpu_isa.h). The AVX2 copy
// (kernels/cpu/render_line_backward_avx2.cpp) serves float32 gradients and gives
// the shared body's bits; everything else runs the shared body
// (kernels/render_line_backward_pixels.h). Nothing here allocates.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/common/cpu_isa.h"
#include "kernels/render_line_backward.h"

namespace torch_render {
namespace kernels {

#if defined(TR_HAVE_AVX2_KERNELS)
namespace avx2 {
// line_primitive_grad_body with AVX2, 8 columns at a time (the same bits).
void line_primitive_grad(const LineParams& p, const PlaneView<float>& grad,
                         const LineGradBuffers& out, int64_t b, int64_t s, int64_t j);
// Asks the cache for the incoming gradient under primitive (b, s, j): a cache line
// or two per row, rarely in a near cache, read a row at a time.
void prefetch_primitive_grad(const LineParams& p, const PlaneView<float>& grad, int64_t b,
                             int64_t s, int64_t j);
}  // namespace avx2
#endif

// How many items ahead pass 1 on the CPU prefetches the incoming gradient.
constexpr int64_t kGradPrefetchItems = 1;

// Items [begin, end) of pass 1 (LinePrimitiveGradItem's numbering).
template <typename G>
void line_primitive_grad_cpu(const LinePrimitiveGradItem<G>& item, int64_t begin, int64_t end) {
#if defined(TR_HAVE_AVX2_KERNELS)
  if constexpr (std::is_same_v<G, float>) {
    if (cpu_isa() == CpuIsa::kAvx2) {
      const LineParams& p = item.p;
      const auto prefetch = [&](int64_t i) {
        const int64_t bs = i / p.length;
        avx2::prefetch_primitive_grad(p, item.grad, bs / p.num_series, bs % p.num_series,
                                      i % p.length);
      };
      // Each item's reads are asked for while the items before it run.
      for (int64_t i = begin; i < end && i < begin + kGradPrefetchItems; ++i) prefetch(i);
      for (int64_t i = begin; i < end; ++i) {
        if (i + kGradPrefetchItems < end) prefetch(i + kGradPrefetchItems);
        const int64_t bs = i / p.length;
        avx2::line_primitive_grad(p, item.grad, item.out, bs / p.num_series, bs % p.num_series,
                                  i % p.length);
      }
      return;
    }
  }
#endif
  for (int64_t i = begin; i < end; ++i) item(i);
}

}  // namespace kernels
}  // namespace torch_render
