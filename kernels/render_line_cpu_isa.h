// The CPU raster of render_line, compiled once per instruction set.
//
// No include guard on purpose: render_line_cpu.h includes this file inside
// namespace kernels::baseline, and kernels/cpu/render_line_cpu_avx2.cpp includes
// it again inside kernels::avx2 under `#pragma GCC target("avx2")` with
// TR_CPU_AVX2 defined, so the copies never share a symbol. Everything it uses
// from outside comes from render_line_cpu.h, which the includer has included
// before (so those helpers keep the baseline target and are inlined here).
//
// The loops are plain C++ that the compiler vectorises for the target: every lane
// does the same IEEE float32 operations as the model (no FMA contraction), so
// every copy gives the same bits.

// Columns below this bound convert to float through int32, which vectorises.
constexpr int64_t kVectorColumnLimit = int64_t{1} << 30;

#if defined(TR_CPU_AVX2)
// Shade's constants as AVX2 vectors.
struct Avx2Shade {
  __m256 full, half_width, fg, bg, diff, lo, hi, zero, one, u8_scale;
  // Whether bg + a * diff needs neither the clamp to [lo, hi] nor the foreground
  // at full coverage: bg + diff is exactly fg (black on white, and most colours),
  // so by monotonicity in a every value already lies between bg and fg. And
  // whether those values lie in [0, 1], where uint8's clamp does nothing.
  bool exact, unit;
  explicit Avx2Shade(const LineParams& p)
      : full(_mm256_set1_ps(p.half_width + 0.5f)),
        half_width(_mm256_set1_ps(p.half_width)),
        fg(_mm256_set1_ps(p.foreground)),
        bg(_mm256_set1_ps(p.background)),
        diff(_mm256_set1_ps(p.foreground - p.background)),
        lo(_mm256_set1_ps(min_f(p.background, p.foreground))),
        hi(_mm256_set1_ps(max_f(p.background, p.foreground))),
        zero(_mm256_setzero_ps()),
        one(_mm256_set1_ps(1.0f)),
        u8_scale(_mm256_set1_ps(255.0f)) {
    const float fg_s = p.foreground, bg_s = p.background;
    const float full_ink = bg_s + (fg_s - bg_s);
    exact = is_finite(fg_s) && is_finite(bg_s) &&
            std::memcmp(&full_ink, &fg_s, sizeof(float)) == 0;
    unit = min_f(bg_s, fg_s) >= 0.0f && max_f(bg_s, fg_s) <= 1.0f;
  }
  // Whether avx2_run may take its plain path for OutT.
  template <typename OutT>
  bool plain() const {
    return exact && (std::is_same_v<OutT, float> || unit);
  }
};
#endif

// pixel_value with its constants hoisted out of the pixel loop.
template <bool kAntialias>
struct Shade {
  float half_width, full, fg, bg, diff, lo, hi;
  explicit Shade(const LineParams& p)
      : half_width(p.half_width),
        full(p.half_width + 0.5f),
        fg(p.foreground),
        bg(p.background),
        diff(p.foreground - p.background),
        lo(min_f(p.background, p.foreground)),
        hi(max_f(p.background, p.foreground)) {}
  float operator()(float dist2) const {
    const float d = sqrtf(dist2);
    const float a = kAntialias ? clamp01(full - d) : (d <= half_width ? 1.0f : 0.0f);
    const float v = bg + a * diff;
    const float clamped = v < lo ? lo : (v > hi ? hi : v);
    return a == 1.0f ? fg : clamped;
  }
};

// The constants of one call's shading, made once per block.
template <bool kAntialias>
struct Shaders {
  Shade<kAntialias> scalar;
#if defined(TR_CPU_AVX2)
  Avx2Shade simd;
  explicit Shaders(const LineParams& p) : scalar(p), simd(p) {}
#else
  explicit Shaders(const LineParams& p) : scalar(p) {}
#endif
};

