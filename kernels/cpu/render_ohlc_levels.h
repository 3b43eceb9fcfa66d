// render_ohlc on the CPU, the points passes of one image: its values gathered
// into float64 with their range (packed inputs in one AVX2 pass where the CPU
// has it), their levels in SSE2 where the target has it (the
// scalar body, a branch and a libm rint per value, was most of the points
// pass), into a scratch that stays in L1. Same values as ohlc_image_levels and
// ohlc_image_volume (kernels/render_ohlc.h; tests/cpp/test_render_ohlc.cpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernels/common/cpu_isa.h"
#include "kernels/render_ohlc.h"

namespace torch_render {
namespace kernels {

#if defined(TR_HAVE_AVX2_KERNELS)
// The AVX2 copies (kernels/cpu/render_ohlc_levels_avx2.cpp), four values at a
// time; only where the CPU has AVX2. The levels one needs a usable, non-flat scale.
void ohlc_finite_range_avx2(const double* v, int64_t n, double* lo_out, double* hi_out);
void ohlc_scaled_levels_avx2(const OhlcScale& s, const double* v, int64_t n, int64_t* out);
// ohlc_scaled_run and ohlc_abs_run of float64 and float32 values.
void ohlc_scaled_run_avx2(const double* src, int64_t n, double k, double* v, double* lo,
                          double* hi);
void ohlc_scaled_run_avx2(const float* src, int64_t n, double k, double* v, double* lo,
                          double* hi);
void ohlc_abs_run_avx2(const double* src, int64_t n, double* a, double* hi);
void ohlc_abs_run_avx2(const float* src, int64_t n, double* a, double* hi);
#endif

// Where the levels of one image live (a scratch, or the workspace slices of p).
struct OhlcImageLevels {
  int64_t* bars;      // [L, kBarFields]
  int64_t* overlays;  // [M, L]
  int64_t* volume;    // [L], or null: no volume panel
  // [L, 4]: the levels of open, high, low, close as the CPU points pass computes
  // them, before they are sorted into bars (the bitmask raster reads these, and
  // then the bars are not made); null where the levels come from a workspace.
  const int64_t* raw = nullptr;
};

// A thread's memory for the CPU points pass of one image: the levels, and the
// image's values in float64 with their levels before they are sorted into bars.
struct OhlcCpuScratch {
  OhlcImageLevels levels;
  double* values;       // [4 L + M L]
  int64_t* raw_levels;  // [4 L]
  uint64_t* bits;       // ohlc_bits_scratch(p), zeroed; null: the bitmask raster unused
};

// 1.5 * 2^52: for |t| <= 2^40, t + kLevelMagic lies in [2^52, 2^53), where
// doubles are the integers, so the addition rounds t half to even and the
// difference of the bit patterns is that integer (no conversion instruction for
// int64 lanes before AVX-512).
constexpr double kLevelMagic = 6755399441055744.0;
inline int64_t level_magic_bits() {
  int64_t bits;
  std::memcpy(&bits, &kLevelMagic, sizeof(bits));
  return bits;
}

// Values [i, n) of ohlc_levels_cpu one at a time (a usable, non-flat scale).
inline void ohlc_levels_tail(const OhlcScale& s, const double* v, int64_t i, int64_t n,
                             int64_t* out) {
  const int64_t magic_bits = level_magic_bits();
  for (; i < n; ++i) {
    const double x = v[i];
    double t = (x - s.lo) * s.scale;
    t = t == t ? t : 0.0;  // inf * 0 (see ohlc_level); non-finite x is masked below
    t = t < -kLevelClamp ? -kLevelClamp : t;
    t = t > kLevelClamp ? kLevelClamp : t;
    const double r = t + kLevelMagic;
    int64_t bits;
    std::memcpy(&bits, &r, sizeof(bits));
    out[i] = x - x == 0.0 ? bits - magic_bits : kNoLevel;
  }
}

// ohlc_level of n values: the same float64 operations without branches, four at
// a time with AVX2 (kernels/cpu/render_ohlc_levels_avx2.cpp), else two in SSE2,
// rounding by kLevelMagic.
inline void ohlc_levels_cpu(const OhlcScale& s, const double* v, int64_t n, int64_t* out) {
  if (!s.usable || s.flat) {
    const int64_t level = s.usable ? s.flat_level : kNoLevel;
    for (int64_t i = 0; i < n; ++i) out[i] = v[i] - v[i] == 0.0 ? level : kNoLevel;
    return;
  }
#if defined(TR_HAVE_AVX2_KERNELS)
  if (cpu_isa() == CpuIsa::kAvx2) {
    ohlc_scaled_levels_avx2(s, v, n, out);
    return;
  }
#endif
  int64_t i = 0;
#if defined(__SSE2__)
  // GCC does not vectorise the tail's loop (the int64 select on a double
  // compare); the same operations per lane.
  const __m128d vlo = _mm_set1_pd(s.lo), vscale = _mm_set1_pd(s.scale);
  const __m128d vmin = _mm_set1_pd(-kLevelClamp), vmax = _mm_set1_pd(kLevelClamp);
  const __m128d vmagic = _mm_set1_pd(kLevelMagic), zero = _mm_setzero_pd();
  const __m128i vbits = _mm_set1_epi64x(level_magic_bits()), none = _mm_set1_epi64x(kNoLevel);
  for (; i + 2 <= n; i += 2) {
    const __m128d x = _mm_loadu_pd(v + i);
    __m128d t = _mm_mul_pd(_mm_sub_pd(x, vlo), vscale);
    t = _mm_and_pd(t, _mm_cmpord_pd(t, t));
    t = _mm_min_pd(_mm_max_pd(t, vmin), vmax);  // max/min: the tail's selects, t not NaN
    const __m128i level = _mm_sub_epi64(_mm_castpd_si128(_mm_add_pd(t, vmagic)), vbits);
    const __m128i finite = _mm_castpd_si128(_mm_cmpeq_pd(_mm_sub_pd(x, x), zero));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm_or_si128(_mm_and_si128(finite, level), _mm_andnot_si128(finite, none)));
  }
#endif
  ohlc_levels_tail(s, v, i, n, out);
}

// The finite minimum and maximum of n values (+-inf when none), in four
// independent chains. The sign of a zero extreme may differ from one scan's; no
// level depends on it (v - 0.0 == v - -0.0 up to a zero's sign, hi == lo alike).
inline void ohlc_finite_range(const double* v, int64_t n, double* lo_out, double* hi_out) {
#if defined(TR_HAVE_AVX2_KERNELS)
  if (cpu_isa() == CpuIsa::kAvx2) {
    ohlc_finite_range_avx2(v, n, lo_out, hi_out);
    return;
  }
#endif
  double lo[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
  double hi[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  int64_t i = 0;
#if defined(__SSE2__)
  // min_pd(a, b) is a < b ? a : b and max_pd(a, b) is a > b ? a : b, as below.
  const __m128d zero = _mm_setzero_pd();
  __m128d lo2[2] = {_mm_loadu_pd(lo), _mm_loadu_pd(lo + 2)};
  __m128d hi2[2] = {_mm_loadu_pd(hi), _mm_loadu_pd(hi + 2)};
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < 2; ++k) {
      const __m128d x = _mm_loadu_pd(v + i + 2 * k);
      const __m128d finite = _mm_cmpeq_pd(_mm_sub_pd(x, x), zero);
      const __m128d xf = _mm_and_pd(finite, x);
      lo2[k] = _mm_min_pd(_mm_or_pd(xf, _mm_andnot_pd(finite, lo2[k])), lo2[k]);
      hi2[k] = _mm_max_pd(_mm_or_pd(xf, _mm_andnot_pd(finite, hi2[k])), hi2[k]);
    }
  }
  for (int k = 0; k < 2; ++k) {
    _mm_storeu_pd(lo + 2 * k, lo2[k]);
    _mm_storeu_pd(hi + 2 * k, hi2[k]);
  }
#endif
  for (; i < n; ++i) {
    const double x = v[i];
    const bool finite = x - x == 0.0;
    lo[i % 4] = finite && x < lo[i % 4] ? x : lo[i % 4];
    hi[i % 4] = finite && x > hi[i % 4] ? x : hi[i % 4];
  }
  for (int k = 1; k < 4; ++k) {
    lo[0] = lo[k] < lo[0] ? lo[k] : lo[0];
    hi[0] = hi[k] > hi[0] ? hi[k] : hi[0];
  }
  *lo_out = lo[0];
  *hi_out = hi[0];
}

// Lowers *lo and raises *hi to the finite minimum and maximum of v[0, n).
inline void ohlc_widen_range(const double* v, int64_t n, double* lo, double* hi) {
  double a, b;
  ohlc_finite_range(v, n, &a, &b);
  *lo = a < *lo ? a : *lo;
  *hi = b > *hi ? b : *hi;
}

// v[i] = src[i] * k in float64 for i < n (src packed), and *lo, *hi widened to
// their finite range. With AVX2, float64 and float32 sources in one pass whose
// 32-byte stores are what the levels' 32-byte loads read next: at the JKX
// layout a separate gather, even a vectorised one, was no faster than the
// strided one it replaced (its narrower stores stall the range's loads), and
// the one pass took the kernel from 384 to 368 ns per image
// (benchmarks/cpp/ohlc_kernel.cpp, 256 images).
template <typename T>
inline void ohlc_scaled_run(const T* src, int64_t n, double k, double* v, double* lo,
                            double* hi) {
#if defined(TR_HAVE_AVX2_KERNELS)
  if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
    if (cpu_isa() == CpuIsa::kAvx2) {
      ohlc_scaled_run_avx2(src, n, k, v, lo, hi);
      return;
    }
  }
#endif
  for (int64_t i = 0; i < n; ++i) v[i] = Load<T>::convert(src[i]) * k;
  ohlc_widen_range(v, n, lo, hi);
}

