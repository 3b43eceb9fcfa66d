// The AVX2 pass 1 of render_line's backward plane by plane (line_plane_grad_cpu
// in kernels/render_line_backward_cpu.h), for float32 gradients, as the forward
// rasters: each band of rows first takes, per pixel, the minimum squared distance
// over the primitives that reach it (which one, how many tie, its t and cy), then
// reads the incoming gradient once per ramp pixel and adds what it gives to the
// nearest primitive's accumulators, instead of walking each primitive's pixels
// and testing its gathered neighbours there.
//
// The bits are the shared body's (line_primitive_grad_body): a pixel gives a
// primitive something only where its distance is the minimum and in the ramp,
// with share 1 / ties, from the body's float32 operations; and each primitive's
// accumulator col % kGradLanes receives its pixels in the body's order (rows, then
// columns, ascending), as the bands are swept. A conservative cull suffices: every
// primitive at a ramp pixel's minimum distance is within reach of it.
#include "kernels/render_line_backward_cpu.h"

#if defined(TR_HAVE_AVX2_KERNELS)

#include <immintrin.h>

#include <algorithm>

#pragma GCC push_options
#pragma GCC target("avx2")

namespace torch_render {
namespace kernels {
namespace avx2 {
namespace {

// One plane's pass 1 with its scratch (see LinePlaneGradScratch).
struct PlanePass {
  const LineParams& p;
  const PlaneView<float>& grad;
  const float* plane;  // the incoming gradient of this (image, channel)
  LinePlaneGradScratch m;
  int64_t n = 0;       // primitives of the plane in m.prims
  int64_t next = 0;    // the first in m.order (by first row) not yet in a band
  int64_t n_band[2] = {0, 0};  // primitives in the two band lists of m.band

  // Row r of the band buffer: offset of its first column, its vectors' flags.
  int64_t row_at(int64_t r) const { return r * m.padded_width; }
  uint8_t* dirty(int64_t r) const { return m.dirty + r * m.dirty_bytes; }

  // row_columns of q for the 8 rows `py` at once, rounded inwards to whole
  // columns (the same operations: max_f(a, b) is max_ps(b, a), min_f likewise):
  // the rows that have any, as bits, and their first and last columns.
  static int columns(const LinePrimitive& q, __m256 py, float last, int32_t* c0, int32_t* c1) {
    const __m256 reach = _mm256_set1_ps(q.reach);
    const __m256 ya = _mm256_set1_ps(q.ya);
    const __m256 yb = _mm256_set1_ps(q.yb);
    const __m256 xa = _mm256_set1_ps(q.xa);
    const __m256 sx = _mm256_set1_ps(q.sx);
    const __m256 t0 = _mm256_min_ps(yb, _mm256_max_ps(ya, _mm256_sub_ps(py, reach)));
    const __m256 t1 = _mm256_max_ps(ya, _mm256_min_ps(yb, _mm256_add_ps(py, reach)));
    const __m256 x0 = _mm256_add_ps(xa, _mm256_mul_ps(_mm256_sub_ps(t0, ya), sx));
    const __m256 x1 = _mm256_add_ps(xa, _mm256_mul_ps(_mm256_sub_ps(t1, ya), sx));
    __m256 lo = _mm256_min_ps(_mm256_set1_ps(q.x_lo), _mm256_min_ps(x1, x0));
    lo = _mm256_max_ps(_mm256_setzero_ps(), _mm256_sub_ps(lo, reach));
    __m256 hi = _mm256_max_ps(_mm256_set1_ps(q.x_hi), _mm256_max_ps(x1, x0));
    hi = _mm256_min_ps(_mm256_set1_ps(last), _mm256_add_ps(hi, reach));
    lo = _mm256_round_ps(lo, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
    hi = _mm256_round_ps(hi, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m256 some = _mm256_cmp_ps(lo, hi, _CMP_LE_OQ);
    const auto store = [](int32_t* to, __m256 v) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(to), _mm256_cvttps_epi32(v));
    };
    store(c0, _mm256_and_ps(lo, some));
    store(c1, _mm256_and_ps(hi, some));
    return _mm256_movemask_ps(some);
  }

