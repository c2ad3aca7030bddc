// The weights the CPU backend runs at the model's precision, prepared once at load
// (Classifier::load): each layer's four GEMM weights (kernels/dense_weight.h; FP32 borrows the
// model's matrices) and the word embeddings (kernels::WordTable: int8 rows for Int8; for BF16
// the model's rows rounded to bfloat16 in place).
// Everything else (positions, biases, LayerNorms, exit heads) stays FP32 in models::BertWeights.
#pragma once

#include <vector>

#include "kernels/dense_weight.h"
#include "kernels/embedding.h"
#include "models/bert_config.h"

namespace offramp::engine {

struct LayerGemms {
  kernels::DenseWeight qkv;       // [3h, h]
  kernels::DenseWeight attn_out;  // [h, h]
  kernels::DenseWeight ffn_in;    // [f, h]
  kernels::DenseWeight ffn_out;   // [h, f]
};

struct CpuWeights {
  std::vector<LayerGemms> layers;
  kernels::WordTable word;
  size_t bytes() const;  // what the prepared GEMM weights and word table keep resident
};

// After use_cpu_weight_layout. For BF16 and Int8 the model's FP32 copies of the four matrices
// (and, for Int8, of the word embeddings) are released, so only the prepared ones stay
// resident; what stays FP32 is borrowed, so `w` must outlive the result and not be
// reallocated.
CpuWeights prepare_cpu_weights(models::BertWeights& w, const models::BertConfig& c, kernels::GemmPrecision p);

}  // namespace offramp::engine
