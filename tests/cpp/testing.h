// Helpers shared by the torch-free C++ tests: a seeded random source, float
// utilities and a bitwise comparison of outputs. Every random test is deterministic (fixed seeds) so a failure
// reproduces; the seed is part of every failure message.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace torch_render {
namespace testing {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // Uniform integer in [lo, hi].
  int64_t integer(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen_);
  }
  // Uniform double in [lo, hi).
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gen_); }
  float realf(double lo, double hi) { return static_cast<float>(real(lo, hi)); }
  bool chance(double p) { return real(0.0, 1.0) < p; }
  template <typename T, size_t N>
  const T& pick(const T (&values)[N]) {
    return values[static_cast<size_t>(integer(0, static_cast<int64_t>(N) - 1))];
  }
  std::mt19937_64& engine() { return gen_; }

 private:
  std::mt19937_64 gen_;
};

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Expects a and b to hold the same bits element by element (so NaN equals NaN of
// the same payload and -0 differs from 0), naming the first element that differs.
template <typename T>
void expect_same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  ASSERT_EQ(a.size(), b.size());
  size_t first_diff = a.size();
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) {
      first_diff = i;
      break;
    }
  }
  EXPECT_EQ(first_diff, a.size()) << "first differing element " << first_diff << ": "
                                  << static_cast<double>(a[first_diff]) << " vs "
                                  << static_cast<double>(b[first_diff]);
}

}  // namespace testing
}  // namespace torch_render
