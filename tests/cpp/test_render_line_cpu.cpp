// The CPU kernel of render_line (kernels/render_line_cpu.h) against a brute-force
// renderer written here from docs/rendering.md: every pixel measured against
// every primitive of its channel, no culling. The two must agree bit for bit over
// random sizes, series counts, modes, margins, line widths, gap patterns, value
// ranges, strided inputs and output types; rendering in row blocks or row x column
// blocks must equal rendering the whole plane.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/render_line_cpu.h"
#include "tests/cpp/testing.h"

namespace torch_render {
namespace kernels {
namespace {

using testing::kInf;
using testing::kNaN;
using testing::Rng;

enum class RangeKind { kData, kPerImage, kPerSeries };
enum class InType { kFloat, kDouble };
enum class OutType { kFloat, kDouble, kUint8 };

// One render_line call: the sizes, the options, the input values (logical
// [B, S, L], stored through `strides` in a buffer of exactly the size the view
// needs) and the explicit value ranges.
struct Case {
  std::string name;
  int64_t B = 1, S = 1, L = 2, H = 8, W = 8;
  bool channels = false;
  bool antialias = true;
  float line_width = 3.0f;
  float margin = 0.0f;
  float background = 1.0f;
  float foreground = 0.0f;
  RangeKind range = RangeKind::kData;
  std::vector<double> ranges;  // [B, 2] or [B, S, 2] contiguous
  InType in_type = InType::kFloat;
  OutType out_type = OutType::kFloat;
  int64_t stride_b = 0, stride_s = 0, stride_l = 0;
  std::vector<double> buffer;  // the strided storage, converted to T on use

  int64_t C() const { return channels ? S : 1; }
  int64_t offset(int64_t b, int64_t s, int64_t l) const {
    return b * stride_b + s * stride_s + l * stride_l;
  }
  std::string describe() const {
    std::ostringstream o;
    o << name << ": B=" << B << " S=" << S << " L=" << L << " H=" << H << " W=" << W
      << " channels=" << channels << " antialias=" << antialias << " line_width=" << line_width
      << " margin=" << margin << " bg=" << background << " fg=" << foreground
      << " range=" << static_cast<int>(range) << " in=" << static_cast<int>(in_type)
      << " out=" << static_cast<int>(out_type) << " strides=(" << stride_b << "," << stride_s
      << "," << stride_l << ")";
    return o.str();
  }
};

// ---------------------------------------------------------------------------
// The brute-force renderer: docs/rendering.md written out directly.

template <typename OutT>
OutT store(float v) {
  return static_cast<OutT>(v);
}
template <>
uint8_t store<uint8_t>(float v) {
  const float q = std::rint(255.0f * v);
  return static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, q)));
}

struct Prim {
  float x0, y0, x1, y1;
};

// The value of a pixel whose squared distance to the nearest primitive is d2.
template <typename OutT>
OutT model_pixel(const Case& c, float d2) {
  const float a = coverage(std::sqrt(d2), c.line_width * 0.5f, c.antialias);
  const float bg = c.background, fg = c.foreground;
  const float v =
      a == 1.0f ? fg : std::clamp(bg + a * (fg - bg), std::min(bg, fg), std::max(bg, fg));
  return store<OutT>(v);
}

