// What the two implementations of the GPU interface (kernels/cuda/*.cu and the host emulation,
// kernels/emulation/*.cpp) share, so they refuse the same calls with the same words and decide
// exits with the same code: the ops' argument checks (gpu.cpp), the exit head's choice of
// path, and the exit head's last step, compiled for the device by nvcc and for the host.
#pragma once

#include <math.h>

#include "kernels/gpu.h"

#ifdef __CUDACC__
#define OFFRAMP_HOST_DEVICE __host__ __device__
#else
#define OFFRAMP_HOST_DEVICE
#endif

namespace offramp::kernels::gpu {

// Argument checks on the host values of each op; each throws KernelError naming the op.
namespace checks {
void linear(const void* x, const void* w, const void* bias, const void* y, int m, int n, int k,
            Epilogue epilogue);
// embed_layer_norm (t, h), add_layer_norm (rows, h), bias_activation (rows, n); `row_in_smem`:
// the op keeps a row in one block's 48 KiB of shared memory (h <= 12256).
void rows(const char* op, int rows, int h, const char* rows_name, const char* h_name,
          bool row_in_smem);
void packed_attention(const void* qkv, const int* offsets, const void* ctx, int batch, int max_len,
                      int heads, int head_dim);
void exit_head(int batch, int h, const ExitHeadDevice& head, const void* pooled, const void* dense);
void compact_sequences(const void* x_in, const void* x_out, const int* offsets_in,
                       const int* offsets_out, int batch, int tokens, int h, int n_state,
                       size_t scratch_bytes);
}  // namespace checks

// Small batches run the whole exit head in one kernel (the dense layer's [h, h] weights stream
// through L2 once per sequence); larger ones pool, run the dense layer as a GEMM, then finish.
inline bool exit_head_fused(int batch, int h) {
  return static_cast<double>(batch) * h * h <= 64.0 * 768 * 768;
}

// The exit head's last step for sequence s, from its classifier logits z [labels] (before the
// temperature): softmax(z / T) in a fixed order, the policy's confidence, the decision and
// the patience state, written to `out`. kernels::temperature_softmax and
// engine::decide_exit are the CPU engine's originals; the threshold is compared in double
// as there.
OFFRAMP_HOST_DEVICE inline void finish_exit(const float* z, int labels, float temperature,
                                            const ExitRule& rule, const ExitOutputs& out, int s) {
  float* lg = out.logits + static_cast<size_t>(s) * labels;
  float* p = out.probs + static_cast<size_t>(s) * labels;
  float mx = z[0] / temperature, sum = 0.0f;
  for (int k = 1; k < labels; ++k) mx = fmaxf(mx, z[k] / temperature);
  for (int k = 0; k < labels; ++k) sum += (p[k] = expf(z[k] / temperature - mx));
  for (int k = 0; k < labels; ++k) p[k] /= sum, lg[k] = z[k];
  int arg = 0;
  for (int k = 1; k < labels; ++k)
    if (p[k] > p[arg]) arg = k;
  float conf = p[arg];
  bool leave = false;
  if (rule.policy == 0) {
    leave = static_cast<double>(conf) >= rule.threshold;
  } else if (rule.policy == 1) {
    double ent = 0;
    for (int k = 0; k < labels; ++k)
      if (p[k] > 0) ent -= static_cast<double>(p[k]) * log(static_cast<double>(p[k]));
    conf = static_cast<float>(1.0 - ent / log(static_cast<double>(labels)));
    leave = static_cast<double>(conf) >= rule.threshold;
  } else {
    const int unchanged = out.prev_argmax[s] == arg ? out.unchanged[s] + 1 : 0;
    out.unchanged[s] = unchanged;
    leave = unchanged >= rule.patience;
  }
  out.prev_argmax[s] = arg;
  if (rule.never_exit) leave = false;
  out.label[s] = arg;
  out.confidence[s] = conf;
  out.keep[s] = (leave || rule.final_head) ? 0 : 1;
}

}  // namespace offramp::kernels::gpu
