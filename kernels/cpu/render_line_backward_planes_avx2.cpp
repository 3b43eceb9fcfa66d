// The AVX2 pass 1 of render_line's backward plane by plane (line_plane_grad_cpu
// in kernels/render_line_backward_cpu.h), for float32 gradients, as the forward
// rasters. Each band of kGradBandRows rows takes two walks over the primitives
// that reach it, one 8-column vector per row (a steep primitive's rows of the
// band share one column window):
//   1. measure: per pixel, the minimum squared distance over them, how many are
//      at it and the last of them to measure it (three band buffers); each
//      primitive's own t, cy and d2 of the vector go to a stash, in the order
//      the gather takes them, and the incoming gradient there is asked for;
//   2. gather: each primitive again, with its stashed distances (or computed
//      again with the same operations where the stash was full): at the pixels
//      where it is at the minimum and in the ramp it reads the incoming gradient
//      and adds what it gives to its own accumulators, kept in registers, 8
//      columns at a time; a pixel's last primitive unsets it for the next band.
// Nothing else is kept per pixel, and each primitive's sums stay in vectors.
//
// The bits are the shared body's (line_primitive_grad_body): a pixel gives a
// primitive something only where its distance is the minimum and in the ramp,
// with share 1 / ties, from the body's float32 operations; and each primitive's
// accumulator col % kGradLanes receives its pixels in the body's order (rows, then
// columns, ascending), as the bands are walked top to bottom. A conservative cull
// suffices: every primitive at a ramp pixel's minimum distance is within reach of
// it, so it is measured there.
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

// A primitive's broadcast geometry and one vector of 8 columns from `base`:
// segment_dist2's operands that do not change along a column (ax = x0 - px and
// ax * ex).
struct Geometry {
  // neg_ee: -ee of a segment (ee > 0); -inf for a dot (ee == 0, also a segment so
  // short that ee underflows), whose t the body takes as 0: the division below
  // then gives +-0 or NaN (an infinite dot product), which max(t, +0) makes +0,
  // as it does NaN, so the distances need no branch.
  __m256 x0, ex, ey, neg_ee, y0;
  explicit Geometry(const LinePrimitive& q)
      : x0(_mm256_set1_ps(q.x0)),
        ex(_mm256_set1_ps(q.ex)),
        ey(_mm256_set1_ps(q.ey)),
        neg_ee(_mm256_set1_ps(q.ee > 0.0f ? -q.ee : -INFINITY)),
        y0(_mm256_set1_ps(q.y0)) {}
};