template <typename T, typename OutT>
std::vector<OutT> brute_force(const Case& c, const T* data) {
  const int64_t B = c.B, S = c.S, L = c.L, H = c.H, W = c.W;
  // Points in float64 (the model), rounded to float32 once at the end.
  const double m = c.margin;
  const double span_w = static_cast<double>(W - 1) - 2.0 * m;
  const double span_h = static_cast<double>(H - 1) - 2.0 * m;
  std::vector<float> x(static_cast<size_t>(L));
  for (int64_t i = 0; i < L; ++i) {
    x[i] = static_cast<float>(L == 1 ? static_cast<double>(W - 1) * 0.5
                                     : m + (static_cast<double>(i) * span_w) /
                                               static_cast<double>(L - 1));
  }
  auto value = [&](int64_t b, int64_t s, int64_t l) {
    return static_cast<double>(data[c.offset(b, s, l)]);
  };
  // y of every point, NaN for the points that are not drawn.
  std::vector<float> y(static_cast<size_t>(B * S * L));
  const int64_t groups = c.channels ? S : 1;
  constexpr double kInf64 = std::numeric_limits<double>::infinity();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t s0 = c.channels ? g : 0;
      const int64_t s1 = c.channels ? g + 1 : S;
      double lo = kInf64, hi = -kInf64;
      if (c.range == RangeKind::kPerImage) {
        lo = c.ranges[b * 2];
        hi = c.ranges[b * 2 + 1];
      } else if (c.range == RangeKind::kPerSeries) {
        lo = c.ranges[(b * S + g) * 2];
        hi = c.ranges[(b * S + g) * 2 + 1];
      } else {
        for (int64_t s = s0; s < s1; ++s) {
          for (int64_t l = 0; l < L; ++l) {
            const double v = value(b, s, l);
            if (std::isfinite(v)) {
              lo = std::min(lo, v);
              hi = std::max(hi, v);
            }
          }
        }
      }
      for (int64_t s = s0; s < s1; ++s) {
        for (int64_t l = 0; l < L; ++l) {
          const double v = value(b, s, l);
          float yy;
          if (!std::isfinite(v) || !std::isfinite(lo) || !std::isfinite(hi)) {
            yy = kNaN;
          } else if (hi == lo) {
            yy = static_cast<float>(static_cast<double>(H - 1) * 0.5);
          } else {
            double num = v - lo;
            double den = hi - lo;
            if (!std::isfinite(num) || !std::isfinite(den)) {
              num = v * 0.5 - lo * 0.5;
              den = hi * 0.5 - lo * 0.5;
            }
            const double u = std::min(1e6, std::max(-1e6, num / den));
            const double far = 1048576.0;  // 2^20 pixels beyond the first and last rows
            yy = static_cast<float>(
                std::min(static_cast<double>(H - 1) + far, std::max(-far, m + (1.0 - u) * span_h)));
          }
          y[(b * S + s) * L + l] = yy;
        }
      }
    }
  }
  std::vector<OutT> out(static_cast<size_t>(B * c.C() * H * W));
  std::vector<Prim> prims;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t ch = 0; ch < c.C(); ++ch) {
      prims.clear();
      for (int64_t s = c.channels ? ch : 0; s < (c.channels ? ch + 1 : S); ++s) {
        const float* ys = &y[(b * S + s) * L];
        auto drawn = [&](int64_t j) { return j >= 0 && j < L && !std::isnan(ys[j]); };
        for (int64_t j = 0; j < L; ++j) {
          if (!drawn(j)) continue;
          if (drawn(j + 1)) {
            prims.push_back({x[j], ys[j], x[j + 1], ys[j + 1]});
          } else if (!drawn(j - 1)) {
            prims.push_back({x[j], ys[j], x[j], ys[j]});
          }
        }
      }
      OutT* plane = out.data() + (b * c.C() + ch) * H * W;
      for (int64_t r = 0; r < H; ++r) {
        for (int64_t col = 0; col < W; ++col) {
          const float px = static_cast<float>(col);
          const float py = static_cast<float>(r);
          float d2 = kInf;
          for (const Prim& q : prims) {
            d2 = std::min(d2, segment_dist2(px, py, q.x0, q.y0, q.x1, q.y1));
          }
          plane[r * W + col] = model_pixel<OutT>(c, d2);
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// The kernel under test.

template <typename T>
LineParams make_params(const Case& c, std::vector<float>& xs, std::vector<float>& ys) {
  LineParams p;
  p.batch = c.B;
  p.num_series = c.S;
  p.length = c.L;
  p.height = c.H;
  p.width = c.W;
  p.channel_mode = c.channels;
  p.antialias = c.antialias;
  p.half_width = c.line_width * 0.5f;
  p.margin = c.margin;
  p.background = c.background;
  p.foreground = c.foreground;
  if (c.range == RangeKind::kPerImage) {
    p.value_range = c.ranges.data();
    p.range_stride_b = 2;
    p.range_stride_g = 0;
  } else if (c.range == RangeKind::kPerSeries) {
    p.value_range = c.ranges.data();
    p.range_stride_b = c.S * 2;
    p.range_stride_g = 2;
  }
  xs.assign(static_cast<size_t>(c.L), kNaN);
  ys.assign(static_cast<size_t>(c.B * c.S * c.L), kNaN);
  p.xs = xs.data();
  p.ys = ys.data();
  return p;
}

// Exactly-sized scratch (so the sanitizer build catches any overrun).
struct Scratch {
  std::vector<CpuPrimitive> primitives;
  explicit Scratch(const LineParams& p)
      : primitives(static_cast<size_t>(std::max<int64_t>(cpu_scratch_primitives(p), 0))) {}
  CpuScratch view() { return CpuScratch{primitives.data()}; }
};

// Index and description of the first element where two outputs differ.
template <typename OutT>
std::string first_difference(const Case& c, const std::vector<OutT>& got,
                             const std::vector<OutT>& want) {
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(OutT)) != 0) {
      const int64_t e = static_cast<int64_t>(i);
      std::ostringstream o;
      o.precision(9);
      o << "first difference at element " << e << " (plane " << e / (c.H * c.W) << ", row "
        << (e / c.W) % c.H << ", col " << e % c.W << "): kernel "
        << static_cast<double>(got[i]) << " vs model " << static_cast<double>(want[i]);
      return o.str();
    }
  }
  return "no difference";
}

