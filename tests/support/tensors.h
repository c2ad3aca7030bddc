// Test tensors for the kernel suites: seeded normal values, and outputs poisoned with NaN so an
// element a kernel never writes fails the comparison.
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace offramp::test {

inline std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline std::vector<float> poisoned(size_t n) { return std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()); }

}  // namespace offramp::test