  // Every pixel of rows [r0, r1] within reach of a primitive: the minimum
  // distance over them, into the band buffer; marks the vectors it touched. The
  // band's primitives go to list `buf` (the other holds the previous band's).
  void measure(int64_t r0, int64_t r1, int buf) {
    const float last = static_cast<float>(p.width - 1);
    const LinePrimitive* const prims = m.prims;
    const __m256 iota = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i iota_i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 rows = _mm256_add_ps(_mm256_set1_ps(static_cast<float>(r0)), iota);
    alignas(32) int32_t c0_of[8], c1_of[8];
    // The band's primitives: the previous band's that reach this one, then those
    // that start in it.
    int32_t* band = m.band + buf * m.max_prims;
    const int32_t* before = m.band + (1 - buf) * m.max_prims;
    int64_t nb = 0;
    for (int64_t k = 0; k < n_band[1 - buf]; ++k) {
      band[nb] = before[k];
      nb += prims[before[k]].row_hi >= r0 ? 1 : 0;
    }
    for (; next < n && prims[m.order[next]].row_lo <= r1; ++next) band[nb++] = m.order[next];
    for (int64_t k = 0; k < nb; ++k) {
      const int64_t i = band[k];
      const LinePrimitive& q = prims[i];
      const __m256 x0 = _mm256_set1_ps(q.x0);
      const __m256 ex = _mm256_set1_ps(q.ex);
      const __m256 ey = _mm256_set1_ps(q.ey);
      const __m256 neg_ee = _mm256_set1_ps(-q.ee);
      const __m256i id = _mm256_set1_epi32(m.ids[i]);
      const __m256i index = _mm256_set1_epi32(static_cast<int32_t>(i));
      const int64_t first = q.row_lo > r0 ? q.row_lo : r0;
      const int64_t end = q.row_hi < r1 ? q.row_hi : r1;
      const int rows_with = columns(q, rows, last, c0_of, c1_of);
      for (int64_t row = first; row <= end; ++row) {
        if (((rows_with >> (row - r0)) & 1) == 0) continue;
        const int64_t c0 = c0_of[row - r0];
        const int64_t c1 = c1_of[row - r0];
        const __m256i row_last = _mm256_set1_epi32(static_cast<int32_t>(c1));
        const __m256 ay = _mm256_set1_ps(q.y0 - static_cast<float>(row));
        const int64_t at = row_at(row - r0) + c0;
        uint8_t* touched = dirty(row - r0);
        // 8 columns from the row's first: the accumulators go by column, so the
        // vectors need no alignment, and a steep primitive's row fits in one.
        for (int64_t base = c0, cell = at; base <= c1; base += 8, cell += 8) {
          // ramp_pixel's t, cx, cy and d2 (-(dot) / ee is dot / -ee in IEEE).
          const __m256 px = _mm256_add_ps(_mm256_set1_ps(static_cast<float>(base)), iota);
          const __m256 ax = _mm256_sub_ps(x0, px);
          __m256 t = _mm256_setzero_ps();
          if (q.ee > 0.0f) {
            const __m256 dot = _mm256_add_ps(_mm256_mul_ps(ax, ex), _mm256_mul_ps(ay, ey));
            t = _mm256_div_ps(dot, neg_ee);
            t = _mm256_min_ps(_mm256_max_ps(t, _mm256_setzero_ps()), one);
          }
          const __m256 cx = _mm256_add_ps(ax, _mm256_mul_ps(t, ex));
          const __m256 cy = _mm256_add_ps(ay, _mm256_mul_ps(t, ey));
          const __m256 d2 = _mm256_add_ps(_mm256_mul_ps(cx, cx), _mm256_mul_ps(cy, cy));
          float* best = m.best + cell;
          const __m256 old = _mm256_loadu_ps(best);
          // Only the row's columns: the others keep their state (+inf where unset).
          const __m256 in_row = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
              _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(base)), iota_i), row_last));
          const __m256 lt = _mm256_andnot_ps(in_row, _mm256_cmp_ps(d2, old, _CMP_LT_OQ));
          const __m256 eq = _mm256_andnot_ps(in_row, _mm256_cmp_ps(d2, old, _CMP_EQ_OQ));
          float* ties = m.ties + cell;
          const __m256 tied = _mm256_add_ps(_mm256_loadu_ps(ties), _mm256_and_ps(eq, one));
          _mm256_storeu_ps(best, _mm256_blendv_ps(old, d2, lt));
          _mm256_storeu_ps(ties, _mm256_blendv_ps(tied, one, lt));
          float* tt = m.t + cell;
          _mm256_storeu_ps(tt, _mm256_blendv_ps(_mm256_loadu_ps(tt), t, lt));
          float* cyy = m.cy + cell;
          _mm256_storeu_ps(cyy, _mm256_blendv_ps(_mm256_loadu_ps(cyy), cy, lt));
          float* idx = reinterpret_cast<float*>(m.idx + cell);
          _mm256_storeu_ps(idx,
                           _mm256_blendv_ps(_mm256_loadu_ps(idx), _mm256_castsi256_ps(id), lt));
          // The last primitive to tie: the other one when exactly two do (the
          // joins of consecutive segments, mostly).
          float* idx2 = reinterpret_cast<float*>(m.idx2 + cell);
          _mm256_storeu_ps(idx2,
                           _mm256_blendv_ps(_mm256_loadu_ps(idx2), _mm256_castsi256_ps(index), eq));
          touched[base >> 3] = 1;
          touched[(base + 7 < c1 ? base + 7 : c1) >> 3] = 1;
        }
      }
    }
    n_band[buf] = nb;
  }

