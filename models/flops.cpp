#include "models/flops.h"

#include "models/bert_config.h"

namespace offramp::models {

double layer_flops(const FlopsShape& s, int n_tokens) {
  const double n = n_tokens, h = s.hidden, f = s.ffn;
  return 2.0 * n * (4.0 * h * h + 2.0 * h * f) + 4.0 * n * n * h;
}

double head_flops(const FlopsShape& s, int n_tokens, kernels::Pooling pooling) {
  const double h = s.hidden, c = s.labels;
  return 2.0 * h * h + 2.0 * h * c + (pooling == kernels::Pooling::Mean ? double(n_tokens) * h : 0.0);
}

FlopsShape flops_shape(const BertConfig& c, int labels) {
  return {c.hidden, c.ffn, labels, c.projects_embeddings() ? c.embedding_width() : 0};
}

double embedding_flops(const FlopsShape& s, int n_tokens) {
  return 2.0 * n_tokens * static_cast<double>(s.projected_embedding) * s.hidden;
}

double full_depth_flops(const FlopsShape& s, int n_tokens, int layers, kernels::Pooling pooling) {
  double f = embedding_flops(s, n_tokens);  // summed layer by layer, as the engine's results are (ExitCosts)
  for (int l = 0; l < layers; ++l) f += layer_flops(s, n_tokens);
  return f + head_flops(s, n_tokens, pooling);
}

std::vector<double> ExitCosts::leave_at_each(int n_tokens) const {
  std::vector<double> out(layers.size());
  double f = embedding_flops(shape, n_tokens);
  int done = 0;
  for (size_t e = 0; e < layers.size(); ++e) {
    for (; done < layers[e]; ++done) f += layer_flops(shape, n_tokens);
    out[e] = (f += head_flops(shape, n_tokens, pooling[e]));
  }
  return out;
}

double ExitCosts::leave_at(int n_tokens, size_t exit) const {
  double f = embedding_flops(shape, n_tokens);  // the same sums, in the same order, as leave_at_each
  int done = 0;
  for (size_t e = 0; e <= exit; ++e) {
    for (; done < layers[e]; ++done) f += layer_flops(shape, n_tokens);
    f += head_flops(shape, n_tokens, pooling[e]);
  }
  return f;
}

double ExitCosts::alone(int n_tokens, size_t exit) const {
  return full_depth_flops(shape, n_tokens, layers[exit], pooling[exit]);
}

}  // namespace offramp::models
