// Analytic FLOPs of one input. This is the only place the formula lives (DESIGN.md):
//   per encoder layer, n tokens:  2n(4h^2 + 2hf)  projections (Q, K, V, output) and FFN
//                              +  4n^2 h          attention scores and context
//   per evaluated exit head:      2h^2 + 2hc      dense and classifier (c labels)
//                              +  nh              mean pooling (0 for [CLS] pooling)
// Elementwise work (LayerNorm, GELU, softmax) and the embedding gather are not counted.
#pragma once

#include "kernels/exit_head.h"

namespace offramp::models {

struct FlopsShape {
  int hidden;  // h
  int ffn;     // f
  int labels;  // c
};

double layer_flops(const FlopsShape& s, int n_tokens);
double head_flops(const FlopsShape& s, int n_tokens, kernels::Pooling pooling);
// The reference cost "full depth": `layers` encoder layers and one head (the last).
double full_depth_flops(const FlopsShape& s, int n_tokens, int layers, kernels::Pooling pooling);

}  // namespace offramp::models
