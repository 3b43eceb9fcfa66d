// The CPU tile plan shared by every op that writes [H, W] planes: how many rows
// a tile has, and the memory a call writes besides its own rows (a streaming
// tile, the caller's next rows filled ahead). The driver that walks the tiles is
// compiled per instruction set: kernels/common/cpu_tiles_isa.h.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/common/cpu_memory.h"

namespace torch_render {
namespace kernels {

// Bytes of output rows filled and shaded together: small enough to stay in L2
// while every primitive of those rows reads and writes them, large enough that a
// 224x224 float32 image is one tile (benchmarks/README.md).
constexpr int64_t kCpuTileBytes = int64_t{256} << 10;

// Rows of one tile of a plane `height` x `width` of `elem_bytes`-byte elements.
inline int64_t cpu_tile_rows(int64_t height, int64_t width, int64_t elem_bytes) {
  const int64_t row_bytes = std::max<int64_t>(1, width * elem_bytes);
  return std::max<int64_t>(1, std::min<int64_t>(height, kCpuTileBytes / row_bytes));
}

// Caller-owned memory of one call that draws rows of a plane (whole rows only).
struct CpuTileMemory {
  // Optional: tile_rows x width output elements. When given, each tile is drawn
  // there (in cache) and streamed to the plane with non-temporal stores, so the
  // output is written once without being read first.
  void* stream_tile = nullptr;
  // Optional: the output bytes [fill_ahead, fill_ahead + fill_ahead_bytes) that
  // the caller draws next (the next block's first rows), filled with the
  // background while the last tile is shaded: all of them, by the end of the call.
  void* fill_ahead = nullptr;
  int64_t fill_ahead_bytes = 0;
  // Rows at the start of the call's rows that already hold the background
  // (filled ahead by the call before).
  int64_t filled_rows = 0;
};

// Where a tile's shading fills the memory that follows it with the background,
// a little per shaded row, so that the fill's memory traffic overlaps the
// shading instead of stalling on its own (benchmarks/README.md). Whatever the
// shading leaves, the tile's end fills.
struct FillAheadCursor {
  char* next = nullptr;
  const char* end = nullptr;
  int64_t step = 0;       // bytes per shaded row, a multiple of 32
  uint32_t pattern = 0;   // the background's bytes, repeated to 4 bytes
};
// Bytes of a fill ahead per shaded row, at most (the rest waits for the tile's end).
constexpr int64_t kMaxFillStep = 1024;

// For a caller that draws blocks of rows one after another: makes the current
// call fill ahead `next_rows` rows of `width` elements from `next_first_row` (the
// next block's first rows) and returns how many (the next call's filled_rows).
template <typename OutT>
inline int64_t fill_next_rows(CpuTileMemory* memory, OutT* next_first_row, int64_t next_rows,
                              int64_t width) {
  if (next_rows <= 0) return 0;
  memory->fill_ahead = next_first_row;
  memory->fill_ahead_bytes = next_rows * width * static_cast<int64_t>(sizeof(OutT));
  return next_rows;
}

}  // namespace kernels
}  // namespace torch_render
