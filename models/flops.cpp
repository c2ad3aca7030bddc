#include "models/flops.h"

namespace offramp::models {

double layer_flops(const FlopsShape& s, int n_tokens) {
  const double n = n_tokens, h = s.hidden, f = s.ffn;
  return 2.0 * n * (4.0 * h * h + 2.0 * h * f) + 4.0 * n * n * h;
}

double head_flops(const FlopsShape& s, int n_tokens, kernels::Pooling pooling) {
  const double h = s.hidden, c = s.labels;
  return 2.0 * h * h + 2.0 * h * c + (pooling == kernels::Pooling::Mean ? double(n_tokens) * h : 0.0);
}

double full_depth_flops(const FlopsShape& s, int n_tokens, int layers, kernels::Pooling pooling) {
  return layers * layer_flops(s, n_tokens) + head_flops(s, n_tokens, pooling);
}

}  // namespace offramp::models
