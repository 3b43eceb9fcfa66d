// The CUDA launch shapes shared by every op, as __host__ __device__ per-thread
// bodies (block index, thread index, launch size) so that a C++ test can drive
// them over the whole launch grid on the CPU (DESIGN §5). The __global__
// kernels that call them are in kernels/common/cuda_launch.cuh.
//
//   write_planes_thread: writes a contiguous output ([planes] of any shape) in
//     chunks of one 16-byte vector store, each element from a per-pixel functor
//     value(e) -> float (a gather: the raster of render_line, the bars of
//     render_ohlc), converted with Store<OutT>.
//   items_thread: one thread per item of a 1-D range (the points pass, a
//     per-point reduction of a backward).
#pragma once

#include <cstring>

#include "kernels/common/host_device.h"
#include "kernels/common/tensor_io.h"

namespace torch_render {
namespace kernels {

constexpr int kItemThreads = 128;
constexpr int kPlaneThreads = 256;

// Output elements per thread and store of write_planes_thread: one 16-byte store.
template <typename OutT>
struct VectorElems {
  static constexpr int value = sizeof(OutT) >= 16 ? 1 : 16 / static_cast<int>(sizeof(OutT));
};

// One 16-byte store of kVec values (aligned), or kVec scalar stores on the host.
template <typename OutT, int kVec>
TR_HD void store_vector(OutT* dst, const OutT (&vals)[kVec]) {
#if defined(__CUDA_ARCH__)
  static_assert(sizeof(OutT) * kVec == 16, "plane stores are 16 bytes");
  *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(vals);
#else
  std::memcpy(dst, vals, sizeof(vals));
#endif
}

// Thread (block, thread) of a grid of grid_dim blocks writes chunks of kVec
// consecutive elements of `out` (numel elements), grid-striding over all of
// them; element e is Store<OutT>::convert(value(e)). kAligned: `out` is 16-byte
// aligned, so whole chunks use one vector store.
template <typename OutT, bool kAligned, typename Value>
TR_HD void write_planes_thread(OutT* out, int64_t numel, const Value& value, int64_t block,
                               int64_t thread, int64_t block_dim, int64_t grid_dim) {
  constexpr int kVec = kAligned ? VectorElems<OutT>::value : 1;
  const int64_t chunks = (numel + kVec - 1) / kVec;
  for (int64_t k = block * block_dim + thread; k < chunks; k += grid_dim * block_dim) {
    const int64_t e0 = k * kVec;
    if constexpr (kVec > 1) {
      if (e0 + kVec <= numel) {
        alignas(16) OutT vals[kVec];
        for (int v = 0; v < kVec; ++v) vals[v] = Store<OutT>::convert(value(e0 + v));
        store_vector<OutT, kVec>(out + e0, vals);
        continue;
      }
    }
    for (int64_t e = e0; e < e0 + kVec && e < numel; ++e) {
      out[e] = Store<OutT>::convert(value(e));
    }
  }
}

// Blocks of a write_planes launch for `numel` outputs (grid-striding past the cap).
template <typename OutT>
inline int64_t write_planes_blocks(int64_t numel, bool aligned) {
  const int64_t vec = aligned ? VectorElems<OutT>::value : 1;
  const int64_t chunks = (numel + vec - 1) / vec;
  const int64_t blocks = (chunks + kPlaneThreads - 1) / kPlaneThreads;
  constexpr int64_t kMaxBlocks = int64_t{1} << 30;
  return blocks < kMaxBlocks ? blocks : kMaxBlocks;
}

// Thread (block, thread) runs item(i) for its index i < count.
template <typename Item>
TR_HD void items_thread(int64_t count, const Item& item, int64_t block, int64_t thread,
                        int64_t block_dim) {
  const int64_t i = block * block_dim + thread;
  if (i < count) item(i);
}

// Blocks of an items launch for `count` items.
inline int64_t items_blocks(int64_t count) { return (count + kItemThreads - 1) / kItemThreads; }

}  // namespace kernels
}  // namespace torch_render
