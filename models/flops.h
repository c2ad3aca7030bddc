// Analytic FLOPs of one input. This is the only place the formula lives (docs/architecture.md):
//   per encoder layer, n tokens:  2n(4h^2 + 2hf)  projections (Q, K, V, output) and FFN
//                              +  4n^2 h          attention scores and context
//   per evaluated exit head:      2h^2 + 2hc      dense and classifier (c labels)
//                              +  nh              mean pooling (0 for [CLS] pooling)
//   once per input, ELECTRA's embedding projection (e -> h):  2neh
// Elementwise work (LayerNorm, GELU, softmax) and the embedding gather are not counted.
#pragma once

#include <vector>

#include "kernels/exit_head.h"

namespace offramp::models {

struct FlopsShape {
  int hidden;  // h
  int ffn;     // f
  int labels;  // c
  int projected_embedding = 0;  // e where embeddings of width e are projected to h, else 0
};

double embedding_flops(const FlopsShape& s, int n_tokens);  // 0 without a projection

struct BertConfig;  // models/bert_config.h
FlopsShape flops_shape(const BertConfig& c, int labels);
double layer_flops(const FlopsShape& s, int n_tokens);
double head_flops(const FlopsShape& s, int n_tokens, kernels::Pooling pooling);
// The reference cost "full depth": `layers` encoder layers and one head (the last).
double full_depth_flops(const FlopsShape& s, int n_tokens, int layers, kernels::Pooling pooling);

// The cost of leaving at each exit of a model, for the engine's results and the offline sweep
// alike (so a replay predicts the FLOPs that classify reports, to the last bit).
struct ExitCosts {
  FlopsShape shape;
  std::vector<int> layers;                // [E] 1-based exit layers, increasing
  std::vector<kernels::Pooling> pooling;  // [E]

  // [E]: an input of n tokens leaving at exit e after running the layers up to it and
  // evaluating heads 0..e (summed layer by layer, each head after its layer).
  std::vector<double> leave_at_each(int n_tokens) const;
  double leave_at(int n_tokens, size_t exit) const;  // leave_at_each(n)[exit], no allocation
  // Exit e used alone as a truncated model: its layers and its head only.
  double alone(int n_tokens, size_t exit) const;
};

}  // namespace offramp::models
