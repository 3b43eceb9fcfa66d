// render_ohlc on the CPU, the raster of one image from its levels: the plane
// filled with the background, then the foreground written into each mark's runs
// of pixels: per bar its high-low and volume columns and its ticks or body, per
// overlay segment Pillow's line column by column. Marks only set the
// foreground, so the order of the writes does not matter. The marked set is the
// one ohlc_column_runs gives each column, which the CUDA per-pixel test uses
// (tests/cpp/test_render_ohlc.cpp checks both bit for bit).
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/common/cpu_isa.h"
#include "kernels/common/cpu_memory.h"
#include "kernels/cpu/render_ohlc_bits.h"
#include "kernels/cpu/render_ohlc_levels.h"  // OhlcImageLevels
#include "kernels/render_ohlc.h"

namespace torch_render {
namespace kernels {

// Pillow's width-1 line from (0, y0) to (dx, y1), dx >= 1: the levels
// line_column_levels gives column i, for i = 0 .. dx, as point(i, y) when the
// line is shallow (one level per column) and run(i, lo, hi) when it is steep.
// Its floor/ceil quotients are stepped by their remainders (one division for a
// steep line, none for a shallow one) instead of dividing per column, and the
// steps are arithmetic, not branches: which way they go is data, and
// mispredicted branches were most of the overlay's cost.
// Always inlined: the AVX2 bitmask raster passes lambdas compiled for AVX2, which
// GCC inlines only into AVX2 code, so this loop must become part of its caller
// (else each column is a call).
template <typename Point, typename Run>
__attribute__((always_inline)) inline void line_columns(int64_t dx, int64_t y0, int64_t y1,
                                                        Point&& point, Run&& run) {
  int64_t dy = y1 - y0;
  const int64_t sign = dy < 0 ? -1 : 1;
  dy = dy < 0 ? -dy : dy;
  const int64_t den = 2 * dx;
  if (dx > dy) {
    // Column i: level y0 + sign * floor((2 dy i + dx) / (2 dx)), remainder rem.
    int64_t y = y0, rem = dx;
    for (int64_t i = 0; i <= dx; ++i) {
      point(i, y);
      rem += 2 * dy;
      const int64_t carry = -static_cast<int64_t>(rem >= den);  // 0 or all ones
      y += sign & carry;
      rem -= den & carry;
    }
    return;
  }
  // Column i holds steps [t(i - 1), t(i) - 1] (t(-1) = 0, t(dx) - 1 = dy), where
  // t(i) = ceil(dy (2i + 1) / (2 dx)) = q + (rem > 0) and dy = qs dx + rs.
  const int64_t qs = dy / dx;
  const int64_t rs = dy - qs * dx;
  int64_t q = qs >> 1, rem = (qs & 1) * dx + rs;
  int64_t j0 = 0;
  for (int64_t i = 0; i <= dx; ++i) {
    const int64_t j1 = i < dx ? q + (rem > 0) - 1 : dy;
    const int64_t a = y0 + sign * j0;
    const int64_t c = y0 + sign * j1;
    run(i, sign > 0 ? a : c, sign > 0 ? c : a);
    j0 = j1 + 1;
    q += qs;
    rem += 2 * rs;
    const int64_t carry = rem >= den;
    q += carry;
    rem -= den & -carry;
  }
}

// Writes one image's marks into its plane, filled with the background already.
// It holds copies of the parameters, not a reference to them: a uint8 store may
// alias anything the compiler cannot see is local, so fields read through a
// reference are reloaded after every pixel written.
template <typename OutT>
struct OhlcCpuRaster {
  OutT* plane;
  OutT fg;
  int64_t W, H, P, L, bw, k;  // width, height, price rows, bars, bar width, centre
  bool candle;

  // Rows [r0, r1] of column `col` (r0 <= r1, inside the plane). The first K rows
  // are written unconditionally, repeating row r1 past the run's end, and only
  // longer runs loop: a data-dependent loop exit per run mispredicts, and most
  // runs are short (K is chosen per kind of mark).
  template <int K>
  void column(int64_t col, int64_t r0, int64_t r1) const {
    OutT* const px = plane + col;
    const int64_t first = r0 * W, last = r1 * W;
    for (int t = 0; t < K; ++t) px[first + t * W < last ? first + t * W : last] = fg;
    for (int64_t e = first + K * W; e <= last; e += W) px[e] = fg;
  }
  // Price levels [a, c] of column `col`, clipped to the price rows.
  template <int K>
  void price(int64_t col, int64_t a, int64_t c) const {
    a = a < 0 ? 0 : a;
    c = c > P - 1 ? P - 1 : c;
    if (a <= c) column<K>(col, P - 1 - c, P - 1 - a);
  }
  // Level a in columns [x0, x1] (one row, x0 <= x1), when it is a price row; the
  // same unconditional start as column() (ticks are bar_width / 2 wide).
  void tick(int64_t x0, int64_t x1, int64_t a) const {
    if (static_cast<uint64_t>(a) >= static_cast<uint64_t>(P)) return;  // also kNoLevel
    OutT* const row = plane + (P - 1 - a) * W;
    row[x0] = fg;
    row[x0 + 1 < x1 ? x0 + 1 : x1] = fg;
    for (int64_t x = x0 + 2; x <= x1; ++x) row[x] = fg;
  }

