// The AVX2 copy of the backward's pass 1 (line_primitive_grad_body in
// kernels/render_line_backward_pixels.h) for float32 gradients: 8 columns of a
// row at a time, aligned to kGradLanes columns, so lane k of each half adds to
// accumulator col % kGradLanes in the shared body's order. Every step is the
// shared body's float32 operation (no FMA contraction; min/max only where their
// IEEE definition is the comparison the body writes), and pixels the body skips
// add a zero, which leaves a sum's bits as they are; so the bits are the body's.
// Compiled with the baseline flags of the build: only the code below the pragma
// uses AVX2, and line_primitive_grad_cpu runs it only where the CPU has AVX2.
#include "kernels/render_line_backward_cpu.h"

#if defined(TR_HAVE_AVX2_KERNELS)

#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2")

namespace torch_render {
namespace kernels {
namespace avx2 {
namespace {

// t, cx and cy of 8 pixels (ax = x0 - px, ay = y0 - py) for primitive q, as
// ramp_pixel and primitive_dist2 compute them. -(dot) / ee and dot / -ee are the
// same IEEE quotient (division rounds symmetrically).
inline void nearest_point(const LinePrimitive& q, __m256 ax, __m256 ay, __m256* t, __m256* cx,
                          __m256* cy) {
  const __m256 ex = _mm256_set1_ps(q.ex);
  const __m256 ey = _mm256_set1_ps(q.ey);
  __m256 tt = _mm256_setzero_ps();
  if (q.ee > 0.0f) {
    const __m256 dot = _mm256_add_ps(_mm256_mul_ps(ax, ex), _mm256_mul_ps(ay, ey));
    tt = _mm256_div_ps(dot, _mm256_set1_ps(-q.ee));
    // clamp01: v > 0 ? (v < 1 ? v : 1) : 0
    tt = _mm256_min_ps(_mm256_max_ps(tt, _mm256_setzero_ps()), _mm256_set1_ps(1.0f));
  }
  *t = tt;
  *cx = _mm256_add_ps(ax, _mm256_mul_ps(tt, ex));
  *cy = _mm256_add_ps(ay, _mm256_mul_ps(tt, ey));
}

inline __m256 dist2(const LinePrimitive& q, __m256 px, __m256 py) {
  __m256 t, cx, cy;
  nearest_point(q, _mm256_sub_ps(_mm256_set1_ps(q.x0), px), _mm256_sub_ps(_mm256_set1_ps(q.y0), py),
                &t, &cx, &cy);
  return _mm256_add_ps(_mm256_mul_ps(cx, cx), _mm256_mul_ps(cy, cy));
}

// Vectors of a primitive whose geometry is computed before their sums.
constexpr int kBatch = 32;

}  // namespace

void prefetch_primitive_grad(const LineParams& p, const PlaneView<float>& grad, int64_t b,
                             int64_t s, int64_t j) {
  GradPrimitive g;
  if (!grad_primitive(p, b, s, j, &g)) return;
  const float* plane = grad.data + b * grad.stride_b + g.ch * grad.stride_c;
  for (int64_t row = g.q.row_lo; row <= g.q.row_hi; ++row) {
    float lo, hi;
    row_columns(g.q, static_cast<float>(row), 0.0f, static_cast<float>(p.width - 1), &lo, &hi);
    if (!(lo <= hi)) continue;
    const float* line = plane + row * grad.stride_h;
    _mm_prefetch(reinterpret_cast<const char*>(line + static_cast<int64_t>(lo) * grad.stride_w),
                 _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(line + static_cast<int64_t>(hi) * grad.stride_w),
                 _MM_HINT_T0);
  }
}

void line_primitive_grad(const LineParams& p, const PlaneView<float>& grad,
                         const LineGradBuffers& out, int64_t b, int64_t s, int64_t j) {
  GradPrimitive g;
  if (!grad_primitive(p, b, s, j, &g)) {
    line_primitive_grad_body(p, grad, out, b, s, j);  // zeros
    return;
  }
  const float* plane = grad.data + b * grad.stride_b + g.ch * grad.stride_c;
  GradCandidates cands;
  gather_candidates(p, b, g.ch, s, j, g.q, g.c_lo, g.c_hi, &cands);
  // Columns go through int32; many candidates are measured per pixel: the body.
  if (cands.n < 0 || p.width > (int64_t{1} << 30)) {
    line_primitive_grad_body(p, grad, out, b, s, j);
    return;
  }
  const __m256 zero = _mm256_setzero_ps();
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 ramp_top = _mm256_set1_ps(p.half_width + 0.5f);
  const __m256 dI_dd = _mm256_set1_ps(-(p.foreground - p.background));
  const __m256 x0 = _mm256_set1_ps(g.q.x0);
  const __m256 y0 = _mm256_set1_ps(g.q.y0);
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const bool contiguous = grad.stride_w == 1;
  __m256d acc0 = _mm256_setzero_pd();
  __m256d acc1 = _mm256_setzero_pd();
  // Vectors of 8 pixels go in batches: first the geometry of each (no branch on
  // the data, so the divisions and square roots of successive rows overlap),
  // then, in the same order, the candidates, the incoming gradient and the sums.
  alignas(32) float t_of[kBatch][8];
  alignas(32) float value_of[kBatch][8];
  alignas(32) float d2_of[kBatch][8];
  alignas(32) float ramp_of[kBatch][8];
  int64_t row_of[kBatch];
  int32_t base_of[kBatch];
  int n = 0;  // vectors in the batch
  // The second half of a batch: in the batch's order, the candidates, the
  // incoming gradient and the sums.
  const auto flush = [&] {
    for (int k = 0; k < n; ++k) {
      __m256 ramp = _mm256_load_ps(ramp_of[k]);
      if (_mm256_movemask_ps(ramp) == 0) continue;
      const int64_t r = row_of[k];
      const __m256 px = _mm256_cvtepi32_ps(
          _mm256_add_epi32(_mm256_set1_epi32(base_of[k]), iota));
      const __m256 py = _mm256_set1_ps(static_cast<float>(r));
      const __m256 d2 = _mm256_load_ps(d2_of[k]);
      // nearest_share: 0 where a candidate is nearer (that pixel then adds a
      // zero), else 1 / ties.
      __m256 share = one;
      __m256 ties = one;
      __m256 tied = zero;
      for (int c = 0; c < cands.n; ++c) {
        const LinePrimitive& q = cands.q[c];
        if (r < q.row_lo || r > q.row_hi) continue;
        const __m256 c2 = dist2(q, px, py);
        const __m256 eq = _mm256_cmp_ps(c2, d2, _CMP_EQ_OQ);
        ramp = _mm256_andnot_ps(_mm256_cmp_ps(c2, d2, _CMP_LT_OQ), ramp);
        ties = _mm256_add_ps(ties, _mm256_and_ps(eq, one));
        tied = _mm256_or_ps(tied, eq);
      }
      // 1 / 1 is 1: the division only where a lane has a tie.
      if (_mm256_movemask_ps(_mm256_and_ps(tied, ramp)) != 0) share = _mm256_div_ps(one, ties);
      const float* line = plane + r * grad.stride_h;
      const int32_t col = base_of[k];
      __m256 gv;
      if (contiguous) {
        gv = _mm256_maskload_ps(line + col, _mm256_castps_si256(ramp));
      } else {
        alignas(32) float buf[8];
        const int mask = _mm256_movemask_ps(ramp);
        for (int l = 0; l < 8; ++l) {
          buf[l] = (mask >> l) & 1 ? line[(col + l) * grad.stride_w] : 0.0f;
        }
        gv = _mm256_load_ps(buf);
      }
      const __m256 t = _mm256_load_ps(t_of[k]);
      const __m256 value = _mm256_mul_ps(_mm256_load_ps(value_of[k]), share);
      const __m256 v = _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(gv, dI_dd), value), ramp);
      const __m256 v0 = _mm256_mul_ps(v, _mm256_sub_ps(one, t));
      const __m256 v1 = _mm256_mul_ps(v, t);
      acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(v0)));
      acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_castps256_ps128(v1)));
      acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_extractf128_ps(v0, 1)));
      acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(v1, 1)));
    }
    n = 0;
  };
  for_each_grad_row(g.q, p.width, [&](int64_t row, int64_t c0, int64_t c1) {
    const __m256 ay = _mm256_sub_ps(y0, _mm256_set1_ps(static_cast<float>(row)));
    // Only the row's columns [c0, c1] are the body's pixels.
    const __m256i first = _mm256_set1_epi32(static_cast<int32_t>(c0) - 1);
    const __m256i last = _mm256_set1_epi32(static_cast<int32_t>(c1) + 1);
    for (int64_t base = c0 - c0 % kGradLanes; base <= c1; base += 8) {
      if (n == kBatch) flush();
      row_of[n] = row;
      base_of[n] = static_cast<int32_t>(base);
      const __m256i cols = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(base)), iota);
      const __m256 px = _mm256_cvtepi32_ps(cols);
      __m256 t, cx, cy;
      nearest_point(g.q, _mm256_sub_ps(x0, px), ay, &t, &cx, &cy);
      const __m256 d2 = _mm256_add_ps(_mm256_mul_ps(cx, cx), _mm256_mul_ps(cy, cy));
      const __m256 d = _mm256_sqrt_ps(d2);
      const __m256 a = _mm256_sub_ps(ramp_top, d);
      __m256 ramp = _mm256_and_ps(_mm256_cmp_ps(a, zero, _CMP_GT_OQ),
                                  _mm256_cmp_ps(a, one, _CMP_LT_OQ));
      ramp = _mm256_and_ps(ramp, _mm256_cmp_ps(d, zero, _CMP_GT_OQ));
      const __m256i in_row =
          _mm256_and_si256(_mm256_cmpgt_epi32(cols, first), _mm256_cmpgt_epi32(last, cols));
      ramp = _mm256_and_ps(ramp, _mm256_castsi256_ps(in_row));
      _mm256_store_ps(t_of[n], t);
      _mm256_store_ps(value_of[n], _mm256_div_ps(cy, d));
      _mm256_store_ps(d2_of[n], d2);
      _mm256_store_ps(ramp_of[n], ramp);
      ++n;
    }
  });
  flush();
  alignas(32) double lanes0[4];
  alignas(32) double lanes1[4];
  _mm256_store_pd(lanes0, acc0);
  _mm256_store_pd(lanes1, acc1);
  double* slot = out.primitive_grad + ((b * p.num_series + s) * p.length + j) * 2;
  slot[0] = lane_sum(lanes0);
  slot[1] = lane_sum(lanes1);
}

}  // namespace avx2
}  // namespace kernels
}  // namespace torch_render

#pragma GCC pop_options

#endif  // TR_HAVE_AVX2_KERNELS
