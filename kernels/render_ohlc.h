// render_ohlc: parameters and the per-element bodies shared by every backend.
//
// Two passes (DESIGN §2, "OHLC charts"):
//   1. points: per image, the price scale and the integer level of every open,
//      high, low, close and overlay value (float64, round half to even), and the
//      rows of every volume bar; O(B·L) work.
//   2. raster: a column belongs to one bar, so its marks are O(1) runs of rows:
//      the bar's marks, the volume bar, and per overlay at most three runs of
//      Pillow's integer line (computed in O(1), not walked).
// ohlc_column_runs gives the runs of one column: a CUDA thread tests its pixel's
// row against them. The CPU runs both passes image by image and writes the same
// runs mark by mark (kernels/render_ohlc_cpu.h); tests/cpp/test_render_ohlc.cpp
// checks that both give the same bits.
#pragma once

#include "kernels/common/host_device.h"
#include "kernels/common/tensor_io.h"
#include "kernels/line_math.h"  // is_finite

namespace torch_render {
namespace kernels {

// Level of a value that draws nothing (missing data or no usable price scale).
constexpr int64_t kNoLevel = INT64_MIN;
// Levels are clamped to +-2^40: far outside any image, so clipping is unchanged,
// and small enough that the line arithmetic below stays inside int64
// (2 * 2^41 * bar_width with bar_width <= kMaxBarWidth).
constexpr double kLevelClamp = 1099511627776.0;
constexpr int64_t kMaxBarWidth = int64_t{1} << 16;

// Fields of one bar in the points pass's output.
enum OhlcBarField : int64_t {
  kBarLow = 0,    // min(level(low), level(high)), kNoLevel when either is missing
  kBarHigh = 1,   // max(level(low), level(high))
  kBarOpen = 2,   // level(open) or kNoLevel
  kBarClose = 3,  // level(close) or kNoLevel
  kBarDown = 4,   // 1 when close < open (both finite), else 0
  kBarFields = 5,
};

struct OhlcParams {
  int64_t batch = 0;         // B
  int64_t length = 0;        // L
  int64_t num_overlays = 0;  // M
  int64_t height = 0;        // H
  int64_t width = 0;         // W >= L * bar_width
  int64_t bar_width = 3;
  int64_t volume_rows = 0;   // V
  bool candle = false;
  float background = 1.0f;
  float foreground = 0.0f;
  // CPU: write the uint8 bitmask raster's planes with non-temporal stores (the
  // binding sets it for outputs too large to stay in cache, kStreamOutputBytes).
  bool stream_output = false;

  // Explicit price ranges, float64 [B, 2] contiguous; null: from the data.
  const double* value_range = nullptr;
  // Per-image factors, float64 [B] contiguous: every price and overlay value of
  // image b is multiplied by scale[b] (in float64) before anything else, as the
  // JKX preset's 1 / close_0; null: 1 (x * 1.0 is x, NaN and infinities included).
  const double* scale = nullptr;

  // Workspace written by the points pass.
  int64_t* bars = nullptr;      // [B, L, kBarFields]
  int64_t* overlays = nullptr;  // [B, M, L] levels (kNoLevel where missing)
  int64_t* volume = nullptr;    // [B, L] rows of each volume bar (0: none); null: no panel