// Renders the case with render_line_cpu_serial and in blocks; compares both with
// the brute force, bit for bit.
template <typename T, typename OutT>
void check_case_typed(const Case& c, Rng& rng) {
  std::vector<T> data(c.buffer.size());
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<T>(c.buffer[i]);
  const std::vector<OutT> want = brute_force<T, OutT>(c, data.data());

  std::vector<float> xs, ys;
  const LineParams p = make_params<T>(c, xs, ys);
  const SeriesView<T> in{data.data(), c.stride_b, c.stride_s, c.stride_l};
  Scratch scratch(p);
  const size_t numel = static_cast<size_t>(c.B * c.C() * c.H * c.W);
  std::vector<OutT> got(numel);
  std::memset(got.data(), 0xA5, numel * sizeof(OutT));
  render_line_cpu_serial(p, in, got.data(), scratch.view());
  ASSERT_EQ(std::memcmp(got.data(), want.data(), numel * sizeof(OutT)), 0)
      << c.describe() << "\n" << first_difference(c, got, want);

  // The same planes in row blocks (render_line_cpu_rows), in a random order, half
  // the planes with a streaming tile in some blocks (exactly the scratch the block
  // needs). Each block writes exactly its pixels.
  std::vector<float> xs2, ys2;
  const LineParams p2 = make_params<T>(c, xs2, ys2);
  line_x_cpu(p2);
  const int64_t split = rng.integer(0, c.B);
  line_points_cpu(p2, in, 0, split);
  line_points_cpu(p2, in, split, c.B);
  ASSERT_EQ(std::memcmp(ys.data(), ys2.data(), ys.size() * sizeof(float)), 0) << c.describe();
  std::vector<OutT> blocks(numel);
  std::memset(blocks.data(), 0x5A, numel * sizeof(OutT));
  const int64_t plane_size = c.H * c.W;
  auto random_cuts = [&](int64_t n, int64_t max_cuts) {
    std::vector<int64_t> cuts{0, n};
    const int64_t n_cuts = rng.integer(0, std::min<int64_t>(n - 1, max_cuts));
    for (int64_t k = 0; k < n_cuts; ++k) cuts.push_back(rng.integer(1, n - 1));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    return cuts;
  };
  for (int64_t b = 0; b < c.B; ++b) {
    for (int64_t ch = 0; ch < c.C(); ++ch) {
      const bool streamed = rng.chance(0.5);
      const std::vector<int64_t> rows = random_cuts(c.H, 6);
      const std::vector<int64_t> cols{0, c.W};  // blocks are whole rows
      std::vector<std::pair<size_t, size_t>> order;
      for (size_t i = 0; i + 1 < rows.size(); ++i)
        for (size_t j = 0; j + 1 < cols.size(); ++j) order.emplace_back(i, j);
      std::shuffle(order.begin(), order.end(), rng.engine());
      OutT* plane = blocks.data() + (b * c.C() + ch) * plane_size;
      for (const auto& [i, j] : order) {
        const int64_t r0 = rows[i], r1 = rows[i + 1], c0 = cols[j], c1 = cols[j + 1];
        const std::vector<OutT> before(plane, plane + plane_size);
        if (streamed) {
          // Half the blocks draw each tile in an exactly sized scratch tile and
          // stream it out (the path large outputs take).
          std::vector<OutT> tile;
          if (rng.chance(0.5)) {
            tile.resize(static_cast<size_t>(
                cpu_tile_rows(p2, static_cast<int64_t>(sizeof(OutT))) * (c1 - c0)));
          }
          CpuScratch s = scratch.view();
          s.tiles.stream_tile = tile.empty() ? nullptr : tile.data();
          render_line_cpu_rows(p2, plane, b, ch, r0, r1, s);
        } else {
          render_line_cpu_rows(p2, plane, b, ch, r0, r1, scratch.view());
        }
        for (int64_t r = 0; r < c.H; ++r) {
          const OutT* now = plane + r * c.W;
          const OutT* was = before.data() + r * c.W;
          const bool inside = r0 <= r && r < r1;
          ASSERT_TRUE(inside ? std::memcmp(now, was, c0 * sizeof(OutT)) == 0 &&
                                   std::memcmp(now + c1, was + c1, (c.W - c1) * sizeof(OutT)) == 0
                             : std::memcmp(now, was, c.W * sizeof(OutT)) == 0)
              << c.describe() << ": block rows [" << r0 << ", " << r1 << ") x columns [" << c0
              << ", " << c1 << ") wrote outside itself, in row " << r;
        }
      }
    }
  }
  ASSERT_EQ(std::memcmp(blocks.data(), want.data(), numel * sizeof(OutT)), 0)
      << c.describe() << " (blocks)\n" << first_difference(c, blocks, want);

  // Values stay between background and foreground; never NaN.
  if constexpr (!std::is_same_v<OutT, uint8_t>) {
    const double vmin = std::min(c.background, c.foreground);
    const double vmax = std::max(c.background, c.foreground);
    for (size_t i = 0; i < numel; ++i) {
      const double v = static_cast<double>(got[i]);
      ASSERT_TRUE(v >= vmin && v <= vmax) << c.describe() << ": element " << i << " = " << v;
    }
  }
}

// The instruction sets whose copy of the raster runs on this machine.
std::vector<CpuIsa> supported_isas() {
  std::vector<CpuIsa> isas;
  for (CpuIsa isa : {CpuIsa::kBaseline, CpuIsa::kAvx2}) {
    if (cpu_isa_supported(isa)) isas.push_back(isa);
  }
  return isas;
}

// Makes `isa` active for one scope; it must be supported.
class ExpectIsa : public ScopedIsa {
 public:
  explicit ExpectIsa(CpuIsa isa) : ScopedIsa(isa) { EXPECT_TRUE(supported()); }
};

