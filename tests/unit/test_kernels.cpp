// CPU kernels against plain reference loops (double accumulation), outputs poisoned first
// so unwritten elements fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <omp.h>

#include <random>
#include <thread>
#include <vector>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/compaction.h"
#include "kernels/exit_head.h"
#include "kernels/device.h"
#include "kernels/gemm.h"
#include "tests/support/tensors.h"
#include "kernels/layer_norm.h"

using namespace offramp::kernels;

namespace {

using offramp::test::poisoned;
using offramp::test::randn;

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::abs(want[i]))) << "element " << i;
}

}  // namespace

TEST(Kernels, LinearMatchesReferenceOverShapes) {
  for (auto [m, n, k] : {std::tuple{1, 1, 1}, {1, 384, 384}, {7, 1152, 384}, {65, 33, 17}, {130, 1536, 384}}) {
    auto x = randn(size_t(m) * k, 1), w = randn(size_t(n) * k, 2), b = randn(size_t(n), 3);
    auto y = poisoned(size_t(m) * n);
    linear(Device::Cpu, x.data(), w.data(), b.data(), y.data(), m, n, k);
    std::vector<double> ref(size_t(m) * n);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = b[size_t(j)];
        for (int p = 0; p < k; ++p) s += double(x[size_t(i) * k + p]) * w[size_t(j) * k + p];
        ref[size_t(i) * n + j] = s;
      }
    expect_close(y, ref, 1e-4);
    // The same weight stored transposed ([k, n], what the engine loads for oneDNN).
    const auto wt = transpose(w, n, k);
    auto y_kn = poisoned(size_t(m) * n);
    linear(Device::Cpu, x.data(), wt.data(), b.data(), y_kn.data(), m, n, k, WeightLayout::KN);
    expect_close(y_kn, ref, 1e-4);
  }
}

TEST(Kernels, LayerNormWithResidual) {
  const int rows = 37, h = 384;
  auto x = randn(size_t(rows) * h, 4, 3.0f), r = randn(size_t(rows) * h, 5), g = randn(h, 6), b = randn(h, 7);
  std::vector<double> ref(x.size());
  for (int i = 0; i < rows; ++i) {
    double mean = 0, var = 0;
    for (int j = 0; j < h; ++j) mean += double(x[size_t(i) * h + j]) + r[size_t(i) * h + j];
    mean /= h;
    for (int j = 0; j < h; ++j) {
      const double v = double(x[size_t(i) * h + j]) + r[size_t(i) * h + j] - mean;
      var += v * v;
    }
    var /= h;
    for (int j = 0; j < h; ++j)
      ref[size_t(i) * h + j] = (double(x[size_t(i) * h + j]) + r[size_t(i) * h + j] - mean) / std::sqrt(var + 1e-12) * g[size_t(j)] + b[size_t(j)];
  }
  add_layer_norm(Device::Cpu, x.data(), r.data(), g.data(), b.data(), rows, h, 1e-12f);
  expect_close(x, ref, 2e-5);
}

TEST(Kernels, Activations) {
  auto x = randn(5000, 8, 3.0f);
  for (auto act : {Activation::GeluErf, Activation::GeluTanh, Activation::Relu, Activation::Tanh}) {
    auto y = x;
    activation(Device::Cpu, y.data(), 50, 100, act);
    std::vector<double> ref(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      switch (act) {
        case Activation::GeluErf: ref[i] = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); break;
        case Activation::GeluTanh: ref[i] = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); break;
        case Activation::Relu: ref[i] = v > 0 ? v : 0; break;
        case Activation::Tanh: ref[i] = std::tanh(v); break;
      }
    }
    expect_close(y, ref, 2e-6);
  }
}

