// render_ohlc kernels: the O(1) column form of Pillow's line against its loop,
// the level rounding, and the CUDA per-thread bodies driven over their whole
// launch grid on the CPU, equal to the CPU kernel bit for bit (DESIGN §5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "kernels/render_ohlc_cpu.h"
#include "kernels/render_ohlc_cuda_body.h"
#include "tests/cpp/testing.h"

namespace tk = torch_render::kernels;
using torch_render::testing::expect_same_bits;

namespace {

// Pillow's Draw.c loop for a line from (0, y0) to (dx, y1), dx >= 1, plus the
// end point ImageDraw.line sets: the (x, y) pixels it sets.
std::set<std::pair<int64_t, int64_t>> pillow_walk(int64_t dx, int64_t y0, int64_t y1) {
  std::set<std::pair<int64_t, int64_t>> pts;
  int64_t dy = y1 - y0;
  const int64_t ys = dy < 0 ? -1 : 1;
  dy = dy < 0 ? -dy : dy;
  int64_t x = 0, y = y0;
  if (dx > dy) {
    int64_t e = 2 * dy - dx;
    for (int64_t i = 0; i < dx; ++i) {
      pts.insert({x, y});
      if (e >= 0) {
        y += ys;
        e -= 2 * dx;
      }
      e += 2 * dy;
      x += 1;
    }
  } else {
    int64_t e = 2 * dx - dy;
    for (int64_t i = 0; i < dy; ++i) {
      pts.insert({x, y});
      if (e >= 0) {
        x += 1;
        e -= 2 * dy;
      }
      e += 2 * dx;
      y += ys;
    }
  }
  pts.insert({dx, y1});
  return pts;
}

TEST(OhlcLine, ColumnRunsAreThePillowLoop) {
  for (int64_t dx = 1; dx <= 9; ++dx) {
    for (int64_t y0 = -12; y0 <= 12; ++y0) {
      for (int64_t y1 = -40; y1 <= 40; ++y1) {
        std::set<std::pair<int64_t, int64_t>> runs;
        for (int64_t i = 0; i <= dx; ++i) {
          int64_t lo, hi;
          tk::line_column_levels(dx, y0, y1, i, &lo, &hi);
          ASSERT_LE(lo, hi);
          for (int64_t y = lo; y <= hi; ++y) runs.insert({i, y});
        }
        ASSERT_EQ(runs, pillow_walk(dx, y0, y1)) << "dx " << dx << " y0 " << y0 << " y1 " << y1;
      }
    }
  }
}

TEST(OhlcLine, LongSteepLinesAreThePillowLoop) {
  // Long lines (dy in the thousands) and both directions, with narrow bars.
  for (int64_t dx : {1, 2, 3, 5, 8}) {
    for (int64_t dy : {8190, 8191, 8192, 8193, 12345}) {
      for (int64_t sign : {-1, 1}) {
        const int64_t y0 = 7, y1 = y0 + sign * dy;
        std::set<std::pair<int64_t, int64_t>> runs;
        for (int64_t i = 0; i <= dx; ++i) {
          int64_t lo, hi;
          tk::line_column_levels(dx, y0, y1, i, &lo, &hi);
          for (int64_t y = lo; y <= hi; ++y) runs.insert({i, y});
        }
        ASSERT_EQ(runs, pillow_walk(dx, y0, y1)) << "dx " << dx << " dy " << sign * dy;
      }
    }
  }
}

TEST(OhlcLine, FarLevelsStayInInt64) {
  // Levels at the clamp, the widest bar: the run arithmetic must not overflow.
  const auto far = static_cast<int64_t>(tk::kLevelClamp);
  int64_t lo, hi;
  tk::line_column_levels(tk::kMaxBarWidth, -far, far, 0, &lo, &hi);
  EXPECT_EQ(lo, -far);
  EXPECT_GT(hi, -far);
  tk::line_column_levels(tk::kMaxBarWidth, -far, far, tk::kMaxBarWidth, &lo, &hi);
  EXPECT_EQ(hi, far);
  EXPECT_LT(lo, far);
}

TEST(OhlcLine, IncrementalColumnsAreTheClosedForm) {
  // The CPU raster's line_columns against line_column_levels, column by column,
  // for narrow and wide bars, shallow and steep lines, both directions, and
  // levels at the clamp.
  const auto far = static_cast<int64_t>(tk::kLevelClamp);
  std::vector<std::pair<int64_t, int64_t>> ends;
  for (int64_t y0 = -9; y0 <= 9; ++y0) {
    for (int64_t y1 = -70; y1 <= 70; ++y1) ends.push_back({y0, y1});
  }
  for (int64_t y : {int64_t{0}, int64_t{5}, far - 3, -far}) {
    ends.insert(ends.begin(), {{-far, y}, {far, y}, {y, far}});
  }
  for (int64_t dx : std::vector<int64_t>{1, 2, 3, 4, 5, 7, 8, 13, 64, 1000, 65536}) {
    // Wide bars: the far ends (first) and a sample of the rest.
    for (size_t e = 0; e < ends.size(); e += dx > 64 && e >= 12 ? 97 : 1) {
      const int64_t y0 = ends[e].first, y1 = ends[e].second;
      int64_t next = 0;
      auto check = [&](int64_t i, int64_t lo, int64_t hi) {
        ASSERT_EQ(i, next++);
        int64_t want_lo, want_hi;
        tk::line_column_levels(dx, y0, y1, i, &want_lo, &want_hi);
        ASSERT_EQ(lo, want_lo) << "dx " << dx << " y0 " << y0 << " y1 " << y1 << " i " << i;
        ASSERT_EQ(hi, want_hi) << "dx " << dx << " y0 " << y0 << " y1 " << y1 << " i " << i;
      };
      tk::line_columns(
          dx, y0, y1, [&](int64_t i, int64_t y) { check(i, y, y); }, check);
      ASSERT_EQ(next, dx + 1);
    }
  }
}

TEST(OhlcLevel, CpuPassIsOhlcLevel) {
  // The CPU's vectorised levels and range (AVX2 and SSE2 copies) against
  // ohlc_level and a plain scan.
  std::mt19937 gen(5);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::vector<double> v;
  for (int i = 0; i < 997; ++i) v.push_back(100.0 + 10.0 * unit(gen));
  for (double x : std::vector<double>{NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e300, -1e300, 99.5,
                                      100.5, 4.9e-324, 101.0, 98.75}) {
    v.push_back(x);
  }
  std::shuffle(v.begin(), v.end(), gen);
  for (tk::CpuIsa isa : {tk::CpuIsa::kBaseline, tk::CpuIsa::kAvx2}) {
    if (!tk::cpu_isa_supported(isa)) continue;
    const tk::ScopedIsa scoped(isa);
    SCOPED_TRACE(tk::cpu_isa_name(isa));
    for (int64_t n : std::vector<int64_t>{0, 1, 3, 4, 7, 64, static_cast<int64_t>(v.size())}) {
      double lo, hi, want_lo = INFINITY, want_hi = -INFINITY;
      tk::ohlc_finite_range(v.data(), n, &lo, &hi);
      for (int64_t i = 0; i < n; ++i) {
        if (std::isfinite(v[i])) {
          want_lo = std::min(want_lo, v[i]);
          want_hi = std::max(want_hi, v[i]);
        }
      }
      EXPECT_EQ(lo, want_lo);
      EXPECT_EQ(hi, want_hi);
    }
    const std::vector<std::pair<double, double>> ranges = {
        {90.0, 110.0}, {99.0, 101.0}, {100.0, 100.0}, {-1e300, 1e300}, {0.0, 1e-310},
        {NAN, 1.0},    {2.0, 1.0},    {98.0, 102.0}};
    for (int64_t rows : std::vector<int64_t>{1, 2, 51, 1000, int64_t{1} << 50}) {
      for (const auto& [lo, hi] : ranges) {
        const tk::OhlcScale s = tk::ohlc_scale(lo, hi, rows);
        std::vector<int64_t> got(v.size());
        tk::ohlc_levels_cpu(s, v.data(), static_cast<int64_t>(v.size()), got.data());
        for (size_t i = 0; i < v.size(); ++i) {
          ASSERT_EQ(got[i], tk::ohlc_level(s, v[i]))
              << "v " << v[i] << " lo " << lo << " hi " << hi;
        }
      }
    }
  }
  EXPECT_EQ(tk::round_half_even(2.5), 2.0);
  EXPECT_EQ(tk::round_half_even(-3.5), -4.0);
  EXPECT_TRUE(std::signbit(tk::round_half_even(-0.25)));
  EXPECT_EQ(tk::round_half_even(4503599627370497.0), 4503599627370497.0);
}

TEST(OhlcVolume, CpuPassIsOhlcImageVolume) {
  // The CPU volume pass (two at a time in SSE2, rows below 2^31) against the
  // per-case body: ties of the rounding, zeros, missing volumes, a denormal
  // maximum (0 * inf), an all-zero window, odd lengths, and rows past 2^31.
  const double tiny = 4.9e-324;
  const std::vector<std::vector<double>> windows = {
      {0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0},  // 8 / 8 * V: ties at V = 12 (1.5, 4.5, ...)
      {0.5, -1.0, NAN, INFINITY, 2.0, 0.0, 1e-300, 3.0},
      {tiny, 0.0, tiny, tiny},
      {0.0, 0.0, 0.0},
      {NAN, NAN},
      {1e308, 1.7e308, -1e308},
      {7.0},
  };
  for (int64_t rows : std::vector<int64_t>{1, 2, 12, 51, (int64_t{1} << 31) - 1, int64_t{1} << 31,
                                           int64_t{1} << 52}) {
    for (const auto& v : windows) {
      const int64_t L = static_cast<int64_t>(v.size());
      tk::OhlcParams p;
      p.batch = 1;
      p.length = L;
      p.height = rows + 2;
      p.volume_rows = rows;
      const tk::VolumeView<double> view{v.data(), L, 1};
      std::vector<int64_t> want(static_cast<size_t>(L)), ints(static_cast<size_t>(L));
      std::vector<double> reals(static_cast<size_t>(L));
      tk::ohlc_image_volume(p, view, 0, want.data());
      tk::OhlcCpuScratch w{};
      w.levels.volume = ints.data();
      w.values = reals.data();
      tk::ohlc_image_volume_cpu(p, view, 0, w);
      EXPECT_EQ(ints, want) << "rows " << rows << ", first volume " << v[0];
    }
  }
}

TEST(OhlcLevel, RoundsHalfToEvenInDesignOrder) {
  const tk::OhlcScale s = tk::ohlc_scale(0.0, 8.0, 5);  // scale 0.5
  EXPECT_EQ(tk::ohlc_level(s, 1.0), 0);
  EXPECT_EQ(tk::ohlc_level(s, 3.0), 2);
  EXPECT_EQ(tk::ohlc_level(s, 5.0), 2);
  EXPECT_EQ(tk::ohlc_level(s, 7.0), 4);
  EXPECT_EQ(tk::ohlc_level(s, -3.0), -2);
  EXPECT_EQ(tk::ohlc_level(s, NAN), tk::kNoLevel);
  EXPECT_EQ(tk::ohlc_level(s, INFINITY), tk::kNoLevel);
  EXPECT_EQ(tk::ohlc_level(s, 1e300), static_cast<int64_t>(tk::kLevelClamp));
  const tk::OhlcScale flat = tk::ohlc_scale(3.0, 3.0, 10);
  EXPECT_EQ(tk::ohlc_level(flat, 3.0), 4);
  EXPECT_EQ(tk::ohlc_level(flat, 1e9), 4);
  EXPECT_EQ(tk::ohlc_level(tk::ohlc_scale(INFINITY, -INFINITY, 10), 3.0), tk::kNoLevel);
  // (p - lo) * ((P - 1) / (hi - lo)) = 6.500000000000001 -> 7, where
  // (p - lo) * (P - 1) / (hi - lo) = 6.5 would round to 6.
  EXPECT_EQ(tk::ohlc_level(tk::ohlc_scale(2.67, 6.03, 25), 3.58), 7);
}

struct Case {
  int64_t B, L, M, H, W, bar_width, V;
  bool candle, with_volume, with_range;
  int nan_every;            // 0: no missing values
  bool with_scale = false;  // per-image factors: 1 / close_0, 2.5 or NaN by image
  float background = 1.0f, foreground = 0.0f;
};

struct Inputs {
  std::vector<double> ohlc;      // [B, L, 4]
  std::vector<double> overlays;  // [B, M, L]
  std::vector<double> volume;    // [B, L]
  std::vector<double> range;     // [B, 2] or empty
  std::vector<double> scale;     // [B] or empty
};

Inputs make_inputs(const Case& c, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> step(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Inputs in;
  for (int64_t b = 0; b < c.B; ++b) {
    double close = 100.0;
    for (int64_t l = 0; l < c.L; ++l) {
      const double open = close;
      close += step(gen);
      const double high = std::max(open, close) + std::abs(step(gen));
      const double low = std::min(open, close) - std::abs(step(gen));
      for (double v : {open, high, low, close}) {
        const bool gap = c.nan_every > 0 && static_cast<int>(unit(gen) * c.nan_every) == 0;
        in.ohlc.push_back(gap ? NAN : v);
      }
      const double vol = unit(gen) < 0.1 ? 0.0 : unit(gen) * 1000.0;
      in.volume.push_back(c.nan_every > 0 && l % c.nan_every == 1 ? NAN : vol);
    }
    for (int64_t m = 0; m < c.M; ++m) {
      for (int64_t l = 0; l < c.L; ++l) {
        const double v = in.ohlc[(b * c.L + l) * 4 + 3] + step(gen);
        in.overlays.push_back(c.nan_every > 0 && (l + m) % c.nan_every == 0 ? NAN : v);
      }
    }
    if (c.with_range) {
      in.range.push_back(b % 2 ? 103.0 : 97.0);  // odd images flipped
      in.range.push_back(b % 2 ? 97.0 : 103.0);
    }
    if (c.with_scale) {
      // The JKX factor (a close_0 that is NaN gives NaN: a blank price area), a
      // plain factor, and a missing one.
      const double factors[3] = {1.0 / in.ohlc[b * c.L * 4 + 3], 2.5, NAN};
      in.scale.push_back(factors[b % 3]);
    }
  }
  return in;
}

struct Workspace {
  std::vector<int64_t> bars, overlays, volume;
};

tk::OhlcParams make_params(const Case& c, const Inputs& in, Workspace& ws) {
  tk::OhlcParams p;
  p.batch = c.B;
  p.length = c.L;
  p.num_overlays = c.M;
  p.height = c.H;
  p.width = c.W;
  p.bar_width = c.bar_width;
  p.volume_rows = c.V;
  p.candle = c.candle;
  p.background = c.background;
  p.foreground = c.foreground;
  if (c.with_range) p.value_range = in.range.data();
  if (c.with_scale) p.scale = in.scale.data();
  // Poisoned: every entry must be written by the points passes.
  ws.bars.assign(static_cast<size_t>(c.B * c.L * tk::kBarFields), 12345);
  ws.overlays.assign(static_cast<size_t>(c.B * c.M * c.L), 12345);
  ws.volume.assign(static_cast<size_t>(c.B * c.L), 12345);
  p.bars = ws.bars.data();
  p.overlays = ws.overlays.data();
  p.volume = c.with_volume && c.V > 0 ? ws.volume.data() : nullptr;
  return p;
}

struct Views {
  tk::OhlcView<double> ohlc;
  tk::OverlayView<double> overlays;
  tk::VolumeView<double> volume;
};

Views views(const Case& c, const Inputs& in) {
  return {{in.ohlc.data(), c.L * 4, 4, 1},
          {in.overlays.data(), c.M * c.L, c.L, 1},
          {in.volume.data(), c.L, 1}};
}

template <typename OutT>
std::vector<OutT> render_cpu(const Case& c, const Inputs& in) {
  Workspace ws;
  const tk::OhlcParams p = make_params(c, in, ws);
  const Views v = views(c, in);
  std::vector<OutT> out(static_cast<size_t>(c.B * c.H * c.W), static_cast<OutT>(7));
  tk::render_ohlc_cpu_serial(p, v.ohlc, v.overlays, &v.volume, out.data());
  return out;
}

// The CUDA launches, one (block, thread) at a time.
template <typename OutT>
std::vector<OutT> render_emulated(const Case& c, const Inputs& in) {
  Workspace ws;
  const tk::OhlcParams p = make_params(c, in, ws);
  const Views v = views(c, in);
  const int64_t image_blocks = tk::items_blocks(c.B);
  const tk::OhlcPointsItem<double, double> points{p, v.ohlc, v.overlays};
  for (int64_t block = 0; block < image_blocks; ++block) {
    for (int64_t t = 0; t < tk::kItemThreads; ++t) {
      tk::items_thread(c.B, points, block, t, tk::kItemThreads);
    }
  }
  if (p.volume != nullptr) {
    const tk::OhlcVolumeItem<double> volume{p, v.volume};
    for (int64_t block = 0; block < image_blocks; ++block) {
      for (int64_t t = 0; t < tk::kItemThreads; ++t) {
        tk::items_thread(c.B, volume, block, t, tk::kItemThreads);
      }
    }
  }
  // Poisoned: the raster writes every element.
  std::vector<OutT> out(static_cast<size_t>(c.B * c.H * c.W), static_cast<OutT>(7));
  const tk::OhlcColumnItem<OutT> column{p, tk::OutputSink<OutT>{out.data()}};
  const int64_t columns = c.B * c.W;
  for (int64_t block = 0; block < tk::items_blocks(columns); ++block) {
    for (int64_t t = 0; t < tk::kItemThreads; ++t) {
      tk::items_thread(columns, column, block, t, tk::kItemThreads);
    }
  }
  return out;
}

const std::vector<Case> kCases = {
    // B, L, M, H, W, bar_width, V, candle, volume, range, nan_every
    {3, 20, 1, 64, 60, 3, 12, false, true, false, 0},  // the JKX layout
    {2, 17, 2, 41, 70, 4, 6, true, true, false, 5},    // even bars, extra columns, gaps
    {4, 9, 0, 23, 45, 5, 0, true, false, true, 0},     // hollow candles, ranges, one flipped
    {2, 30, 3, 19, 30, 1, 3, false, true, true, 3},    // 1-px bars, many gaps
    {1, 1, 1, 5, 7, 7, 2, true, true, false, 0},       // one bar
    {3, 12, 1, 1, 37, 3, 0, false, false, false, 4},   // one row, odd width
    {130, 5, 1, 32, 15, 3, 6, false, true, false, 0},  // more images than a points block
    {2, 21, 1, 200, 64, 3, 40, false, true, false, 6},  // 64 columns, tall, gaps
    {3, 2, 1, 9, 2, 1, 2, false, true, false, 0},       // 2 columns: rows shorter than a store
    {4, 20, 1, 40, 60, 3, 8, false, true, true, 5},          // JKX bars, ranges: marks clipped
    {4, 20, 1, 64, 60, 3, 12, false, true, false, 0, true},  // JKX layout, scaled prices
    {3, 9, 2, 23, 45, 5, 4, true, true, true, 4, true},      // scaled, with ranges and gaps
};

TEST(OhlcCudaEmulation, Float32MatchesCpuBitForBit) {
  for (size_t i = 0; i < kCases.size(); ++i) {
    SCOPED_TRACE(i);
    const Inputs in = make_inputs(kCases[i], 100 + static_cast<uint32_t>(i));
    const auto cpu = render_cpu<float>(kCases[i], in);
    int64_t inked = 0;
    for (float v : cpu) inked += v == 0.0f;
    EXPECT_GT(inked, 0);
    expect_same_bits(render_emulated<float>(kCases[i], in), cpu);
  }
}

TEST(OhlcCudaEmulation, Uint8AndFloat64MatchCpu) {
  for (size_t i = 0; i < kCases.size(); ++i) {
    SCOPED_TRACE(i);
    const Inputs in = make_inputs(kCases[i], 200 + static_cast<uint32_t>(i));
    expect_same_bits(render_emulated<uint8_t>(kCases[i], in), render_cpu<uint8_t>(kCases[i], in));
    expect_same_bits(render_emulated<double>(kCases[i], in), render_cpu<double>(kCases[i], in));
  }
}

TEST(OhlcCudaEmulation, Uint8MatchesOnEveryInstructionSet) {
  // uint8 bars of at most 64 columns take the bitmask raster with AVX2, the
  // runs of bytes without it: both must give the CUDA body's bits.
  for (tk::CpuIsa isa : {tk::CpuIsa::kBaseline, tk::CpuIsa::kAvx2}) {
    if (!tk::cpu_isa_supported(isa)) continue;
    const tk::ScopedIsa scoped(isa);
    SCOPED_TRACE(tk::cpu_isa_name(isa));
    for (size_t i = 0; i < kCases.size(); ++i) {
      SCOPED_TRACE(i);
      const Inputs in = make_inputs(kCases[i], 300 + static_cast<uint32_t>(i));
      expect_same_bits(render_emulated<uint8_t>(kCases[i], in), render_cpu<uint8_t>(kCases[i], in));
    }
  }
}

TEST(OhlcBits, StreamedPlanesAreTheCachedOnes) {
  // p.stream_output (set by the binding for large outputs) writes the bitmask
  // raster's planes with non-temporal stores where they are 32-byte aligned and
  // whole 32-byte multiples: the same bytes as stores through the cache.
  if (!tk::cpu_isa_supported(tk::CpuIsa::kAvx2)) GTEST_SKIP() << "no AVX2: no bitmask raster";
  int64_t streamed_cases = 0;
  for (size_t i = 0; i < kCases.size(); ++i) {
    const Case& c = kCases[i];
    SCOPED_TRACE(i);
    const Inputs in = make_inputs(c, 500 + static_cast<uint32_t>(i));
    Workspace ws;
    tk::OhlcParams p = make_params(c, in, ws);
    const Views v = views(c, in);
    const size_t bytes = static_cast<size_t>(c.B * c.H * c.W);
    std::vector<uint64_t> cached((bytes + 7) / 8 + 8, 0), streamed((bytes + 7) / 8 + 8, 1);
    // 64-byte aligned starts within the word vectors.
    auto aligned = [](std::vector<uint64_t>& w) {
      const auto at = reinterpret_cast<uintptr_t>(w.data());
      return reinterpret_cast<uint8_t*>(w.data()) + ((64 - at % 64) % 64);
    };
    uint8_t* const a = aligned(cached);
    uint8_t* const b = aligned(streamed);
    tk::render_ohlc_cpu_serial(p, v.ohlc, v.overlays, &v.volume, a);
    p.stream_output = true;
    tk::render_ohlc_cpu_serial(p, v.ohlc, v.overlays, &v.volume, b);
    EXPECT_EQ(std::memcmp(a, b, bytes), 0);
    const bool bits = tk::ohlc_bits_fit(p) && (c.H * c.W) % 32 == 0 &&
                      c.H * c.W <= tk::kStreamPlaneBytes;
    streamed_cases += bits ? 1 : 0;
  }
  EXPECT_GE(streamed_cases, 3);  // the JKX layout among them
}

TEST(OhlcBits, EveryColourPairOfTheUint8Raster) {
  // The bitmask raster writes 0/255 pairs as its comparisons themselves (white
  // on black, black on white) and other pairs by a blend: each as the CUDA
  // body's per-pixel raster does.
  const float pairs[][2] = {{1.0f, 0.0f}, {0.0f, 1.0f}, {0.5f, 0.1f}, {0.2f, 1.0f}};
  for (size_t i = 0; i < kCases.size(); ++i) {
    for (const auto& pair : pairs) {
      SCOPED_TRACE(::testing::Message() << "case " << i << ", background " << pair[0]);
      Case c = kCases[i];
      c.background = pair[0];
      c.foreground = pair[1];
      const Inputs in = make_inputs(c, 600 + static_cast<uint32_t>(i));
      const auto cpu = render_cpu<uint8_t>(c, in);
      expect_same_bits(render_emulated<uint8_t>(c, in), cpu);
      const auto byte = [](float v) { return static_cast<uint8_t>(std::nearbyint(v * 255.0f)); };
      EXPECT_NE(std::count(cpu.begin(), cpu.end(), byte(pair[0])), 0);
      EXPECT_NE(std::count(cpu.begin(), cpu.end(), byte(pair[1])), 0);
    }
  }
}

TEST(OhlcLevels, StridedViewsDrawThePackedImages) {
  // Packed rows are read as runs (with AVX2, scaled and ranged in one pass),
  // other strides value by value: the same images.
  for (size_t i = 0; i < kCases.size(); ++i) {
    const Case& c = kCases[i];
    SCOPED_TRACE(i);
    const Inputs in = make_inputs(c, 700 + static_cast<uint32_t>(i));
    // [B, 4, L], [B, L, M] and [B, L, 2] copies, viewed as [B, L, 4], [B, M, L], [B, L].
    std::vector<double> ohlc(in.ohlc.size()), overlays(in.overlays.size());
    std::vector<double> volume(2 * in.volume.size(), 12345.0);
    for (int64_t b = 0; b < c.B; ++b) {
      for (int64_t l = 0; l < c.L; ++l) {
        for (int64_t f = 0; f < 4; ++f) {
          ohlc[(b * 4 + f) * c.L + l] = in.ohlc[(b * c.L + l) * 4 + f];
        }
        for (int64_t m = 0; m < c.M; ++m) {
          overlays[(b * c.L + l) * c.M + m] = in.overlays[(b * c.M + m) * c.L + l];
        }
        volume[2 * (b * c.L + l)] = in.volume[b * c.L + l];
      }
    }
    const tk::OhlcView<double> ohlc_view{ohlc.data(), 4 * c.L, 1, c.L};
    const tk::OverlayView<double> overlay_view{overlays.data(), c.L * c.M, 1, c.M};
    const tk::VolumeView<double> volume_view{volume.data(), 2 * c.L, 2};
    const auto strided = [&](auto zero) {
      Workspace ws;
      const tk::OhlcParams p = make_params(c, in, ws);
      std::vector<decltype(zero)> out(static_cast<size_t>(c.B * c.H * c.W), zero);
      tk::render_ohlc_cpu_serial(p, ohlc_view, overlay_view, &volume_view, out.data());
      return out;
    };
    expect_same_bits(strided(uint8_t{0}), render_cpu<uint8_t>(c, in));
    expect_same_bits(strided(0.0f), render_cpu<float>(c, in));
  }
}

// Values with gaps, infinities and zeros of both signs, n of them.
template <typename T>
std::vector<T> awkward_values(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> value(0.0, 100.0);
  std::uniform_int_distribution<int> kind(0, 9);
  const double special[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0};
  std::vector<T> v(static_cast<size_t>(n));
  for (T& x : v) {
    const int k = kind(gen);
    x = static_cast<T>(k < 5 ? special[k] : value(gen));
  }
  return v;
}

template <typename T>
void expect_runs_are_plain_loops() {
  for (int64_t n = 0; n < 23; ++n) {
    for (uint32_t seed = 0; seed < 20; ++seed) {
      SCOPED_TRACE(::testing::Message() << "n " << n << ", seed " << seed);
      const std::vector<T> src = awkward_values<T>(n, seed);
      const double k = seed % 2 ? 0.01 : -3.0;
      // Plain float64 loops: products, |values|, and finite extremes widening
      // the starting ones.
      std::vector<double> want_v, want_a;
      double want_lo = seed % 3 ? 50.0 : INFINITY, want_hi = seed % 3 ? -50.0 : -INFINITY;
      double want_max = seed % 3 ? 20.0 : -INFINITY;
      for (T x : src) {
        const double scaled = static_cast<double>(x) * k;
        const double magnitude = std::fabs(static_cast<double>(x));
        want_v.push_back(scaled);
        want_a.push_back(magnitude);
        if (std::isfinite(scaled)) {
          want_lo = std::min(want_lo, scaled);
          want_hi = std::max(want_hi, scaled);
        }
        if (std::isfinite(magnitude)) want_max = std::max(want_max, magnitude);
      }
      std::vector<double> v(src.size() + 1, 7.0), a(src.size() + 1, 7.0);
      double lo = seed % 3 ? 50.0 : INFINITY, hi = seed % 3 ? -50.0 : -INFINITY;
      double vmax = seed % 3 ? 20.0 : -INFINITY;
      tk::ohlc_scaled_run(src.data(), n, k, v.data(), &lo, &hi);
      tk::ohlc_abs_run(src.data(), n, a.data(), &vmax);
      for (int64_t j = 0; j < n; ++j) {
        EXPECT_EQ(std::memcmp(&v[j], &want_v[j], sizeof(double)), 0) << j;
        EXPECT_EQ(std::memcmp(&a[j], &want_a[j], sizeof(double)), 0) << j;
      }
      EXPECT_EQ(v[n], 7.0);  // nothing past the run
      EXPECT_EQ(a[n], 7.0);
      EXPECT_EQ(lo, want_lo);  // == : the sign of a zero extreme may differ
      EXPECT_EQ(hi, want_hi);
      EXPECT_EQ(vmax, want_max);
    }
  }
}

TEST(OhlcLevels, ScaledAndAbsoluteRunsAreThePlainLoops) {
  // On an AVX2 CPU the float64 and float32 runs take the AVX2 pass; elsewhere
  // (and for half types) the scalar loop and ohlc_finite_range.
  expect_runs_are_plain_loops<double>();
  expect_runs_are_plain_loops<float>();
}

TEST(OhlcScale, IsTheFloat64ProductOfTheInputs) {
  // Scaled prices draw what the products, computed first, draw (CPU and CUDA
  // body); the NaN factor leaves only the volume panel.
  for (size_t i = 0; i < kCases.size(); ++i) {
    if (!kCases[i].with_scale) continue;
    SCOPED_TRACE(i);
    const Inputs in = make_inputs(kCases[i], 400 + static_cast<uint32_t>(i));
    Case plain = kCases[i];
    plain.with_scale = false;
    Inputs product = in;
    product.scale.clear();
    for (int64_t b = 0; b < plain.B; ++b) {
      for (int64_t j = 0; j < plain.L * 4; ++j) product.ohlc[b * plain.L * 4 + j] *= in.scale[b];
      for (int64_t j = 0; j < plain.M * plain.L; ++j) {
        product.overlays[b * plain.M * plain.L + j] *= in.scale[b];
      }
    }
    const auto want = render_cpu<uint8_t>(plain, product);
    expect_same_bits(render_cpu<uint8_t>(kCases[i], in), want);
    expect_same_bits(render_emulated<uint8_t>(kCases[i], in), want);
    expect_same_bits(render_cpu<float>(kCases[i], in), render_cpu<float>(plain, product));
    // And the factor matters: unscaled, the first image (close_0 about 100) differs.
    EXPECT_NE(render_cpu<uint8_t>(plain, in), want);
  }
}

TEST(OhlcCudaEmulation, IndexArithmeticPast2To31) {
  // 2049 images of 1024 x 1024: flat indices beyond 2^31, without the output buffer.
  const Case c{2049, 20, 1, 1024, 1024, 3, 100, true, true, false, 0};
  const Inputs in = make_inputs(c, 7);
  Workspace ws;
  const tk::OhlcParams p = make_params(c, in, ws);
  const Views v = views(c, in);
  tk::ohlc_points_cpu(p, v.ohlc, v.overlays, 0, c.B);
  tk::ohlc_volume_cpu(p, v.volume, 0, c.B);
  const int64_t numel = c.B * c.H * c.W;
  ASSERT_GT(numel, int64_t{1} << 31);
  const int64_t last = c.B - 1;
  std::vector<float> plane(static_cast<size_t>(c.H * c.W));
  tk::render_ohlc_cpu_image(p, plane.data(), last);
  // The last image's columns as the CUDA items write them, each element
  // checked where it is written.
  struct Check {
    const float* plane;
    int64_t base, numel;
    int64_t* written;
    int64_t* inked;
    void operator()(int64_t e, float v) const {
      ASSERT_GE(e, base);
      ASSERT_LT(e, numel);
      ASSERT_EQ(std::memcmp(&v, &plane[e - base], sizeof(float)), 0) << "element " << e;
      ++*written;
      *inked += v == 0.0f;
    }
  };
  int64_t written = 0, inked = 0;
  const tk::OhlcColumnItem<float, Check> column{
      p, Check{plane.data(), last * c.H * c.W, numel, &written, &inked}};
  for (int64_t i = last * c.W; i < c.B * c.W; ++i) column(i);
  EXPECT_EQ(written, c.H * c.W);
  EXPECT_GT(inked, 0);
}

}  // namespace
