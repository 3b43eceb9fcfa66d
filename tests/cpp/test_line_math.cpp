// kernels/line_math.h against the model of docs/rendering.md: the coordinate
// mapping at its documented extremes, the capsule distance against a
// double-precision reference, coverage at its thresholds, and the culling bounds
// (column_points, segment_rows) as supersets of a brute-force search.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/line_math.h"
#include "tests/cpp/testing.h"

namespace torch_render {
namespace kernels {
namespace {

using testing::kInf;
using testing::kNaN;
using testing::Rng;

// ---------------------------------------------------------------------------
// point_x

TEST(PointX, FirstAndLastPointOnColumnCentresAtZeroMargin) {
  for (int64_t W : {1, 2, 3, 10, 224, 800, 1023, 4097, 100000}) {
    for (int64_t L : {2, 3, 7, 100, 101, 1000, 4096, 70000}) {
      SCOPED_TRACE(::testing::Message() << "W=" << W << " L=" << L);
      const float span = plot_span(W, 0.0f);
      EXPECT_EQ(span, static_cast<float>(W - 1));
      EXPECT_EQ(point_x(0, L, W, 0.0f, span), 0.0f);
      const float last = point_x(L - 1, L, W, 0.0f, span);
      if ((L - 1) * (W - 1) < (int64_t{1} << 24)) {
        // i * span is exact, so the division gives W - 1 exactly.
        EXPECT_EQ(last, static_cast<float>(W - 1));
      } else {
        EXPECT_LE(std::fabs(last - static_cast<float>(W - 1)),
                  std::nextafter(static_cast<float>(W - 1), kInf) - static_cast<float>(W - 1));
      }
    }
  }
}

TEST(PointX, MonotonicAndWithinThePlotBoxWithMargins) {
  Rng rng(11);
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t W = rng.integer(1, 5000);
    const int64_t L = rng.integer(2, 3000);
    const float m = rng.chance(0.3) ? static_cast<float>(rng.integer(0, (W - 1) / 2))
                                    : rng.realf(0.0, (W - 1) / 2.0);
    const float span = plot_span(W, m);
    SCOPED_TRACE(::testing::Message() << "W=" << W << " L=" << L << " m=" << m);
    EXPECT_EQ(point_x(0, L, W, m, span), m);
    float prev = -kInf;
    for (int64_t i = 0; i < L; ++i) {
      const float x = point_x(i, L, W, m, span);
      ASSERT_GE(x, prev) << "i=" << i;
      const double ref = m + static_cast<double>(i) * (W - 1 - 2.0 * m) / (L - 1);
      ASSERT_NEAR(x, ref, 6e-7 * W + 1e-6) << "i=" << i;
      prev = x;
    }
    EXPECT_NEAR(prev, static_cast<double>(W - 1) - m, 6e-7 * W + 1e-6);
  }
}

TEST(PointX, SinglePointOnTheCentreColumn) {
  for (int64_t W : {1, 2, 3, 224, 800, 801}) {
    for (float m : {0.0f, 0.5f, 3.0f}) {
      if (2.0f * m > static_cast<float>(W - 1)) continue;
      EXPECT_EQ(point_x(0, 1, W, m, plot_span(W, m)), static_cast<float>(W - 1) * 0.5f)
          << "W=" << W << " m=" << m;
    }
  }
}

// ---------------------------------------------------------------------------
// point_y

TEST(PointY, MaximumOnTheMarginRowMinimumOnTheLastRowAboveTheMargin) {
  Rng rng(12);
  for (int64_t H : {1, 2, 3, 32, 224, 500, 4097}) {
    for (float m : {0.0f, 1.0f, 2.0f, 2.5f, 7.25f, 15.5f}) {
      if (2.0f * m > static_cast<float>(H - 1)) continue;
      const float span = plot_span(H, m);
      for (int k = 0; k < 20; ++k) {
        float lo = rng.realf(-1e4, 1e4);
        float hi = lo + rng.realf(1e-3, 1e4);
        if (k == 0) { lo = 0.0f; hi = 1.0f; }
        if (k == 1) { lo = -1.0f; hi = -0.5f; }
        SCOPED_TRACE(::testing::Message() << "H=" << H << " m=" << m << " lo=" << lo << " hi=" << hi);
        if (H == 1) continue;  // span 0: every value on row 0
        EXPECT_EQ(point_y(hi, lo, hi, H, m, span), m);
        EXPECT_EQ(point_y(lo, lo, hi, H, m, span), m + span);
        if (m == std::floor(m)) {
          EXPECT_EQ(point_y(lo, lo, hi, H, m, span), static_cast<float>(H - 1) - m);
        } else {
          EXPECT_NEAR(point_y(lo, lo, hi, H, m, span), static_cast<double>(H - 1) - m, 1e-4);
        }
      }
    }
  }
  // The layout of the replaced pipeline: m = 0 puts the extremes on rows 0 and H - 1.
  EXPECT_EQ(point_y(5.0f, -3.0f, 5.0f, 500, 0.0f, plot_span(500, 0.0f)), 0.0f);
  EXPECT_EQ(point_y(-3.0f, -3.0f, 5.0f, 500, 0.0f, plot_span(500, 0.0f)), 499.0f);
}

TEST(PointY, MatchesTheModelInDoublePrecision) {
  Rng rng(13);
  for (int iter = 0; iter < 20000; ++iter) {
    const int64_t H = rng.integer(2, 2000);
    const float m = rng.chance(0.5) ? 0.0f : rng.realf(0.0, (H - 1) / 2.0);
    const float span = plot_span(H, m);
    const float lo = rng.realf(-1e3, 1e3);
    const float hi = lo + rng.realf(1e-2, 1e3);
    const float v = rng.realf(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo));
    const double u = (static_cast<double>(v) - lo) / (static_cast<double>(hi) - lo);
    const double ref = m + (1.0 - u) * (static_cast<double>(H - 1) - 2.0 * m);
    ASSERT_NEAR(point_y(v, lo, hi, H, m, span), ref, 2e-5 * H)
        << "H=" << H << " m=" << m << " v=" << v << " lo=" << lo << " hi=" << hi;
  }
}

TEST(PointY, FlatRangeIsTheMiddleRow) {
  for (int64_t H : {1, 2, 3, 224, 500, 501}) {
    for (float v : {0.0f, -0.0f, 1.0f, -1e38f, 3.4e38f, 1e-40f}) {
      for (float m : {0.0f, 0.5f, 4.0f}) {
        if (2.0f * m > static_cast<float>(H - 1)) continue;
        EXPECT_EQ(point_y(v, v, v, H, m, plot_span(H, m)), static_cast<float>(H - 1) * 0.5f)
            << "H=" << H << " v=" << v << " m=" << m;
      }
    }
  }
  // -0.0 and +0.0 compare equal: still the flat case.
  EXPECT_EQ(point_y(0.0f, -0.0f, 0.0f, 11, 0.0f, 10.0f), 5.0f);
}

TEST(PointY, NonFiniteValueOrRangeIsNotDrawn) {
  const float span = plot_span(100, 0.0f);
  for (float bad : {kNaN, kInf, -kInf}) {
    EXPECT_TRUE(std::isnan(point_y(bad, 0.0f, 1.0f, 100, 0.0f, span))) << bad;
    EXPECT_TRUE(std::isnan(point_y(0.5f, bad, 1.0f, 100, 0.0f, span))) << bad;
    EXPECT_TRUE(std::isnan(point_y(0.5f, 0.0f, bad, 100, 0.0f, span))) << bad;
    EXPECT_TRUE(std::isnan(point_y(bad, bad, bad, 100, 0.0f, span))) << bad;
  }
  EXPECT_TRUE(std::isnan(point_y(1.0f, 1.0f, kNaN, 100, 0.0f, span)));  // not "flat"
}

TEST(PointY, OverflowingDifferencesStayFiniteAndOrdered) {
  for (auto range : {std::pair<float, float>{-3e38f, 3e38f},
                     {-std::numeric_limits<float>::max(), std::numeric_limits<float>::max()},
                     {-3.4e38f, 1e38f}}) {
    const float lo = range.first;
    const float hi = range.second;
    ASSERT_FALSE(std::isfinite(hi - lo));
    for (int64_t H : {2, 224, 500}) {
      for (float m : {0.0f, 3.0f}) {
        if (2.0f * m > static_cast<float>(H - 1)) continue;
        const float span = plot_span(H, m);
        SCOPED_TRACE(::testing::Message() << "lo=" << lo << " hi=" << hi << " H=" << H << " m=" << m);
        EXPECT_EQ(point_y(hi, lo, hi, H, m, span), m);
        EXPECT_EQ(point_y(lo, lo, hi, H, m, span), m + span);
        float prev = kInf;
        for (int k = 0; k <= 1000; ++k) {
          const float v = static_cast<float>(static_cast<double>(lo) +
                                             (static_cast<double>(hi) - lo) * k / 1000.0);
          const float y = point_y(v, lo, hi, H, m, span);
          ASSERT_TRUE(std::isfinite(y)) << "v=" << v;
          ASSERT_LE(y, prev) << "v=" << v;  // larger values are higher up
          ASSERT_GE(y, m - 1e-3f);
          ASSERT_LE(y, m + span + 1e-3f);
          prev = y;
        }
      }
    }
  }
  // Halving is exact: the midpoint of the full range maps to the middle.
  EXPECT_EQ(point_y(0.0f, -3e38f, 3e38f, 501, 0.0f, 500.0f), 250.0f);
}

TEST(PointY, FarValuesAreClampedTwoToTheTwentyPixelsBeyondTheImage) {
  for (int64_t H : {1, 2, 32, 500, 3001}) {
    for (float m : {0.0f, 2.0f}) {
      if (2.0f * m > static_cast<float>(H - 1)) continue;
      const float span = plot_span(H, m);
      const float top = -kFarPixels;
      const float bottom = static_cast<float>(H - 1) + kFarPixels;
      SCOPED_TRACE(::testing::Message() << "H=" << H << " m=" << m);
      if (span >= 2.0f) {  // else the clamp of u (a million plot heights) comes first
        EXPECT_EQ(point_y(1e30f, 0.0f, 1.0f, H, m, span), top);
        EXPECT_EQ(point_y(3.4e38f, 0.0f, 1.0f, H, m, span), top);
        EXPECT_EQ(point_y(3e38f, -1e-38f, 1e-38f, H, m, span), top);
        EXPECT_EQ(point_y(-1e30f, 0.0f, 1.0f, H, m, span), bottom);
        EXPECT_EQ(point_y(-3.4e38f, 0.0f, 1.0f, H, m, span), bottom);
      }
      // Up to the clamp a value falls where the formula puts it.
      for (double y_target : {-0.9 * kFarPixels, -1000.0, 1e3 + H, 0.9 * kFarPixels + H}) {
        if (H == 1) break;
        const float u = static_cast<float>(1.0 - (y_target - m) / span);
        EXPECT_EQ(point_y(u, 0.0f, 1.0f, H, m, span), m + (1.0f - u) * span) << "u=" << u;
      }
      float prev = kInf;
      for (double v = -1e7; v <= 1e7; v += 1e7 / 64) {
        const float y = point_y(static_cast<float>(v), 0.0f, 1.0f, H, m, span);
        ASSERT_GE(y, top);
        ASSERT_LE(y, bottom);
        ASSERT_LE(y, prev);
        prev = y;
      }
    }
  }
  // u itself is clamped to a million plot heights (visible when the plot is tiny).
  const float span = plot_span(3, 0.9995f);
  ASSERT_GT(span, 0.0f);
  ASSERT_LT(span, 0.01f);
  EXPECT_EQ(point_y(1e30f, 0.0f, 1.0f, 3, 0.9995f, span), 0.9995f + (1.0f - kMaxRelativeValue) * span);
  EXPECT_EQ(point_y(-1e30f, 0.0f, 1.0f, 3, 0.9995f, span), 0.9995f + (1.0f + kMaxRelativeValue) * span);
}

// The image must not depend on the price level: y is evaluated in float64, so at
// any level from 1e-6 to 1e9, for ranges down to 1e-9 of the level, near the ends
// of the double range and among denormals, it is within 1e-4 px of the exact
// (long double, rationals exact to 64 bits) position.
TEST(PointY, ExactAtAnyPriceLevel) {
  Rng rng(11);
  struct Level {
    long double level, relative_range;
  };
  std::vector<Level> levels;
  for (long double level : {1e-6L, 1e-3L, 1.0L, 1.00002L, 105000.37L, 1e9L}) {
    for (long double rel : {1e-1L, 1e-4L, 2e-4L, 1e-6L, 1e-9L}) levels.push_back({level, rel});
  }
  for (const int64_t H : {64, 500, 1024}) {  // (float32 y resolves 6e-5 px below 1024)
    const double m = H == 500 ? 2.5 : 0.0;
    const double span = plot_span(H, m);
    for (const Level& lv : levels) {
      const double lo = static_cast<double>(lv.level);
      const double hi = static_cast<double>(lv.level * (1.0L + lv.relative_range));
      ASSERT_LT(lo, hi);
      for (int k = 0; k < 50; ++k) {
        const double v = lo + (hi - lo) * rng.real(-0.1, 1.1);
        const long double u =
            (static_cast<long double>(v) - lo) / (static_cast<long double>(hi) - lo);
        const long double want = m + (1.0L - u) * span;
        ASSERT_NEAR(static_cast<double>(point_y(v, lo, hi, H, m, span)),
                    static_cast<double>(want), 1e-4)
            << "level " << static_cast<double>(lv.level) << " relative range "
            << static_cast<double>(lv.relative_range) << " v " << v << " H " << H;
      }
    }
  }
  // Near +-1e308 (the difference overflows float64) and among denormals.
  const double span = plot_span(500, 0.0);
  EXPECT_NEAR(point_y(1.35e308, 1e308, 1.7e308, 500, 0.0, span), 499.0 * (1.0 - 0.35 / 0.7), 1e-4);
  EXPECT_EQ(point_y(1.7e308, -1.7e308, 1.7e308, 500, 0.0, span), 0.0f);
  EXPECT_EQ(point_y(-1.7e308, -1.7e308, 1.7e308, 500, 0.0, span), 499.0f);
  EXPECT_NEAR(point_y(0.0, -1.7e308, 1.7e308, 500, 0.0, span), 249.5, 1e-4);
  const double tiny = 4.9406564584124654e-324;  // the smallest denormal
  EXPECT_EQ(point_y(3 * tiny, tiny, 5 * tiny, 500, 0.0, span), 249.5f);
  EXPECT_EQ(point_y(tiny, tiny, 5 * tiny, 500, 0.0, span), 499.0f);
  EXPECT_EQ(point_y(5 * tiny, tiny, 5 * tiny, 500, 0.0, span), 0.0f);
  EXPECT_NEAR(point_y(2 * tiny, tiny, 5 * tiny, 500, 0.0, span), 499.0 * 0.75, 1e-4);
}

// ---------------------------------------------------------------------------
// segment_dist2

// Distance from (px, py) to the segment (x0, y0)-(x1, y1) in double precision.
double dist_ref(double px, double py, double x0, double y0, double x1, double y1) {
  const double ex = x1 - x0;
  const double ey = y1 - y0;
  const double ee = ex * ex + ey * ey;
  double t = 0.0;
  if (ee > 0.0) t = std::clamp(((px - x0) * ex + (py - y0) * ey) / ee, 0.0, 1.0);
  return std::hypot(x0 + t * ex - px, y0 + t * ey - py);
}

TEST(SegmentDist2, MatchesDoublePrecisionOnRandomSegments) {
  Rng rng(21);
  double worst = 0.0;
  for (int iter = 0; iter < 200000; ++iter) {
    const double scale = rng.pick({1.0, 10.0, 100.0, 1000.0});
    const float x0 = rng.realf(-scale, scale);
    const float y0 = rng.realf(-scale, scale);
    float x1 = rng.realf(-scale, scale);
    float y1 = rng.realf(-scale, scale);
    if (iter % 7 == 0) x1 = x0 + rng.realf(0.0, 1e-3);  // short and steep
    if (iter % 11 == 0) y1 = y0;                        // horizontal
    const float px = static_cast<float>(rng.integer(-static_cast<int64_t>(scale) - 5,
                                                    static_cast<int64_t>(scale) + 5));
    const float py = rng.chance(0.5) ? static_cast<float>(rng.integer(-1000, 1000))
                                     : rng.realf(-scale, scale);
    const float d2 = segment_dist2(px, py, x0, y0, x1, y1);
    ASSERT_TRUE(std::isfinite(d2));
    ASSERT_GE(d2, 0.0f);
    const double ref = dist_ref(px, py, x0, y0, x1, y1);
    // float32 rounding of coordinates of size `mag` costs a few ulps of `mag`.
    const double mag = std::max({1.0, std::fabs(double{x0} - px), std::fabs(double{y0} - py),
                                 std::fabs(double{x1} - x0), std::fabs(double{y1} - y0)});
    const double err = std::fabs(std::sqrt(static_cast<double>(d2)) - ref);
    worst = std::max(worst, err / mag);
    ASSERT_LE(err, 1e-5 * mag) << "p=(" << px << "," << py << ") seg=(" << x0 << "," << y0
                               << ")-(" << x1 << "," << y1 << ") ref=" << ref;
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
}

TEST(SegmentDist2, DotsAreDistanceToThePoint) {
  Rng rng(22);
  for (int iter = 0; iter < 10000; ++iter) {
    const float x = rng.realf(-100, 900);
    const float y = rng.realf(-100, 600);
    const float px = static_cast<float>(rng.integer(-100, 900));
    const float py = static_cast<float>(rng.integer(-100, 600));
    const float ax = x - px;
    const float ay = y - py;
    ASSERT_EQ(segment_dist2(px, py, x, y, x, y), ax * ax + ay * ay);
    ASSERT_NEAR(std::sqrt(segment_dist2(px, py, x, y, x, y)), std::hypot(ax, ay), 1e-3);
  }
  EXPECT_EQ(segment_dist2(3.0f, 4.0f, 3.0f, 4.0f, 3.0f, 4.0f), 0.0f);
  EXPECT_EQ(segment_dist2(0.0f, 0.0f, 3.0f, 4.0f, 3.0f, 4.0f), 25.0f);
}

TEST(SegmentDist2, DegenerateAndAxisAlignedSegments) {
  // A segment so short that ee underflows to zero is measured from its first end.
  EXPECT_EQ(segment_dist2(0.0f, 0.0f, 3.0f, 4.0f, 3.0f + 1e-30f, 4.0f), 25.0f);
  // Horizontal and vertical segments: the perpendicular distance, exactly.
  EXPECT_EQ(segment_dist2(5.0f, 7.0f, 0.0f, 4.0f, 10.0f, 4.0f), 9.0f);
  EXPECT_EQ(segment_dist2(5.0f, 7.0f, 2.0f, 0.0f, 2.0f, 10.0f), 9.0f);
  // Beyond an end the distance is to that end (round caps).
  EXPECT_EQ(segment_dist2(13.0f, 8.0f, 0.0f, 4.0f, 10.0f, 4.0f), 25.0f);
  EXPECT_EQ(segment_dist2(-3.0f, 0.0f, 0.0f, 4.0f, 10.0f, 4.0f), 25.0f);
  // On the segment: zero.
  EXPECT_EQ(segment_dist2(5.0f, 4.0f, 0.0f, 4.0f, 10.0f, 4.0f), 0.0f);
  EXPECT_EQ(segment_dist2(2.0f, 2.0f, 0.0f, 0.0f, 4.0f, 4.0f), 0.0f);
  // Huge (clamped) coordinates stay finite.
  const float d2 = segment_dist2(10.0f, 10.0f, 0.0f, 5e11f, 1.0f, -5e11f);
  EXPECT_TRUE(std::isfinite(d2));
  EXPECT_NEAR(std::sqrt(d2), dist_ref(10, 10, 0, 5e11, 1, -5e11), 1.0);
}

// ---------------------------------------------------------------------------
// coverage

TEST(Coverage, Antialiased) {
  for (float h : {0.0f, 0.25f, 0.5f, 1.5f, 6.0f}) {
    SCOPED_TRACE(::testing::Message() << "h=" << h);
    EXPECT_EQ(coverage(0.0f, h, true), std::min(1.0f, h + 0.5f));
    EXPECT_EQ(coverage(h, h, true), 0.5f);
    EXPECT_EQ(coverage(h + 0.25f, h, true), 0.25f);
    EXPECT_EQ(coverage(h + 0.5f, h, true), 0.0f);
    EXPECT_EQ(coverage(h + 3.0f, h, true), 0.0f);
    EXPECT_EQ(coverage(kInf, h, true), 0.0f);
    if (h >= 0.5f) {
      EXPECT_EQ(coverage(h - 0.5f, h, true), 1.0f);
    }
    EXPECT_EQ(coverage_reach(h, true), h + 0.5f);
    // Just inside the reach there is coverage; at the reach there is none.
    EXPECT_GT(coverage(std::nextafter(h + 0.5f, 0.0f), h, true), 0.0f);
  }
  // Linear ramp in between, clamped to [0, 1].
  EXPECT_EQ(coverage(1.75f, 1.5f, true), 0.25f);
  EXPECT_EQ(coverage(1.25f, 1.5f, true), 0.75f);
}

TEST(Coverage, Aliased) {
  for (float h : {0.0f, 0.25f, 0.5f, 1.5f, 6.0f}) {
    SCOPED_TRACE(::testing::Message() << "h=" << h);
    EXPECT_EQ(coverage(0.0f, h, false), 1.0f);
    EXPECT_EQ(coverage(h, h, false), 1.0f);
    EXPECT_EQ(coverage(std::nextafter(h, kInf), h, false), 0.0f);
    EXPECT_EQ(coverage(h + 0.5f, h, false), 0.0f);
    EXPECT_EQ(coverage(kInf, h, false), 0.0f);
    EXPECT_EQ(coverage_reach(h, false), h);
  }
}

// ---------------------------------------------------------------------------
// column_points: every point whose segment or dot can reach the column is in range.

struct ColumnCase {
  int64_t L, W;
  float margin, reach;
};

void check_column_points(const ColumnCase& cc, Rng& rng) {
  const int64_t L = cc.L;
  const int64_t W = cc.W;
  const float m = cc.margin;
  const float reach = cc.reach;
  const float span = plot_span(W, m);
  std::vector<double> xs(static_cast<size_t>(L));
  for (int64_t i = 0; i < L; ++i) {
    xs[i] = L == 1 ? (W - 1) / 2.0 : m + static_cast<double>(i) * (W - 1 - 2.0 * m) / (L - 1);
  }
  // All columns when cheap, else a random sample plus both edges.
  std::vector<int64_t> cols;
  if (W * L <= 400000) {
    for (int64_t c = 0; c < W; ++c) cols.push_back(c);
  } else {
    cols = {0, W - 1};
    for (int k = 0; k < 200; ++k) cols.push_back(rng.integer(0, W - 1));
  }
  for (const int64_t c : cols) {
    const IndexRange r = column_points(c, L, W, m, span, reach);
    SCOPED_TRACE(::testing::Message() << "L=" << L << " W=" << W << " m=" << m
                                      << " reach=" << reach << " c=" << c << " range=["
                                      << r.lo << "," << r.hi << "]");
    ASSERT_GE(r.lo, 0);
    ASSERT_LE(r.hi, L - 1);
    const double cd = static_cast<double>(c);
    bool any = false;
    for (int64_t j = 0; j < L; ++j) {
      const bool dot = std::fabs(xs[j] - cd) <= reach;
      const bool seg = j + 1 < L && xs[j] - reach <= cd && cd <= xs[j + 1] + reach;
      if (dot || seg) {
        any = true;
        ASSERT_TRUE(r.lo <= j && j <= r.hi) << "point j=" << j << " x_j=" << xs[j];
      }
    }
    // Not much more than needed: about (2 * (reach + slack)) / step + 3 points.
    if (L > 1 && span > 0.0f && any) {
      const double step = static_cast<double>(span) / (L - 1);
      ASSERT_LE(r.hi - r.lo + 1, 2.0 * (reach + cull_slack(static_cast<float>(c) + m)) / step + 5.0);
    }
  }
}

TEST(ColumnPoints, SupersetOfTheBruteForceOnFixedLayouts) {
  Rng rng(31);
  const ColumnCase cases[] = {
      {100, 800, 0.0f, 2.0f},  {100, 800, 0.0f, 1.5f},  {1, 800, 0.0f, 2.0f},
      {1, 1, 0.0f, 0.0f},      {2, 1, 0.0f, 0.5f},      {5, 5, 2.0f, 0.5f},
      {300, 400, 0.0f, 6.5f},  {5000, 64, 0.0f, 0.5f},  {3, 800, 10.0f, 0.0f},
      {2, 2, 0.0f, 0.0f},      {800, 800, 0.0f, 2.0f},  {801, 800, 0.5f, 2.0f},
      {20, 224, 3.5f, 2.0f},   {1000, 3, 1.0f, 0.5f},   {7, 7, 3.0f, 6.5f},
  };
  for (const ColumnCase& cc : cases) check_column_points(cc, rng);
}

TEST(ColumnPoints, SupersetOfTheBruteForceOnRandomLayouts) {
  Rng rng(32);
  for (int iter = 0; iter < 400; ++iter) {
    ColumnCase cc;
    cc.L = rng.chance(0.1) ? rng.integer(1, 3) : rng.integer(2, 5000);
    cc.W = rng.chance(0.1) ? rng.integer(1, 4) : rng.integer(1, 3000);
    const double max_m = (cc.W - 1) / 2.0;
    const int kind = static_cast<int>(rng.integer(0, 3));
    cc.margin = kind == 0 ? 0.0f
                : kind == 1 ? static_cast<float>(rng.integer(0, static_cast<int64_t>(max_m)))
                : kind == 2 ? static_cast<float>(max_m)
                            : rng.realf(0.0, max_m);
    const float h = rng.pick({0.0f, 0.25f, 0.5f, 1.5f, 3.0f, 6.0f}) +
                    (rng.chance(0.2) ? rng.realf(0.0, 10.0) : 0.0f);
    cc.reach = coverage_reach(h, rng.chance(0.5));
    ASSERT_NO_FATAL_FAILURE(check_column_points(cc, rng)) << "iter " << iter;
  }
}

// ---------------------------------------------------------------------------
// segment_rows: every row whose pixel centre in column c is within reach lies in
// the returned interval.

// check_float: also the rows the float32 distance of the model covers.
void check_segment_rows(float c, float h, bool aa, float x0, float y0, float x1, float y1,
                        int64_t row_min, int64_t row_max, bool check_float = true) {
  const float reach = coverage_reach(h, aa);
  float lo = kNaN;
  float hi = kNaN;
  const bool hit = segment_rows(c, reach, x0, y0, x1, y1, &lo, &hi);
  for (int64_t row = row_min; row <= row_max; ++row) {
    const float r = static_cast<float>(row);
    // In double precision and as the kernels measure it (float32 distance, coverage).
    const bool near_ref = dist_ref(c, r, x0, y0, x1, y1) <= reach;
    const bool covered =
        check_float && coverage(std::sqrt(segment_dist2(c, r, x0, y0, x1, y1)), h, aa) > 0.0f;
    if (near_ref || covered) {
      ASSERT_TRUE(hit && lo <= r && r <= hi)
          << "row " << row << " (dist " << dist_ref(c, r, x0, y0, x1, y1) << ", covered "
          << covered << ") not in the rows of column " << c << ": hit=" << hit << " [" << lo
          << ", " << hi << "] for segment (" << x0 << ", " << y0 << ")-(" << x1 << ", " << y1
          << ") reach " << reach;
    }
  }
}

TEST(SegmentRows, SupersetOfTheBruteForceOnRandomSegments) {
  Rng rng(41);
  for (int iter = 0; iter < 20000; ++iter) {
    const float h = rng.pick({0.0f, 0.25f, 0.5f, 1.5f, 3.0f, 6.0f});
    const bool aa = rng.chance(0.5);
    const float x0 = rng.realf(-2.0, 300.0);
    const int shape = static_cast<int>(rng.integer(0, 4));
    const float dx = shape == 0   ? 0.0f                      // a dot or vertical
                     : shape == 1 ? rng.realf(0.0, 1e-3)      // many points per column
                     : shape == 2 ? rng.realf(0.0, 1.0)
                                  : rng.realf(0.0, 60.0);
    const float x1 = x0 + dx;
    const float y0 = rng.realf(-40.0, 340.0);
    float y1 = rng.chance(0.2) ? y0 : rng.realf(-40.0, 340.0);
    if (shape == 0 && rng.chance(0.5)) y1 = y0;
    const float reach = coverage_reach(h, aa);
    const int64_t c = rng.integer(static_cast<int64_t>(std::floor(x0 - reach)) - 3,
                                  static_cast<int64_t>(std::ceil(x1 + reach)) + 3);
    ASSERT_NO_FATAL_FAILURE(check_segment_rows(static_cast<float>(c), h, aa, x0, y0, x1, y1,
                                               -60, 400))
        << "iter " << iter;
  }
}

// Steep segments towards values far outside the range: |y| up to the clamp of
// point_y (2^20 pixels beyond the image), where the float32 distance of the model
// is still within the slack of the bounds. (Far beyond it, e.g. |y| ~ 1e8, taking
// y at a segment's end as y0 + (x1 - x0) * slope loses ~ulp(|y0|) rows; point_y's
// clamp keeps such coordinates out of the kernels.)
TEST(SegmentRows, SupersetForSteepSegmentsUpToTheClampOfY) {
  Rng rng(42);
  const float far = kFarPixels + 600.0f;
  for (int iter = 0; iter < 20000; ++iter) {
    const float h = rng.pick({0.0f, 0.5f, 1.5f, 6.0f});
    const bool aa = rng.chance(0.5);
    const float x0 = static_cast<float>(rng.integer(0, 50)) + rng.realf(0.0, 1.0);
    const float x1 = x0 + rng.pick({0.0f, 1e-4f, 0.37f, 1.0f, 2.5f, 40.0f, 799.0f});
    const float big = rng.pick({1e3f, 1e5f, kFarPixels, far});
    auto y = [&] {
      if (rng.chance(0.5)) return rng.realf(-10.0, 510.0);
      if (rng.chance(0.3)) return rng.chance(0.5) ? -kFarPixels : 500.0f + kFarPixels;
      return rng.realf(-big, big);
    };
    const float y0 = y();
    const float y1 = y();
    const float reach = coverage_reach(h, aa);
    const int64_t c = rng.integer(static_cast<int64_t>(std::floor(x0 - reach)) - 2,
                                  static_cast<int64_t>(std::ceil(std::min(x1, x0 + 60.0f) + reach)) + 2);
    ASSERT_NO_FATAL_FAILURE(check_segment_rows(static_cast<float>(c), h, aa, x0, y0, x1, y1,
                                               -20, 520))
        << "iter " << iter;
  }
}

TEST(SegmentRows, FarColumnsAreRejected) {
  // A column farther than reach + slack from the segment's x extent cannot be reached.
  float lo = 0.0f;
  float hi = 0.0f;
  EXPECT_FALSE(segment_rows(20.0f, 2.0f, 10.0f, 5.0f, 16.0f, 9.0f, &lo, &hi));
  EXPECT_FALSE(segment_rows(6.0f, 2.0f, 10.0f, 5.0f, 16.0f, 9.0f, &lo, &hi));
  EXPECT_FALSE(segment_rows(14.0f, 0.5f, 10.0f, 5.0f, 10.0f, 5.0f, &lo, &hi));  // dot
  EXPECT_FALSE(segment_rows(13.0f, 2.0f, 10.0f, 5.0f, 10.0f, 5.0f, &lo, &hi));  // 3 > 2 + slack
  EXPECT_TRUE(segment_rows(12.0f, 2.0f, 10.0f, 5.0f, 10.0f, 5.0f, &lo, &hi));
  const float r = 2.0f + cull_slack(12.0f + 5.0f + 5.0f);
  EXPECT_GT(r, 2.0f);
  EXPECT_LT(r, 2.1f);
  EXPECT_EQ(lo, 5.0f - r);
  EXPECT_EQ(hi, 5.0f + r);
}

}  // namespace
}  // namespace kernels
}  // namespace torch_render
