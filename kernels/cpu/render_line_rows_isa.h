// render_line's CPU raster, ISA copy part 2: which pixels of a primitive's rows
// are shaded, in runs of whole vectors.
//
// No include guard: part of the ISA copy of kernels/cpu/render_line_isa.h (see
// kernels/common/cpu_isa.h).

// Rows of a primitive taken together when all its rows do not fit one vector.
constexpr int64_t kChunkRows = 8;

// Walks rows [row_lo, row_hi] of primitive q within columns [0, width), calling
// shade_vector(r0, r1, c) to shade columns [c, c + V) (moved left at the plane's
// right edge) in rows [r0, r1]. The columns that q can reach in a range of rows
// are the union of those of its first and last rows, since row_columns
// (kernels/render_line.h) is monotone in the row.
// All rows go as one range when they fit one vector (steep or short
// primitives); else ranges of kChunkRows rows, each shaded with the vectors that
// cover its columns when one or two do, else row by row with each row's own.
template <int V, typename ShadeVector>
inline void for_each_chunk(const CpuPrimitive& q, int64_t row_lo, int64_t row_hi,
                           int64_t width, ShadeVector&& shade_vector) {
  const float first = 0.0f;
  const float last = static_cast<float>(width - 1);
  // Shades columns [ceil(lo), floor(hi)] of rows [r0, r1] if they need at most
  // max_runs vectors; false (nothing shaded) if they need more.
  auto shade = [&](int64_t r0, int64_t r1, float lo, float hi, int64_t max_runs) {
    lo = std::ceil(lo);
    hi = std::floor(hi);
    if (!(lo <= hi)) return true;  // no column of the plane
    const int64_t c = static_cast<int64_t>(lo);
    const int64_t c_end = static_cast<int64_t>(hi) + 1;
    if (c_end - c > max_runs * V) return false;
    for (int64_t s = c; s < c_end; s += V) shade_vector(r0, r1, s);
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

#if defined(TR_CPU_AVX2)
// Columns `cols` (8 from column s) of rows [r0, r1] of primitive q, whose row
// element `row` starts at base + row * stride. Everything it uses is a local
// here, so the compiler keeps it in registers across the stores (a uint8 store
// may alias anything reached through a pointer).
template <bool kSegment, bool kKeepMin, bool kAntialias, bool kPlain, typename OutT>
void avx2_rows(const Avx2Shade& shade, Avx2Columns cols, const CpuPrimitive& q, int64_t r0,
               int64_t r1, OutT* base, int64_t stride, int64_t s, FillAheadCursor* ahead) {
  const Avx2Shade simd = shade;
  const __m256 ex = _mm256_set1_ps(q.ex), ey = _mm256_set1_ps(q.ey),
               neg_ee = _mm256_set1_ps(-q.ee), y0 = _mm256_set1_ps(q.y0);
  OutT* dst = base + r0 * stride + s;
  char* next = ahead->next;
  const char* const next_end = ahead->end;
  const int64_t fill_step = ahead->step;
  const __m256i pattern = _mm256_set1_epi32(static_cast<int>(ahead->pattern));
  // Rows below 2^24 are exact floats, and so is each py + 1.
  const bool exact_step = r1 < (int64_t{1} << 24);
  __m256 py = _mm256_set1_ps(static_cast<float>(r0));
  for (int64_t row = r0; row <= r1; ++row, dst += stride) {
    if (next < next_end) avx2_fill_ahead_row(next, next_end, fill_step, pattern);
    if (!exact_step) py = _mm256_set1_ps(static_cast<float>(row));
    // ay = y0 - py and ay * ey in every lane: the scalar operations.
    const __m256 ay = _mm256_sub_ps(y0, py);
    avx2_run<kSegment, kKeepMin, kAntialias, kPlain>(simd, cols, ex, ey, neg_ee, ay,
                                                     _mm256_mul_ps(ay, ey), dst);
    py = _mm256_add_ps(py, simd.one);
  }
  ahead->next = next;
}

// shade_rows in a plane at least 8 columns wide, with AVX2.
template <bool kSegment, bool kKeepMin, bool kAntialias, bool kPlain, typename OutT>
void avx2_shade_rows(const CpuPrimitive& q, const Avx2Shade& simd, int64_t row_lo,
                     int64_t row_hi, int64_t width, OutT* base, int64_t stride,
                     FillAheadCursor* ahead) {
  constexpr int V = 8;
  const __m256 x0 = _mm256_set1_ps(q.x0), ex = _mm256_set1_ps(q.ex);
  // Whole vectors, moved left at the plane's right edge.
  auto shade_vector = [&](int64_t r0, int64_t r1, int64_t c) {
    const int64_t s = std::min(c, width - V);
    avx2_rows<kSegment, kKeepMin, kAntialias, kPlain>(
        simd, avx2_columns(x0, ex, static_cast<int32_t>(s)), q, r0, r1, base, stride, s,
        ahead);
  };
  for_each_chunk<V>(q, row_lo, row_hi, width, shade_vector);
}
#endif

// Rows [row_lo, row_hi] of primitive q within columns [0, width); element
// (row, col) is base[row * stride + col]. Runs are whole vectors of 8
// columns, moved left at the plane's right edge: shading a pixel twice, or a
// pixel the primitive does not reach, leaves it as it should be.
template <bool kSegment, bool kKeepMin, bool kAntialias, typename OutT>
void shade_rows(const CpuPrimitive& q, const Shaders<kAntialias>& shaders, int64_t row_lo,
                int64_t row_hi, int64_t width, OutT* base, int64_t stride,
                FillAheadCursor* ahead) {
  constexpr int V = 8;
  const bool vector = width >= V && width <= kVectorColumnLimit;
#if defined(TR_CPU_AVX2)
  if constexpr (std::is_same_v<OutT, float> || std::is_same_v<OutT, uint8_t>) {
    if (vector) {
      if (shaders.simd.template plain<OutT>()) {
        avx2_shade_rows<kSegment, kKeepMin, kAntialias, true>(q, shaders.simd, row_lo,
                                                              row_hi, width, base, stride,
                                                              ahead);
      } else {
        avx2_shade_rows<kSegment, kKeepMin, kAntialias, false>(q, shaders.simd, row_lo,
                                                               row_hi, width, base, stride,
                                                               ahead);
      }
      return;
    }
  }
#endif
  (void)ahead;  // the portable loops leave it to the tile's end
  const Shade<kAntialias>& shade = shaders.scalar;
  // Columns [c, c + V) of rows [r0, r1] (clipped to the plane, or moved left at
  // its right edge), in one run of V or one by one in a narrow plane.
  auto shade_vector = [&](int64_t r0, int64_t r1, int64_t c) {
    for (int64_t row = r0; row <= r1; ++row) {
      const float ay = q.y0 - static_cast<float>(row);
      const float ay_ey = ay * q.ey;
      OutT* const dst = base + row * stride;
      if (vector) {
        const int64_t s = std::min(c, width - V);
        shade_run<V, kSegment, kKeepMin, kAntialias, int32_t>(q, shade, ay, ay_ey,
                                                              static_cast<int32_t>(s), dst + s);
      } else {
        for (int64_t col = c; col < std::min(c + V, width); ++col) {
          shade_run<1, kSegment, kKeepMin, kAntialias, int64_t>(q, shade, ay, ay_ey, col,
                                                                dst + col);
        }
      }
    }
  };
  for_each_chunk<V>(q, row_lo, row_hi, width, shade_vector);
}