// Reference attention: each sequence alone, double precision.
std::vector<double> reference_attention(const std::vector<float>& qkv, const std::vector<int>& off, int heads, int d) {
  const int h = heads * d, t = off.back();
  std::vector<double> ctx(size_t(t) * h, 0.0);
  for (size_t s = 0; s + 1 < off.size(); ++s) {
    const int b = off[s], n = off[s + 1] - b;
    for (int j = 0; j < heads; ++j)
      for (int i = 0; i < n; ++i) {
        std::vector<double> sc(static_cast<size_t>(n), 0.0);
        double mx = -1e300;
        for (int k = 0; k < n; ++k) {
          double dot = 0;
          for (int e = 0; e < d; ++e)
            dot += double(qkv[size_t(b + i) * 3 * h + j * d + e]) * qkv[size_t(b + k) * 3 * h + h + j * d + e];
          sc[size_t(k)] = dot / std::sqrt(double(d));
          mx = std::max(mx, sc[size_t(k)]);
        }
        double sum = 0;
        for (auto& v : sc) sum += (v = std::exp(v - mx));
        for (int e = 0; e < d; ++e) {
          double acc = 0;
          for (int k = 0; k < n; ++k) acc += sc[size_t(k)] / sum * qkv[size_t(b + k) * 3 * h + 2 * h + j * d + e];
          ctx[size_t(b + i) * h + j * d + e] = acc;
        }
      }
  }
  return ctx;
}

TEST(Kernels, PackedAttentionVariableLengths) {
  for (const auto& lens : {std::vector<int>{1}, {2, 63, 64, 65}, {130, 1, 7}, {5, 5, 5, 5, 5, 5, 5, 5, 5}}) {
    const int heads = 12, d = 32, h = heads * d;
    std::vector<int> off{0};
    for (int n : lens) off.push_back(off.back() + n);
    auto qkv = randn(size_t(off.back()) * 3 * h, 9);
    auto ctx = poisoned(size_t(off.back()) * h);
    packed_attention(Device::Cpu, qkv.data(), off.data(), int(lens.size()), heads, d, ctx.data());
    expect_close(ctx, reference_attention(qkv, off, heads, d), 1e-5);
  }
}

TEST(Kernels, AttentionOfASequenceIgnoresItsNeighbours) {
  // Packing must not leak attention across sequences: sequence 1 alone == inside a batch.
  const int heads = 4, d = 8, h = heads * d;
  auto qkv = randn(size_t(3 + 5 + 4) * 3 * h, 10);
  std::vector<int> off{0, 3, 8, 12};
  auto all = poisoned(size_t(12) * h);
  packed_attention(Device::Cpu, qkv.data(), off.data(), 3, heads, d, all.data());
  std::vector<float> mid(qkv.begin() + 3 * 3 * h, qkv.begin() + 8 * 3 * h);
  std::vector<int> off1{0, 5};
  auto alone = poisoned(size_t(5) * h);
  packed_attention(Device::Cpu, mid.data(), off1.data(), 1, heads, d, alone.data());
  for (int i = 0; i < 5 * h; ++i) ASSERT_EQ(alone[size_t(i)], all[size_t(3 * h + i)]);
}

