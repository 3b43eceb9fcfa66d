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
// At bar width 3 (the JKX layout) the marks' rows are computed four bars or
// segments per vector, and a steep segment's runs are set row by row instead:
// then only layer 0 and the direct marks are read and cleared.
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

// int64 lanes (AVX2 has no int64 min, max or abs).
inline __m256i min64(__m256i a, __m256i b) {
  return _mm256_blendv_epi8(a, b, _mm256_cmpgt_epi64(a, b));
}
inline __m256i max64(__m256i a, __m256i b) {
  return _mm256_blendv_epi8(a, b, _mm256_cmpgt_epi64(b, a));
}

// The bitmask raster's row of price level a, P - 1 - a, where 0 <= a < P, else
// `sink` (kNoLevel included); and only where `keep`.
inline __m256i level_rows(__m256i a, __m256i keep, int64_t P, int64_t sink) {
  const __m256i inside = _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_setzero_si256(), a),
                                             _mm256_cmpgt_epi64(_mm256_set1_epi64x(P), a));
  return _mm256_blendv_epi8(_mm256_set1_epi64x(sink),
                            _mm256_sub_epi64(_mm256_set1_epi64x(P - 1), a),
                            _mm256_and_si256(inside, keep));
}

// Most bars the JKX marks take from arrays of kMaxJkxBars (bar width 3 within
// 64 columns: L <= 21).
constexpr int64_t kMaxJkxBars = 21;

// The rows of the marks of bars [0, 4 * (L / 4)) at bar width 3 (k = 1), four
// bars per vector: the high-low run's two toggles (one row twice where the run
// is clipped away or the bar has no range) and the open and close ticks' rows
// (the sink H without a range or outside the price rows).
inline void jkx_bar_rows(const int64_t* raw, int64_t L, int64_t H, int64_t P, int64_t* run_top,
                         int64_t* run_end, int64_t* open_row, int64_t* close_row) {
  const __m256i none = _mm256_set1_epi64x(kNoLevel);
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi64x(1);
  const __m256i vP = _mm256_set1_epi64x(P), vPm1 = _mm256_set1_epi64x(P - 1);
  const __m256i vH = _mm256_set1_epi64x(H);
  for (int64_t i = 0; i + 4 <= L; i += 4) {
    // Bars i .. i + 3 as rows (open, high, low, close), transposed to columns.
    const __m256i* q = reinterpret_cast<const __m256i*>(raw + 4 * i);
    const __m256i r0 = _mm256_loadu_si256(q), r1 = _mm256_loadu_si256(q + 1);
    const __m256i r2 = _mm256_loadu_si256(q + 2), r3 = _mm256_loadu_si256(q + 3);
    const __m256i t0 = _mm256_unpacklo_epi64(r0, r1), t1 = _mm256_unpackhi_epi64(r0, r1);
    const __m256i t2 = _mm256_unpacklo_epi64(r2, r3), t3 = _mm256_unpackhi_epi64(r2, r3);
    const __m256i open = _mm256_permute2x128_si256(t0, t2, 0x20);
    const __m256i low = _mm256_permute2x128_si256(t0, t2, 0x31);
    const __m256i high = _mm256_permute2x128_si256(t1, t3, 0x20);
    const __m256i close = _mm256_permute2x128_si256(t1, t3, 0x31);
    const __m256i range = _mm256_andnot_si256(
        _mm256_or_si256(_mm256_cmpeq_epi64(high, none), _mm256_cmpeq_epi64(low, none)),
        _mm256_set1_epi64x(-1));
    // run() of [min, max] without its branch: a clipped to 0 .. P, c to
    // a - 1 .. P - 1; rows P - 1 - c and P - a.
    const __m256i a = min64(max64(min64(low, high), zero), vP);
    const __m256i c = max64(min64(max64(low, high), vPm1), _mm256_sub_epi64(a, one));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(run_top + i),
                        _mm256_blendv_epi8(vH, _mm256_sub_epi64(vPm1, c), range));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(run_end + i),
                        _mm256_blendv_epi8(vH, _mm256_sub_epi64(vP, a), range));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(open_row + i), level_rows(open, range, P, H));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(close_row + i), level_rows(close, range, P, H));
  }
}