// Checks the case with every instruction set's copy of the raster.
void check_case(const Case& c, Rng& rng) {
  SCOPED_TRACE(c.describe());
  auto run = [&](auto in_tag) {
    using T = decltype(in_tag);
    switch (c.out_type) {
      case OutType::kFloat: return check_case_typed<T, float>(c, rng);
      case OutType::kDouble: return check_case_typed<T, double>(c, rng);
      case OutType::kUint8: return check_case_typed<T, uint8_t>(c, rng);
    }
  };
  for (CpuIsa isa : supported_isas()) {
    SCOPED_TRACE(std::string("instruction set ") + cpu_isa_name(isa));
    ExpectIsa scoped(isa);
    if (c.in_type == InType::kFloat) {
      run(float{});
    } else {
      run(double{});
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// ---------------------------------------------------------------------------
// Case generation.

enum class Layout { kContiguous, kSpaced, kTransposed, kUnfold, kBroadcast, kPadded };

// Chooses strides for [B, S, L] and sizes the buffer exactly.
void set_layout(Case& c, Layout layout, Rng& rng) {
  const int64_t B = c.B, S = c.S, L = c.L;
  switch (layout) {
    case Layout::kContiguous:
      c.stride_b = S * L, c.stride_s = L, c.stride_l = 1;
      break;
    case Layout::kSpaced: {
      const int64_t k = rng.integer(2, 3);
      c.stride_b = S * L * k, c.stride_s = L * k, c.stride_l = k;
      break;
    }
    case Layout::kTransposed:  // [L, S, B] in memory
      c.stride_b = 1, c.stride_s = B, c.stride_l = B * S;
      break;
    case Layout::kUnfold: {  // overlapping windows of one long series (Tensor.unfold)
      const int64_t step = rng.integer(1, std::max<int64_t>(1, L));
      c.stride_l = 1;
      c.stride_b = step;
      c.stride_s = (B - 1) * step + L;  // further series after the first
      break;
    }
    case Layout::kBroadcast:  // every series of an image is the same (expand)
      c.stride_b = L, c.stride_s = 0, c.stride_l = 1;
      break;
    case Layout::kPadded:
      c.stride_l = rng.integer(1, 2);
      c.stride_s = L * c.stride_l + rng.integer(0, 5);
      c.stride_b = S * c.stride_s + rng.integer(0, 7);
      break;
  }
  c.buffer.assign(static_cast<size_t>((B - 1) * c.stride_b + (S - 1) * c.stride_s +
                                      (L - 1) * c.stride_l + 1),
                  0.0);
}

enum class Values { kWalk, kUniform, kFlat, kSteep, kHuge, kTiny, kWideDouble, kOutliers };
enum class Gaps { kNone, kSome, kMany, kIsolated, kAll, kEnds, kInf };

// Fills the logical values of series (b, s) through the strides (views that alias
// memory simply keep the last write).
void fill_series(Case& c, int64_t b, int64_t s, Values values, Gaps gaps, Rng& rng) {
  double v = rng.real(-100.0, 100.0);
  const double scale = rng.pick({1e-3, 1.0, 50.0, 1e4});
  for (int64_t l = 0; l < c.L; ++l) {
    double x = 0.0;
    switch (values) {
      case Values::kWalk: v += rng.real(-1.0, 1.0) * scale; x = v; break;
      case Values::kUniform: x = rng.real(-scale, scale); break;
      case Values::kFlat: x = 42.5; break;
      case Values::kSteep: x = (l % 2 ? 1.0 : -1.0) * scale + rng.real(-0.01, 0.01); break;
      case Values::kHuge: x = rng.pick({-3e38, 3e38, -1e38, 2e38, 0.0, 1.0}); break;
      case Values::kTiny: x = rng.real(-1.0, 1.0) * 1e-40; break;  // float denormals
      case Values::kOutliers:  // spikes up to 1e7 times the data's scale
        x = rng.chance(0.15) ? rng.pick({-1.0, 1.0}) * scale * rng.pick({1e3, 1e5, 1e7})
                             : rng.real(0.0, scale);
        break;
      case Values::kWideDouble:  // beyond float32 becomes +-inf: a gap
        x = rng.chance(0.2) ? rng.pick({1e39, -1e300, 5e38}) : rng.real(-10.0, 10.0);
        break;
    }
    const double nan = std::nan("");
    switch (gaps) {
      case Gaps::kNone: break;
      case Gaps::kSome: if (rng.chance(0.05)) x = nan; break;
      case Gaps::kMany: if (rng.chance(0.5)) x = nan; break;
      case Gaps::kIsolated: if (l % 2 == 1 || rng.chance(0.2)) x = nan; break;
      case Gaps::kAll: x = nan; break;
      case Gaps::kEnds: if (l < c.L / 3 || l >= c.L - c.L / 3) x = nan; break;
      case Gaps::kInf:
        if (rng.chance(0.1)) x = rng.pick({std::numeric_limits<double>::infinity(),
                                          -std::numeric_limits<double>::infinity(), nan});
        break;
    }
    c.buffer[static_cast<size_t>(c.offset(b, s, l))] = x;
  }
}

// Explicit ranges around the data of each image (or series), some so narrow that
// the data falls up to a million range widths outside (and y is clamped).
void set_ranges(Case& c, RangeKind kind, Rng& rng) {
  c.range = kind;
  if (kind == RangeKind::kData) return;
  const int64_t n = kind == RangeKind::kPerImage ? c.B : c.B * c.S;
  c.ranges.resize(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t b = kind == RangeKind::kPerImage ? i : i / c.S;
    const int64_t s_begin = kind == RangeKind::kPerImage ? 0 : i % c.S;
    const int64_t s_end = kind == RangeKind::kPerImage ? c.S : s_begin + 1;
    double dmin = 0.0, dmax = 1.0;
    bool any = false;
    for (int64_t s = s_begin; s < s_end; ++s) {
      for (int64_t l = 0; l < c.L; ++l) {
        const float v = static_cast<float>(c.buffer[static_cast<size_t>(c.offset(b, s, l))]);
        if (!std::isfinite(v)) continue;
        dmin = any ? std::min<double>(dmin, v) : v;
        dmax = any ? std::max<double>(dmax, v) : v;
        any = true;
      }
    }
    const double spread = std::max(dmax - dmin, 1e-30);
    double lo = dmin + rng.real(-0.3, 0.3) * spread;
    double hi = lo + rng.real(0.2, 1.5) * spread;
    switch (rng.integer(0, 10)) {
      case 0: hi = lo; break;                                        // flat
      case 1: std::swap(lo, hi); break;                              // upside down
      case 2: hi = lo + rng.pick({1e-6, 1e-3, 0.1}) * spread; break;  // data far outside
      case 3: lo = -3e38, hi = 3e38; break;                          // overflows float32
      case 4: lo = -1.7e308, hi = 1.7e308; break;                    // overflows float64
      case 5: lo = std::nan(""); break;                              // nothing drawn
      case 6: hi = std::numeric_limits<double>::infinity(); break;   // nothing drawn
      default: break;
    }
    c.ranges[2 * i] = lo;
    c.ranges[2 * i + 1] = hi;
  }
}

// A random case whose brute force costs at most `budget` distance evaluations.
Case random_case(Rng& rng, double budget) {
  Case c;
  c.name = "random";
  auto size = [&](int64_t max) {
    const double u = rng.real(0.0, 1.0);
    if (u < 0.1) return rng.integer(1, 3);
    if (u < 0.55) return rng.integer(1, 40);
    if (u < 0.85) return rng.integer(41, 150);
    return rng.integer(151, max);
  };
  c.H = size(300);
  c.W = size(400);
  c.B = rng.integer(1, 3);
  c.S = rng.integer(1, 3);
  const double u = rng.real(0.0, 1.0);
  c.L = u < 0.08 ? 1 : u < 0.16 ? rng.integer(2, 3) : u < 0.3 ? rng.integer(c.W, 2 * c.W + 1)
                                                              : rng.integer(2, 300);
  c.L = std::min<int64_t>(c.L, 300);
  const double cost = static_cast<double>(c.B * c.S) * c.H * c.W;
  c.L = std::max<int64_t>(1, std::min<int64_t>(c.L, static_cast<int64_t>(budget / cost)));
  c.channels = rng.chance(0.5);
  c.antialias = rng.chance(0.5);
  c.line_width = rng.chance(0.8) ? rng.pick({0.0f, 0.5f, 3.0f, 12.0f}) : rng.realf(0.0, 14.0);
  const double max_m = (std::min(c.H, c.W) - 1) / 2.0;
  switch (rng.integer(0, 4)) {
    case 0: case 1: c.margin = 0.0f; break;
    case 2: c.margin = static_cast<float>(rng.integer(0, static_cast<int64_t>(max_m))); break;
    case 3: c.margin = rng.realf(0.0, max_m); break;
    case 4: c.margin = static_cast<float>(max_m); break;
  }
  switch (rng.integer(0, 4)) {
    case 0: case 1: break;  // black on white
    case 2: c.background = 0.0f, c.foreground = 1.0f; break;
    case 3: c.background = rng.realf(0.0, 1.0), c.foreground = rng.realf(0.0, 1.0); break;
    case 4:  // beyond [0, 1]: uint8 clamps (bg + (fg - bg) is fg for these)
      c.background = rng.pick({-1.0f, 0.0f, 2.0f, 255.0f});
      c.foreground = rng.pick({-0.5f, 1.0f, 3.0f, 0.0f});
      break;
  }
  c.in_type = rng.chance(0.7) ? InType::kFloat : InType::kDouble;
  const double o = rng.real(0.0, 1.0);
  c.out_type = o < 0.6 ? OutType::kFloat : o < 0.8 ? OutType::kUint8 : OutType::kDouble;
  set_layout(c, static_cast<Layout>(rng.integer(0, 5)), rng);
  const Values values = rng.chance(0.5) ? Values::kWalk : static_cast<Values>(rng.integer(0, 7));
  for (int64_t b = 0; b < c.B; ++b) {
    for (int64_t s = 0; s < c.S; ++s) {
      const Gaps gaps = rng.chance(0.4) ? Gaps::kNone : static_cast<Gaps>(rng.integer(0, 6));
      fill_series(c, b, s, rng.chance(0.8) ? values : static_cast<Values>(rng.integer(0, 7)),
                  gaps, rng);
    }
  }
  const double r = rng.real(0.0, 1.0);
  set_ranges(c, r < 0.5 ? RangeKind::kData
                : (r < 0.75 || !c.channels) ? RangeKind::kPerImage
                                            : RangeKind::kPerSeries,
             rng);
  return c;
}

// A walk-like case with the given sizes and options, contiguous float input.
Case fixed_case(const std::string& name, int64_t B, int64_t S, int64_t L, int64_t H, int64_t W,
                float line_width, bool antialias, bool channels, Values values, Gaps gaps,
                uint64_t seed) {
  Rng rng(seed);
  Case c;
  c.name = name;
  c.B = B, c.S = S, c.L = L, c.H = H, c.W = W;
  c.line_width = line_width;
  c.antialias = antialias;
  c.channels = channels;
  set_layout(c, Layout::kContiguous, rng);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) fill_series(c, b, s, values, gaps, rng);
  return c;
}

// ---------------------------------------------------------------------------

TEST(RenderLineCpu, ChartLayoutsMatchTheModel) {
  Rng rng(100);
  std::vector<Case> cases = {
      fixed_case("chart 300x400", 1, 1, 100, 300, 400, 3.0f, true, false, Values::kWalk,
                 Gaps::kNone, 1),
      fixed_case("largest: 3 series overlay", 1, 3, 300, 300, 400, 3.0f, true, false,
                 Values::kWalk, Gaps::kSome, 2),
      fixed_case("more points than columns", 2, 1, 300, 200, 50, 3.0f, true, false,
                 Values::kWalk, Gaps::kNone, 3),
      fixed_case("steep zigzag, wide line", 1, 2, 40, 120, 160, 12.0f, true, true,
                 Values::kSteep, Gaps::kNone, 4),
      fixed_case("aliased", 2, 2, 60, 64, 96, 3.0f, false, true, Values::kWalk, Gaps::kSome, 5),
      fixed_case("zero width antialiased", 1, 1, 50, 64, 64, 0.0f, true, false, Values::kWalk,
                 Gaps::kNone, 6),
      fixed_case("zero width aliased", 1, 1, 50, 64, 64, 0.0f, false, false, Values::kUniform,
                 Gaps::kNone, 7),
      fixed_case("1x1", 2, 1, 1, 1, 1, 3.0f, true, false, Values::kWalk, Gaps::kNone, 8),
      fixed_case("1x1 many points", 1, 2, 17, 1, 1, 0.5f, false, false, Values::kWalk,
                 Gaps::kNone, 9),
      fixed_case("one point", 1, 1, 1, 40, 60, 5.0f, true, false, Values::kWalk, Gaps::kNone,
                 10),
      fixed_case("flat", 1, 1, 30, 41, 60, 3.0f, true, false, Values::kFlat, Gaps::kNone, 11),
      fixed_case("isolated points are dots", 1, 2, 40, 50, 80, 4.0f, true, true, Values::kWalk,
                 Gaps::kIsolated, 12),
      fixed_case("all gaps", 2, 2, 20, 30, 30, 3.0f, true, false, Values::kWalk, Gaps::kAll, 13),
      fixed_case("gaps at both ends", 1, 1, 60, 50, 70, 3.0f, true, false, Values::kWalk,
                 Gaps::kEnds, 14),
      fixed_case("infinities are gaps", 1, 3, 80, 60, 90, 2.0f, true, true, Values::kWalk,
                 Gaps::kInf, 15),
      fixed_case("overflowing range", 1, 1, 50, 60, 60, 3.0f, true, false, Values::kHuge,
                 Gaps::kNone, 16),
      fixed_case("denormals", 1, 1, 50, 60, 60, 3.0f, true, false, Values::kTiny, Gaps::kNone,
                 17),
  };
  // Margins: the steep zigzag, the aliased case and the single point.
  cases[3].margin = 10.0f;
  cases[4].margin = 2.5f;
  cases[9].margin = 3.0f;
  // Values far outside an explicit range (up to ~1000 range widths): nearly
  // vertical segments that leave the image.
  Case far = fixed_case("far outside the range", 1, 1, 30, 80, 100, 3.0f, true, false,
                        Values::kUniform, Gaps::kNone, 18);
  far.range = RangeKind::kPerImage;
  far.ranges = {-1e-3, 1e-3};
  for (double& v : far.buffer) v = std::clamp(v, -1.0, 1.0);
  cases.push_back(far);
  for (const Case& c : cases) {
    ASSERT_NO_FATAL_FAILURE(check_case(c, rng)) << c.describe();
  }
}

TEST(RenderLineCpu, BlankSeriesGiveTheBackground) {
  Rng rng(101);
  Case c = fixed_case("blank", 2, 2, 10, 20, 30, 3.0f, true, false, Values::kWalk, Gaps::kAll,
                      19);
  c.background = 0.25f;
  ASSERT_NO_FATAL_FAILURE(check_case(c, rng));
  std::vector<float> data(c.buffer.begin(), c.buffer.end());
  std::vector<float> xs, ys;
  const LineParams p = make_params<float>(c, xs, ys);
  Scratch scratch(p);
  std::vector<float> out(static_cast<size_t>(c.B * c.H * c.W), -1.0f);
  render_line_cpu_serial(p, SeriesView<float>{data.data(), c.stride_b, c.stride_s, c.stride_l},
                         out.data(), scratch.view());
  for (float v : out) ASSERT_EQ(v, 0.25f);
}

TEST(RenderLineCpu, OutputTypesOfOneCaseAgree) {
  // uint8 is rint(255 * value) of the float32 value, double its exact widening.
  Rng rng(102);
  Case c = fixed_case("types", 1, 2, 40, 50, 70, 3.0f, true, false, Values::kWalk, Gaps::kSome,
                      20);
  std::vector<float> data(c.buffer.begin(), c.buffer.end());
  const SeriesView<float> in{data.data(), c.stride_b, c.stride_s, c.stride_l};
  std::vector<float> xs, ys;
  const LineParams p = make_params<float>(c, xs, ys);
  Scratch scratch(p);
  const size_t n = static_cast<size_t>(c.H * c.W);
  std::vector<float> f(n);
  std::vector<double> d(n);
  std::vector<uint8_t> u(n);
  render_line_cpu_serial(p, in, f.data(), scratch.view());
  render_line_cpu_serial(p, in, d.data(), scratch.view());
  render_line_cpu_serial(p, in, u.data(), scratch.view());
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(d[i], static_cast<double>(f[i]));
    ASSERT_EQ(u[i], static_cast<uint8_t>(std::rint(255.0f * f[i])));
  }
}

TEST(RenderLineCpu, Uint8RoundsHalfToEven) {
  // Colours whose 255 * value is exactly k + 0.5 in float32.
  auto tie = [](float k) {
    const float target = k + 0.5f;
    float v = target / 255.0f;
    for (int i = 0; i < 64 && 255.0f * v != target; ++i) {
      v = std::nextafter(v, 255.0f * v < target ? 1.0f : 0.0f);
    }
    EXPECT_EQ(255.0f * v, target) << "no float32 v with 255 * v == " << target;
    return v;
  };
  Rng rng(103);
  Case c = fixed_case("uint8 ties", 1, 1, 20, 30, 40, 3.0f, false, false, Values::kWalk,
                      Gaps::kNone, 22);
  c.out_type = OutType::kUint8;
  c.background = tie(200.0f);  // 200.5 -> 200
  c.foreground = tie(3.0f);    // 3.5 -> 4
  ASSERT_NO_FATAL_FAILURE(check_case(c, rng));
  std::vector<float> data(c.buffer.begin(), c.buffer.end());
  std::vector<float> xs, ys;
  const LineParams p = make_params<float>(c, xs, ys);
  Scratch scratch(p);
  std::vector<uint8_t> out(static_cast<size_t>(c.H * c.W));
  render_line_cpu_serial(p, SeriesView<float>{data.data(), c.stride_b, c.stride_s, c.stride_l},
                         out.data(), scratch.view());
  EXPECT_EQ(std::count(out.begin(), out.end(), uint8_t{200}) +
                std::count(out.begin(), out.end(), uint8_t{4}),
            static_cast<std::ptrdiff_t>(out.size()));
  EXPECT_GT(std::count(out.begin(), out.end(), uint8_t{4}), 0);
}

class RenderLineCpuRandom : public ::testing::TestWithParam<int> {};

TEST_P(RenderLineCpuRandom, MatchesTheBruteForceBitForBit) {
  const uint64_t seed = 1000 + static_cast<uint64_t>(GetParam());
  Rng rng(seed);
  for (int k = 0; k < 10; ++k) {
    const Case c = random_case(rng, 2e7);
    ASSERT_NO_FATAL_FAILURE(check_case(c, rng)) << "seed " << seed << " case " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RenderLineCpuRandom, ::testing::Range(0, 100));

// Values a million range widths outside an explicit value_range: y is clamped
// 2^20 pixels beyond the image, where float32 still resolves the distance, so the
// culled kernel matches the model (without that clamp, y ~ 3.5e7 here and the
// float32 distance was off by 3 pixels: a spur above the segment's visible end).
TEST(RenderLineCpu, FarOutlierEndpointMatchesTheModel) {
  Rng rng(200);
  Case c = fixed_case("outlier endpoint", 1, 1, 3, 36, 7, 1.0f, false, false, Values::kWalk,
                      Gaps::kNone, 21);
  c.buffer = {-1e6, 0.625, 0.5};
  c.range = RangeKind::kPerImage;
  c.ranges = {0.0, 1.0};
  ASSERT_NO_FATAL_FAILURE(check_case(c, rng));
}

// The segment between two outliers (+1e6 and -1e6 range widths) crosses the whole
// image almost vertically: no row may be left out (DESIGN: no slope leaves a gap).
TEST(RenderLineCpu, SegmentBetweenOutliersHasNoGap) {
  const std::vector<float> data = {1e6f, -1e6f, 0.3f};
  Case c;
  c.L = 3, c.H = 40, c.W = 9, c.line_width = 1.0f, c.antialias = false;
  c.range = RangeKind::kPerImage;
  c.ranges = {0.0, 1.0};
  std::vector<float> xs, ys;
  const LineParams p = make_params<float>(c, xs, ys);
  Scratch scratch(p);
  std::vector<float> out(static_cast<size_t>(c.H * c.W));
  render_line_cpu_serial(p, SeriesView<float>{data.data(), 3, 3, 1}, out.data(), scratch.view());
  // x of the segment is in [0, 4]; every row must have a covered pixel there.
  for (int64_t row = 0; row < c.H; ++row) {
    bool covered = false;
    for (int64_t col = 0; col <= 4; ++col) covered |= out[row * c.W + col] == 0.0f;
    EXPECT_TRUE(covered) << "gap at row " << row;
  }
}

// Rows from 2^24 on are not all floats (py = float(row) rounds), and the AVX2
// rows step py by 1 only below 2^24. A shallow line across rows 2^24 - 3 to
// 2^24 + 3 of a plane 2^24 + 40 rows high, drawn as one block (only its rows are
// touched), against the model pixel by pixel.
TEST(RenderLineCpu, RowsAround2To24MatchTheModel) {
  Case c;
  c.L = 2, c.H = (int64_t{1} << 24) + 40, c.W = 8, c.line_width = 3.0f, c.antialias = true;
  c.range = RangeKind::kPerImage;
  c.ranges = {0.0, 1.0};
  // y = (1 - v) * (H - 1) in float64: rows about 2^24 + 3 at x = 0 and 2^24 - 3 at x = 7.
  const double span_h = static_cast<double>(c.H - 1);
  const std::vector<float> data = {static_cast<float>(43.0 / span_h), static_cast<float>(37.0 / span_h)};
  const float y0 = static_cast<float>((1.0 - static_cast<double>(data[0])) * span_h);
  const float y1 = static_cast<float>((1.0 - static_cast<double>(data[1])) * span_h);
  const float x1 = static_cast<float>(c.W - 1);
  std::vector<float> xs, ys;
  const LineParams p = make_params<float>(c, xs, ys);
  Scratch scratch(p);
  const int64_t row_begin = (int64_t{1} << 24) - 20, row_end = (int64_t{1} << 24) + 20;
  // Left uninitialised: the pages of rows outside the block are never touched.
  std::unique_ptr<uint8_t[]> plane(new uint8_t[static_cast<size_t>(c.H * c.W)]);
  for (CpuIsa isa : supported_isas()) {
    SCOPED_TRACE(cpu_isa_name(isa));
    ExpectIsa scoped(isa);
    line_x_cpu(p);
    line_points_cpu(p, SeriesView<float>{data.data(), 2, 2, 1}, 0, 1);
    ASSERT_EQ(ys[0], y0);
    ASSERT_EQ(ys[1], y1);
    render_line_cpu_rows(p, plane.get(), 0, 0, row_begin, row_end, scratch.view());
    int64_t inked = 0;
    for (int64_t r = row_begin; r < row_end; ++r) {
      for (int64_t col = 0; col < c.W; ++col) {
        const float d2 =
            segment_dist2(static_cast<float>(col), static_cast<float>(r), 0.0f, y0, x1, y1);
        const uint8_t want = model_pixel<uint8_t>(c, d2);
        ASSERT_EQ(plane[r * c.W + col], want) << "row " << r << " col " << col;
        inked += want < 255;
      }
    }
    EXPECT_GT(inked, 0);
  }
}

// The AVX2 copy of the raster is compared with the brute force by every check_case
// above; this says whether it ran here.
TEST(RenderLineCpuIsa, Avx2CopyRunsHere) {
  if (!cpu_isa_supported(CpuIsa::kAvx2)) GTEST_SKIP() << "this build or CPU has no AVX2 copy";
  ExpectIsa scoped(CpuIsa::kAvx2);
  EXPECT_EQ(cpu_isa(), CpuIsa::kAvx2);
}

// Full-size charts (too large for the brute force): every instruction set's copy
// gives the baseline's bits, for both output types it serves and both ink
// directions, with and without antialiasing, whole planes and row blocks that
// fill ahead into the next one (as a thread of the parallel driver does).
TEST(RenderLineCpuIsa, FullSizeChartsAgreeAcrossInstructionSets) {
  struct Size {
    int64_t H, W, L;
  };
  for (const Size& z : {Size{500, 800, 100}, Size{224, 224, 100}, Size{64, 64, 100},
                        Size{37, 1000, 500}, Size{300, 9, 50}}) {
    for (int variant = 0; variant < 4; ++variant) {
      Case c = fixed_case("full size", 3, 1, z.L, z.H, z.W, variant == 3 ? 7.5f : 3.0f,
                          variant != 1, false, Values::kWalk, Gaps::kSome,
                          static_cast<uint64_t>(z.H * 7 + variant));
      if (variant == 2) std::swap(c.background, c.foreground);  // light ink on dark
      std::vector<float> data(c.buffer.begin(), c.buffer.end());
      const SeriesView<float> in{data.data(), c.stride_b, c.stride_s, c.stride_l};
      std::vector<float> xs, ys;
      const LineParams p = make_params<float>(c, xs, ys);
      Scratch scratch(p);
      const size_t n = static_cast<size_t>(c.B * c.H * c.W);
      auto render = [&](CpuIsa isa, auto tag, bool blocks) {
        using OutT = decltype(tag);
        ExpectIsa scoped(isa);
        std::vector<OutT> out(n, static_cast<OutT>(7));
        line_x_cpu(p);
        line_points_cpu(p, in, 0, c.B);
        for (int64_t b = 0; b < c.B; ++b) {
          OutT* plane = out.data() + b * c.H * c.W;
          if (!blocks) {
            render_line_cpu_rows(p, plane, b, 0, 0, c.H, scratch.view());
            continue;
          }
          // Row blocks of 5, 8 and 13 rows and the rest (shorter than a tile, and
          // ragged), in order, each filling ahead the first rows of the next.
          std::vector<int64_t> cuts{0, std::min<int64_t>(5, c.H), std::min<int64_t>(13, c.H),
                                    std::min<int64_t>(26, c.H), c.H};
          cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
          const int64_t tile_rows = cpu_tile_rows(p, static_cast<int64_t>(sizeof(OutT)));
          int64_t filled = 0;
          for (size_t k = 0; k + 1 < cuts.size(); ++k) {
            CpuScratch s = scratch.view();
            s.tiles.filled_rows = filled;
            filled = 0;
            if (k + 2 < cuts.size()) {
              filled = fill_next_rows(&s.tiles, plane + cuts[k + 1] * c.W,
                                      std::min(tile_rows, cuts[k + 2] - cuts[k + 1]), c.W);
            }
            render_line_cpu_rows(p, plane, b, 0, cuts[k], cuts[k + 1], s);
          }
        }
        return out;
      };
      for (CpuIsa isa : supported_isas()) {
        for (bool blocks : {false, true}) {
          SCOPED_TRACE(c.describe() + " isa " + cpu_isa_name(isa) + (blocks ? " blocks" : ""));
          const std::vector<float> f = render(isa, float{}, blocks);
          const std::vector<float> f0 = render(CpuIsa::kBaseline, float{}, false);
          ASSERT_EQ(std::memcmp(f.data(), f0.data(), n * sizeof(float)), 0)
              << first_difference(c, f, f0);
          const std::vector<uint8_t> u = render(isa, uint8_t{}, blocks);
          const std::vector<uint8_t> u0 = render(CpuIsa::kBaseline, uint8_t{}, false);
          ASSERT_EQ(std::memcmp(u.data(), u0.data(), n), 0) << first_difference(c, u, u0);
          // Not a blank image: the line is there.
          ASSERT_GT(std::count(f.begin(), f.end(), c.foreground), 0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace kernels
}  // namespace torch_render