  // Which of 32 vectors' flags are set.
  static uint32_t touched_bits(const uint8_t* flags) {
    const __m256i f = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(flags));
    const __m256i unset = _mm256_cmpeq_epi8(f, _mm256_setzero_si256());
    return ~static_cast<uint32_t>(_mm256_movemask_epi8(unset));
  }

  // What a ramp pixel with its minimum distance d2 gives primitive i that is at
  // it (share: 1 / ties), as the body computes it.
  void add_scalar(int64_t i, int64_t row, int64_t col, float share, float g) {
    float value, t, dist2;
    if (!ramp_pixel(m.prims[i], p.half_width + 0.5f, static_cast<float>(col),
                    static_cast<float>(row), &value, &t, &dist2)) {
      return;  // never: its distance is the pixel's, inside the ramp
    }
    const float v = g * -(p.foreground - p.background) * (value * share);
    double* acc = m.acc + int64_t{m.ids[i]} * 8 + (col & 3);
    acc[0] += static_cast<double>(v * (1.0f - t));
    acc[4] += static_cast<double>(v * t);
  }

  // The primitives other than the one of id `first` at a ramp pixel's minimum
  // distance d2, where more than two are.
  void add_others(int buf, int32_t first, int64_t row, int64_t col, float d2, float share,
                  float g) {
    const int32_t* band = m.band + buf * m.max_prims;
    for (int64_t k = 0; k < n_band[buf]; ++k) {
      const LinePrimitive& q = m.prims[band[k]];
      if (m.ids[band[k]] == first || row < q.row_lo || row > q.row_hi) continue;
      if (primitive_dist2(q, static_cast<float>(col), static_cast<float>(row)) != d2) continue;
      add_scalar(band[k], row, col, share, g);
    }
  }

  // Rows [r0, r1] of the band buffer, top to bottom and left to right: the ramp
  // pixels' gradients to their nearest primitives (band list `buf`); resets it.
  void sweep(int64_t r0, int64_t r1, int buf) {
    const __m256 zero = _mm256_setzero_ps();
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 inf = _mm256_set1_ps(INFINITY);
    const __m256 ramp_top = _mm256_set1_ps(p.half_width + 0.5f);
    const __m256 dI_dd = _mm256_set1_ps(-(p.foreground - p.background));
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i width = _mm256_set1_epi32(static_cast<int32_t>(p.width));
    const int64_t stride_w = grad.stride_w;
    alignas(32) float v0_of[8], v1_of[8], d2_of[8], ties_of[8], g_of[8];
    alignas(32) int32_t id_of[8], id2_of[8];
    for (int64_t row = r0; row <= r1; ++row) {
      const float* line = plane + row * grad.stride_h;
      const int64_t at = row_at(row - r0);
      uint8_t* touched = dirty(row - r0);
      for (int64_t w = 0; w < m.dirty_bytes; w += 32) {
        const uint32_t bits = touched_bits(touched + w);
        if (bits == 0) continue;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(touched + w), _mm256_setzero_si256());
        for (uint32_t b = bits; b != 0; b &= b - 1) {
          const int64_t base = (w + __builtin_ctz(b)) * 8;
          float* best = m.best + at + base;
          const __m256 d2 = _mm256_load_ps(best);
          _mm256_store_ps(best, inf);
          const __m256 d = _mm256_sqrt_ps(d2);
          const __m256 a = _mm256_sub_ps(ramp_top, d);
          const __m256i cols =
              _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(base)), iota);
          __m256 ramp = _mm256_and_ps(_mm256_cmp_ps(a, zero, _CMP_GT_OQ),
                                      _mm256_cmp_ps(a, one, _CMP_LT_OQ));
          ramp = _mm256_and_ps(ramp, _mm256_cmp_ps(d, zero, _CMP_GT_OQ));
          ramp = _mm256_and_ps(ramp, _mm256_castsi256_ps(_mm256_cmpgt_epi32(width, cols)));
          int mask = _mm256_movemask_ps(ramp);
          if (mask == 0) continue;
          __m256 gv;
          if (stride_w == 1 && base + 8 <= p.width) {
            // Lanes outside the ramp are never added: any value will do there.
            gv = _mm256_loadu_ps(line + base);
          } else if (stride_w == 1) {
            gv = _mm256_maskload_ps(line + base, _mm256_castps_si256(ramp));
          } else {
            alignas(32) float buf8[8];
            for (int l = 0; l < 8; ++l) {
              buf8[l] = (mask >> l) & 1 ? line[(base + l) * stride_w] : 0.0f;
            }
            gv = _mm256_load_ps(buf8);
          }
          // nearest_share: 1 / ties (1 / 1 is 1: the division only where one ties).
          const __m256 ties = _mm256_load_ps(m.ties + at + base);
          const int tied = _mm256_movemask_ps(_mm256_cmp_ps(ties, one, _CMP_GT_OQ)) & mask;
          const __m256 share = tied != 0 ? _mm256_div_ps(one, ties) : one;
          const __m256 t = _mm256_load_ps(m.t + at + base);
          const __m256 value =
              _mm256_mul_ps(_mm256_div_ps(_mm256_load_ps(m.cy + at + base), d), share);
          const __m256 v = _mm256_mul_ps(_mm256_mul_ps(gv, dI_dd), value);
          _mm256_store_ps(v0_of, _mm256_mul_ps(v, _mm256_sub_ps(one, t)));
          _mm256_store_ps(v1_of, _mm256_mul_ps(v, t));
          const auto* ids = reinterpret_cast<const __m256i*>(m.idx + at + base);
          _mm256_store_si256(reinterpret_cast<__m256i*>(id_of), _mm256_load_si256(ids));
          if (tied != 0) {
            _mm256_store_si256(
                reinterpret_cast<__m256i*>(id2_of),
                _mm256_load_si256(reinterpret_cast<const __m256i*>(m.idx2 + at + base)));
            _mm256_store_ps(d2_of, d2);
            _mm256_store_ps(ties_of, ties);
            _mm256_store_ps(g_of, gv);
          }
          for (; mask != 0; mask &= mask - 1) {
            const int l = __builtin_ctz(mask);
            const int64_t col = base + l;
            double* acc = m.acc + int64_t{id_of[l]} * 8 + (col & 3);
            acc[0] += static_cast<double>(v0_of[l]);
            acc[4] += static_cast<double>(v1_of[l]);
            if (((tied >> l) & 1) == 0) continue;
            const float share_l = 1.0f / ties_of[l];
            if (ties_of[l] == 2.0f) {
              add_scalar(id2_of[l], row, col, share_l, g_of[l]);
            } else {
              add_others(buf, id_of[l], row, col, d2_of[l], share_l, g_of[l]);
            }
          }
        }
      }
    }
  }
};

}  // namespace

