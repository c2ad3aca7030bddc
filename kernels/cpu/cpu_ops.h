// CPU implementations behind the op interfaces of kernels/*.h. Arguments were checked by
// the interface; shapes are as documented there.
#pragma once

#include <cstdint>

#include "kernels/activation.h"
#include "kernels/exit_head.h"

namespace offramp::kernels::cpu {

void linear(const float* x, const float* w, const float* bias, float* y, int m, int n, int k, bool w_kn = false);
void add_layer_norm(float* x, const float* residual, const float* gamma, const float* beta,
                    int rows, int h, float eps);
void activation(float* x, int rows, int n, Activation act);
void embed(const int32_t* ids, const int32_t* positions, int t, const float* word,
           const float* pos, const float* type0, float* out, int h);
void packed_attention(const float* qkv, const int* offsets, int batch, int heads, int head_dim,
                      float* ctx);
void exit_head(const float* hidden, const int* offsets, int batch, int h,
               const ExitHeadWeights& head, const ExitRule& rule, float* scratch,
               const ExitOutputs& out);
int compact_sequences(float* x, int* offsets, const unsigned char* keep, int batch, int h);

}  // namespace offramp::kernels::cpu