  TR_HD int64_t price_rows() const {
    return volume_rows > 0 ? height - volume_rows - 1 : height;
  }
  TR_HD int64_t centre() const { return (bar_width - 1) / 2; }
};

// Strided views of the inputs.
template <typename T>
struct OhlcView {  // [B, L, 4]
  const T* data;
  int64_t stride_b, stride_l, stride_f;
  TR_HD double at(int64_t b, int64_t l, int64_t f) const {
    return Load<T>::convert(data[b * stride_b + l * stride_l + f * stride_f]);
  }
};

template <typename T>
struct OverlayView {  // [B, M, L]; data null when M == 0
  const T* data;
  int64_t stride_b, stride_m, stride_l;
  TR_HD double at(int64_t b, int64_t m, int64_t l) const {
    return Load<T>::convert(data[b * stride_b + m * stride_m + l * stride_l]);
  }
};

template <typename T>
struct VolumeView {  // [B, L]
  const T* data;
  int64_t stride_b, stride_l;
  TR_HD double at(int64_t b, int64_t l) const {
    return Load<T>::convert(data[b * stride_b + l * stride_l]);
  }
};

// The price scale of one image: level(v) = rint((v - lo) * scale), or flat_level
// for every finite value when hi == lo; `usable` is false when lo or hi is not
// finite (no finite price, or a non-finite value_range), which draws nothing.
struct OhlcScale {
  double lo;
  double scale;
  int64_t flat_level;
  bool flat;
  bool usable;
};

TR_HD OhlcScale ohlc_scale(double lo, double hi, int64_t price_rows) {
  OhlcScale s;
  s.lo = lo;
  s.usable = is_finite(lo) && is_finite(hi);
  s.flat = hi == lo;
  s.flat_level = (price_rows - 1) / 2;
  s.scale = s.usable && !s.flat ? static_cast<double>(price_rows - 1) / (hi - lo) : 0.0;
  return s;
}

// The factor of image b's prices (OhlcParams::scale).
TR_HD double ohlc_image_scale(const OhlcParams& p, int64_t b) {
  return p.scale != nullptr ? p.scale[b] : 1.0;
}

// rint(t) in the default rounding mode (half to even). On the host without SSE4.1
// (the baseline x86-64 build) rint is a libm call, a large share of the points
// pass; below 2^52 adding and subtracting 2^52 rounds the same way, exactly (IEEE
// double arithmetic without excess precision, no -ffast-math), and larger
// magnitudes are integers already.
TR_HD double round_half_even(double t) {
#if defined(__CUDA_ARCH__) || defined(__SSE4_1__)
  return rint(t);
#else
  constexpr double kTwo52 = 4503599627370496.0;
  const double a = fabs(t);
  return a < kTwo52 ? copysign((a + kTwo52) - kTwo52, t) : t;
#endif
}

// level(v) = round_half_even((v - lo) * ((P - 1) / (hi - lo))), in this order, in
// float64; then clamped to +-kLevelClamp.
TR_HD int64_t ohlc_level(const OhlcScale& s, double v) {
  if (!s.usable || !is_finite(v)) return kNoLevel;
  if (s.flat) return s.flat_level;
  double t = (v - s.lo) * s.scale;
  // NaN only as inf * 0 (a scale that underflowed or P == 1): every value is level 0.
  if (!(t == t)) return 0;
  t = round_half_even(t);
  t = t < -kLevelClamp ? -kLevelClamp : (t > kLevelClamp ? kLevelClamp : t);
  return static_cast<int64_t>(t);
}

// Points pass for image b: price scale, then the levels of every bar ([L,
// kBarFields] at `bars`) and overlay ([M, L] at `overlays`). The CPU writes them
// to a per-thread scratch, CUDA to the workspace (ohlc_points_body).
template <typename T, typename U>
TR_HD void ohlc_image_levels(const OhlcParams& p, const OhlcView<T>& in, const OverlayView<U>& ov,
                             int64_t b, int64_t* bars, int64_t* overlays) {
  const double k = ohlc_image_scale(p, b);
  auto price = [&](int64_t l, int64_t f) { return in.at(b, l, f) * k; };
  auto overlay = [&](int64_t m, int64_t l) { return ov.at(b, m, l) * k; };
  double lo = INFINITY;
  double hi = -INFINITY;
  if (p.value_range != nullptr) {
    lo = p.value_range[2 * b];
    hi = p.value_range[2 * b + 1];
  } else {
    for (int64_t l = 0; l < p.length; ++l) {
      for (int64_t f = 0; f < 4; ++f) {
        const double v = price(l, f);
        if (is_finite(v)) {
          lo = v < lo ? v : lo;
          hi = v > hi ? v : hi;
        }
      }
    }
    for (int64_t m = 0; m < p.num_overlays; ++m) {
      for (int64_t l = 0; l < p.length; ++l) {
        const double v = overlay(m, l);
        if (is_finite(v)) {
          lo = v < lo ? v : lo;
          hi = v > hi ? v : hi;
        }
      }
    }
  }
  const OhlcScale s = ohlc_scale(lo, hi, p.price_rows());
  for (int64_t l = 0; l < p.length; ++l) {
    const double open = price(l, 0);
    const double close = price(l, 3);
    const int64_t high = ohlc_level(s, price(l, 1));
    const int64_t low = ohlc_level(s, price(l, 2));
    int64_t* bar = bars + l * kBarFields;
    const bool range = high != kNoLevel && low != kNoLevel;
    bar[kBarLow] = range ? (low < high ? low : high) : kNoLevel;
    bar[kBarHigh] = range ? (low < high ? high : low) : kNoLevel;
    bar[kBarOpen] = ohlc_level(s, open);
    bar[kBarClose] = ohlc_level(s, close);
    bar[kBarDown] = close < open ? 1 : 0;
  }
  for (int64_t m = 0; m < p.num_overlays; ++m) {
    int64_t* levels = overlays + m * p.length;
    for (int64_t l = 0; l < p.length; ++l) levels[l] = ohlc_level(s, overlay(m, l));
  }
}

template <typename T, typename U>
TR_HD void ohlc_points_body(const OhlcParams& p, const OhlcView<T>& in, const OverlayView<U>& ov,
                            int64_t b) {
  ohlc_image_levels(p, in, ov, b, p.bars + b * p.length * kBarFields,
                    p.overlays + b * p.num_overlays * p.length);
}

// Volume pass for image b: bar l rises n = round_half_even(|v| * (V / max|v|))
// rows, at least one (Pillow's line from level 0 to level n - 1 sets level 0 for
// n = 0); non-finite volumes and a zero or missing maximum draw nothing (0).
// Writes [L] rows at `rows`.
template <typename T>
TR_HD void ohlc_image_volume(const OhlcParams& p, const VolumeView<T>& in, int64_t b,
                             int64_t* rows) {
  double vmax = -INFINITY;
  for (int64_t l = 0; l < p.length; ++l) {
    const double v = fabs(in.at(b, l));
    if (is_finite(v)) vmax = v > vmax ? v : vmax;
  }
  const int64_t V = p.volume_rows;
  const bool usable = vmax > 0.0;
  const double ratio = usable ? static_cast<double>(V) / vmax : 0.0;
  for (int64_t l = 0; l < p.length; ++l) {
    const double v = fabs(in.at(b, l));
    if (!usable || !is_finite(v)) {
      rows[l] = 0;
      continue;
    }
    const double t = v * ratio;  // NaN only as 0 * inf (a denormal maximum)
    int64_t n = 0;
    if (t >= static_cast<double>(V)) {
      n = V;
    } else if (t > 0.0) {
      n = static_cast<int64_t>(round_half_even(t));
    }
    rows[l] = n > 1 ? n : 1;
  }
}

template <typename T>
TR_HD void ohlc_volume_body(const OhlcParams& p, const VolumeView<T>& in, int64_t b) {
  ohlc_image_volume(p, in, b, p.volume + b * p.length);
}

// floor(a / d) and ceil(a / d) for d > 0.
TR_HD int64_t floor_div(int64_t a, int64_t d) {
  const int64_t q = a / d;
  return (a % d != 0 && a < 0) ? q - 1 : q;
}
TR_HD int64_t ceil_div(int64_t a, int64_t d) {
  const int64_t q = a / d;
  return (a % d != 0 && a > 0) ? q + 1 : q;
}

// The levels [*lo, *hi] that Pillow's width-1 line (Draw.c's Bresenham, end point
// included) from (0, y0) to (dx, y1), dx >= 1, sets in column i (0 <= i <= dx).
// Its loop steps y by floor((2 dy i + dx) / (2 dx)) in column i when dx > dy, and
// steps x by floor((2 dx j + dy) / (2 dy)) at row step j otherwise; the second is
// inverted here into the run of j of one column.
TR_HD void line_column_levels(int64_t dx, int64_t y0, int64_t y1, int64_t i, int64_t* lo,
                              int64_t* hi) {
  int64_t dy = y1 - y0;
  const bool down = dy < 0;
  dy = down ? -dy : dy;
  int64_t j0, j1;
  if (dx > dy) {
    j0 = j1 = floor_div(2 * dy * i + dx, 2 * dx);
  } else {
    j0 = ceil_div(2 * dy * i - dy, 2 * dx);
    j1 = ceil_div(2 * dy * i + dy, 2 * dx) - 1;
    j0 = j0 < 0 ? 0 : j0;
    j1 = j1 > dy ? dy : j1;
  }
  *lo = down ? y0 - j1 : y0 + j0;
  *hi = down ? y0 - j0 : y0 + j1;
}

// Calls emit(row_begin, row_end) (inclusive image rows, non-empty, inside the
// image) for every run of marked pixels of column off of bar i (0 <= i < L,
// 0 <= off < bar_width) of image b. Runs may overlap; a pixel is marked when any
// run holds it. The CPU walks (i, off) directly: no division per column.
template <typename Emit>
TR_HD void ohlc_bar_column_runs(const OhlcParams& p, int64_t b, int64_t i, int64_t off,
                                Emit& emit) {
  const int64_t bw = p.bar_width;
  const int64_t k = p.centre();
  const int64_t P = p.price_rows();
  // Price levels [a, c] clipped to 0 .. P - 1, as rows.
  auto price = [&](int64_t a, int64_t c) {
    if (a == kNoLevel || c == kNoLevel) return;
    a = a < 0 ? 0 : a;
    c = c > P - 1 ? P - 1 : c;
    if (a <= c) emit(P - 1 - c, P - 1 - a);
  };
  const int64_t* bar = p.bars + (b * p.length + i) * kBarFields;
  const bool range = bar[kBarLow] != kNoLevel;
  if (range && off == k) price(bar[kBarLow], bar[kBarHigh]);  // high-low bar or wick
  if (!p.candle) {
    if (range && off <= k) price(bar[kBarOpen], bar[kBarOpen]);
    if (range && off > k && off <= 2 * k) price(bar[kBarClose], bar[kBarClose]);
  } else if (range && off <= 2 * k && bar[kBarOpen] != kNoLevel && bar[kBarClose] != kNoLevel) {
    const int64_t o = bar[kBarOpen];
    const int64_t c = bar[kBarClose];
    const int64_t body_lo = o < c ? o : c;
    const int64_t body_hi = o < c ? c : o;
    if (bar[kBarDown] != 0 || off == 0 || off == 2 * k) {
      price(body_lo, body_hi);  // filled body, or a side of the outline
    } else {
      price(body_lo, body_lo);  // top and bottom of the outline
      price(body_hi, body_hi);
    }
  }
  // Overlays: segment j joins centre columns c_j and c_{j+1} = c_j + bw; this
  // column is column x of segment j (x == 0: also the end of segment j - 1).
  if (p.num_overlays > 0 && (off >= k || i > 0)) {
    const int64_t j = off >= k ? i : i - 1;
    const int64_t x = off >= k ? off - k : off - k + bw;
    for (int64_t m = 0; m < p.num_overlays; ++m) {
      const int64_t* lv = p.overlays + (b * p.num_overlays + m) * p.length;
      int64_t a, c;
      if (j + 1 < p.length && lv[j] != kNoLevel && lv[j + 1] != kNoLevel) {
        line_column_levels(bw, lv[j], lv[j + 1], x, &a, &c);
        price(a, c);
      }
      if (x == 0 && j >= 1 && j < p.length && lv[j - 1] != kNoLevel && lv[j] != kNoLevel) {
        line_column_levels(bw, lv[j - 1], lv[j], bw, &a, &c);  // segment j - 1's end
        price(a, c);
      }
      if (x == 0 && j == p.length - 1 && lv[j] != kNoLevel) price(lv[j], lv[j]);
    }
  }
  // Volume bar: levels 0 .. n - 1 of the panel, its bottom row being level 0.
  if (p.volume != nullptr && off == k) {
    const int64_t n = p.volume[b * p.length + i];
    if (n > 0) emit(p.height - n, p.height - 1);
  }
}

// The same for image column `col` (columns past the last bar have no runs).
template <typename Emit>
TR_HD void ohlc_column_runs(const OhlcParams& p, int64_t b, int64_t col, Emit& emit) {
  const int64_t i = col / p.bar_width;
  if (i < p.length) ohlc_bar_column_runs(p, b, i, col - i * p.bar_width, emit);
}

}  // namespace kernels
}  // namespace torch_render
