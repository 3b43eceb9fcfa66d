// The backward of render_line on the CPU: pass 1 over a range of items with the
// active instruction set (kernels/common/cpu_isa.h). The AVX2 copy
// (kernels/cpu/render_line_backward_avx2.cpp) serves float32 gradients and gives
// the shared body's bits; everything else runs the shared body
// (kernels/render_line_backward_pixels.h). With AVX2, float32 gradients go plane
// by plane instead (line_plane_grad_cpu), with memory the caller gives. Nothing
// here allocates.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/common/cpu_isa.h"
#include "kernels/render_line_backward.h"

namespace torch_render {
namespace kernels {

// Rows of a band of line_plane_grad_cpu (measured together, then swept): a
// multiple of 8 (the columns of 8 rows are found at once), at most 16 (a band's
// rows are bits of an int below its vectors). 16 rows list a primitive in fewer
// bands than 8 (each listing costs about 300 instructions) while a steep
// primitive's rows still share one window of columns.
constexpr int64_t kGradBandRows = 16;

// Per-thread memory of line_plane_grad_cpu, carved from one block of doubles by
// line_plane_grad_scratch: the plane's primitives, their accumulators, the band's
// list of primitives with their columns per row, and a band buffer of the
// minimum distance per pixel and how many primitives are at it.
struct LinePlaneGradScratch {
  int64_t max_prims;     // primitives a plane can have: (overlay ? S : 1) * L
  int64_t padded_width;  // W rounded up to 8 columns, and 8 more (vectors start anywhere)
  LinePrimitive* prims;  // [max_prims]
  int32_t* ids;          // [max_prims]: (s - group_begin) * L + j of each
  int32_t* order;        // [max_prims]: their indices by the band of their first row
  int32_t* band_start;   // [bands + 1]: where each band's primitives begin in order
  int32_t* band;         // [2][max_prims]: those that reach each band
  int32_t* rows_with;    // [max_prims]: per entry of the band's list, its rows with columns
  int32_t* c0;           // [max_prims][kGradBandRows]: and their first and last columns
  int32_t* c1;
  double* acc;           // [max_prims][2][kGradLanes]: the body's accumulators
  float* best;           // [kGradBandRows][padded_width]: minimum d2, +inf when unset
  float* ties;           // the same: how many primitives are at it
  int32_t* last;         // the same: the band's last primitive to measure it
  // The first stash_vectors vectors the measure of a band takes, their t, cy and
  // d2 (3 x 8 floats each), which the gather reads instead of computing them
  // again; it computes those of any vectors beyond.
  float* stash;
  int64_t stash_vectors;
};

// Vectors of a band whose distances line_plane_grad_cpu keeps (96 bytes each):
// 4 per 8 columns of the band, at most kGradStashMax.
constexpr int64_t kGradStashMax = 4096;

// The doubles of line_plane_grad_cpu's memory; with `base`, carves it and sets
// the band buffer unset (the pass leaves it so).
inline int64_t line_plane_grad_scratch(const LineParams& p, double* base,
                                       LinePlaneGradScratch* m) {
  const int64_t max_prims = (p.channel_mode ? 1 : p.num_series) * p.length;
  const int64_t padded = (p.width + 7) / 8 * 8 + 8;
  const int64_t cells = kGradBandRows * padded;
  // Sizes in doubles, each a multiple of 4 so every array stays 32-byte aligned.
  const auto up = [](int64_t bytes) { return (bytes + 31) / 32 * 4; };
  const int64_t n_prims = up(max_prims * static_cast<int64_t>(sizeof(LinePrimitive)));
  const int64_t n_ids = up(max_prims * 4);
  const int64_t n_band = up(2 * max_prims * 4);
  const int64_t n_starts = up(((p.height + kGradBandRows - 1) / kGradBandRows + 1) * 4);
  const int64_t n_cols = up(max_prims * kGradBandRows * 4);
  const int64_t n_acc = max_prims * 8;
  const int64_t n_cell = up(cells * 4);
  const int64_t stash_vectors = std::min<int64_t>(cells / 8 * 4, kGradStashMax);
  const int64_t n_stash = stash_vectors * 12;
  const int64_t total =
      n_prims + 3 * n_ids + n_starts + n_band + 2 * n_cols + n_acc + 3 * n_cell + n_stash + 4;
  if (base == nullptr) return total;
  double* at = base + (4 - reinterpret_cast<uintptr_t>(base) / 8 % 4) % 4;
  const auto take = [&](int64_t n) {
    double* here = at;
    at += n;
    return here;
  };
  m->max_prims = max_prims;
  m->padded_width = padded;
  m->prims = reinterpret_cast<LinePrimitive*>(take(n_prims));
  m->ids = reinterpret_cast<int32_t*>(take(n_ids));
  m->order = reinterpret_cast<int32_t*>(take(n_ids));
  m->band_start = reinterpret_cast<int32_t*>(take(n_starts));
  m->band = reinterpret_cast<int32_t*>(take(n_band));
  m->rows_with = reinterpret_cast<int32_t*>(take(n_ids));
  m->c0 = reinterpret_cast<int32_t*>(take(n_cols));
  m->c1 = reinterpret_cast<int32_t*>(take(n_cols));
  m->acc = take(n_acc);
  m->best = reinterpret_cast<float*>(take(n_cell));
  m->ties = reinterpret_cast<float*>(take(n_cell));
  m->last = reinterpret_cast<int32_t*>(take(n_cell));
  m->stash = reinterpret_cast<float*>(take(n_stash));
  m->stash_vectors = stash_vectors;
  for (int64_t i = 0; i < cells; ++i) m->best[i] = INFINITY;
  for (int64_t i = 0; i < cells; ++i) m->ties[i] = 0.0f;
  return total;
}

#if defined(TR_HAVE_AVX2_KERNELS)
namespace avx2 {
// Pass 1 for every primitive of plane (image b, channel ch) at once (the same bits
// as line_primitive_grad_body), in kernels/cpu/render_line_backward_planes_avx2.cpp.
void line_plane_grad(const LineParams& p, const PlaneView<float>& grad,
                     const LineGradBuffers& out, int64_t b, int64_t ch,
                     const LinePlaneGradScratch& scratch);
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

// Whether pass 1 of gradient type G runs plane by plane (line_plane_grad_cpu):
// float32 with AVX2 and antialiasing (aliased lines have no gradient), at most
// 2^16 columns (its band buffers take 16 rows x 12 bytes a column per thread:
// 12 MiB there, and its stash at most 384 KiB; wider images take the
// per-primitive walk, which needs none) and
// primitive ids that fit int32.
template <typename G>
bool line_plane_grad_applies(const LineParams& p) {
#if defined(TR_HAVE_AVX2_KERNELS)
  const int64_t prims = (p.channel_mode ? 1 : p.num_series) * p.length;
  return std::is_same_v<G, float> && cpu_isa() == CpuIsa::kAvx2 && p.antialias &&
         p.width <= (int64_t{1} << 16) && prims < (int64_t{1} << 31);
#else
  (void)p;
  return false;
#endif
}

// Pass 1 for planes [begin, end) (image plane / C, channel plane % C): every
// primitive of those planes, as LinePrimitiveGradItem would. Only where
// line_plane_grad_applies; `scratch` from line_plane_grad_scratch.
template <typename G>
void line_plane_grad_cpu(const LinePrimitiveGradItem<G>& item, int64_t begin, int64_t end,
                         const LinePlaneGradScratch& scratch) {
#if defined(TR_HAVE_AVX2_KERNELS)
  if constexpr (std::is_same_v<G, float>) {
    const int64_t channels = item.p.channels();
    for (int64_t plane = begin; plane < end; ++plane) {
      avx2::line_plane_grad(item.p, item.grad, item.out, plane / channels, plane % channels,
                            scratch);
    }
  }
#endif
  (void)item;
  (void)begin;
  (void)end;
  (void)scratch;
}

}  // namespace kernels
}  // namespace torch_render