// Shades V consecutive columns [col, col + V) of one row with primitive q: the
// segment_dist2 of each pixel (ay = y0 - py and ay * ey are the row's), its value,
// and the inkier of that and what dst holds.
template <int V, bool kSegment, bool kMin, bool kAntialias, typename Col, typename OutT>
inline void shade_run(const CpuPrimitive& q, const Shade<kAntialias>& shade, float ay, float ayey,
                      Col col, OutT* dst) {
  // Locals, so the compiler sees that nothing in the loop changes them.
  const float x0 = q.x0, ex = q.ex, ey = q.ey, ee = q.ee;
  const Shade<kAntialias> sh = shade;
  for (int i = 0; i < V; ++i) {
    const float ax = x0 - static_cast<float>(col + static_cast<Col>(i));
    const float t = kSegment ? clamp01(-(ax * ex + ayey) / ee) : 0.0f;
    const float cx = ax + t * ex;
    const float cy = ay + t * ey;
    const OutT v = Store<OutT>::convert(sh(cx * cx + cy * cy));
    const OutT old = dst[i];
    dst[i] = inkier<kMin>(v, old) ? v : old;
  }
}

#if defined(TR_CPU_AVX2)
// The same run with AVX2 intrinsics, 8 columns, for float32 and uint8 outputs.
// Each step is the model's float32 operation; min/max are used only where their
// IEEE definition (a < b ? a : b, a > b ? a : b) is the comparison the model
// writes, with the operands in that order, so the bits are the scalar ones.

// The columns' ax = x0 - px and ax * ex; they depend on the columns only, so a run
// that keeps its columns over several rows computes them once.
struct Avx2Columns {
  __m256 ax, axex;
};

inline Avx2Columns avx2_columns(__m256 x0, __m256 ex, int32_t col) {
  const __m256i cols = _mm256_add_epi32(_mm256_set1_epi32(col),
                                        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256 ax = _mm256_sub_ps(x0, _mm256_cvtepi32_ps(cols));
  return {ax, _mm256_mul_ps(ax, ex)};
}

// The values of 8 pixels of one row. `nee` is -ee: -(dot) / ee and dot / -ee are
// the same IEEE quotient (division rounds symmetrically), one negation fewer.
template <bool kSegment, bool kAntialias, bool kPlain>
inline __m256 avx2_values(const Avx2Shade& s, Avx2Columns c, __m256 ex, __m256 ey, __m256 nee,
                          __m256 ay, __m256 ayey) {
  const __m256 ax = c.ax;
  __m256 cx = ax;
  __m256 cy = ay;
  if (kSegment) {
    // t = clamp01(-(ax * ex + ay * ey) / ee)
    const __m256 dot = _mm256_add_ps(c.axex, ayey);
    __m256 t = _mm256_div_ps(dot, nee);
    t = _mm256_min_ps(_mm256_max_ps(t, s.zero), s.one);
    cx = _mm256_add_ps(ax, _mm256_mul_ps(t, ex));
    cy = _mm256_add_ps(ay, _mm256_mul_ps(t, ey));
  }
  // (t = 0: ax + 0 * ex differs from ax at most in the sign of a zero, which the
  // square drops.)
  const __m256 d = _mm256_sqrt_ps(_mm256_add_ps(_mm256_mul_ps(cx, cx), _mm256_mul_ps(cy, cy)));
  const __m256 a =
      kAntialias ? _mm256_min_ps(_mm256_max_ps(_mm256_sub_ps(s.full, d), s.zero), s.one)
                 : _mm256_and_ps(_mm256_cmp_ps(d, s.half_width, _CMP_LE_OQ), s.one);
  const __m256 v = _mm256_add_ps(s.bg, _mm256_mul_ps(a, s.diff));
  if (kPlain) return v;  // see Avx2Shade::exact
  // v < lo ? lo : (v > hi ? hi : v), then full coverage is exactly the foreground.
  const __m256 clamped = _mm256_min_ps(s.hi, _mm256_max_ps(s.lo, v));
  return _mm256_blendv_ps(clamped, s.fg, _mm256_cmp_ps(a, s.one, _CMP_EQ_OQ));
}

template <bool kSegment, bool kMin, bool kAntialias, bool kPlain, typename OutT>
inline void avx2_run(const Avx2Shade& s, Avx2Columns c, __m256 ex, __m256 ey, __m256 nee,
                     __m256 ay, __m256 ayey, OutT* dst) {
  const __m256 v = avx2_values<kSegment, kAntialias, kPlain>(s, c, ex, ey, nee, ay, ayey);
  if constexpr (std::is_same_v<OutT, float>) {
    const __m256 old = _mm256_loadu_ps(dst);
    _mm256_storeu_ps(dst, kMin ? _mm256_min_ps(v, old) : _mm256_max_ps(v, old));
  } else {
    // Store<uint8_t>: rint(255 v) (current rounding mode, as rintf), clamped to
    // [0, 255] as q > 0 ? (q < 255 ? q : 255) : 0, then converted. In the plain
    // path v is in [0, 1], so q already is, and one conversion in the current
    // rounding mode does both steps.
    __m256i i32;
    if (kPlain) {
      i32 = _mm256_cvtps_epi32(_mm256_mul_ps(s.u8_scale, v));
    } else {
      __m256 q = _mm256_round_ps(_mm256_mul_ps(s.u8_scale, v), _MM_FROUND_CUR_DIRECTION);
      q = _mm256_min_ps(_mm256_max_ps(q, s.zero), s.u8_scale);  // 255
      i32 = _mm256_cvttps_epi32(q);
    }
    const __m128i i16 = _mm_packus_epi32(_mm256_castsi256_si128(i32),
                                         _mm256_extracti128_si256(i32, 1));
    const __m128i u8 = _mm_packus_epi16(i16, i16);
    const __m128i old = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(dst));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst),
                     kMin ? _mm_min_epu8(u8, old) : _mm_max_epu8(u8, old));
  }
}
#endif  // TR_CPU_AVX2

