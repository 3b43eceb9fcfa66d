// The CUDA kernels' per-thread bodies, driven over their whole launch grid on the
// CPU (every block, every thread), must give the CPU kernel's bits. This is how the
// CUDA code is checked on machines without a GPU (DESIGN §5).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/render_line_backward.h"
#include "kernels/render_line_backward_cpu.h"
#include "kernels/render_line_cpu.h"
#include "kernels/render_line_cuda_body.h"
#include "tests/cpp/testing.h"

namespace tk = torch_render::kernels;
using torch_render::testing::expect_same_bits;

namespace {

struct Case {
  int64_t B, S, L, H, W;
  bool channels, antialias;
  float line_width, margin;
  bool with_range;
  int nan_every;  // 0: no gaps
};

struct Inputs {
  std::vector<double> series;  // [B, S, L] contiguous
  std::vector<double> range;   // [B, S, 2] or empty
};

Inputs make_inputs(const Case& c, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> step(0.0, 1.0);
  Inputs in;
  in.series.resize(static_cast<size_t>(c.B * c.S * c.L));
  for (int64_t i = 0; i < c.B * c.S; ++i) {
    double v = 100.0;
    for (int64_t l = 0; l < c.L; ++l) {
      v += step(gen);
      const bool gap = c.nan_every > 0 && (l * 7 + i) % c.nan_every == 0;
      in.series[i * c.L + l] = gap ? NAN : v;
    }
  }
  if (c.with_range) {
    for (int64_t i = 0; i < c.B * c.S; ++i) {
      in.range.push_back(95.0);
      in.range.push_back(105.0);
    }
  }
  return in;
}

tk::LineParams make_params(const Case& c, const Inputs& in, std::vector<float>& xs,
                           std::vector<float>& ys) {
  tk::LineParams p;
  p.batch = c.B;
  p.num_series = c.S;
  p.length = c.L;
  p.height = c.H;
  p.width = c.W;
  p.channel_mode = c.channels;
  p.antialias = c.antialias;
  p.half_width = c.line_width * 0.5f;
  p.margin = c.margin;
  if (c.with_range) {
    p.value_range = in.range.data();
    p.range_stride_b = c.channels ? c.S * 2 : 2;
    p.range_stride_g = c.channels ? 2 : 0;
  }
  xs.assign(static_cast<size_t>(c.L), -1.0f);
  ys.assign(static_cast<size_t>(c.B * c.S * c.L), -1.0f);
  p.xs = xs.data();
  p.ys = ys.data();
  return p;
}

template <typename OutT>
std::vector<OutT> render_cpu(const Case& c, const Inputs& in) {
  std::vector<float> xs, ys;
  const tk::LineParams p = make_params(c, in, xs, ys);
  const tk::SeriesView<double> view{in.series.data(), c.S * c.L, c.L, 1};
  std::vector<OutT> out(static_cast<size_t>(c.B * p.channels() * c.H * c.W));
  std::vector<tk::CpuPrimitive> primitives(static_cast<size_t>(tk::cpu_scratch_primitives(p)));
  tk::render_line_cpu_serial(p, view, out.data(), tk::CpuScratch{primitives.data()});
  return out;
}

// Runs both CUDA passes the way the launchers do, one (block, thread) at a time.
template <typename OutT, bool kAligned>
std::vector<OutT> render_emulated(const Case& c, const Inputs& in, int64_t max_blocks) {
  std::vector<float> xs, ys;
  const tk::LineParams p = make_params(c, in, xs, ys);
  const tk::SeriesView<double> view{in.series.data(), c.S * c.L, c.L, 1};
  const int64_t point_items = tk::line_points_items(p);
  const int64_t point_blocks = tk::items_blocks(point_items);
  const tk::LinePointsItem<double> points{p, view};
  for (int64_t block = 0; block < point_blocks; ++block) {
    for (int64_t t = 0; t < tk::kItemThreads; ++t) {
      tk::items_thread(point_items, points, block, t, tk::kItemThreads);
    }
  }
  const int64_t numel = c.B * p.channels() * c.H * c.W;
  // Poison the output so an element no thread writes is caught.
  std::vector<OutT> out(static_cast<size_t>(numel), static_cast<OutT>(7));
  int64_t blocks = tk::write_planes_blocks<OutT>(numel, kAligned);
  if (blocks > max_blocks) blocks = max_blocks;  // exercise the grid-stride loop
  const tk::LineRasterValue value{p};
  for (int64_t block = 0; block < blocks; ++block) {
    for (int64_t t = 0; t < tk::kPlaneThreads; ++t) {
      tk::write_planes_thread<OutT, kAligned>(out.data(), numel, value, block, t,
                                              tk::kPlaneThreads, blocks);
    }
  }
  return out;
}

const std::vector<Case> kCases = {
    // B, S, L, H, W, channels, antialias, line_width, margin, range, nan_every
    {2, 1, 100, 50, 80, false, true, 3.0f, 0.0f, false, 0},
    {3, 2, 37, 33, 61, false, true, 2.5f, 1.5f, false, 5},     // odd sizes, partial tiles
    {2, 3, 10, 17, 23, true, false, 4.0f, 2.0f, true, 3},      // channels, aliased, ranges
    {1, 1, 1, 9, 9, false, true, 3.0f, 0.0f, false, 0},         // L == 1: a dot
    {2, 1, 300, 40, 30, false, true, 0.5f, 0.0f, false, 2},    // L > W, isolated points
    {1, 1, 5, 1, 1, false, true, 12.0f, 0.0f, false, 0},        // 1x1
    {1, 2, 64, 3, 257, true, true, 3.0f, 1.0f, false, 11},     // W not a multiple of the vector
    {2, 20, 12, 24, 40, false, true, 5.0f, 0.0f, false, 0},    // many overlaid series meet
    {2, 2, 100, 224, 224, false, true, 3.0f, 0.0f, false, 0},  // benchmark-like overlay
    {1, 1, 20, 40, 500, false, true, 2.0f, 0.5f, false, 6},    // shallow segments, long rows
};

TEST(CudaEmulation, Float32MatchesCpuBitForBit) {
  for (size_t i = 0; i < kCases.size(); ++i) {
    SCOPED_TRACE(i);
    const Inputs in = make_inputs(kCases[i], 100 + static_cast<uint32_t>(i));
    const auto cpu = render_cpu<float>(kCases[i], in);
    expect_same_bits(render_emulated<float, true>(kCases[i], in, 1 << 20), cpu);
    expect_same_bits(render_emulated<float, false>(kCases[i], in, 1 << 20), cpu);
    expect_same_bits(render_emulated<float, true>(kCases[i], in, 3), cpu);  // grid-stride
  }
}

TEST(CudaEmulation, Uint8AndFloat64MatchCpu) {
  for (size_t i = 0; i < kCases.size(); ++i) {
    SCOPED_TRACE(i);
    const Inputs in = make_inputs(kCases[i], 200 + static_cast<uint32_t>(i));
    expect_same_bits(render_emulated<uint8_t, true>(kCases[i], in, 1 << 20),
                     render_cpu<uint8_t>(kCases[i], in));
    expect_same_bits(render_emulated<double, true>(kCases[i], in, 2),
                     render_cpu<double>(kCases[i], in));
  }
}

TEST(CudaEmulation, IndexArithmeticPast2To31) {
  // 2049 planes of 1024 x 1024: flat indices beyond 2^31, without the output buffer.
  const Case c{2049, 1, 20, 1024, 1024, false, true, 3.0f, 0.0f, false, 0};
  const Inputs in = make_inputs(c, 7);
  std::vector<float> xs, ys;
  const tk::LineParams p = make_params(c, in, xs, ys);
  const tk::SeriesView<double> view{in.series.data(), c.S * c.L, c.L, 1};
  tk::line_x_cpu(p);
  tk::line_points_cpu(p, view, 0, c.B);
  const int64_t numel = c.B * c.H * c.W;
  ASSERT_GT(numel, int64_t{1} << 31);
  // The last plane rendered alone by the CPU kernel.
  const int64_t last = c.B - 1;
  std::vector<float> plane(static_cast<size_t>(c.H * c.W));
  std::vector<tk::CpuPrimitive> primitives(static_cast<size_t>(tk::cpu_scratch_primitives(p)));
  tk::render_line_cpu_rows(p, plane.data(), last, 0, 0, c.H,
                           tk::CpuScratch{primitives.data()});
  int64_t inked = 0;
  for (int64_t e = last * c.H * c.W; e < numel; e += 37) {
    const float v = tk::raster_value(p, e);
    ASSERT_EQ(std::memcmp(&v, &plane[e - last * c.H * c.W], sizeof(float)), 0) << "element " << e;
    inked += v < 1.0f;
  }
  EXPECT_GT(inked, 0);
  // The launch covers every chunk: blocks * threads * vector >= numel, within the grid cap.
  const int64_t blocks = tk::write_planes_blocks<float>(numel, true);
  EXPECT_GE(blocks * tk::kPlaneThreads * tk::VectorElems<float>::value, numel);
}

// ------------------------------------------------------------------ backward

struct Gradients {
  std::vector<double> series;  // [B, S, L]
  std::vector<double> range;   // as Inputs::range
};

// An incoming gradient with every value different, in [-1, 1].
std::vector<float> make_grad(const Case& c, int64_t channels, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> g(static_cast<size_t>(c.B * channels * c.H * c.W));
  for (float& v : g) v = u(gen);
  return g;
}

// order: 0 items in order (the serial driver), 1 the CUDA launch grid, block by
// block, 2 every pass's items in reverse (another split of the work), 3 and 4 the
// CPU backend's pass 1 (line_primitive_grad_cpu) with AVX2 and with the baseline,
// 5 its plane-by-plane pass (line_plane_grad_cpu) where it applies, 6 the same with
// room for few of a band's distances. stash_room >= 0 (order 5): the plane pass's
// memory ends right after a stash of that many vectors, so that AddressSanitizer
// sees a write past it.
Gradients backward(const Case& c, const Inputs& in, const std::vector<float>& grad, int order,
                   int64_t stash_room = -1) {
  std::vector<float> xs, ys;
  const tk::LineParams p = make_params(c, in, xs, ys);
  const tk::SeriesView<double> view{in.series.data(), c.S * c.L, c.L, 1};
  const tk::PlaneView<float> g{grad.data(), p.channels() * c.H * c.W, c.H * c.W, c.W, 1};
  std::vector<double> primitive(static_cast<size_t>(c.B * c.S * c.L * 2), -7.0);
  Gradients out{std::vector<double>(static_cast<size_t>(c.B * c.S * c.L), -7.0),
                std::vector<double>(in.range.size(), 0.0)};
  const tk::LineGradBuffers buffers{primitive.data(), out.series.data(),
                                    c.with_range ? out.range.data() : nullptr};
  if (order == 0) {
    tk::render_line_backward_serial(p, view, g, buffers);
    return out;
  }
  const tk::LinePointsItem<double> points{p, view};
  const tk::LinePrimitiveGradItem<float> primitives{p, g, buffers};
  const tk::LineChainItem<double> chain{p, view, buffers};
  const auto run = [&](int64_t count, const auto& item) {
    if (order >= 3) {
      for (int64_t i = 0; i < count; ++i) item(i);
      return;
    }
    if (order == 2) {
      for (int64_t i = count - 1; i >= 0; --i) item(i);
      return;
    }
    for (int64_t block = 0; block < tk::items_blocks(count); ++block) {
      for (int64_t t = 0; t < tk::kItemThreads; ++t) {
        tk::items_thread(count, item, block, t, tk::kItemThreads);
      }
    }
  };
  run(tk::line_points_items(p), points);
  if (order >= 5) {
    const tk::ScopedIsa isa(tk::CpuIsa::kAvx2);
    if (tk::line_plane_grad_applies<float>(p)) {
      std::vector<double> memory(
          static_cast<size_t>(tk::line_plane_grad_scratch(p, nullptr, nullptr)));
      tk::LinePlaneGradScratch scratch;
      tk::line_plane_grad_scratch(p, memory.data(), &scratch);
      // 6: room for the distances of only 3 vectors a band, so the gather
      // computes the rest again.
      if (order == 6) scratch.stash_vectors = 3;
      std::vector<double> tight;
      if (stash_room >= 0) {
        // The same layout, carved from the (32-byte aligned) first of up to 4
        // doubles, in memory that ends at most 32 bytes after the stash.
        const auto shift = [](const double* base) {
          return static_cast<int64_t>((4 - reinterpret_cast<uintptr_t>(base) / 8 % 4) % 4);
        };
        const int64_t before =
            reinterpret_cast<double*>(scratch.stash) - memory.data() - shift(memory.data());
        tight.resize(static_cast<size_t>(before + 4 + stash_room * 12));
        tk::line_plane_grad_scratch(p, tight.data(), &scratch);
        scratch.stash_vectors = stash_room;
      }
      tk::line_plane_grad_cpu(primitives, 0, c.B * p.channels(), scratch);
    } else {
      tk::line_primitive_grad_cpu(primitives, 0, tk::line_primitive_items(p));
    }
  } else if (order >= 3) {
    const tk::ScopedIsa isa(order == 3 ? tk::CpuIsa::kAvx2 : tk::CpuIsa::kBaseline);
    tk::line_primitive_grad_cpu(primitives, 0, tk::line_primitive_items(p));
  } else {
    run(tk::line_primitive_items(p), primitives);
  }
  run(c.B, chain);
  return out;
}

TEST(CudaEmulation, BackwardMatchesCpuBitForBitInAnyOrder) {
  for (size_t i = 0; i < kCases.size(); ++i) {
    SCOPED_TRACE(i);
    const Case& c = kCases[i];
    const Inputs in = make_inputs(c, 300 + static_cast<uint32_t>(i));
    const auto grad = make_grad(c, c.channels ? c.S : 1, 400 + static_cast<uint32_t>(i));
    const Gradients cpu = backward(c, in, grad, 0);
    for (const double v : cpu.series) ASSERT_TRUE(std::isfinite(v));
    for (int order = 1; order <= 6; ++order) {
      SCOPED_TRACE(order);
      const Gradients other = backward(c, in, grad, order);
      expect_same_bits(other.series, cpu.series);
      expect_same_bits(other.range, cpu.range);
    }
  }
}

TEST(CudaEmulation, BackwardPlanePassStaysWithinAStashOfAnySize) {
  // Where a band's vectors fit the stash, as the pass counts them, it keeps
  // them without testing for room: a count short by one would write past it.
  for (size_t i = 0; i < kCases.size(); ++i) {
    SCOPED_TRACE(i);
    const Case& c = kCases[i];
    const Inputs in = make_inputs(c, 1300 + static_cast<uint32_t>(i));
    const auto grad = make_grad(c, c.channels ? c.S : 1, 1400 + static_cast<uint32_t>(i));
    const Gradients body = backward(c, in, grad, 0);
    for (const int64_t room : {0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233}) {
      SCOPED_TRACE(room);
      expect_same_bits(backward(c, in, grad, 5, room).series, body.series);
    }
  }
}

TEST(CudaEmulation, BackwardAddsInTheBodysOrder) {
  // Incoming gradients of magnitudes 2^-30 to 2^30: a float64 sum of them rounds
  // differently in another order, which values of one magnitude rarely show.
  for (size_t i = 0; i < kCases.size(); ++i) {
    SCOPED_TRACE(i);
    const Case& c = kCases[i];
    const Inputs in = make_inputs(c, 900 + static_cast<uint32_t>(i));
    std::vector<float> grad = make_grad(c, c.channels ? c.S : 1, 1000 + static_cast<uint32_t>(i));
    std::mt19937 gen(1100 + static_cast<uint32_t>(i));
    std::uniform_int_distribution<int> exponent(-30, 30);
    for (float& v : grad) v = std::ldexp(v, exponent(gen));
    const Gradients body = backward(c, in, grad, 0);
    for (int order = 1; order <= 6; ++order) {
      SCOPED_TRACE(order);
      expect_same_bits(backward(c, in, grad, order).series, body.series);
    }
  }
}

TEST(CudaEmulation, BackwardSharesTiesAsTheBodyDoesOnEveryPath) {
  // Overlaid copies of one series: every pixel is as near to 2 or 3 primitives,
  // and the joins to twice as many (the plane pass's rarer tie paths).
  for (const int64_t copies : {2, 3}) {
    SCOPED_TRACE(copies);
    const Case c{2, copies, 30, 60, 90, false, true, 3.0f, 0.0f, false, 0};
    Inputs in = make_inputs(c, 700);
    for (int64_t b = 0; b < c.B; ++b) {
      for (int64_t s = 1; s < c.S; ++s) {
        for (int64_t l = 0; l < c.L; ++l) {
          in.series[(b * c.S + s) * c.L + l] = in.series[b * c.S * c.L + l];
        }
      }
    }
    const auto grad = make_grad(c, 1, 800);
    const Gradients body = backward(c, in, grad, 0);
    for (int order = 3; order <= 6; ++order) {
      SCOPED_TRACE(order);
      expect_same_bits(backward(c, in, grad, order).series, body.series);
    }
  }
}

TEST(CudaEmulation, BackwardHasGradientsOnlyWhereTheModelDoes) {
  for (size_t i = 0; i < kCases.size(); ++i) {
    SCOPED_TRACE(i);
    const Case& c = kCases[i];
    const Inputs in = make_inputs(c, 500 + static_cast<uint32_t>(i));
    const auto grad = make_grad(c, c.channels ? c.S : 1, 600 + static_cast<uint32_t>(i));
    const Gradients g = backward(c, in, grad, 0);
    double norm = 0.0;
    for (size_t k = 0; k < g.series.size(); ++k) {
      if (!std::isfinite(in.series[k])) {
        EXPECT_EQ(g.series[k], 0.0) << "gap point " << k;
      }
      norm += std::fabs(g.series[k]);
    }
    // Aliased coverage, a single point (flat) and a plot with no height (y does
    // not move with the values) have no gradient; the others do.
    if (!c.antialias || c.L == 1 || c.H - 1 - 2 * c.margin <= 0.0f) {
      EXPECT_EQ(norm, 0.0);
    } else {
      EXPECT_GT(norm, 0.0);
    }
  }
}

}  // namespace
