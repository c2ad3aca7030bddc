// The GEMMs of every precision (kernels/dense_weight.h) against a double-precision reference over
// the shape grid of Kernels.LinearMatchesReferenceOverShapes, outputs poisoned first, with
// tolerances derived from the rounding each precision does (not fitted to what it returns):
//   INT8: x ~ sx (qx - zx) with |error| <= sx / 2 and w ~ sw qw with |error| <= sw / 2, so
//         |y - ref| <= (sx / 2) ||w_j||_1 + (sw_j / 2) ||x_i||_1 (+ FP32 rounding, 1e-5 relative);
//   BF16: each operand within 2^-9 relative, so |y - ref| <= (2^-8 + k 2^-23) sum_p |x_p w_p|;
//   FP32: only the sums' rounding, |y - ref| <= k 2^-23 sum_p |x_p w_p|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "kernels/dense_weight.h"
#include "kernels/device.h"
#include "kernels/gemm.h"
#include "tests/support/tensors.h"

using namespace offramp::kernels;

namespace {

using offramp::test::poisoned;
using offramp::test::randn;

// y = x w^T + b with x [m, k], w [n, k] ([n, k] = NK), in double, and the bound above per element.
void check_against_reference(GemmPrecision p, const std::vector<float>& x, const std::vector<float>& w,
                             const std::vector<float>& b, int m, int n, int k, WeightLayout layout) {
  const std::vector<float> stored = layout == WeightLayout::NK ? w : transpose(w, n, k);
  const DenseWeight d = prepare_weight(p, stored.data(), n, k, layout);
  auto y = poisoned(size_t(m) * n);
  linear(Device::Cpu, x.data(), d, b.data(), y.data(), m);
  const double levels = int8_activation_levels();
  for (int i = 0; i < m; ++i) {
    double lo = 0, hi = 0, x1 = 0;
    for (int c = 0; c < k; ++c) {
      const double v = x[size_t(i) * k + c];
      lo = std::min(lo, v), hi = std::max(hi, v), x1 += std::abs(v);
    }
    const double sx = hi > lo ? (hi - lo) / levels : 1.0;
    for (int j = 0; j < n; ++j) {
      double ref = b[size_t(j)], w1 = 0, wmax = 0, abs_products = 0;
      for (int c = 0; c < k; ++c) {
        const double xv = x[size_t(i) * k + c], wv = w[size_t(j) * k + c];
        ref += xv * wv, w1 += std::abs(wv), wmax = std::max(wmax, std::abs(wv)), abs_products += std::abs(xv * wv);
      }
      const double bound =
          p == GemmPrecision::Int8 ? sx / 2 * w1 + wmax / 127 / 2 * (x1 + k * sx / 2) + 1e-5 * (std::abs(ref) + abs_products)
          : p == GemmPrecision::BF16 ? (std::ldexp(1.0, -8) + k * std::ldexp(1.0, -23)) * abs_products + 1e-6 * std::abs(ref)
                                     : (k + 2) * std::ldexp(1.0, -23) * (abs_products + std::abs(ref));
      const double got = y[size_t(i) * n + j];
      ASSERT_TRUE(std::isfinite(got)) << "unwritten element (" << i << ", " << j << ")";
      ASSERT_LE(std::abs(got - ref), bound) << gemm_precision_name(p) << " m=" << m << " n=" << n << " k=" << k
                                            << " at (" << i << ", " << j << "): " << got << " vs " << ref;
    }
  }
}

bool supported(GemmPrecision p) { return cpu_gemm_support(p).empty(); }

}  // namespace

TEST(DenseWeight, EveryPrecisionMatchesTheReferenceWithinItsRounding) {
  for (GemmPrecision p : {GemmPrecision::F32, GemmPrecision::Int8, GemmPrecision::BF16}) {
    if (!supported(p)) {
      std::cout << "[ skipped ] " << gemm_precision_name(p) << ": " << cpu_gemm_support(p) << "\n";
      continue;
    }
    for (auto [m, n, k] : {std::tuple{1, 1, 1}, {1, 384, 384}, {7, 1152, 384}, {65, 33, 17}, {130, 1536, 384},
                           {40, 384, 1536}})
      for (WeightLayout layout : {WeightLayout::NK, WeightLayout::KN})
        check_against_reference(p, randn(size_t(m) * k, 1), randn(size_t(n) * k, 2, 0.05f), randn(size_t(n), 3), m, n,
                                k, layout);
  }
}

TEST(DenseWeight, EveryRowCountMatchesTheReference) {
  // INT8 pads rows to buckets (of 16 up to 256) and splits them over threads in chunks of up to
  // 64, BF16 runs chunks of 32: every row count up to past several chunks, at the attention
  // output's shape (FP32, oneDNN's sgemm, for comparison).
  std::vector<int> rows;
  for (int m = 1; m <= 40; ++m) rows.push_back(m);
  for (int m : {63, 64, 65, 100, 127, 128, 129, 130, 200, 255, 256, 257, 300}) rows.push_back(m);
  for (GemmPrecision p : {GemmPrecision::F32, GemmPrecision::Int8, GemmPrecision::BF16}) {
    if (!supported(p)) continue;
    for (int m : rows)
      check_against_reference(p, randn(size_t(m) * 384, uint32_t(m)), randn(size_t(384) * 384, 9, 0.05f),
                              randn(384, 10), m, 384, 384, WeightLayout::KN);
  }
}

