// A dense layer's weight prepared once, at load, for the precision its CPU GEMM runs in, and
// the one linear() that dispatches on it: Y = X W^T + b with X, Y and b in FP32 whatever the
// weight's precision, so the ops around the GEMMs (LayerNorm, softmax, attention, exit heads)
// are the same for every precision.
//   F32:  W as the model stores it (borrowed, not copied), oneDNN's sgemm (gemm.h).
//   BF16: W rounded to bfloat16, X rounded per call; oneDNN's matmul, FP32 accumulation.
//   (BF16 and Int8 keep W in the blocked layout oneDNN's matmul picks, reordered at load.)
//   Int8: W quantized per output channel, symmetric (W[j, :] ~ scale[j] * q[j, :], q in
//         [-127, 127]); X quantized per row at run time, asymmetric u8 with a zero point (the
//         u8 x s8 operands VNNI's vpdpbusd and AMX take); oneDNN's matmul, int32 accumulation,
//         then y[i, j] = sx[i] * scale[j] * (acc[i, j] - zx[i] * sum_k q[j, k]) + b[j] in FP32.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/device.h"
#include "kernels/gemm.h"

namespace offramp::kernels {

enum class GemmPrecision { F32, BF16, Int8 };
const char* gemm_precision_name(GemmPrecision p);  // "fp32" / "bf16" / "int8"

struct DenseWeight {
  GemmPrecision precision = GemmPrecision::F32;
  int n = 0, k = 0;                    // W is [n, k] (out, in)
  const float* f32 = nullptr;          // F32: the model's [n, k] or [k, n] (layout)
  WeightLayout layout = WeightLayout::NK;
  std::vector<uint16_t> bf16;          // BF16: [k, n] bfloat16 bits in oneDNN's blocked layout
  std::vector<int8_t> q;               // Int8: [k, n] in oneDNN's blocked layout
  std::vector<float> scale;            // Int8: [n]
  std::vector<int32_t> q_sum;          // Int8: [n], sum over k of q[:, j]
  size_t bytes() const;                // what this precision keeps resident for W
};

// w: the model's weight ([n, k] for NK, [k, n] for KN). F32 borrows the pointer, which must
// outlive the DenseWeight; BF16 and Int8 copy what they need.
DenseWeight prepare_weight(GemmPrecision p, const float* w, int n, int k, WeightLayout layout);

// What this CPU and build can run: an empty string when `p` is supported, else why not.
std::string cpu_gemm_support(GemmPrecision p);
// True when the CPU has AVX-512 VNNI (or AVX-VNNI): u8 x s8 products accumulate in int32
// exactly. Without it oneDNN's int8 GEMM adds pairs of products in saturating int16, so the
// activations are quantized to 7 bits (0..127) instead, which cannot saturate
// (2 * 127 * 127 < 32767; oneDNN's "int8 computations" guide).
bool cpu_has_vnni();
// The activation range Int8 quantizes to on this CPU: 255 with VNNI, else 127.
int int8_activation_levels();
// True when oneDNN runs the int8 / bf16 matmuls on AMX tiles (Sapphire Rapids and later).
bool cpu_has_amx();
// How `p` runs on this CPU, in words, for `offramp info` and ModelInfo::precision_note (int8:
// with VNNI and AMX, or the 7-bit fallback); or why it cannot (cpu_gemm_support's reason).
std::string cpu_gemm_description(GemmPrecision p);

// The one int8 quantizer of weights (per output channel), word embeddings (per token) and
// `offramp quantize`'s files, so all three agree: for each row r of w [rows, cols],
// scale[r] = max |w[r, :]| / 127 (1 for a zero row) and q[r, :] = round(w[r, :] / scale[r]) in
// [-127, 127]. q: [rows, cols]; scale: [rows]. A NaN or infinite weight is a KernelError.
void quantize_rows_int8(const float* w, size_t rows, size_t cols, int8_t* q, float* scale);

// x: [m, k] -> y: [m, n] (overwritten); bias [n] or null. Thread-safe: per-call scratch is
// per calling thread.
void linear(Device dev, const float* x, const DenseWeight& w, const float* bias, float* y, int m);

// Round-to-nearest-even float -> bfloat16 bits, and back (exact). Inline: the BF16 GEMM
// rounds every activation with it.
inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(u >> 16);
}
inline float from_bf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace offramp::kernels
