// render_line's CPU raster, ISA copy part 1: the value of a run of pixels.
//
// No include guard: part of the ISA copy of kernels/cpu/render_line_isa.h (see
// kernels/common/cpu_isa.h). The loops are plain C++ that the compiler
// vectorises for the target, or AVX2 intrinsics with TR_CPU_AVX2: every lane
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

// The constants of one call's shading, made once per call.
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
template <int V, bool kSegment, bool kKeepMin, bool kAntialias, typename Col, typename OutT>
inline void shade_run(const CpuPrimitive& q, const Shade<kAntialias>& shade, float ay, float ay_ey,
                      Col col, OutT* dst) {
  // Locals, so the compiler sees that nothing in the loop changes them.
  const float x0 = q.x0, ex = q.ex, ey = q.ey, ee = q.ee;
  const Shade<kAntialias> sh = shade;
  for (int i = 0; i < V; ++i) {
    const float ax = x0 - static_cast<float>(col + static_cast<Col>(i));
    const float t = kSegment ? clamp01(-(ax * ex + ay_ey) / ee) : 0.0f;
    const float cx = ax + t * ex;
    const float cy = ay + t * ey;
    const OutT v = Store<OutT>::convert(sh(cx * cx + cy * cy));
    const OutT old = dst[i];
    dst[i] = inkier<kKeepMin>(v, old) ? v : old;
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

// The values of 8 pixels of one row. `neg_ee` is -ee: -(dot) / ee and dot / -ee are
// the same IEEE quotient (division rounds symmetrically), one negation fewer.
template <bool kSegment, bool kAntialias, bool kPlain>
inline __m256 avx2_values(const Avx2Shade& s, Avx2Columns c, __m256 ex, __m256 ey, __m256 neg_ee,
                          __m256 ay, __m256 ay_ey) {
  const __m256 ax = c.ax;
  __m256 cx = ax;
  __m256 cy = ay;
  if (kSegment) {
    // t = clamp01(-(ax * ex + ay * ey) / ee)
    const __m256 dot = _mm256_add_ps(c.axex, ay_ey);
    __m256 t = _mm256_div_ps(dot, neg_ee);
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

template <bool kSegment, bool kKeepMin, bool kAntialias, bool kPlain, typename OutT>
inline void avx2_run(const Avx2Shade& s, Avx2Columns c, __m256 ex, __m256 ey, __m256 neg_ee,
                     __m256 ay, __m256 ay_ey, OutT* dst) {
  const __m256 v = avx2_values<kSegment, kAntialias, kPlain>(s, c, ex, ey, neg_ee, ay, ay_ey);
  if constexpr (std::is_same_v<OutT, float>) {
    const __m256 old = _mm256_loadu_ps(dst);
    _mm256_storeu_ps(dst, kKeepMin ? _mm256_min_ps(v, old) : _mm256_max_ps(v, old));
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
                     kKeepMin ? _mm_min_epu8(u8, old) : _mm_max_epu8(u8, old));
  }
}
#endif  // TR_CPU_AVX2