// The overlay at bar width 3 (k = 1; y: its L levels, L <= kMaxJkxBars): the
// pixels of line_columns(3, y[j], y[j + 1]) for every segment whose ends are
// both levels. Column 0 of segment j and column 3 of segment j - 1 are the
// vertex (3j + 1, y[j]), set once when either segment is drawn (or j is the
// last point, which is always drawn); a shallow segment (|dy| <= 2) adds one
// pixel in each of columns 1 and 2, at offsets (|dy| == 2) and (|dy| >= 1)
// from y[j] towards y[j + 1] (floor((2 |dy| i + 3) / 6)); a steep one adds its
// four columns' runs as row by row marks (steep segments are rare in moving
// averages, and without them the overlay layers need not be read at all).
inline void jkx_overlay(const int64_t* y, int64_t L, int64_t H, int64_t P, uint64_t* direct) {
  alignas(32) int64_t yp[kMaxJkxBars + 8];
  alignas(32) int64_t mid1[kMaxJkxBars + 3], mid2[kMaxJkxBars + 3];
  for (int64_t j = 0; j < kMaxJkxBars + 8; ++j) yp[j] = j < L ? y[j] : kNoLevel;
  const __m256i none = _mm256_set1_epi64x(kNoLevel);
  const __m256i zero = _mm256_setzero_si256(), two = _mm256_set1_epi64x(2);
  const __m256i three = _mm256_set1_epi64x(3);
  uint32_t drawn = 0, steep = 0;  // segments, as bits
  for (int64_t j = 0; j < L; j += 4) {  // (j = L - 1 too: no segment, both mids the sink)
    const __m256i y0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(yp + j));
    const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yp + j + 1));
    const __m256i ok = _mm256_andnot_si256(
        _mm256_or_si256(_mm256_cmpeq_epi64(y0, none), _mm256_cmpeq_epi64(y1, none)),
        _mm256_set1_epi64x(-1));
    const __m256i dy = _mm256_sub_epi64(y1, y0);
    const __m256i neg = _mm256_cmpgt_epi64(zero, dy);
    const __m256i ady = _mm256_blendv_epi8(dy, _mm256_sub_epi64(zero, dy), neg);
    const __m256i shallow = _mm256_and_si256(ok, _mm256_cmpgt_epi64(three, ady));
    // Offsets 0 or 1 towards y[j + 1]: (o ^ neg) - neg is -o where dy < 0.
    const __m256i o1 = _mm256_srli_epi64(_mm256_cmpeq_epi64(ady, two), 63);
    const __m256i o2 = _mm256_srli_epi64(_mm256_cmpgt_epi64(ady, zero), 63);
    const __m256i l1 = _mm256_add_epi64(y0, _mm256_sub_epi64(_mm256_xor_si256(o1, neg), neg));
    const __m256i l2 = _mm256_add_epi64(y0, _mm256_sub_epi64(_mm256_xor_si256(o2, neg), neg));
    _mm256_store_si256(reinterpret_cast<__m256i*>(mid1 + j), level_rows(l1, shallow, P, H));
    _mm256_store_si256(reinterpret_cast<__m256i*>(mid2 + j), level_rows(l2, shallow, P, H));
    const auto bits = [](__m256i m) {
      return static_cast<uint32_t>(_mm256_movemask_pd(_mm256_castsi256_pd(m)));
    };
    drawn |= bits(ok) << j;
    steep |= bits(_mm256_andnot_si256(shallow, ok)) << j;
  }
  const uint32_t vertices =
      drawn | (drawn << 1) | (y[L - 1] != kNoLevel ? uint32_t{1} << (L - 1) : 0u);
  uint64_t bit = 2;  // column 3j + 1
  for (int64_t j = 0; j < L; ++j, bit <<= 3) {
    const int64_t v = (vertices >> j) & 1 ? y[j] : kNoLevel;
    direct[static_cast<uint64_t>(v) < static_cast<uint64_t>(P) ? P - 1 - v : H] |= bit;
    direct[mid1[j]] |= bit << 1;
    direct[mid2[j]] |= bit << 2;
  }
  for (uint32_t m = steep; m != 0; m &= m - 1) {
    const int64_t j = __builtin_ctz(m);
    const int64_t y0 = y[j], dy = y[j + 1] - y0;
    const int64_t ady = dy < 0 ? -dy : dy, sign = dy < 0 ? -1 : 1;
    // Column i holds offsets [t(i - 1), t(i) - 1] from y0 (t(-1) = 0, column 3
    // up to |dy|), t(i) = ceil(|dy| (2i + 1) / 6) (line_columns, dx = 3).
    const int64_t t0 = (ady + 5) / 6, t1 = (ady + 1) / 2, t2 = (5 * ady + 5) / 6;
    const int64_t col = 3 * j + 1;
    const auto steep_run = [&](int64_t x, int64_t s, int64_t e) {
      // Levels [a, c] clipped to the price rows, as rows P - 1 - c .. P - 1 - a.
      int64_t a = y0 + (sign > 0 ? s : -e), c = y0 + (sign > 0 ? e : -s);
      a = a < 0 ? 0 : a;
      c = c > P - 1 ? P - 1 : c;
      for (int64_t r = P - 1 - c; r <= P - 1 - a; ++r) direct[r] |= uint64_t{1} << (col + x);
    };
    steep_run(0, 0, t0 - 1);
    steep_run(1, t0, t1 - 1);
    steep_run(2, t1, t2 - 1);
    steep_run(3, t2, ady);
  }
}

}  // namespace