void line_plane_grad(const LineParams& p, const PlaneView<float>& grad,
                     const LineGradBuffers& out, int64_t b, int64_t ch,
                     const LinePlaneGradScratch& scratch) {
  PlanePass pass{p, grad, grad.data + b * grad.stride_b + ch * grad.stride_c, scratch};
  LinePlaneGradScratch& m = pass.m;
  const int64_t s0 = p.group_begin(ch);
  const int64_t count = (p.group_end(ch) - s0) * p.length;
  for (int64_t u = 0; u < count * 8; ++u) m.acc[u] = 0.0;
  for (int64_t s = s0; s < p.group_end(ch); ++s) {
    for (int64_t j = 0; j < p.length; ++j) {
      GradPrimitive g;
      if (!grad_primitive(p, b, s, j, &g)) continue;
      m.prims[pass.n] = g.q;
      m.ids[pass.n] = static_cast<int32_t>((s - s0) * p.length + j);
      ++pass.n;
    }
  }
  // By first row, so each band adds the primitives that start in it.
  for (int64_t i = 0; i < pass.n; ++i) m.order[i] = static_cast<int32_t>(i);
  std::sort(m.order, m.order + pass.n,
            [&](int32_t a, int32_t c) { return m.prims[a].row_lo < m.prims[c].row_lo; });
  // Band by band, top to bottom: the minimum distances, then the ramp pixels.
  for (int64_t r0 = 0; r0 < p.height; r0 += kGradBandRows) {
    const int64_t r1 = std::min(r0 + kGradBandRows, p.height) - 1;
    const int buf = static_cast<int>((r0 / kGradBandRows) & 1);
    pass.measure(r0, r1, buf);
    pass.sweep(r0, r1, buf);
  }
  double* slot = out.primitive_grad + (b * p.num_series + s0) * p.length * 2;
  for (int64_t u = 0; u < count; ++u) {
    slot[u * 2] = lane_sum(m.acc + u * 8);
    slot[u * 2 + 1] = lane_sum(m.acc + u * 8 + 4);
  }
}

}  // namespace avx2
}  // namespace kernels
}  // namespace torch_render

#pragma GCC pop_options

#endif  // TR_HAVE_AVX2_KERNELS
