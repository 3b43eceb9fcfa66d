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
void ohlc_raster_bits_avx2(const OhlcParams& p, const OhlcImageLevels& lv, uint8_t* plane,
                           uint64_t* scratch) {
  const int64_t H = p.height, W = p.width, P = p.price_rows(), L = p.length;
  uint64_t* const layer[3] = {scratch, scratch + (H + 1), scratch + 2 * (H + 1)};
  // Marks set directly; entry H is a sink for marks outside the price rows
  // (never read, cleared with the rest), so that the writes need no branch.
  uint64_t* const direct = scratch + 3 * (H + 1);
  auto direct_row = [&](int64_t a) __attribute__((always_inline)) {
    return static_cast<uint64_t>(a) < static_cast<uint64_t>(P) ? P - 1 - a : H;
  };
  // Price levels [a, c] of column `col` as a run of rows in layer d, clipped to
  // the price rows. Without a branch: a run clipped away (or a > c) toggles one
  // row twice, which leaves it as it was.
  auto run = [&](uint64_t* d, int64_t col, int64_t a, int64_t c) __attribute__((always_inline)) {
    a = a < 0 ? 0 : a;
    a = a > P ? P : a;
    c = c > P - 1 ? P - 1 : c;
    c = c < a - 1 ? a - 1 : c;
    const uint64_t bit = uint64_t{1} << col;
    d[P - 1 - c] ^= bit;
    d[P - a] ^= bit;
  };
  // The marks, with `bw` (the bar width) a compile-time 3 at the JKX layout:
  // the ticks' column masks are then constants shifted, line_columns' division
  // by it a multiplication, and a shallow overlay segment three masks.
  auto marks = [&](auto bw) __attribute__((always_inline)) {
    constexpr bool kJkx = !std::is_same_v<decltype(bw), int64_t>;
    const int64_t k = (static_cast<int64_t>(bw) - 1) / 2;
    const uint64_t open_span = (uint64_t{2} << k) - 1;  // columns x0 .. x0 + k
    const uint64_t close_span = ((uint64_t{1} << k) - 1) << (k + 1);  // x0 + k + 1 .. x0 + 2k
    uint64_t volume_end = 0;
    for (int64_t i = 0; i < L; ++i) {
      const int64_t x0 = i * bw;
      // The levels of open, high, low, close (ohlc_image_levels' bar from them).
      const int64_t* b = lv.raw + 4 * i;
      const int64_t high = b[1], low = b[2];
      if (high != kNoLevel && low != kNoLevel) {
        run(layer[0], x0 + k, low < high ? low : high, low < high ? high : low);
        direct[direct_row(b[0])] |= open_span << x0;  // kNoLevel: the sink
        direct[direct_row(b[3])] |= close_span << x0;
      }
      // The volume run's toggles: at row H - n, and at row H gathered in a
      // register (every bar's would otherwise be one chain through memory);
      // n == 0 toggles row H twice.
      const int64_t n = lv.volume != nullptr ? lv.volume[i] : 0;
      layer[0][H - n] ^= uint64_t{1} << (x0 + k);
      volume_end ^= uint64_t{1} << (x0 + k);
    }
    layer[0][H] ^= volume_end;
    if (p.num_overlays != 1) return;
    const int64_t* y = lv.overlays;
    for (int64_t j = 0; j + 1 < L; ++j) {
      if (y[j] == kNoLevel || y[j + 1] == kNoLevel) continue;
      const int64_t col = j * bw + k;
      const int64_t dy = y[j + 1] - y[j];
      if constexpr (kJkx) {
        // line_columns at dx = 3 in closed form. Shallow (|dy| <= 2): column i
        // at level y0 + sign * floor((2 |dy| i + 3) / 6): |dy| = 0: 0 0 0 0,
        // 1: 0 0 1 1, 2: 0 1 1 2; three row masks of columns col .. col + 3,
        // packed as nibbles in kShallow (12 bits per |dy|).
        const int64_t y0 = y[j], ady = dy < 0 ? -dy : dy, sign = dy < 0 ? -1 : 1;
        if (ady <= 2) {
          constexpr uint64_t kShallow = 0x8610C300FULL;
          const uint64_t m = kShallow >> (12 * ady);
          direct[direct_row(y0)] |= (m & 0xF) << col;
          direct[direct_row(y0 + sign)] |= ((m >> 4) & 0xF) << col;
          direct[direct_row(y0 + 2 * sign)] |= ((m >> 8) & 0xF) << col;
          continue;
        }
        // Steep: column i holds offsets [t(i - 1), t(i) - 1] from y0 (t(-1) = 0,
        // column 3 up to |dy|), t(i) = ceil(|dy| (2i + 1) / 6).
        const int64_t t0 = (ady + 5) / 6, t1 = (ady + 1) / 2, t2 = (5 * ady + 5) / 6;
        uint64_t* const d = layer[1 + (j & 1)];
        auto steep = [&](int64_t x, int64_t s, int64_t e) __attribute__((always_inline)) {
          run(d, col + x, y0 + (sign > 0 ? s : -e), y0 + (sign > 0 ? e : -s));
        };
        steep(0, 0, t0 - 1);
        steep(1, t0, t1 - 1);
        steep(2, t1, t2 - 1);
        steep(3, t2, ady);
        continue;
      }
      uint64_t* const d = layer[1 + (j & 1)];
      line_columns(
          static_cast<int64_t>(bw), y[j], y[j + 1],
          [&](int64_t x, int64_t a) { direct[direct_row(a)] |= uint64_t{1} << (col + x); },
          [&](int64_t x, int64_t a, int64_t c) { run(d, col + x, a, c); });
    }
    if (y[L - 1] != kNoLevel) direct[direct_row(y[L - 1])] |= uint64_t{1} << ((L - 1) * bw + k);
  };
  if (p.bar_width == 3) {
    marks(std::integral_constant<int64_t, 3>{});
  } else {
    marks(p.bar_width);
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
  const __m256i fgv = _mm256_set1_epi8(static_cast<char>(fg));
  uint64_t acc0 = 0, acc1 = 0, acc2 = 0, mask = 0;  // mask: the last row's
  // Row r's 64 pixels from its 64-bit mask.
  auto row = [&](int64_t r, __m256i* half0, __m256i* half1) __attribute__((always_inline)) {
    acc0 ^= layer[0][r];
    acc1 ^= layer[1][r];
    acc2 ^= layer[2][r];
    mask = acc0 | acc1 | acc2 | direct[r];
    const __m256i v = _mm256_set1_epi64x(static_cast<int64_t>(mask));
    const __m256i m0 = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, lo), bit), bit);
    const __m256i m1 = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, hi), bit), bit);
    *half0 = _mm256_blendv_epi8(bgv, fgv, m0);
    *half1 = _mm256_blendv_epi8(bgv, fgv, m1);
  };
  // Rows whose 64 bytes from the row's start lie inside the plane are stored
  // whole: what lies past the row is the next rows', written after this one.
  const int64_t whole = H * W >= 64 ? (H * W - 64) / W + 1 : 0;
  int64_t r = 0;
  for (; r < whole; ++r) {
    __m256i half0, half1;
    row(r, &half0, &half1);
    uint8_t* const dst = plane + r * W;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), half0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32), half1);
  }
  for (; r < H; ++r) {
    // The plane's last rows: nothing past its end. With W >= 32, bytes 0 .. 31
    // and W - 32 .. W - 1, the latter from the mask shifted down by W - 32 (no
    // bounce through a buffer, whose overlapping read could not be forwarded
    // from the two stores).
    __m256i half0, half1;
    row(r, &half0, &half1);
    uint8_t* const dst = plane + r * W;
    if (W >= 32) {
      const __m256i v = _mm256_set1_epi64x(static_cast<int64_t>(mask >> (W - 32)));
      const __m256i m = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, lo), bit), bit);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), half0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + W - 32), _mm256_blendv_epi8(bgv, fgv, m));
    } else {
      alignas(32) uint8_t px[64];
      _mm256_store_si256(reinterpret_cast<__m256i*>(px), half0);
      _mm256_store_si256(reinterpret_cast<__m256i*>(px + 32), half1);
      std::memcpy(dst, px, static_cast<size_t>(W));
    }
  }
  // Clean for the next image: the whole scratch at once (a memset of 2 KiB at
  // the JKX layout), not each row's four words as they are read.
  std::memset(scratch, 0, static_cast<size_t>(ohlc_bits_scratch(p)) * sizeof(uint64_t));
}

}  // namespace kernels
}  // namespace torch_render

#pragma GCC pop_options

#endif  // TR_HAVE_AVX2_KERNELS
