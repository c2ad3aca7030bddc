// What the two implementations of the GPU interface (kernels/cuda/*.cu and the host emulation,
// kernels/emulation/*.cpp) share, so they refuse the same calls with the same words and decide
// exits with the same code: the ops' argument checks (gpu.cpp), the exit head's choice of
// path. The exit rule itself lives in kernels/exit_rule.h.
#pragma once

#include "kernels/exit_rule.h"
#include "kernels/gpu.h"

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

}  // namespace offramp::kernels::gpu
