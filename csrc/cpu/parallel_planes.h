// The CPU parallel driver shared by ops that write [planes, H, W] outputs:
// at::parallel_for over (plane, row block) items, each thread filling ahead the
// first rows of the block it draws next, or streaming large outputs; and the
// huge-page advice for fresh outputs. The op draws one block with its kernels/
// CPU entry point.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include "kernels/common/cpu_tiles.h"

namespace torch_render {

// Outputs larger than this do not stay in this machine class's caches: stream them
// (see kernels::CpuTileMemory). Below it, a reused output is written faster in cache.
constexpr int64_t kStreamBytes = int64_t{32} << 20;

// Whether an output of `bytes` is streamed. A fresh output has no old contents to
// skip reading: its cost is page faults, which huge pages cut instead (measured
// slower with streaming).
inline bool stream_output(int64_t bytes, bool fresh) { return !fresh && bytes > kStreamBytes; }

// A fresh output's cost is its page faults: ask for transparent huge pages before
// the first touch (as NumPy does for large arrays). Only outputs beyond glibc's
// largest mmap threshold (32 MB) are always new mappings that fault in; smaller
// ones reuse heap memory that is already mapped, where the advice only costs
// (benchmarks/README.md).
inline void advise_huge_pages(const at::Tensor& out) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (out.nbytes() <= static_cast<size_t>(kStreamBytes)) return;
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const auto begin = reinterpret_cast<uintptr_t>(out.data_ptr());
  const uintptr_t end = begin + static_cast<uintptr_t>(out.nbytes());
  const uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t last = end & ~(kHuge - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)out;
#endif
}

// Row blocks per plane so that small batches of large images still use every thread.
inline int64_t row_blocks(int64_t height, int64_t planes) {
  const int64_t threads = at::get_num_threads();
  if (planes >= 4 * threads) return 1;
  const int64_t wanted = (4 * threads + planes - 1) / planes;
  const int64_t max_blocks = std::max<int64_t>(1, height / 32);  // blocks of >= 32 rows
  return std::min(wanted, max_blocks);
}

// Draws the contiguous [planes, height, width] `out` in parallel:
// draw(state, plane, row_begin, row_end, memory) draws rows [row_begin, row_end)
// of plane `plane` with the kernels::CpuTileMemory given; state = new_state() is
// the op's scratch, made once per thread and call, never per block or pixel.
template <typename OutT, typename NewState, typename Draw>
void parallel_planes(OutT* out, int64_t planes, int64_t height, int64_t width, bool stream,
                     NewState&& new_state, Draw&& draw) {
  const int64_t blocks = row_blocks(height, planes);
  const int64_t block_rows = (height + blocks - 1) / blocks;
  const int64_t plane_size = height * width;
  const int64_t tile_rows =
      kernels::cpu_tile_rows(height, width, static_cast<int64_t>(sizeof(OutT)));
  const auto tile_bytes = static_cast<size_t>(tile_rows * width * sizeof(OutT));
  at::parallel_for(0, planes * blocks, 1, [&](int64_t begin, int64_t end) {
    auto state = new_state();
    std::vector<double> tile(stream ? (tile_bytes + sizeof(double) - 1) / sizeof(double) : 0);
    // Block `item`: its plane and rows.
    auto block = [&](int64_t item, int64_t* plane, int64_t* row_begin, int64_t* row_end) {
      *plane = item / blocks;
      *row_begin = (item % blocks) * block_rows;
      *row_end = std::min(height, *row_begin + block_rows);
    };
    // Rows at the start of the next block that this thread has filled ahead.
    int64_t filled = 0;
    for (int64_t item = begin; item < end; ++item) {
      int64_t plane, row_begin, row_end;
      block(item, &plane, &row_begin, &row_end);
      kernels::CpuTileMemory memory;
      memory.stream_tile = stream ? tile.data() : nullptr;
      memory.filled_rows = filled;
      filled = 0;
      if (row_begin >= row_end) continue;
      if (!stream && item + 1 < end) {
        // This thread draws the next block next: its first rows are filled with
        // the background while this block is shaded.
        int64_t next_plane, next_begin, next_end;
        block(item + 1, &next_plane, &next_begin, &next_end);
        filled = kernels::fill_next_rows(&memory, out + next_plane * plane_size +
                                                      next_begin * width,
                                         std::min(tile_rows, next_end - next_begin), width);
      }
      draw(state, plane, row_begin, row_end, memory);
    }
  });
}

}  // namespace torch_render
