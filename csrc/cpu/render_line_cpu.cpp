// render_line on the CPU: at::parallel_for over images for the points pass and
// over (image, channel, row block) for the raster pass, which runs the best
// instruction-set copy of the kernel (kernels/render_line_cpu.h).
#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "csrc/render_line.h"
#include "kernels/render_line_cpu.h"

namespace torch_render {
namespace {

using kernels::CpuPrimitive;
using kernels::LineParams;

// Row blocks per plane so that small batches of large images still use every thread.
int64_t row_blocks(const LineParams& p, int64_t planes) {
  const int64_t threads = at::get_num_threads();
  if (planes >= 4 * threads) return 1;
  const int64_t wanted = (4 * threads + planes - 1) / planes;
  const int64_t max_blocks = std::max<int64_t>(1, p.height / 32);  // blocks of >= 32 rows
  return std::min(wanted, max_blocks);
}

// Outputs larger than this do not stay in this machine class's caches: stream them
// (see CpuScratch). Below it, a reused output is written faster in cache.
constexpr int64_t kStreamBytes = int64_t{32} << 20;

template <typename OutT>
void raster(const LineParams& p, OutT* out, bool fresh) {
  const int64_t planes = p.batch * p.channels();
  const int64_t blocks = row_blocks(p, planes);
  const int64_t block_rows = (p.height + blocks - 1) / blocks;
  const int64_t plane_size = p.height * p.width;
  // Streaming skips reading the output's old contents, but a fresh output has none
  // to read: its cost is page faults, which huge pages cut instead (measured slower
  // with streaming).
  const bool stream =
      !fresh && planes * plane_size * static_cast<int64_t>(sizeof(OutT)) > kStreamBytes;
  const auto primitives = static_cast<size_t>(kernels::cpu_scratch_primitives(p));
  const int64_t tile_rows = kernels::cpu_tile_rows(p, static_cast<int64_t>(sizeof(OutT)));
  const auto tile_bytes = static_cast<size_t>(tile_rows * p.width * sizeof(OutT));
  at::parallel_for(0, planes * blocks, 1, [&](int64_t begin, int64_t end) {
    // Scratch of this call (O(L) primitives, and one tile when streaming),
    // allocated once per thread and call, never per block or pixel.
    std::vector<CpuPrimitive> prims(primitives);
    std::vector<double> tile(stream ? (tile_bytes + sizeof(double) - 1) / sizeof(double) : 0);
    // Block `item`: its plane and rows.
    auto block = [&](int64_t item, int64_t* plane, int64_t* row_begin, int64_t* row_end) {
      *plane = item / blocks;
      *row_begin = (item % blocks) * block_rows;
      *row_end = std::min(p.height, *row_begin + block_rows);
    };
    // Rows at the start of the next block that this thread has filled ahead.
    int64_t filled = 0;
    for (int64_t item = begin; item < end; ++item) {
      int64_t plane, row_begin, row_end;
      block(item, &plane, &row_begin, &row_end);
      kernels::CpuScratch scratch{prims.data(), stream ? tile.data() : nullptr};
      scratch.filled_rows = filled;
      filled = 0;
      if (row_begin >= row_end) continue;
      int64_t next_plane, next_begin, next_end;
      if (!stream && item + 1 < end) {
        // This thread draws the next block next: its first rows are filled with
        // the background while this block is shaded.
        block(item + 1, &next_plane, &next_begin, &next_end);
        const int64_t rows = std::min(tile_rows, next_end - next_begin);
        if (rows > 0) {
          scratch.ahead = out + next_plane * plane_size + next_begin * p.width;
          scratch.ahead_bytes = rows * p.width * static_cast<int64_t>(sizeof(OutT));
          scratch.fill_ahead = true;
          filled = rows;
        }
      }
      kernels::render_line_cpu_block(p, out + plane * plane_size, plane / p.channels(),
                                     plane % p.channels(), row_begin, row_end, 0, p.width,
                                     scratch);
    }
  });
}

// A fresh output's cost is its page faults: ask for transparent huge pages before
// the first touch (as NumPy does for large arrays).
void advise_huge_pages(const at::Tensor& out) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
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

void render_line_cpu(LinePlan& plan, const at::Tensor& series, at::Tensor& out) {
  // Only outputs beyond glibc's largest mmap threshold (32 MB) are always new
  // mappings that fault in; smaller ones reuse heap memory that is already
  // mapped, where the advice only costs (measured: 5.4k vs 9.4k images/s at
  // B = 4 x 500 x 800 float32).
  if (plan.fresh_output && out.nbytes() > static_cast<size_t>(kStreamBytes)) advise_huge_pages(out);
  LineParams& p = plan.params;
  at::Tensor xs = at::empty({p.length}, series.options().dtype(at::kFloat));
  at::Tensor ys = at::empty({p.batch, p.num_series, p.length}, series.options().dtype(at::kFloat));
  p.xs = xs.data_ptr<float>();
  p.ys = ys.data_ptr<float>();
  if (plan.value_range.defined()) p.value_range = plan.value_range.const_data_ptr<double>();
  kernels::line_x_cpu(p);

  const at::Tensor s3 = series.dim() == 3 ? series : series.unsqueeze(1);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, series.scalar_type(),
                                  "render_line_cpu_points", [&] {
    const kernels::SeriesView<scalar_t> in{s3.const_data_ptr<scalar_t>(), s3.stride(0),
                                           s3.stride(1), s3.stride(2)};
    at::parallel_for(0, p.batch, 1, [&](int64_t begin, int64_t end) {
      kernels::line_points_cpu(p, in, begin, end);
    });
  });

  AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kByte, out.scalar_type(),
                                  "render_line_cpu_raster",
                                  [&] {
                                    raster(p, out.mutable_data_ptr<scalar_t>(), plan.fresh_output);
                                  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, CPU, m) {
  m.impl("render_line", &render_line_functional<render_line_cpu>);
  m.impl("render_line.out", &render_line_out<render_line_cpu>);
}

}  // namespace torch_render