struct Columns {
  __m256 ax, ax_ex;
  Columns(const Geometry& g, int64_t base) {
    const __m256 px = _mm256_add_ps(_mm256_set1_ps(static_cast<float>(base)),
                                    _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
    ax = _mm256_sub_ps(g.x0, px);
    ax_ex = _mm256_mul_ps(ax, g.ex);
  }
};

// Primitive g's squared distance to the 8 pixels of columns c in row py, with
// ramp_pixel's t and cy: segment_dist2's operations (-(dot) / ee is dot / -ee in
// IEEE).
struct Distances {
  __m256 t, cy, d2;
};
constexpr int64_t kStashFloats = 24;  // a Distances in LinePlaneGradScratch::stash

inline Distances distances(const Geometry& g, const Columns& c, __m256 py) {
  const __m256 ay = _mm256_sub_ps(g.y0, py);
  // max_ps(t, +0) returns its second operand, +0, where t is NaN or a zero of
  // either sign.
  __m256 t = _mm256_div_ps(_mm256_add_ps(c.ax_ex, _mm256_mul_ps(ay, g.ey)), g.neg_ee);
  t = _mm256_min_ps(_mm256_max_ps(t, _mm256_setzero_ps()), _mm256_set1_ps(1.0f));
  const __m256 cx = _mm256_add_ps(c.ax, _mm256_mul_ps(t, g.ex));
  const __m256 cy = _mm256_add_ps(ay, _mm256_mul_ps(t, g.ey));
  return {t, cy, _mm256_add_ps(_mm256_mul_ps(cx, cx), _mm256_mul_ps(cy, cy))};
}

// acc (kGradLanes doubles, by column % kGradLanes) += v, whose lanes are already
// in accumulator order (see rotate): the lower 4 columns added before the upper
// 4, as the body adds them. The lanes of pixels the body does not add are +0.0,
// and adding +0.0 changes no sum here: a sum that starts at +0.0 is never -0.0.
inline __m256d add_lanes(__m256d acc, __m256 v) {
  acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

// Puts lane l of the 8 columns from base at position (base + l) % 4 of its half:
// the accumulator of its column.
inline __m256 rotate(__m256 v, int64_t base) {
  const __m256i to =
      _mm256_and_si256(_mm256_sub_epi32(_mm256_setr_epi32(0, 1, 2, 3, 0, 1, 2, 3),
                                        _mm256_set1_epi32(static_cast<int>(base & 3))),
                       _mm256_set1_epi32(3));
  return _mm256_permutevar_ps(v, to);
}

// The 8 columns from base of a strided row of the incoming gradient, the lanes of
// `mask` (others 0). Out of line: rare, and its lane offsets would otherwise be
// set up for every primitive.
__attribute__((noinline)) __m256 strided_lanes(const float* line, int64_t base,
                                               int64_t stride_w, __m256 mask) {
  alignas(32) float lanes[8];
  const int bits = _mm256_movemask_ps(mask);
  for (int l = 0; l < 8; ++l) lanes[l] = (bits >> l) & 1 ? line[(base + l) * stride_w] : 0.0f;
  return _mm256_load_ps(lanes);
}

// The incoming gradient's rows of a band: row r at line0 + r * stride_h.
struct PlaneRows {
  const float* line0;
  int64_t stride_h, stride_w, width;
  // The 8 columns from base in band row r (only the lanes of `mask` are read
  // where the row ends within them or is strided).
  __m256 at(int64_t r, int64_t base, __m256 mask) const {
    const float* line = line0 + r * stride_h;
    if (stride_w != 1) return strided_lanes(line, base, stride_w, mask);
    if (base + 8 <= width) return _mm256_loadu_ps(line + base);
    return _mm256_maskload_ps(line + base, _mm256_castps_si256(mask));
  }
};

// A primitive's two sets of kGradLanes accumulators: (1 - t) and t shares.
struct Sums {
  __m256d acc0, acc1;
};

// The gather of one vector: band entry k's distances d to the 8 columns from base
// in band row r, whose minimum squared distances, tie counts and last entries
// to measure them are at best, ties and last. kInside: the 8 columns are the
// plane's and the incoming gradient's rows are contiguous.
template <bool kInside>
inline void gather_vector(const Distances& d, int64_t r, int64_t base, float* best,
                          const float* ties, const int32_t* last, __m256i k,
                          const PlaneRows& rows, float ramp_top, float dI_dd, Sums* sums) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 d2 = _mm256_loadu_ps(best);
  // The band's last primitive to measure a pixel is the last to read it: it
  // unsets it for the next band.
  const __m256 mine = _mm256_castsi256_ps(
      _mm256_cmpeq_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(last)), k));
  _mm256_storeu_ps(best, _mm256_blendv_ps(d2, _mm256_set1_ps(INFINITY), mine));
  __m256 at = _mm256_cmp_ps(d.d2, d2, _CMP_EQ_OQ);
  if (!kInside && base + 8 > rows.width) {
    // Only the plane's columns.
    const __m256i cols = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(base)),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    at = _mm256_and_ps(at, _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                               _mm256_set1_epi32(static_cast<int32_t>(rows.width)), cols)));
  }
  // ramp_pixel's test: 0 < ramp_top - dist < 1 and dist > 0.
  const __m256 dist = _mm256_sqrt_ps(d2);
  const __m256 a = _mm256_sub_ps(_mm256_set1_ps(ramp_top), dist);
  at = _mm256_and_ps(at, _mm256_cmp_ps(a, zero, _CMP_GT_OQ));
  at = _mm256_and_ps(at, _mm256_cmp_ps(a, one, _CMP_LT_OQ));
  at = _mm256_and_ps(at, _mm256_cmp_ps(dist, zero, _CMP_GT_OQ));
  // No branch on whether any lane is left: it would go either way often, and
  // lanes that are not give nothing.
  const int mask = _mm256_movemask_ps(at);
  const __m256 gv = kInside ? _mm256_loadu_ps(rows.line0 + r * rows.stride_h + base)
                            : rows.at(r, base, at);
  // nearest_share: 1 / ties (1 / 1 is 1: the division only where some tie).
  const __m256 n_at = _mm256_loadu_ps(ties);
  const bool tied = (_mm256_movemask_ps(_mm256_cmp_ps(n_at, one, _CMP_GT_OQ)) & mask) != 0;
  const __m256 share = tied ? _mm256_div_ps(one, n_at) : one;
  const __m256 value = _mm256_mul_ps(_mm256_div_ps(d.cy, dist), share);
  const __m256 v =
      _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(gv, _mm256_set1_ps(dI_dd)), value), at);
  sums->acc0 = add_lanes(sums->acc0, rotate(_mm256_mul_ps(v, _mm256_sub_ps(one, d.t)), base));
  sums->acc1 = add_lanes(sums->acc1, rotate(_mm256_mul_ps(v, d.t), base));
}