TEST(Kernels, ExitHeadClsAndMeanPooling) {
  const int h = 16, c = 3;
  std::vector<int> off{0, 4, 5, 11};
  auto x = randn(size_t(11) * h, 11), dw = randn(size_t(h) * h, 12, 0.3f), db = randn(h, 13), cw = randn(size_t(c) * h, 14),
       cb = randn(c, 15);
  for (auto pool : {Pooling::Cls, Pooling::Mean}) {
    const float temp = 1.7f;
    ExitHeadWeights w{dw.data(), db.data(), cw.data(), cb.data(), c, pool, temp};
    std::vector<float> scratch(2 * 3 * h), logits = poisoned(3 * c), probs = poisoned(3 * c), conf = poisoned(3);
    std::vector<int> label(3, -7), prev(3, -1), unchanged(3, 0);
    std::vector<unsigned char> keep(3, 7);
    exit_head(Device::Cpu, x.data(), off.data(), 3, h, w, ExitRule{ExitPolicy::MaxProb, 0.5, 0, false, false},
              scratch.data(),
              {logits.data(), probs.data(), conf.data(), label.data(), keep.data(), prev.data(), unchanged.data()});
    std::vector<double> ref_logits, ref_probs;
    for (int s = 0; s < 3; ++s) {
      std::vector<double> pooled(h, 0.0);
      const int n = off[size_t(s) + 1] - off[size_t(s)];
      for (int i = 0; i < (pool == Pooling::Cls ? 1 : n); ++i)
        for (int j = 0; j < h; ++j) pooled[size_t(j)] += x[size_t(off[size_t(s)] + i) * h + j];
      if (pool == Pooling::Mean)
        for (auto& v : pooled) v /= n;
      std::vector<double> dense(h), z(c);
      for (int o = 0; o < h; ++o) {
        double acc = db[size_t(o)];
        for (int j = 0; j < h; ++j) acc += dw[size_t(o) * h + j] * pooled[size_t(j)];
        dense[size_t(o)] = std::tanh(acc);
      }
      double mx = -1e300, sum = 0;
      for (int o = 0; o < c; ++o) {
        double acc = cb[size_t(o)];
        for (int j = 0; j < h; ++j) acc += cw[size_t(o) * h + j] * dense[size_t(j)];
        z[size_t(o)] = acc;
        ref_logits.push_back(acc);
        mx = std::max(mx, acc / temp);
      }
      for (int o = 0; o < c; ++o) sum += std::exp(z[size_t(o)] / temp - mx);
      for (int o = 0; o < c; ++o) ref_probs.push_back(std::exp(z[size_t(o)] / temp - mx) / sum);
    }
    expect_close(logits, ref_logits, 1e-5);
    expect_close(probs, ref_probs, 1e-5);
    // Every sequence's decision is written: argmax, its probability, keep = below 0.5.
    for (int s = 0; s < 3; ++s) {
      const auto first = ref_probs.begin() + s * c;
      const int arg = int(std::max_element(first, first + c) - first);
      EXPECT_EQ(label[size_t(s)], arg);
      EXPECT_EQ(prev[size_t(s)], arg);
      EXPECT_NEAR(conf[size_t(s)], first[arg], 1e-5);
      EXPECT_EQ(keep[size_t(s)], first[arg] >= 0.5 ? 0 : 1);
    }
  }
}

TEST(Kernels, CompactionKeepsSurvivorsInOrder) {
  const int h = 3;
  std::vector<int> off{0, 2, 3, 7, 8};
  std::vector<float> x(size_t(8) * h);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i);
  const unsigned char keep[] = {0, 1, 0, 1};
  const int left = compact_sequences(Device::Cpu, x.data(), off.data(), keep, 4, h);
  ASSERT_EQ(left, 2);
  EXPECT_EQ(off[0], 0);
  EXPECT_EQ(off[1], 1);
  EXPECT_EQ(off[2], 2);
  // Survivor rows were 2 (seq 1) and 7 (seq 3).
  for (int j = 0; j < h; ++j) {
    EXPECT_EQ(x[size_t(j)], float(2 * h + j));
    EXPECT_EQ(x[size_t(h + j)], float(7 * h + j));
  }
}

TEST(Kernels, CudaOnTheFloatInterfaceFailsClearly) {
  // The float interfaces are the CPU ops; the GPU's are in kernels/gpu.h. Either way a
  // Device::Cuda request says where to go instead of running anything.
  float x = 0;
  try {
    activation(Device::Cuda, &x, 1, 1, Activation::Relu);
    FAIL() << "expected an error";
  } catch (const KernelError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  cuda_compiled() ? "kernels/gpu.h" : "CUDA backend is not part of this build"),
              std::string::npos)
        << e.what();
  }
}

TEST(Kernels, ThreadCountIsProcessWide) {
  // A service loads on one thread and classifies on others: all must see the setting.
  set_cpu_threads(1);
  int seen = 0;
  std::thread([&] { seen = cpu_threads(); }).join();
  EXPECT_EQ(seen, 1);
  set_cpu_threads(0);  // back to all cores, within OMP_THREAD_LIMIT (see kernels/device.cpp)
  std::thread([&] { seen = cpu_threads(); }).join();
  EXPECT_EQ(seen, std::min(omp_get_num_procs(), omp_get_thread_limit()));
}
