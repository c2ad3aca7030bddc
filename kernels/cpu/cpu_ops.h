// CPU implementations behind the op interfaces of kernels/*.h. Arguments were checked by
// the interface; shapes are as documented there.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/activation.h"
#include "kernels/exit_head.h"

namespace offramp::kernels::cpu {

void linear(const float* x, const float* w, const float* bias, float* y, int m, int n, int k, bool w_kn = false);
// dense_weight.h's low-precision GEMMs. pack_*: plain [k, n] -> oneDNN's blocked layout for
// the matmul (what linear_* take); levels: the u8 activation range (255 or 127).
std::vector<int8_t> pack_int8_weights(const int8_t* q_kn, int n, int k);
std::vector<uint16_t> pack_bf16_weights(const uint16_t* w_kn, int n, int k);
void linear_int8(const float* x, const int8_t* packed, const float* scale, const int32_t* q_sum, const float* bias,
                 float* y, int m, int n, int k, int levels);
void linear_bf16(const float* x, const uint16_t* packed, const float* bias, float* y, int m, int n, int k);
bool dnnl_has_vnni();  // what oneDNN will run on: VNNI (AVX-512 or AVX2), native BF16
bool dnnl_has_bf16();
bool dnnl_has_amx();   // AMX tiles (int8 and bf16 matmuls run on them)
void add_layer_norm(float* x, const float* residual, const float* gamma, const float* beta,
                    int rows, int h, float eps);
void activation(float* x, int rows, int n, Activation act);
void embed(const int32_t* ids, const int32_t* positions, int t, const float* word,
           const float* pos, const float* type0, float* out, int h);
void embed_int8(const int32_t* ids, const int32_t* positions, int t, const int8_t* word_q, const float* word_scale,
                const float* pos, const float* type0, float* out, int h);
void packed_attention(const float* qkv, const int* offsets, int batch, int heads, int head_dim,
                      float* ctx);
void exit_head(const float* hidden, const int* offsets, int batch, int h,
               const ExitHeadWeights& head, const ExitRule& rule, float* scratch,
               const ExitOutputs& out);
int compact_sequences(float* x, int* offsets, const unsigned char* keep, int batch, int h);

}  // namespace offramp::kernels::cpu