// Rows of a primitive taken together when all its rows do not fit one vector.
constexpr int64_t kChunkRows = 8;

// The columns (inclusive, as floats) that primitive q can reach in row py,
// clipped to [first, last]: a pixel within reach of the axis has its nearest
// axis point within reach in y, so in the part of the axis with y in
// [py - reach, py + reach], and within reach in x of that part. (The rounding of
// x here is far below the slack in q.reach.) Each step is monotone in py, so
// both bounds are.
inline void row_columns(const CpuPrimitive& q, float py, float first, float last, float* lo,
                        float* hi) {
  const float t0 = min_f(max_f(py - q.reach, q.ya), q.yb);
  const float t1 = max_f(min_f(py + q.reach, q.yb), q.ya);
  const float x0 = q.xa + (t0 - q.ya) * q.sx;
  const float x1 = q.xa + (t1 - q.ya) * q.sx;
  *lo = max_f(min_f(min_f(x0, x1), q.x_lo) - q.reach, first);
  *hi = min_f(max_f(max_f(x0, x1), q.x_hi) + q.reach, last);
}

// Walks rows [row_lo, row_hi] of primitive q within columns [col_begin,
// col_end), calling fixed(r0, r1, c) to shade columns [c, c + V) (moved left at
// the block's right edge) in rows [r0, r1]. The columns that q can reach in a
// range of rows are the union of those of its first and last rows, since
// row_columns is monotone in the row.
// All rows go as one range when they fit one vector (steep or short
// primitives); else ranges of kChunkRows rows, each shaded with the vectors that
// cover its columns when one or two do, else row by row with each row's own.
template <int V, typename Fixed>
inline void for_each_chunk(const CpuPrimitive& q, int64_t row_lo, int64_t row_hi,
                           int64_t col_begin, int64_t col_end, Fixed&& fixed) {
  const float first = static_cast<float>(col_begin);
  const float last = static_cast<float>(col_end - 1);
  // Shades columns [ceil(lo), floor(hi)] of rows [r0, r1] if they need at most
  // max_runs vectors; false (nothing shaded) if they need more.
  auto shade = [&](int64_t r0, int64_t r1, float lo, float hi, int64_t max_runs) {
    lo = std::ceil(lo);
    hi = std::floor(hi);
    if (!(lo <= hi)) return true;  // no column of the block
    const int64_t c = static_cast<int64_t>(lo);
    const int64_t c_end = static_cast<int64_t>(hi) + 1;
    if (c_end - c > max_runs * V) return false;
    for (int64_t s = c; s < c_end; s += V) fixed(r0, r1, s);
    return true;
  };
  // Shades rows [r0, r1] as one range with at most max_runs vectors.
  auto range = [&](int64_t r0, int64_t r1, int64_t max_runs) {
    float lo0, hi0, lo1, hi1;
    row_columns(q, static_cast<float>(r0), first, last, &lo0, &hi0);
    row_columns(q, static_cast<float>(r1), first, last, &lo1, &hi1);
    return shade(r0, r1, min_f(lo0, lo1), max_f(hi0, hi1), max_runs);
  };
  if (range(row_lo, row_hi, 1)) return;
  for (int64_t r0 = row_lo; r0 <= row_hi; r0 += kChunkRows) {
    const int64_t r1 = std::min(r0 + kChunkRows - 1, row_hi);
    if (range(r0, r1, 2)) continue;
    for (int64_t row = r0; row <= r1; ++row) {
      float lo, hi;
      row_columns(q, static_cast<float>(row), first, last, &lo, &hi);
      shade(row, row, lo, hi, INT64_MAX / V);
    }
  }
}

