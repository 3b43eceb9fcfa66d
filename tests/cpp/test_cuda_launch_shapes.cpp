// The shared CUDA launch shapes (kernels/common/cuda_planes.h) driven over their
// whole launch grid on the CPU, with a plain functor: every element written
// exactly once with the functor's value, for every output type, aligned or not,
// with a capped grid (grid stride) and odd sizes; every item visited once.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/common/cuda_planes.h"

namespace tk = torch_render::kernels;

namespace {

// A value in [0, 1] that differs between neighbours.
struct Ramp {
  TR_HD float operator()(int64_t e) const { return static_cast<float>(e % 97) / 96.0f; }
};

template <typename OutT, bool kAligned>
void check_write_planes(int64_t numel, int64_t max_blocks) {
  SCOPED_TRACE(::testing::Message() << "numel " << numel << " bytes " << sizeof(OutT)
                                    << " aligned " << kAligned << " max_blocks " << max_blocks);
  std::vector<OutT> out(static_cast<size_t>(numel), static_cast<OutT>(7));
  int64_t blocks = tk::write_planes_blocks<OutT>(numel, kAligned);
  if (blocks > max_blocks) blocks = max_blocks;
  const Ramp value;
  for (int64_t block = 0; block < blocks; ++block) {
    for (int64_t t = 0; t < tk::kPlaneThreads; ++t) {
      tk::write_planes_thread<OutT, kAligned>(out.data(), numel, value, block, t,
                                              tk::kPlaneThreads, blocks);
    }
  }
  for (int64_t e = 0; e < numel; ++e) {
    const OutT want = tk::Store<OutT>::convert(value(e));
    ASSERT_EQ(std::memcmp(&out[e], &want, sizeof(OutT)), 0) << "element " << e;
  }
}

template <typename OutT>
void check_all_write_planes() {
  for (int64_t numel : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{4099},
                        int64_t{3 * 64 * 65 + 5}}) {
    for (int64_t max_blocks : {int64_t{1}, int64_t{3}, int64_t{1} << 30}) {
      check_write_planes<OutT, true>(numel, max_blocks);
      check_write_planes<OutT, false>(numel, max_blocks);
    }
  }
}

TEST(CudaLaunchShapes, WritePlanesWritesEveryElementWithItsValue) {
  check_all_write_planes<float>();
  check_all_write_planes<double>();
  check_all_write_planes<uint8_t>();
}

TEST(CudaLaunchShapes, ItemsVisitsEveryItemOnce) {
  for (int64_t count : {int64_t{1}, int64_t{127}, int64_t{128}, int64_t{129}, int64_t{1000}}) {
    std::vector<int> visits(static_cast<size_t>(count), 0);
    int* counts = visits.data();
    const auto item = [counts](int64_t i) { ++counts[i]; };
    const int64_t blocks = tk::items_blocks(count);
    for (int64_t block = 0; block < blocks; ++block) {
      for (int64_t t = 0; t < tk::kItemThreads; ++t) {
        tk::items_thread(count, item, block, t, tk::kItemThreads);
      }
    }
    for (int64_t i = 0; i < count; ++i) ASSERT_EQ(visits[i], 1) << "item " << i << " of " << count;
  }
}

}  // namespace