TEST(DenseWeight, Int8ActivationsAtTheEndsOfTheirRangeDoNotSaturate) {
  if (!supported(GemmPrecision::Int8)) GTEST_SKIP() << cpu_gemm_support(GemmPrecision::Int8);
  // k = 1536 (the FFN's inner size): rows that quantize to all 255 (a constant positive row),
  // all 0 (constant negative: the zero point at the top), alternating extremes, and zeros,
  // against weights at +-127 after quantization. With VNNI the int32 sums are exact; without
  // it the 7-bit activations keep oneDNN's int16 pair sums from saturating.
  const int m = 5, n = 4, k = 1536;
  std::vector<float> x(size_t(m) * k), w(size_t(n) * k), b(size_t(n), 0.5f);
  for (int c = 0; c < k; ++c) {
    x[size_t(0) * k + c] = 3.0f;
    x[size_t(1) * k + c] = -2.0f;
    x[size_t(2) * k + c] = c % 2 ? 1000.0f : -1000.0f;
    x[size_t(3) * k + c] = 0.0f;
    x[size_t(4) * k + c] = c % 3 == 0 ? 7.0f : 0.0f;
    w[size_t(0) * k + c] = 1.0f;                          // all +127
    w[size_t(1) * k + c] = -1.0f;                         // all -127
    w[size_t(2) * k + c] = c % 2 ? 1.0f : -1.0f;          // alternating
    w[size_t(3) * k + c] = 0.25f * float(c % 5) - 0.5f;   // mixed
  }
  check_against_reference(GemmPrecision::Int8, x, w, b, m, n, k, WeightLayout::KN);
  // The exact values where quantization is lossless (constant rows, zeros): 3 * 1536,
  // -3 * 1536, -2 * 1536 and the bias alone.
  const DenseWeight d = prepare_weight(GemmPrecision::Int8, transpose(w, n, k).data(), n, k, WeightLayout::KN);
  auto y = poisoned(size_t(m) * n);
  linear(Device::Cpu, x.data(), d, b.data(), y.data(), m);
  EXPECT_NEAR(y[0], 0.5 + 3.0 * k, 1e-6 * 3 * k);
  EXPECT_NEAR(y[1], 0.5 - 3.0 * k, 1e-6 * 3 * k);
  EXPECT_NEAR(y[size_t(1) * n + 0], 0.5 - 2.0 * k, 1e-6 * 2 * k);
  for (int j = 0; j < n; ++j) EXPECT_FLOAT_EQ(y[size_t(3) * n + j], 0.5f);
}

TEST(DenseWeight, PreparedWeightsAreSmallerAndBadWeightsAreErrors) {
  const int n = 128, k = 384;  // multiples of oneDNN's blocks: its layout adds no padding
  const auto w = randn(size_t(n) * k, 4);
  EXPECT_EQ(prepare_weight(GemmPrecision::F32, w.data(), n, k, WeightLayout::NK).bytes(), size_t(n) * k * 4);
  EXPECT_EQ(prepare_weight(GemmPrecision::F32, transpose(w, n, k).data(), n, k, WeightLayout::KN).bytes(),
            size_t(n) * k * 4);
  if (supported(GemmPrecision::Int8)) {
    const DenseWeight q = prepare_weight(GemmPrecision::Int8, w.data(), n, k, WeightLayout::NK);
    EXPECT_EQ(q.bytes(), size_t(n) * k + size_t(n) * 8);  // int8 values + a scale and a sum per channel
    auto bad = w;
    bad[17] = std::numeric_limits<float>::infinity();
    EXPECT_THROW(prepare_weight(GemmPrecision::Int8, bad.data(), n, k, WeightLayout::NK), KernelError);
    // A zero row quantizes to zeros with scale 1 and gives the bias.
    std::vector<float> zero(size_t(n) * k, 0.0f), x = randn(size_t(k), 5), b(size_t(n), 2.0f), y = poisoned(size_t(n));
    linear(Device::Cpu, x.data(), prepare_weight(GemmPrecision::Int8, zero.data(), n, k, WeightLayout::NK), b.data(),
           y.data(), 1);
    for (float v : y) EXPECT_FLOAT_EQ(v, 2.0f);
  }
  if (supported(GemmPrecision::BF16)) {
    EXPECT_EQ(prepare_weight(GemmPrecision::BF16, w.data(), n, k, WeightLayout::NK).bytes(), size_t(n) * k * 2);
  }
  EXPECT_THROW(prepare_weight(GemmPrecision::Int8, nullptr, n, k, WeightLayout::NK), KernelError);
}

TEST(DenseWeight, Bf16RoundsToNearestEven) {
  EXPECT_EQ(to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(from_bf16(to_bf16(1.0f)), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1); just above rounds up.
  EXPECT_EQ(from_bf16(to_bf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_EQ(from_bf16(to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20))), 1.0f + std::ldexp(1.0f, -7));
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(DenseWeight, ConcurrentCallersGetTheSameResults) {
  for (GemmPrecision p : {GemmPrecision::F32, GemmPrecision::Int8, GemmPrecision::BF16}) {
    if (!supported(p)) continue;
    const int m = 33, n = 384, k = 384;
    const auto x = randn(size_t(m) * k, 6), w = randn(size_t(n) * k, 7, 0.05f), b = randn(size_t(n), 8);
    const DenseWeight d = prepare_weight(p, w.data(), n, k, WeightLayout::NK);
    auto want = poisoned(size_t(m) * n);
    linear(Device::Cpu, x.data(), d, b.data(), want.data(), m);
    std::vector<std::vector<float>> got(4, poisoned(size_t(m) * n));
    std::vector<std::thread> threads;
    for (auto& g : got)
      threads.emplace_back([&, out = g.data()] {
        for (int r = 0; r < 20; ++r) linear(Device::Cpu, x.data(), d, b.data(), out, m);
      });
    for (auto& t : threads) t.join();
    for (const auto& g : got) EXPECT_EQ(g, want) << gemm_precision_name(p);
  }
}