// Work on the output done a little per shaded row while a tile is shaded, so
// that its memory traffic overlaps the shading instead of stalling on its own:
// filling what follows the tile with the background (fill_step bytes per row,
// spread over the tile's shaded rows), or reading it ahead
// (kPrefetchLinesPerRow lines per row; more fill the core's outstanding-miss
// slots and stall the shading). Whatever the shading leaves of a fill, the
// tile's end fills. On the development Xeon (500x800 float32, 4 images a call)
// reading the next tile ahead made the op ~13% faster, and filling it instead
// another ~5-8%.
struct AheadCursor {
  char* next = nullptr;
  const char* end = nullptr;
  int64_t fill_step = 0;  // > 0: fill [next, end) with `pattern`; 0: read it ahead
  uint32_t pattern = 0;   // the background's bytes, repeated to 4 bytes
};
constexpr int kPrefetchLinesPerRow = 2;
constexpr int64_t kCacheLine = 64;
// Bytes of a fill ahead per shaded row, at most (the rest waits for the tile's end).
constexpr int64_t kMaxFillStep = 1024;

#if defined(TR_CPU_AVX2)
// Columns `cols` (8 from column s) of rows [r0, r1] of primitive q, whose row
// element `row` starts at base + row * stride. Everything it uses is a local
// here, so the compiler keeps it in registers across the stores (a uint8 store
// may alias anything reached through a pointer).
template <bool kSegment, bool kMin, bool kAntialias, bool kPlain, typename OutT>
void avx2_rows(const Avx2Shade& shade, Avx2Columns cols, const CpuPrimitive& q, int64_t r0,
               int64_t r1, OutT* base, int64_t stride, int64_t s, AheadCursor* ahead) {
  const Avx2Shade simd = shade;
  const __m256 ex = _mm256_set1_ps(q.ex), ey = _mm256_set1_ps(q.ey),
               nee = _mm256_set1_ps(-q.ee), y0 = _mm256_set1_ps(q.y0);
  OutT* dst = base + r0 * stride + s;
  char* next = ahead->next;
  const char* const next_end = ahead->end;
  const int64_t fill_step = ahead->fill_step;
  const __m256i pattern = _mm256_set1_epi32(static_cast<int>(ahead->pattern));
  // Rows below 2^24 are exact floats, and so is each py + 1.
  const bool exact_step = r1 < (int64_t{1} << 24);
  __m256 py = _mm256_set1_ps(static_cast<float>(r0));
  for (int64_t row = r0; row <= r1; ++row, dst += stride) {
    if (next < next_end) {
      if (fill_step > 0) {
        // Whole vectors only; the tile's end fills what is left.
        const char* const stop = next + std::min<int64_t>(fill_step, next_end - next);
        for (; stop - next >= 32; next += 32) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(next), pattern);
        }
      } else {
        // (The second line may lie past the end, harmlessly: a prefetch never
        // faults. Its address is made as an integer, the pointer stays in range.)
        static_assert(kPrefetchLinesPerRow == 2, "two prefetches per row below");
        const uintptr_t at = reinterpret_cast<uintptr_t>(next);
        _mm_prefetch(reinterpret_cast<const char*>(at), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(at + kCacheLine), _MM_HINT_T0);
        next += std::min<int64_t>(kPrefetchLinesPerRow * kCacheLine, next_end - next);
      }
    }
    if (!exact_step) py = _mm256_set1_ps(static_cast<float>(row));
    // ay = y0 - py and ay * ey in every lane: the scalar operations.
    const __m256 ay = _mm256_sub_ps(y0, py);
    avx2_run<kSegment, kMin, kAntialias, kPlain>(simd, cols, ex, ey, nee, ay,
                                                 _mm256_mul_ps(ay, ey), dst);
    py = _mm256_add_ps(py, simd.one);
  }
  ahead->next = next;
}

