// render_ohlc's bitmask raster (kernels/cpu/render_ohlc_bits.h), compiled with
// the baseline flags of the build: only the code below the pragma uses AVX2, and
// ohlc_raster_cpu calls it only where the CPU has AVX2.
//
// Row r of the image is a 64-bit mask of its marked columns: the OR of three
// layers of vertical runs, each kept as XOR differences (a run of rows r0..r1
// in column c toggles bit c at rows r0 and r1 + 1, and the prefix XOR over the
// rows restores it; runs of one layer never share a pixel, so none cancels
// another), and of the marks set directly (ticks, points of shallow lines).
// Layer 0: each bar's high-low run and volume run (same column, rows apart);
// layers 1 and 2: the steep runs of even and odd overlay segments (segment j
// spans columns c_j .. c_j + bar_width, so segments of one parity are apart).
#include "kernels/cpu/render_ohlc_bits.h"

#if defined(TR_HAVE_AVX2_KERNELS)

#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/cpu/render_ohlc_raster.h"  // line_columns

#pragma GCC push_options
#pragma GCC target("avx2")

namespace torch_render {
namespace kernels {
namespace {

// Columns x0 .. x1 (0 <= x0 <= x1 < 64).
inline uint64_t column_span(int64_t x0, int64_t x1) {
  return (~uint64_t{0} >> (63 - x1)) & (~uint64_t{0} << x0);
}

}  // namespace

void ohlc_raster_bits_avx2(const OhlcParams& p, const OhlcImageLevels& lv, uint8_t* plane,
                           uint64_t* scratch) {
  const int64_t H = p.height, W = p.width, P = p.price_rows(), L = p.length;
  const int64_t bw = p.bar_width, k = p.centre();
  uint64_t* const layer[3] = {scratch, scratch + (H + 1), scratch + 2 * (H + 1)};
  uint64_t* const direct = scratch + 3 * (H + 1);
  // Price levels [a, c] of column `col` as a run of rows in layer d.
  auto run = [&](uint64_t* d, int64_t col, int64_t a, int64_t c) __attribute__((always_inline)) {
    a = a < 0 ? 0 : a;
    c = c > P - 1 ? P - 1 : c;
    if (a > c) return;
    d[P - 1 - c] ^= uint64_t{1} << col;
    d[P - a] ^= uint64_t{1} << col;
  };
  // Level a in columns [x0, x1], when it is a price row.
  auto tick = [&](int64_t x0, int64_t x1, int64_t a) {
    if (static_cast<uint64_t>(a) < static_cast<uint64_t>(P)) {
      direct[P - 1 - a] |= column_span(x0, x1);
    }
  };
  for (int64_t i = 0; i < L; ++i) {
    const int64_t x0 = i * bw;
    const int64_t* b = lv.bars + i * kBarFields;
    if (b[kBarLow] != kNoLevel) {
      run(layer[0], x0 + k, b[kBarLow], b[kBarHigh]);
      tick(x0, x0 + k, b[kBarOpen]);
      if (k > 0) tick(x0 + k + 1, x0 + 2 * k, b[kBarClose]);
    }
    const int64_t n = lv.volume != nullptr ? lv.volume[i] : 0;  // n == 0 toggles twice
    layer[0][H - n] ^= uint64_t{1} << (x0 + k);
    layer[0][H] ^= uint64_t{1} << (x0 + k);
  }
  // The overlay's segments; `dx` (the bar width) a compile-time 3 at the JKX
  // layout, so line_columns' division by it is a multiplication.
  auto overlay = [&](auto dx) {
    const int64_t* y = lv.overlays;
    for (int64_t j = 0; j + 1 < L; ++j) {
      if (y[j] == kNoLevel || y[j + 1] == kNoLevel) continue;
      const int64_t col = j * bw + k;
      uint64_t* const d = layer[1 + (j & 1)];
      line_columns(
          static_cast<int64_t>(dx), y[j], y[j + 1],
          [&](int64_t x, int64_t a) {
            if (static_cast<uint64_t>(a) < static_cast<uint64_t>(P)) {
              direct[P - 1 - a] |= uint64_t{1} << (col + x);
            }
          },
          [&](int64_t x, int64_t a, int64_t c) { run(d, col + x, a, c); });
    }
    if (y[L - 1] != kNoLevel) tick((L - 1) * bw + k, (L - 1) * bw + k, y[L - 1]);
  };
  if (p.num_overlays == 1) {
    if (bw == 3) {
      overlay(std::integral_constant<int64_t, 3>{});
    } else {
      overlay(bw);
    }
  }
  // Bytes 8j .. 8j + 7 of a 32-byte half take byte j of the mask (per 128-bit
  // lane), then each keeps its own bit.
  const __m256i lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2,
                                      2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i hi = _mm256_add_epi8(lo, _mm256_set1_epi8(4));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  const uint8_t bg = Store<uint8_t>::convert(p.background);
  const uint8_t fg = Store<uint8_t>::convert(p.foreground);
  const __m256i bgv = _mm256_set1_epi8(static_cast<char>(bg));
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(bg ^ fg));
  uint64_t acc0 = 0, acc1 = 0, acc2 = 0;
  for (int64_t r = 0; r < H; ++r) {
    acc0 ^= layer[0][r];
    acc1 ^= layer[1][r];
    acc2 ^= layer[2][r];
    const uint64_t row = acc0 | acc1 | acc2 | direct[r];
    layer[0][r] = layer[1][r] = layer[2][r] = direct[r] = 0;  // clean for the next image
    const __m256i v = _mm256_set1_epi64x(static_cast<int64_t>(row));
    const __m256i m0 = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, lo), bit), bit);
    const __m256i m1 = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, hi), bit), bit);
    const __m256i half0 = _mm256_xor_si256(bgv, _mm256_and_si256(m0, flip));
    const __m256i half1 = _mm256_xor_si256(bgv, _mm256_and_si256(m1, flip));
    uint8_t* const dst = plane + r * W;
    if (r * W + 64 <= H * W) {
      // 64 bytes from the row's start: what lies past the row is the next
      // rows', which are written after this one.
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), half0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32), half1);
    } else {
      alignas(32) uint8_t px[64];  // the plane's last rows: nothing past its end
      _mm256_store_si256(reinterpret_cast<__m256i*>(px), half0);
      _mm256_store_si256(reinterpret_cast<__m256i*>(px + 32), half1);
      std::memcpy(dst, px, static_cast<size_t>(W));
    }
  }
  layer[0][H] = layer[1][H] = layer[2][H] = 0;
}

}  // namespace kernels
}  // namespace torch_render

#pragma GCC pop_options

#endif  // TR_HAVE_AVX2_KERNELS