  // The marks of bar i (ohlc_bar_column_runs' bar, candle and volume runs).
  void bar(const OhlcImageLevels& lv, int64_t i) const {
    const int64_t x0 = i * bw;
    const int64_t* b = lv.bars + i * kBarFields;
    const int64_t low = b[kBarLow], high = b[kBarHigh], o = b[kBarOpen], c = b[kBarClose];
    const int64_t volume = lv.volume != nullptr ? lv.volume[i] : 0;
    if (low != kNoLevel) {
      price<16>(x0 + k, low, high);
      if (!candle) {
        tick(x0, x0 + k, o);
        if (k > 0) tick(x0 + k + 1, x0 + 2 * k, c);
      } else if (o != kNoLevel && c != kNoLevel) {
        const int64_t lo = o < c ? o : c, hi = o < c ? c : o;
        // Filled body, or the sides of the outline and its top and bottom rows.
        const bool filled = b[kBarDown] != 0;
        for (int64_t off = 0; off <= 2 * k; ++off) {
          if (filled || off == 0 || off == 2 * k) price<8>(x0 + off, lo, hi);
        }
        if (!filled && k > 0) {
          tick(x0 + 1, x0 + 2 * k - 1, lo);
          tick(x0 + 1, x0 + 2 * k - 1, hi);
        }
      }
    }
    if (volume > 0) column<8>(x0 + k, H - volume, H - 1);
  }

  // Overlay m: segment j joins the centre columns of bars j and j + 1; the last
  // value is a dot even where segment L - 2 is missing.
  void overlay(const OhlcImageLevels& lv, int64_t m) const {
    const int64_t* y = lv.overlays + m * L;
    for (int64_t j = 0; j + 1 < L; ++j) {
      const int64_t y0 = y[j], y1 = y[j + 1];
      if (y0 == kNoLevel || y1 == kNoLevel) continue;
      const int64_t col = j * bw + k;
      line_columns(
          bw, y0, y1,
          [&](int64_t x, int64_t a) {
            if (static_cast<uint64_t>(a) < static_cast<uint64_t>(P)) {
              plane[(P - 1 - a) * W + col + x] = fg;
            }
          },
          [&](int64_t x, int64_t a, int64_t c) { price<2>(col + x, a, c); });
    }
    if (y[L - 1] != kNoLevel) price<1>((L - 1) * bw + k, y[L - 1], y[L - 1]);
  }
};

// Whether ohlc_raster_cpu draws with the uint8 bitmask raster
// (kernels/cpu/render_ohlc_bits.h): uint8, parameters it fits, its scratch
// `bits` and the raw levels given, and AVX2. It reads lv.raw, not lv.bars.
template <typename OutT>
inline bool ohlc_bits_raster_used(const OhlcParams& p, const OhlcImageLevels& lv,
                                  const uint64_t* bits) {
#if defined(TR_HAVE_AVX2_KERNELS)
  return std::is_same_v<OutT, uint8_t> && bits != nullptr && lv.raw != nullptr &&
         ohlc_bits_fit(p) && cpu_isa() == CpuIsa::kAvx2;
#else
  (void)p, (void)lv, (void)bits;
  return false;
#endif
}

// Raster of one image into its [H, W] plane from its levels; `bits`: the scratch
// of the uint8 bitmask raster, or null.
template <typename OutT>
inline void ohlc_raster_cpu(const OhlcParams& p, const OhlcImageLevels& lv, OutT* plane,
                            uint64_t* bits = nullptr) {
#if defined(TR_HAVE_AVX2_KERNELS)
  if constexpr (std::is_same_v<OutT, uint8_t>) {
    if (ohlc_bits_raster_used<OutT>(p, lv, bits)) {
      ohlc_raster_bits_avx2(p, lv, plane, bits);
      return;
    }
  }
#endif
  fill_value(plane, p.height * p.width, Store<OutT>::convert(p.background));
  const OhlcCpuRaster<OutT> raster{plane,        Store<OutT>::convert(p.foreground),
                                   p.width,      p.height,
                                   p.price_rows(), p.length,
                                   p.bar_width,  p.centre(),
                                   p.candle};
  const OhlcImageLevels levels = lv;
  for (int64_t i = 0; i < p.length; ++i) raster.bar(levels, i);
  for (int64_t m = 0; m < p.num_overlays; ++m) raster.overlay(levels, m);
}

}  // namespace kernels
}  // namespace torch_render