// shade_rows in a block at least 8 columns wide, with AVX2.
template <bool kSegment, bool kMin, bool kAntialias, bool kPlain, typename OutT>
void avx2_shade_rows(const CpuPrimitive& q, const Avx2Shade& simd, int64_t row_lo,
                     int64_t row_hi, int64_t col_begin, int64_t col_end, OutT* base,
                     int64_t stride, AheadCursor* ahead) {
  constexpr int V = 8;
  const __m256 x0 = _mm256_set1_ps(q.x0), ex = _mm256_set1_ps(q.ex);
  // Whole vectors, moved left at the block's right edge.
  auto fixed = [&](int64_t r0, int64_t r1, int64_t c) {
    const int64_t s = std::min(c, col_end - V);
    avx2_rows<kSegment, kMin, kAntialias, kPlain>(
        simd, avx2_columns(x0, ex, static_cast<int32_t>(s)), q, r0, r1, base, stride, s,
        ahead);
  };
  for_each_chunk<V>(q, row_lo, row_hi, col_begin, col_end, fixed);
}
#endif

// Rows [row_lo, row_hi] of primitive q within columns [col_begin, col_end);
// element (row, col) is base[row * stride + col]. Runs are whole vectors of 8
// columns, moved left at the block's right edge: shading a pixel twice, or a
// pixel the primitive does not reach, leaves it as it should be.
template <bool kSegment, bool kMin, bool kAntialias, typename OutT>
void shade_rows(const CpuPrimitive& q, const Shaders<kAntialias>& shaders, int64_t row_lo,
                int64_t row_hi, int64_t col_begin, int64_t col_end, OutT* base, int64_t stride,
                AheadCursor* ahead) {
  constexpr int V = 8;
  const bool vector = col_end - col_begin >= V && col_end <= kVectorColumnLimit;
#if defined(TR_CPU_AVX2)
  if constexpr (std::is_same_v<OutT, float> || std::is_same_v<OutT, uint8_t>) {
    if (vector) {
      if (shaders.simd.template plain<OutT>()) {
        avx2_shade_rows<kSegment, kMin, kAntialias, true>(q, shaders.simd, row_lo, row_hi,
                                                          col_begin, col_end, base, stride,
                                                          ahead);
      } else {
        avx2_shade_rows<kSegment, kMin, kAntialias, false>(q, shaders.simd, row_lo, row_hi,
                                                           col_begin, col_end, base, stride,
                                                           ahead);
      }
      return;
    }
  }
#endif
  (void)ahead;  // the portable loops leave it to the tile's end
  const Shade<kAntialias>& shade = shaders.scalar;
  // Columns [c, c + V) of rows [r0, r1] (clipped to the block, or moved left at
  // its right edge), in one run of V or one by one in a narrow block.
  auto fixed = [&](int64_t r0, int64_t r1, int64_t c) {
    for (int64_t row = r0; row <= r1; ++row) {
      const float ay = q.y0 - static_cast<float>(row);
      const float ayey = ay * q.ey;
      OutT* const dst = base + row * stride;
      if (vector) {
        const int64_t s = std::min(c, col_end - V);
        shade_run<V, kSegment, kMin, kAntialias, int32_t>(q, shade, ay, ayey,
                                                          static_cast<int32_t>(s), dst + s);
      } else {
        for (int64_t col = c; col < std::min(c + V, col_end); ++col) {
          shade_run<1, kSegment, kMin, kAntialias, int64_t>(q, shade, ay, ayey, col, dst + col);
        }
      }
    }
  };
  for_each_chunk<V>(q, row_lo, row_hi, col_begin, col_end, fixed);
}