// How a primitive's rows of a band are walked (PlanePass::gather_band). Every
// walk takes the same vectors: a superset of the pixels within its reach, which
// is all that the minimum, its ties and the gradient need (a pixel out of reach
// is in no primitive's ramp at the minimum distance, or is measured by all that
// are as near).
constexpr int kVectorsShift = kGradBandRows;  // rows_with: the rows' bits, then the vectors
static_assert(kGradBandRows % 8 == 0 && kGradBandRows <= 16, "see kGradBandRows");
constexpr int kRowByRow = 0;  // each row's own columns, vectors from its first
// Else 1 or 2: that many vectors from column m.c0[k * kGradBandRows] in every row
// of the band from the first with columns to the last (the union of the first's
// and the last's columns, which row_columns's monotony makes all of theirs).

// One plane's pass 1 with its scratch (see LinePlaneGradScratch).
struct PlanePass {
  const LineParams& p;
  const PlaneView<float>& grad;
  const float* plane;  // the incoming gradient of this (image, channel)
  LinePlaneGradScratch m;
  int64_t n = 0;       // primitives of the plane in m.prims
  int64_t next = 0;    // the first in m.order (by first band) not yet in a band
  int64_t n_band[2] = {0, 0};  // primitives in the two band lists of m.band
  bool leaves = false;         // whether a vector of the band leaves the plane
  int64_t band_vectors = 0;    // the band's vectors (what each walk takes)

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
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(to), _mm256_cvttps_epi32(v));
    };
    store(c0, _mm256_and_ps(lo, some));
    store(c1, _mm256_and_ps(hi, some));
    return _mm256_movemask_ps(some);
  }

  // The band's primitives into list `buf` (the other holds the previous band's):
  // the previous band's that reach row r0, then those that start in [r0, r1].
  // For each, how its rows are walked: m.rows_with[k] = the band's rows with
  // columns (bit i: row r0 + i) | the vectors per row << kVectorsShift (kRowByRow:
  // m.c0 and m.c1 give each row's columns; else m.c0[k * kGradBandRows] is the
  // first column of all).
  void gather_band(int64_t r0, int64_t r1, int buf) {
    const LinePrimitive* const prims = m.prims;
    int32_t* band = m.band + buf * m.max_prims;
    const int32_t* before = m.band + (1 - buf) * m.max_prims;
    int64_t nb = 0;
    for (int64_t k = 0; k < n_band[1 - buf]; ++k) {
      band[nb] = before[k];
      nb += prims[before[k]].row_hi >= r0 ? 1 : 0;
    }
    for (; next < n && prims[m.order[next]].row_lo <= r1; ++next) band[nb++] = m.order[next];
    n_band[buf] = nb;
    leaves = false;
    band_vectors = 0;
    const float last = static_cast<float>(p.width - 1);
    // The first column of `per_row` vectors from column lo in every row, moved
    // left at the plane's right edge where the plane is that wide (more columns
    // than the primitive's are walked, as everywhere, and none beyond the plane).
    const auto window = [&](int32_t lo, int per_row) {
      const int32_t end = static_cast<int32_t>(p.width) - 8 * per_row;
      leaves |= end < 0;
      return end < 0 ? lo : std::min(lo, end);
    };
    const __m256 r0_v = _mm256_set1_ps(static_cast<float>(r0));
    const __m256 rows = _mm256_add_ps(r0_v, _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 step = _mm256_set1_ps(8.0f);
    for (int64_t k = 0; k < nb; ++k) {
      const LinePrimitive& q = prims[band[k]];
      int32_t* c0 = m.c0 + k * kGradBandRows;
      int32_t* c1 = m.c1 + k * kGradBandRows;
      // Only its rows within [row_lo, row_hi] and the band's.
      const int64_t first = std::max(q.row_lo, r0) - r0;
      const int64_t end = std::min(q.row_hi, r1) - r0;
      if (first > end) {
        m.rows_with[k] = 0;
        continue;
      }
      const int in_rows = ((2 << end) - 1) & ~((1 << first) - 1);
      // Usually its first and last rows have columns, and one or two vectors
      // cover both: then those two rows (lanes 0 and 1) are all it needs.
      const __m256 ends = _mm256_add_ps(
          r0_v, _mm256_cvtepi32_ps(_mm256_setr_epi32(static_cast<int32_t>(first),
                                                     static_cast<int32_t>(end), 0, 0, 0, 0,
                                                     0, 0)));
      if ((columns(q, ends, last, c0, c1) & 3) == 3) {
        const int32_t lo = std::min(c0[0], c0[1]);
        const int32_t span = std::max(c1[0], c1[1]) - lo;
        if (span < 16) {
          const int per_row = span < 8 ? 1 : 2;
          c0[0] = window(lo, per_row);
          m.rows_with[k] = in_rows | per_row << kVectorsShift;
          band_vectors += (end - first + 1) * per_row;
          continue;
        }
      }
      int bits = 0;
      __m256 py = rows;
      for (int v = 0; v < kGradBandRows / 8; ++v, py = _mm256_add_ps(py, step)) {
        bits |= columns(q, py, last, c0 + v * 8, c1 + v * 8) << (v * 8);
      }
      bits &= in_rows;
      int per_row = kRowByRow;
      if (bits != 0) {
        const int a = __builtin_ctz(bits);
        const int z = 31 - __builtin_clz(static_cast<unsigned>(bits));
        const int32_t lo = std::min(c0[a], c0[z]);
        const int32_t span = std::max(c1[a], c1[z]) - lo;
        if (span < 16) {
          per_row = span < 8 ? 1 : 2;
          c0[0] = window(lo, per_row);
          band_vectors += (z - a + 1) * per_row;
        }
      }
      if (per_row == kRowByRow) {
        for (int b = bits; b != 0; b &= b - 1) {
          const int r = __builtin_ctz(b);
          const int64_t last_base = c0[r] + (c1[r] - c0[r]) / 8 * 8;
          leaves |= last_base + 8 > p.width;
          band_vectors += (last_base - c0[r]) / 8 + 1;
        }
      }
      m.rows_with[k] = bits | per_row << kVectorsShift;
    }
  }

  // The walks below take band entry k's vectors (see gather_band) with
  // explicit loops over locals: a vector store may alias any memory, so what
  // they read through `m` would be read again after every store.

  // Walk 1: the minimum squared distance at every pixel of the band within
  // reach of a primitive (m.best, +inf where unset), how many are at it (m.ties)
  // and the last entry to measure it (m.last); each entry's distances into the
  // stash. It also asks the cache for the incoming gradient there, which the
  // gather reads (a cache line or two per vector, rarely in a near cache): it
  // comes while the band is measured.
  // kRoom: the stash has room for every vector of the band.
  template <bool kRoom>
  void measure(int64_t r0, int buf) const {
    const int32_t* const band = m.band + buf * m.max_prims;
    const LinePrimitive* const prims = m.prims;
    const int32_t* const info_of = m.rows_with;
    const int32_t* const c0_of = m.c0;
    const int32_t* const c1_of = m.c1;
    float* const best = m.best;
    float* const ties = m.ties;
    int32_t* const last = m.last;
    const int64_t pw = m.padded_width;
    const float* const line0 = plane + r0 * grad.stride_h;
    const int64_t stride_h = grad.stride_h;
    const int64_t stride_w = grad.stride_w;
    const int64_t nb = n_band[buf];
    // What the gather needs of each vector again (see LinePlaneGradScratch::stash),
    // in the gather's order, while there is room.
    float* stash = m.stash;
    float* const stash_end = m.stash + m.stash_vectors * kStashFloats;
    // One vector: columns c from base in band row r.
    __m256i k_v;  // the entry measured
    const auto vector = [&](const Geometry& g, const Columns& c, int64_t r, int64_t base) {
      const float* gl = line0 + r * stride_h + base * stride_w;
      _mm_prefetch(reinterpret_cast<const char*>(gl), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(gl + 7 * stride_w), _MM_HINT_T0);
      const Distances d = distances(g, c, _mm256_set1_ps(static_cast<float>(r0 + r)));
      if (kRoom || stash != stash_end) {
        _mm256_store_ps(stash, d.t);
        _mm256_store_ps(stash + 8, d.cy);
        _mm256_store_ps(stash + 16, d.d2);
        stash += kStashFloats;
      }
      float* const b = best + r * pw + base;
      float* const n_at = ties + r * pw + base;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(last + r * pw + base), k_v);
      const __m256 one = _mm256_set1_ps(1.0f);
      const __m256 old = _mm256_loadu_ps(b);
      const __m256 lt = _mm256_cmp_ps(d.d2, old, _CMP_LT_OQ);
      const __m256 eq = _mm256_cmp_ps(d.d2, old, _CMP_EQ_OQ);
      const __m256 tied = _mm256_add_ps(_mm256_loadu_ps(n_at), _mm256_and_ps(eq, one));
      _mm256_storeu_ps(b, _mm256_blendv_ps(old, d.d2, lt));
      _mm256_storeu_ps(n_at, _mm256_blendv_ps(tied, one, lt));
    };
    for (int64_t k = 0; k < nb; ++k) {
      const int info = info_of[k];
      const int bits = info & ((1 << kVectorsShift) - 1);
      if (bits == 0) continue;
      const Geometry g(prims[band[k]]);
      k_v = _mm256_set1_epi32(static_cast<int32_t>(k));
      const int vectors = info >> kVectorsShift;
      if (vectors != kRowByRow) {
        const int z = 31 - __builtin_clz(static_cast<unsigned>(bits));
        const int64_t base = c0_of[k * kGradBandRows];
        const Columns c(g, base);
        if (vectors == 1) {
#pragma GCC unroll 1
          for (int r = __builtin_ctz(bits); r <= z; ++r) vector(g, c, r, base);
        } else {
          const Columns c2(g, base + 8);
#pragma GCC unroll 1
          for (int r = __builtin_ctz(bits); r <= z; ++r) {
            vector(g, c, r, base);
            vector(g, c2, r, base + 8);
          }
        }
        continue;
      }
      for (int b = bits; b != 0; b &= b - 1) {
        const int r = __builtin_ctz(b);
        const int64_t c1 = c1_of[k * kGradBandRows + r];
        for (int64_t base = c0_of[k * kGradBandRows + r]; base <= c1; base += 8) {
          vector(g, Columns(g, base), r, base);
        }
      }
    }
  }

  // Walk 2: each primitive's ramp pixels at the minimum distance, what their
  // incoming gradient gives it, into its accumulators (in registers meanwhile),
  // rows top to bottom and each row's columns left to right.
  // kKept: the measure kept every vector's distances, no vector leaves the plane
  // and the incoming gradient's rows are contiguous (usually all true, and then
  // the loop tests none of them).
  template <bool kKept>
  void gather(int64_t r0, int buf) const {
    const int32_t* const band = m.band + buf * m.max_prims;
    const LinePrimitive* const prims = m.prims;
    const int32_t* const ids = m.ids;
    const int32_t* const info_of = m.rows_with;
    const int32_t* const c0_of = m.c0;
    const int32_t* const c1_of = m.c1;
    float* const best = m.best;
    const float* const ties = m.ties;
    const int32_t* const last = m.last;
    double* const acc_of = m.acc;
    const int64_t pw = m.padded_width;
    const int64_t nb = n_band[buf];
    const float ramp_top = p.half_width + 0.5f;
    const float dI_dd = -(p.foreground - p.background);
    const PlaneRows rows{plane + r0 * grad.stride_h, grad.stride_h, grad.stride_w, p.width};
    // The measure's distances, in this order, as far as they were kept.
    const float* stash = m.stash;
    const float* const stash_end = m.stash + m.stash_vectors * kStashFloats;
    for (int64_t k = 0; k < nb; ++k) {
      const int info = info_of[k];
      const int bits = info & ((1 << kVectorsShift) - 1);
      if (bits == 0) continue;
      const int64_t i = band[k];
      const LinePrimitive& q = prims[i];
      double* const acc = acc_of + int64_t{ids[i]} * 8;
      const __m256i k_v = _mm256_set1_epi32(static_cast<int32_t>(k));
      Sums sums{_mm256_load_pd(acc), _mm256_load_pd(acc + 4)};
      const auto vector = [&](int64_t r, int64_t base) {
        Distances d;
        if (kKept || stash != stash_end) {
          d = {_mm256_load_ps(stash), _mm256_load_ps(stash + 8), _mm256_load_ps(stash + 16)};
          stash += kStashFloats;
        } else {
          const Geometry g(q);
          d = distances(g, Columns(g, base), _mm256_set1_ps(static_cast<float>(r0 + r)));
        }
        gather_vector<kKept>(d, r, base, best + r * pw + base, ties + r * pw + base,
                             last + r * pw + base, k_v, rows, ramp_top, dI_dd, &sums);
      };
      const int vectors = info >> kVectorsShift;
      if (vectors != kRowByRow) {
        const int z = 31 - __builtin_clz(static_cast<unsigned>(bits));
        const int64_t base = c0_of[k * kGradBandRows];
        if (vectors == 1) {
#pragma GCC unroll 1
          for (int r = __builtin_ctz(bits); r <= z; ++r) vector(r, base);
        } else {
#pragma GCC unroll 1
          for (int r = __builtin_ctz(bits); r <= z; ++r) {
            vector(r, base);
            vector(r, base + 8);
          }
        }
      } else {
        for (int b = bits; b != 0; b &= b - 1) {
          const int r = __builtin_ctz(b);
          const int64_t c1 = c1_of[k * kGradBandRows + r];
          for (int64_t base = c0_of[k * kGradBandRows + r]; base <= c1; base += 8) {
            vector(r, base);
          }
        }
      }
      _mm256_store_pd(acc, sums.acc0);
      _mm256_store_pd(acc + 4, sums.acc1);
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
  // By the band of their first row (a counting sort), so each band adds the
  // primitives that start in it.
  const int64_t bands = (p.height + kGradBandRows - 1) / kGradBandRows;
  int32_t* const start = m.band_start;
  for (int64_t k = 0; k <= bands; ++k) start[k] = 0;
  for (int64_t i = 0; i < pass.n; ++i) ++start[m.prims[i].row_lo / kGradBandRows + 1];
  for (int64_t k = 1; k <= bands; ++k) start[k] += start[k - 1];
  for (int64_t i = 0; i < pass.n; ++i) {
    m.order[start[m.prims[i].row_lo / kGradBandRows]++] = static_cast<int32_t>(i);
  }
  // Band by band, top to bottom: the minimum distances, then each primitive's
  // pixels at them.
  for (int64_t r0 = 0; r0 < p.height; r0 += kGradBandRows) {
    const int64_t r1 = std::min(r0 + kGradBandRows, p.height) - 1;
    const int buf = static_cast<int>((r0 / kGradBandRows) & 1);
    pass.gather_band(r0, r1, buf);
    // The usual band: its vectors fit the stash, none leaves the plane and the
    // incoming gradient's rows are contiguous; then neither walk tests for them.
    if (pass.band_vectors <= m.stash_vectors) {
      pass.measure<true>(r0, buf);
    } else {
      pass.measure<false>(r0, buf);
    }
    if (pass.band_vectors <= m.stash_vectors && !pass.leaves && grad.stride_w == 1) {
      pass.gather<true>(r0, buf);
    } else {
      pass.gather<false>(r0, buf);
    }
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
