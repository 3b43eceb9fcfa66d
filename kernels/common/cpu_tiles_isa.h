// The CPU tile driver shared by every op, compiled once per instruction set.
//
// No include guard of the usual kind: each op's ISA copy (kernels/common/cpu_isa.h)
// includes this file inside kernels::baseline or, with TR_CPU_AVX2, inside
// kernels::avx2; the guards below emit it once per copy namespace and
// translation unit. Everything it uses from outside (cpu_memory.h, cpu_tiles.h)
// the includer has included before, at namespace scope.
#if defined(TR_CPU_AVX2)
#if !defined(TR_CPU_TILES_ISA_AVX2)
#define TR_CPU_TILES_ISA_AVX2
#define TR_CPU_TILES_ISA_EMIT
#endif
#elif !defined(TR_CPU_TILES_ISA_BASELINE)
#define TR_CPU_TILES_ISA_BASELINE
#define TR_CPU_TILES_ISA_EMIT
#endif

#if defined(TR_CPU_TILES_ISA_EMIT)
#undef TR_CPU_TILES_ISA_EMIT

#if defined(TR_CPU_AVX2)
// One shaded row's share of a fill ahead, in whole 32-byte vectors; the tile's
// end fills what is left. The caller keeps the cursor's fields in locals so they
// stay in registers across its stores.
inline void avx2_fill_ahead_row(char*& next, const char* end, int64_t step, __m256i pattern) {
  const char* const stop = next + std::min<int64_t>(step, end - next);
  for (; stop - next >= 32; next += 32) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(next), pattern);
  }
}
#endif

// Draws rows [row_begin, row_end) of the contiguous [H, width] `plane`, tile by
// tile of tile_rows rows: each tile is filled with `background` (unless filled
// ahead), shaded by the op, and streamed out when memory.stream_tile is given.
// While a tile is shaded, the op fills what follows it (the plane's next tile,
// or the caller's memory.fill_ahead after the last) through the cursor it gets.
// `op` provides:
//   int64_t shaded_rows(r0, r1): rows its shading touches in rows [r0, r1)
//     (spreads the fill ahead over them);
//   void shade(r0, r1, OutT* base, int64_t stride, FillAheadCursor* ahead):
//     shades rows [r0, r1), element (row, col) at base[row * stride + col].
template <typename OutT, typename TileOp>
void draw_tiles(OutT* plane, int64_t width, int64_t row_begin, int64_t row_end,
                int64_t tile_rows, OutT background, const CpuTileMemory& memory, TileOp& op) {
  // Where a tile is drawn: the plane itself, or the streaming tile.
  OutT* const tile = static_cast<OutT*>(memory.stream_tile);
  const int64_t stride = width;
  const uint32_t pattern = repeated_pattern(background);
  // Rows [row_begin, filled_to) of the plane hold the background already.
  int64_t filled_to =
      tile == nullptr ? row_begin + std::min(std::max<int64_t>(memory.filled_rows, 0),
                                             row_end - row_begin)
                      : row_begin;
  for (int64_t r0 = row_begin; r0 < row_end; r0 += tile_rows) {
    const int64_t r1 = std::min(r0 + tile_rows, row_end);
    // Element (row, col) of the tile is at base[row * stride + col].
    OutT* const base = tile != nullptr ? tile - r0 * stride : plane;
    for (int64_t row = tile != nullptr ? r0 : std::max(r0, filled_to); row < r1; ++row) {
      fill_value(base + row * stride, width, background);
    }
    FillAheadCursor ahead;
    if (r1 < row_end) {
      if (tile == nullptr) {
        const int64_t r2 = std::min(r1 + tile_rows, row_end);
        ahead.next = reinterpret_cast<char*>(plane + r1 * width);
        ahead.end = reinterpret_cast<const char*>(plane + r2 * width);
        filled_to = r2;
      }
    } else if (memory.fill_ahead != nullptr) {
      ahead.next = static_cast<char*>(memory.fill_ahead);
      ahead.end = ahead.next + memory.fill_ahead_bytes;
    }
    if (ahead.next != nullptr) {
      // Spread over the rows the shading touches, in whole vectors of 32 bytes.
      const int64_t rows = op.shaded_rows(r0, r1);
      const int64_t bytes = ahead.end - ahead.next;
      ahead.step =
          std::min(kMaxFillStep, (bytes / std::max<int64_t>(rows, 1) + 32) & ~int64_t{31});
      ahead.pattern = pattern;
    }
    op.shade(r0, r1, base, stride, &ahead);
    if (ahead.step > 0 && ahead.next < ahead.end) {
      fill_value(reinterpret_cast<OutT*>(ahead.next),
                 static_cast<int64_t>((ahead.end - ahead.next) / sizeof(OutT)), background);
    }
    if (tile != nullptr) {
      for (int64_t row = r0; row < r1; ++row) {
        stream_copy(plane + row * width, tile + (row - r0) * width,
                    static_cast<size_t>(width) * sizeof(OutT));
      }
    }
  }
  if (tile != nullptr) stream_fence();
}

#endif  // TR_CPU_TILES_ISA_EMIT