template <bool kMin, bool kAntialias, typename OutT>
void render_block(const LineParams& p, OutT* plane, int64_t b, int64_t ch, int64_t row_begin,
                  int64_t row_end, int64_t col_begin, int64_t col_end, CpuScratch scratch) {
  const int64_t n = cpu_primitives(p, b, ch, row_begin, row_end, scratch.primitives);
  const OutT bg = Store<OutT>::convert(p.background);
  const Shaders<kAntialias> shaders(p);
  const int64_t cols = col_end - col_begin;
  const int64_t tile_rows = cpu_tile_rows(p, static_cast<int64_t>(sizeof(OutT)));
  // Where a tile is drawn: the plane itself, or the scratch tile (then streamed).
  OutT* const tile = static_cast<OutT*>(scratch.tile);
  const int64_t stride = tile != nullptr ? cols : p.width;
  // The background's bytes repeated to 4, for filling ahead (used by the float32
  // and uint8 copies only, whose values repeat in 4 bytes).
  uint32_t bg_pattern;
  {
    unsigned char bytes[4];
    const auto* value = reinterpret_cast<const unsigned char*>(&bg);
    for (int i = 0; i < 4; ++i) bytes[i] = value[i % sizeof(OutT)];
    std::memcpy(&bg_pattern, bytes, sizeof(bytes));
  }
  // Rows [row_begin, filled_to) of the plane hold the background already.
  int64_t filled_to =
      tile == nullptr ? row_begin + std::min(std::max<int64_t>(scratch.filled_rows, 0),
                                             row_end - row_begin)
                      : row_begin;
  for (int64_t r0 = row_begin; r0 < row_end; r0 += tile_rows) {
    const int64_t r1 = std::min(r0 + tile_rows, row_end);
    // Element (row, col) of the tile is at base[row * stride + col].
    OutT* const base = tile != nullptr ? tile - r0 * stride - col_begin : plane;
    for (int64_t row = tile != nullptr ? r0 : std::max(r0, filled_to); row < r1; ++row) {
      fill_value(base + row * stride + col_begin, cols, bg);
    }
    // What follows this tile is filled while it is shaded when it is whole rows
    // (the next tile of a block of whole rows, or the caller's next rows when it
    // asks), else read ahead.
    AheadCursor ahead;
    bool fill = false;
    if (r1 < row_end) {
      if (tile == nullptr) {
        const int64_t r2 = std::min(r1 + tile_rows, row_end);
        ahead.next = reinterpret_cast<char*>(plane + r1 * p.width + col_begin);
        ahead.end = reinterpret_cast<const char*>(plane + (r2 - 1) * p.width + col_end);
        fill = cols == p.width;
        if (fill) filled_to = r2;
      }
    } else if (scratch.ahead != nullptr) {
      ahead.next = static_cast<char*>(scratch.ahead);
      ahead.end = ahead.next + (scratch.fill_ahead
                                    ? scratch.ahead_bytes
                                    : std::min<int64_t>(scratch.ahead_bytes,
                                                        tile_rows * cols * sizeof(OutT)));
      fill = scratch.fill_ahead;
    }
    if (fill) {
      int64_t rows = 0;  // rows this tile's primitives shade
      for (int64_t k = 0; k < n; ++k) {
        const CpuPrimitive& q = scratch.primitives[k];
        rows += std::max<int64_t>(0, std::min(r1 - 1, q.row_hi) - std::max(r0, q.row_lo) + 1);
      }
      // Spread over those rows, in whole vectors of 32 bytes.
      const int64_t bytes = ahead.end - ahead.next;
      ahead.fill_step =
          std::min(kMaxFillStep, (bytes / std::max<int64_t>(rows, 1) + 32) & ~int64_t{31});
      ahead.pattern = bg_pattern;
    }
    for (int64_t k = 0; k < n; ++k) {
      const CpuPrimitive& q = scratch.primitives[k];
      const int64_t lo = std::max(r0, q.row_lo);
      const int64_t hi = std::min(r1 - 1, q.row_hi);
      if (lo > hi) continue;
      // segment_dist2 takes t = 0 unless ee > 0 (dots, and segments so short
      // that ee underflows).
      if (q.ee > 0.0f) {
        shade_rows<true, kMin>(q, shaders, lo, hi, col_begin, col_end, base, stride, &ahead);
      } else {
        shade_rows<false, kMin>(q, shaders, lo, hi, col_begin, col_end, base, stride, &ahead);
      }
    }
    if (ahead.fill_step > 0 && ahead.next < ahead.end) {
      fill_value(reinterpret_cast<OutT*>(ahead.next),
                 static_cast<int64_t>((ahead.end - ahead.next) / sizeof(OutT)), bg);
    }
    if (tile != nullptr) {
      for (int64_t row = r0; row < r1; ++row) {
        stream_copy(plane + row * p.width + col_begin, tile + (row - r0) * cols,
                    static_cast<size_t>(cols) * sizeof(OutT));
      }
    }
  }
  if (tile != nullptr) stream_fence();
}

// Renders the block rows [row_begin, row_end) x columns [col_begin, col_end) of
// channel ch of image b into `plane`, the contiguous [H, W] plane of that channel,
// writing nothing outside the block. `scratch` holds cpu_scratch_primitives(p)
// CpuPrimitives (and optionally a tile, see CpuScratch).
template <typename OutT>
void render_line_cpu_block(const LineParams& p, OutT* plane, int64_t b, int64_t ch,
                           int64_t row_begin, int64_t row_end, int64_t col_begin,
                           int64_t col_end, CpuScratch scratch) {
  // Ink below the background keeps the smaller value (equal colours: either).
  const bool ink_min = p.foreground <= p.background;
  if (ink_min) {
    if (p.antialias) {
      render_block<true, true>(p, plane, b, ch, row_begin, row_end, col_begin, col_end, scratch);
    } else {
      render_block<true, false>(p, plane, b, ch, row_begin, row_end, col_begin, col_end, scratch);
    }
  } else if (p.antialias) {
    render_block<false, true>(p, plane, b, ch, row_begin, row_end, col_begin, col_end, scratch);
  } else {
    render_block<false, false>(p, plane, b, ch, row_begin, row_end, col_begin, col_end, scratch);
  }
}