void ohlc_raster_bits_avx2(const OhlcParams& p, const OhlcImageLevels& lv, uint8_t* out,
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
    int64_t i = 0;
    if constexpr (kJkx) {
      // Four bars at a time: their rows, then the toggles and ticks.
      alignas(32) int64_t run_top[kMaxJkxBars], run_end[kMaxJkxBars];
      alignas(32) int64_t open_row[kMaxJkxBars], close_row[kMaxJkxBars];
      jkx_bar_rows(lv.raw, L, H, P, run_top, run_end, open_row, close_row);
      uint64_t bit = 2;  // column 3i + 1
      for (const int64_t vectors = L / 4 * 4; i < vectors; ++i, bit <<= 3) {
        layer[0][run_top[i]] ^= bit;
        layer[0][run_end[i]] ^= bit;
        direct[open_row[i]] |= bit | (bit >> 1);
        direct[close_row[i]] |= bit << 1;
        layer[0][H - (lv.volume != nullptr ? lv.volume[i] : 0)] ^= bit;
        volume_end ^= bit;
      }
    }
    for (; i < L; ++i) {
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
    if constexpr (kJkx) {
      jkx_overlay(y, L, H, P, direct);
      return;
    }
    for (int64_t j = 0; j + 1 < L; ++j) {
      if (y[j] == kNoLevel || y[j + 1] == kNoLevel) continue;
      const int64_t col = j * bw + k;
      uint64_t* const d = layer[1 + (j & 1)];
      line_columns(
          static_cast<int64_t>(bw), y[j], y[j + 1],
          [&](int64_t x, int64_t a) { direct[direct_row(a)] |= uint64_t{1} << (col + x); },
          [&](int64_t x, int64_t a, int64_t c) { run(d, col + x, a, c); });
    }
    if (y[L - 1] != kNoLevel) direct[direct_row(y[L - 1])] |= uint64_t{1} << ((L - 1) * bw + k);
  };
  // Bar width 3 (3 L <= W <= 64 where the raster fits): no overlay layers.
  const bool jkx = p.bar_width == 3 && L <= kMaxJkxBars;
  if (jkx) {
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
  // The 32 pixels of a shuffled mask (byte j holding the byte of pixel j's
  // bit): the marked ones fg, the others bg. With fg 255 on bg 0 (jkx_chart)
  // that is the comparison itself, and with 0 on 255 (render_ohlc's default) the
  // comparison with zero; other colours blend.
  enum Colours { kBlend, kWhiteOnBlack, kBlackOnWhite };
  auto pixels = [&](__m256i shuffled, auto colours) __attribute__((always_inline)) {
    const __m256i picked = _mm256_and_si256(shuffled, bit);
    if constexpr (decltype(colours)::value == kWhiteOnBlack) {
      return _mm256_cmpeq_epi8(picked, bit);
    } else if constexpr (decltype(colours)::value == kBlackOnWhite) {
      return _mm256_cmpeq_epi8(picked, _mm256_setzero_si256());
    } else {
      return _mm256_blendv_epi8(bgv, fgv, _mm256_cmpeq_epi8(picked, bit));
    }
  };
  // Streamed: the rows go to an aligned buffer in L1, then to the plane in
  // aligned non-temporal 32-byte stores (whole planes of 32-byte multiples);
  // the caller fences them once it has drawn its images (ohlc_stream_fence).
  const bool stream = p.stream_output && H * W <= kStreamPlaneBytes && (H * W) % 32 == 0 &&
                      reinterpret_cast<uintptr_t>(out) % 32 == 0;
  alignas(32) uint8_t buffer[kStreamPlaneBytes];
  uint8_t* const plane = stream ? buffer : out;
  // The rows, reading the overlay layers only where the marks used them.
  auto output = [&](auto overlay_layers, auto colours) __attribute__((always_inline)) {
    uint64_t acc0 = 0, acc1 = 0, acc2 = 0, mask = 0;  // mask: the last row's
    // Row r's 64 pixels from its 64-bit mask.
    auto row = [&](int64_t r, __m256i* half0, __m256i* half1) __attribute__((always_inline)) {
      acc0 ^= layer[0][r];
      if constexpr (decltype(overlay_layers)::value) {
        acc1 ^= layer[1][r];
        acc2 ^= layer[2][r];
      }
      mask = acc0 | acc1 | acc2 | direct[r];
      const __m256i v = _mm256_set1_epi64x(static_cast<int64_t>(mask));
      *half0 = pixels(_mm256_shuffle_epi8(v, lo), colours);
      *half1 = pixels(_mm256_shuffle_epi8(v, hi), colours);
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
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), half0);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + W - 32),
                            pixels(_mm256_shuffle_epi8(v, lo), colours));
      } else {
        alignas(32) uint8_t px[64];
        _mm256_store_si256(reinterpret_cast<__m256i*>(px), half0);
        _mm256_store_si256(reinterpret_cast<__m256i*>(px + 32), half1);
        std::memcpy(dst, px, static_cast<size_t>(W));
      }
    }
  };
  // The rows, then clean for the next image: the scratch at once, not each
  // row's words as they are read (at bar width 3, layer 0 and the direct marks
  // only).
  const size_t words = static_cast<size_t>(H + 1) * sizeof(uint64_t);
  auto rows = [&](auto overlay_layers) __attribute__((always_inline)) {
    if (fg == 255 && bg == 0) {
      output(overlay_layers, std::integral_constant<Colours, kWhiteOnBlack>{});
    } else if (fg == 0 && bg == 255) {
      output(overlay_layers, std::integral_constant<Colours, kBlackOnWhite>{});
    } else {
      output(overlay_layers, std::integral_constant<Colours, kBlend>{});
    }
  };
  if (jkx) {
    rows(std::false_type{});
    std::memset(layer[0], 0, words);
    std::memset(direct, 0, words);
  } else {
    rows(std::true_type{});
    std::memset(scratch, 0, static_cast<size_t>(ohlc_bits_scratch(p)) * sizeof(uint64_t));
  }
  if (stream) {
#pragma GCC unroll 4
    for (int64_t i = 0; i < H * W; i += 32) {
      _mm256_stream_si256(reinterpret_cast<__m256i*>(out + i),
                          _mm256_load_si256(reinterpret_cast<const __m256i*>(buffer + i)));
    }
  }
}

}  // namespace kernels
}  // namespace torch_render

#pragma GCC pop_options

#endif  // TR_HAVE_AVX2_KERNELS
