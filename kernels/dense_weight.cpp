#include "kernels/dense_weight.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

const char* gemm_precision_name(GemmPrecision p) {
  switch (p) {
    case GemmPrecision::F32: return "fp32";
    case GemmPrecision::BF16: return "bf16";
    case GemmPrecision::Int8: return "int8";
  }
  return "?";
}

size_t DenseWeight::bytes() const {
  switch (precision) {
    case GemmPrecision::F32: return static_cast<size_t>(n) * static_cast<size_t>(k) * sizeof(float);
    case GemmPrecision::BF16: return bf16.size() * sizeof(uint16_t);
    case GemmPrecision::Int8: return q.size() + scale.size() * sizeof(float) + q_sum.size() * sizeof(int32_t);
  }
  return 0;
}

bool cpu_has_vnni() { return cpu::dnnl_has_vnni(); }
int int8_activation_levels() { return cpu_has_vnni() ? 255 : 127; }
bool cpu_has_amx() { return cpu::dnnl_has_amx(); }

std::string cpu_gemm_support(GemmPrecision p) {
#ifndef OFFRAMP_HAVE_DNNL
  if (p != GemmPrecision::F32)
    return std::string(gemm_precision_name(p)) + " needs oneDNN, and this build has none (install libdnnl-dev and rebuild)";
#endif
  if (p == GemmPrecision::BF16 && !cpu::dnnl_has_bf16())
    return "bf16 on the CPU needs AVX-512 BF16 (avx512_bf16), which this CPU lacks (or ONEDNN_MAX_CPU_ISA hides); "
           "use fp32 or int8";
  return {};
}

void quantize_rows_int8(const float* w, size_t rows, size_t cols, int8_t* q, float* scale) {
  for (size_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    float amax = 0;
    for (size_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(row[c]));
    check(std::isfinite(amax), "quantize", "a weight is NaN or infinite");
    const float s = amax > 0 ? amax / 127.0f : 1.0f;
    scale[r] = s;
    for (size_t c = 0; c < cols; ++c)
      q[r * cols + c] = static_cast<int8_t>(std::clamp(std::nearbyint(row[c] / s), -127.0f, 127.0f));
  }
}

std::string cpu_gemm_description(GemmPrecision p) {
  if (const std::string why = cpu_gemm_support(p); !why.empty()) return "unavailable: " + why;
  const std::string amx = cpu_has_amx() ? " and AMX" : "";
  switch (p) {
    case GemmPrecision::F32: return "FP32 GEMMs (oneDNN sgemm)";
    case GemmPrecision::BF16: return "bf16 GEMMs with AVX-512 BF16" + amx + ", FP32 accumulation; the other ops FP32";
    case GemmPrecision::Int8:
      return cpu_has_vnni() ? "int8 GEMMs with VNNI" + amx + ": u8 activations (0..255) x s8 weights, exact int32 sums"
                            : "int8 GEMMs without VNNI: activations held to 7 bits (0..127) so oneDNN's int16 pair "
                              "sums cannot saturate; a little less accurate than with VNNI";
  }
  return {};
}

DenseWeight prepare_weight(GemmPrecision p, const float* w, int n, int k, WeightLayout layout) {
  check(w != nullptr && n > 0 && k > 0, "prepare_weight", "bad shape or null weight");
  DenseWeight d;
  d.precision = p, d.n = n, d.k = k, d.layout = layout;
  if (p == GemmPrecision::F32) {
    d.f32 = w;
    return d;
  }
  const std::string why = cpu_gemm_support(p);
  check(why.empty(), "prepare_weight", why);
  // W[j, c]: row j (output channel) of [n, k]
  const auto at = [&](int j, int c) {
    return layout == WeightLayout::NK ? w[static_cast<size_t>(j) * k + c] : w[static_cast<size_t>(c) * n + j];
  };
  const size_t nk = static_cast<size_t>(n) * static_cast<size_t>(k);
  if (p == GemmPrecision::BF16) {
    std::vector<uint16_t> plain(nk);  // [k, n]
    for (int c = 0; c < k; ++c)
      for (int j = 0; j < n; ++j) plain[static_cast<size_t>(c) * n + j] = to_bf16(at(j, c));
    d.bf16 = cpu::pack_bf16_weights(plain.data(), n, k);
    return d;
  }
  // Int8, per output channel (a row of W [n, k]).
  std::vector<float> rows(nk);  // W as [n, k]
  for (int j = 0; j < n; ++j)
    for (int c = 0; c < k; ++c) rows[static_cast<size_t>(j) * k + c] = at(j, c);
  std::vector<int8_t> q(nk);  // [n, k]
  d.scale.resize(static_cast<size_t>(n)), d.q_sum.assign(static_cast<size_t>(n), 0);
  quantize_rows_int8(rows.data(), static_cast<size_t>(n), static_cast<size_t>(k), q.data(), d.scale.data());
  std::vector<int8_t> plain(nk);  // [k, n], what pack takes
  for (int j = 0; j < n; ++j)
    for (int c = 0; c < k; ++c) {
      const int8_t v = q[static_cast<size_t>(j) * k + c];
      plain[static_cast<size_t>(c) * n + j] = v;
      d.q_sum[static_cast<size_t>(j)] += v;
    }
  d.q = cpu::pack_int8_weights(plain.data(), n, k);
  return d;
}

void linear(Device dev, const float* x, const DenseWeight& w, const float* bias, float* y, int m) {
  check(m >= 0 && w.n > 0 && w.k > 0, "linear", "bad shape");
  if (dev == Device::Cuda) no_cuda("linear");
  switch (w.precision) {
    case GemmPrecision::F32: return linear(dev, x, w.f32, bias, y, m, w.n, w.k, w.layout);
    case GemmPrecision::BF16:
      check(m == 0 || (x && y), "linear", "null buffer");
      return cpu::linear_bf16(x, w.bf16.data(), bias, y, m, w.n, w.k);
    case GemmPrecision::Int8:
      check(m == 0 || (x && y), "linear", "null buffer");
      return cpu::linear_int8(x, w.q.data(), w.scale.data(), w.q_sum.data(), bias, y, m, w.n, w.k,
                              int8_activation_levels());
  }
}

}  // namespace offramp::kernels
