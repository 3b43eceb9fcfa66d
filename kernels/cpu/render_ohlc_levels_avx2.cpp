// render_ohlc's CPU points pass with AVX2 (kernels/cpu/render_ohlc_levels.h):
// packed inputs scaled (or made absolute) and ranged in one pass, and the
// finite range and the levels of n float64 values, four at a time, the same
// operations per lane as the SSE2 code there, so the same levels. Compiled with
// the baseline flags of the build: only the code below the pragma uses AVX2,
// and the callers call it only where the CPU has AVX2.
#include "kernels/cpu/render_ohlc_levels.h"

#if defined(TR_HAVE_AVX2_KERNELS)

#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2")

namespace torch_render {
namespace kernels {

void ohlc_finite_range_avx2(const double* v, int64_t n, double* lo_out, double* hi_out) {
  // min_pd(a, b) is a < b ? a : b and max_pd(a, b) is a > b ? a : b, as the
  // scalar tail's selects; two chains of four lanes.
  const __m256d zero = _mm256_setzero_pd();
  __m256d lo[2] = {_mm256_set1_pd(INFINITY), _mm256_set1_pd(INFINITY)};
  __m256d hi[2] = {_mm256_set1_pd(-INFINITY), _mm256_set1_pd(-INFINITY)};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 2; ++k) {
      const __m256d x = _mm256_loadu_pd(v + i + 4 * k);
      const __m256d finite = _mm256_cmp_pd(_mm256_sub_pd(x, x), zero, _CMP_EQ_OQ);
      lo[k] = _mm256_min_pd(_mm256_blendv_pd(lo[k], x, finite), lo[k]);
      hi[k] = _mm256_max_pd(_mm256_blendv_pd(hi[k], x, finite), hi[k]);
    }
  }
  alignas(32) double l[8], h[8];
  _mm256_store_pd(l, lo[0]);
  _mm256_store_pd(l + 4, lo[1]);
  _mm256_store_pd(h, hi[0]);
  _mm256_store_pd(h + 4, hi[1]);
  double a = INFINITY, b = -INFINITY;
  for (int k = 0; k < 8; ++k) {
    a = l[k] < a ? l[k] : a;
    b = h[k] > b ? h[k] : b;
  }
  for (; i < n; ++i) {
    const double x = v[i];
    const bool finite = x - x == 0.0;
    a = finite && x < a ? x : a;
    b = finite && x > b ? x : b;
  }
  *lo_out = a;
  *hi_out = b;
}

namespace {

inline __m256d load4(const double* p) { return _mm256_loadu_pd(p); }
inline __m256d load4(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }

// *lo lowered to the lanes of lo4, *hi raised to those of hi4.
inline void fold_range(__m256d lo4, __m256d hi4, double* lo, double* hi) {
  alignas(32) double l[4], h[4];
  _mm256_store_pd(l, lo4);
  _mm256_store_pd(h, hi4);
  for (int k = 0; k < 4; ++k) {
    *lo = l[k] < *lo ? l[k] : *lo;
    *hi = h[k] > *hi ? h[k] : *hi;
  }
}

// out[i] = f(src[i]) in float64 for i < n (f4 four at a time, f1 one), and *lo,
// *hi widened to their finite range. The extremes' chains hold only the min and
// max: each value's stand-in (+inf or -inf where it is not finite) is made off
// them.
template <typename T, typename F4, typename F1>
void mapped_run(const T* src, int64_t n, F4 f4, F1 f1, double* out, double* lo, double* hi) {
  const __m256d zero = _mm256_setzero_pd();
  const __m256d pinf = _mm256_set1_pd(INFINITY), minf = _mm256_set1_pd(-INFINITY);
  __m256d lo4 = pinf, hi4 = minf;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d x = f4(load4(src + i));
    _mm256_storeu_pd(out + i, x);
    const __m256d finite = _mm256_cmp_pd(_mm256_sub_pd(x, x), zero, _CMP_EQ_OQ);
    lo4 = _mm256_min_pd(_mm256_blendv_pd(pinf, x, finite), lo4);
    hi4 = _mm256_max_pd(_mm256_blendv_pd(minf, x, finite), hi4);
  }
  fold_range(lo4, hi4, lo, hi);
  for (; i < n; ++i) {
    const double x = f1(static_cast<double>(src[i]));
    out[i] = x;
    const bool finite = x - x == 0.0;
    *lo = finite && x < *lo ? x : *lo;
    *hi = finite && x > *hi ? x : *hi;
  }
}

template <typename T>
void scaled_run(const T* src, int64_t n, double k, double* v, double* lo, double* hi) {
  const __m256d vk = _mm256_set1_pd(k);
  mapped_run(
      src, n, [&](__m256d x) { return _mm256_mul_pd(x, vk); }, [&](double x) { return x * k; },
      v, lo, hi);
}

template <typename T>
void abs_run(const T* src, int64_t n, double* a, double* hi) {
  const __m256d magnitude = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffff));
  double unused = INFINITY;
  mapped_run(
      src, n, [&](__m256d x) { return _mm256_and_pd(x, magnitude); },
      [](double x) { return fabs(x); }, a, &unused, hi);
}

}  // namespace

void ohlc_scaled_run_avx2(const double* src, int64_t n, double k, double* v, double* lo,
                          double* hi) {
  scaled_run(src, n, k, v, lo, hi);
}
void ohlc_scaled_run_avx2(const float* src, int64_t n, double k, double* v, double* lo,
                          double* hi) {
  scaled_run(src, n, k, v, lo, hi);
}
void ohlc_abs_run_avx2(const double* src, int64_t n, double* a, double* hi) {
  abs_run(src, n, a, hi);
}
void ohlc_abs_run_avx2(const float* src, int64_t n, double* a, double* hi) {
  abs_run(src, n, a, hi);
}

void ohlc_scaled_levels_avx2(const OhlcScale& s, const double* v, int64_t n, int64_t* out) {
  const __m256d vlo = _mm256_set1_pd(s.lo), vscale = _mm256_set1_pd(s.scale);
  const __m256d vmin = _mm256_set1_pd(-kLevelClamp), vmax = _mm256_set1_pd(kLevelClamp);
  const __m256d vmagic = _mm256_set1_pd(kLevelMagic), zero = _mm256_setzero_pd();
  const __m256i vbits = _mm256_set1_epi64x(level_magic_bits()), none = _mm256_set1_epi64x(kNoLevel);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_loadu_pd(v + i);
    __m256d t = _mm256_mul_pd(_mm256_sub_pd(x, vlo), vscale);
    t = _mm256_and_pd(t, _mm256_cmp_pd(t, t, _CMP_ORD_Q));
    t = _mm256_min_pd(_mm256_max_pd(t, vmin), vmax);
    const __m256i level = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(t, vmagic)), vbits);
    const __m256d finite = _mm256_cmp_pd(_mm256_sub_pd(x, x), zero, _CMP_EQ_OQ);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(none),
                                                             _mm256_castsi256_pd(level), finite)));
  }
  ohlc_levels_tail(s, v, i, n, out);
}

}  // namespace kernels
}  // namespace torch_render

#pragma GCC pop_options

#endif  // TR_HAVE_AVX2_KERNELS
