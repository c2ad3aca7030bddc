// LayerNorm, activations and the embedding gather: memory-bound loops, vectorised by Eigen
// (Eigen's float erf/tanh/exp are SIMD rational approximations, a few ulp from libm).
#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <unsupported/Eigen/SpecialFunctions>

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels::cpu {

using RowVec = Eigen::Map<Eigen::ArrayXf>;
using ConstRowVec = Eigen::Map<const Eigen::ArrayXf>;

namespace {

// sum_i f(x[i]) with 16 interleaved partial sums (vectorised by the compiler) combined in a
// fixed order: deterministic whatever the row's alignment, unlike Eigen's alignment-peeled
// reductions.
template <typename F>
float fixed_order_sum(const float* x, int n, F f) {
  constexpr int kLanes = 16;
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += f(x[i + j]);
  float total = 0.0f;
  for (; i < n; ++i) total += f(x[i]);
  for (int j = 0; j < kLanes; ++j) total += acc[j];
  return total;
}

}  // namespace

void add_layer_norm(float* x, const float* residual, const float* gamma, const float* beta,
                    int rows, int h, float eps) {
  ConstRowVec g(gamma, h), b(beta, h);
#pragma omp parallel for schedule(static) if (rows > 16) num_threads(cpu_threads())
  for (int r = 0; r < rows; ++r) {
    RowVec v(x + static_cast<size_t>(r) * h, h);
    if (residual != nullptr) v += ConstRowVec(residual + static_cast<size_t>(r) * h, h);
    // Two-pass mean/variance (biased, as torch.nn.LayerNorm) for accuracy, summed in a
    // fixed order so the result never depends on the row's address.
    const float* row = v.data();
    const float mean = fixed_order_sum(row, h, [](float x) { return x; }) / static_cast<float>(h);
    const float var = fixed_order_sum(row, h, [mean](float x) { return (x - mean) * (x - mean); }) / static_cast<float>(h);
    const float rstd = 1.0f / std::sqrt(var + eps);
    v = (v - mean) * rstd * g + b;
  }
}

void activation(float* x, int rows, int n, Activation act) {
  const Eigen::Index total = static_cast<Eigen::Index>(rows) * n;
  constexpr Eigen::Index kChunk = 1 << 14;
  const Eigen::Index chunks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1) num_threads(cpu_threads())
  for (Eigen::Index c = 0; c < chunks; ++c) {
    const Eigen::Index begin = c * kChunk;
    RowVec v(x + begin, std::min(kChunk, total - begin));
    switch (act) {
      case Activation::GeluErf:
        v = 0.5f * v * (1.0f + (v * static_cast<float>(M_SQRT1_2)).erf());
        break;
      case Activation::GeluTanh: {
        const float k = std::sqrt(2.0f / static_cast<float>(M_PI));
        v = 0.5f * v * (1.0f + (k * (v + 0.044715f * v.cube())).tanh());
        break;
      }
      case Activation::Relu:
        v = v.max(0.0f);
        break;
      case Activation::Tanh:
        v = v.tanh();
        break;
    }
  }
}

void embed(const int32_t* ids, const int32_t* positions, int t, const float* word,
           const float* pos, const float* type0, float* out, int h) {
  ConstRowVec ty(type0, h);
  for (int i = 0; i < t; ++i) {
    RowVec o(out + static_cast<size_t>(i) * h, h);
    // Same summation order as HF: (word + type) + position.
    o = (ConstRowVec(word + static_cast<size_t>(ids[i]) * h, h) + ty) +
        ConstRowVec(pos + static_cast<size_t>(positions[i]) * h, h);
  }
}

void embed_int8(const int32_t* ids, const int32_t* positions, int t, const int8_t* word_q, const float* word_scale,
                const float* pos, const float* type0, float* out, int h) {
  for (int i = 0; i < t; ++i) {
    const int8_t* q = word_q + static_cast<size_t>(ids[i]) * h;
    const float sc = word_scale[ids[i]];
    const float* p = pos + static_cast<size_t>(positions[i]) * h;
    float* o = out + static_cast<size_t>(i) * h;
    // As embed: (word + type) + position, the word row dequantized.
    for (int c = 0; c < h; ++c) o[c] = (sc * static_cast<float>(q[c]) + type0[c]) + p[c];
  }
}

}  // namespace offramp::kernels::cpu