// a[i] = |src[i]| in float64 for i < n (src packed), and *hi raised to their
// finite maximum; as ohlc_scaled_run.
template <typename T>
inline void ohlc_abs_run(const T* src, int64_t n, double* a, double* hi) {
#if defined(TR_HAVE_AVX2_KERNELS)
  if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
    if (cpu_isa() == CpuIsa::kAvx2) {
      ohlc_abs_run_avx2(src, n, a, hi);
      return;
    }
  }
#endif
  for (int64_t i = 0; i < n; ++i) a[i] = fabs(Load<T>::convert(src[i]));
  double lo = INFINITY;
  ohlc_widen_range(a, n, &lo, hi);
}

// ohlc_image_levels on the CPU: the image's values gathered into float64 with
// their range, their levels in one vectorised pass (w.raw_levels), then, with
// `bars`, the bars' fields.
template <typename T, typename U>
inline void ohlc_image_levels_cpu(const OhlcParams& p, const OhlcView<T>& in,
                                  const OverlayView<U>& ov, int64_t b, const OhlcCpuScratch& w,
                                  bool bars = true) {
  const int64_t L = p.length;
  const int64_t n = L * (4 + p.num_overlays);
  double* v = w.values;
  const double k = ohlc_image_scale(p, b);
  // The values times k (at()'s products) and their range: packed rows, the
  // usual layout, in one run each (which ranges them as it goes, value_range
  // or not); others gathered, then ranged where no value_range replaces it.
  const bool ranged = p.value_range == nullptr;
  double lo = INFINITY, hi = -INFINITY;
  if (in.stride_f == 1 && in.stride_l == 4) {
    ohlc_scaled_run(in.data + b * in.stride_b, 4 * L, k, v, &lo, &hi);
  } else {
    for (int64_t l = 0; l < L; ++l) {
      for (int64_t f = 0; f < 4; ++f) v[4 * l + f] = in.at(b, l, f) * k;
    }
    if (ranged) ohlc_widen_range(v, 4 * L, &lo, &hi);
  }
  for (int64_t m = 0; m < p.num_overlays; ++m) {
    double* const row = v + 4 * L + m * L;
    if (ov.stride_l == 1) {
      ohlc_scaled_run(ov.data + b * ov.stride_b + m * ov.stride_m, L, k, row, &lo, &hi);
    } else {
      for (int64_t l = 0; l < L; ++l) row[l] = ov.at(b, m, l) * k;
      if (ranged) ohlc_widen_range(row, L, &lo, &hi);
    }
  }
  if (!ranged) {
    lo = p.value_range[2 * b];
    hi = p.value_range[2 * b + 1];
  }
  const OhlcScale s = ohlc_scale(lo, hi, p.price_rows());
  ohlc_levels_cpu(s, v, 4 * L, w.raw_levels);
  ohlc_levels_cpu(s, v + 4 * L, n - 4 * L, w.levels.overlays);
  if (!bars) return;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t* raw = w.raw_levels + 4 * l;
    int64_t* bar = w.levels.bars + l * kBarFields;
    const int64_t high = raw[1], low = raw[2];
    const bool range = high != kNoLevel && low != kNoLevel;
    bar[kBarLow] = range ? (low < high ? low : high) : kNoLevel;
    bar[kBarHigh] = range ? (low < high ? high : low) : kNoLevel;
    bar[kBarOpen] = raw[0];
    bar[kBarClose] = raw[3];
    bar[kBarDown] = v[4 * l + 3] < v[4 * l] ? 1 : 0;
  }
}

// ohlc_image_volume on the CPU, without its branches: |v| gathered (into the
// values, which the points pass no longer needs), their finite maximum, then
// rows = max(1, rint(clamp(|v| * ratio, 0, V))), the same value as its cases.
template <typename V>
inline void ohlc_image_volume_cpu(const OhlcParams& p, const VolumeView<V>& in, int64_t b,
                                  const OhlcCpuScratch& w) {
  const int64_t L = p.length;
  double* a = w.values;
  double vmax = -INFINITY;
  if (in.stride_l == 1) {
    ohlc_abs_run(in.data + b * in.stride_b, L, a, &vmax);
  } else {
    for (int64_t l = 0; l < L; ++l) a[l] = fabs(in.at(b, l));
    double lo = INFINITY;
    ohlc_widen_range(a, L, &lo, &vmax);
  }
  const double rows = static_cast<double>(p.volume_rows);
  const bool usable = vmax > 0.0;
  const double ratio = usable ? rows / vmax : 0.0;
  int64_t l = 0;
#if defined(__SSE2__)
  // The same values two at a time, where the rows fit an int32 (the conversion
  // rounds half to even, as rint does): max(1, rint(t)) is rint(max(t, 1)), and
  // max_pd(t, 1) is t > 1 ? t : 1, which also takes NaN (0 * inf) to 1.
  if (p.volume_rows < (int64_t{1} << 31)) {
    const __m128d vratio = _mm_set1_pd(ratio), vrows = _mm_set1_pd(rows);
    const __m128d one = _mm_set1_pd(1.0), zero = _mm_setzero_pd();
    const __m128i keep = usable ? _mm_set1_epi64x(-1) : _mm_setzero_si128();
    for (; l + 2 <= L; l += 2) {
      const __m128d x = _mm_loadu_pd(a + l);
      const __m128d t = _mm_min_pd(_mm_max_pd(_mm_mul_pd(x, vratio), one), vrows);
      const __m128i n = _mm_unpacklo_epi32(_mm_cvtpd_epi32(t), _mm_setzero_si128());
      const __m128i finite = _mm_castpd_si128(_mm_cmpeq_pd(_mm_sub_pd(x, x), zero));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(w.levels.volume + l),
                       _mm_and_si128(n, _mm_and_si128(finite, keep)));
    }
  }
#endif
  for (; l < L; ++l) {
    double t = a[l] * ratio;  // NaN only as 0 * inf (a denormal maximum): 0 rows, then 1
    t = t > 0.0 ? t : 0.0;
    t = t < rows ? t : rows;
    const auto n = static_cast<int64_t>(round_half_even(t));
    w.levels.volume[l] = usable && a[l] - a[l] == 0.0 ? (n > 1 ? n : 1) : 0;
  }
}

}  // namespace kernels
}  // namespace torch_render
