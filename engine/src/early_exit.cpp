#include "engine/src/early_exit.h"

#include <algorithm>
#include <utility>

#include "kernels/device.h"

namespace offramp::engine {

std::vector<InputRange> chunk_by_tokens(const TokenIds& inputs, size_t budget) {
  budget = std::max<size_t>(budget, 1);
  std::vector<InputRange> chunks;
  size_t first = 0;
  while (first < inputs.size()) {
    size_t last = first, tokens = 0;
    while (last < inputs.size() && (last == first || tokens + inputs[last].size() <= budget))
      tokens += inputs[last++].size();
    chunks.push_back({first, last});
    first = last;
  }
  return chunks;
}

PackedInputs pack(const TokenIds& inputs, InputRange range, int position_offset) {
  PackedInputs p;
  p.offsets.reserve(range.size() + 1);
  p.offsets.push_back(0);
  for (size_t i = range.first; i < range.last; ++i) {
    const auto& seq = inputs[i];
    p.ids.insert(p.ids.end(), seq.begin(), seq.end());
    for (size_t j = 0; j < seq.size(); ++j)
      p.positions.push_back(position_offset + static_cast<int32_t>(j));
    p.offsets.push_back(static_cast<int>(p.ids.size()));
  }
  return p;
}

ExitPlan exit_plan(const models::BertConfig& c, const models::OfframpConfig& offramp) {
  ExitPlan p;
  p.labels = static_cast<int>(offramp.labels.size());
  p.costs.shape = flops_shape(c, p.labels);
  for (const auto& e : offramp.exits) {
    p.costs.layers.push_back(e.layer);
    p.costs.pooling.push_back(e.pooling);
    p.temperatures.push_back(e.temperature);
    p.activations.push_back(e.activation);
    p.model_heads.push_back(p.model_heads.size());
  }
  return p;
}

std::optional<ExitPlan> ExitPlan::one_head(const BatchOptions& opt) const {
  if (opt.policy.policy != Policy::Static || opt.record_heads) return std::nullopt;
  const auto it = std::find(costs.layers.begin(), costs.layers.end(), opt.policy.exit_layer);
  if (it == costs.layers.end())  // Classifier::classify checks the layer first, naming the model's
    throw kernels::KernelError("internal: static exit layer " + std::to_string(opt.policy.exit_layer) + " has no head");
  const auto e = static_cast<size_t>(it - costs.layers.begin());
  ExitPlan p;
  p.labels = labels;
  p.costs.shape = costs.shape;
  p.costs.layers = {costs.layers[e]};
  p.costs.pooling = {costs.pooling[e]};
  p.temperatures = {temperatures[e]};
  p.activations = {activations[e]};
  p.model_heads = {model_heads[e]};
  return p;
}

ChunkExits::ChunkExits(const ExitPlan& plan, InputRange range, std::vector<int> offsets)
    : plan_(plan), offsets_(std::move(offsets)) {
  active_.resize(range.size());
  for (size_t s = 0; s < active_.size(); ++s) active_[s] = static_cast<int>(range.first + s);
}

int ChunkExits::longest() const {
  int m = 0;
  for (size_t s = 0; s + 1 < offsets_.size(); ++s) m = std::max(m, offsets_[s + 1] - offsets_[s]);
  return m;
}

const std::vector<unsigned char>& ChunkExits::record(
    size_t end, const std::function<kernels::ExitOutputs(size_t)>& head, bool record_heads,
    std::vector<SequenceResult>& results) {
  const size_t e0 = next_head_;
  if (end <= e0 || end > plan_.heads())
    throw kernels::KernelError("internal: a segment must run at least one of the heads left");
  const int labels = plan_.labels;
  std::vector<kernels::ExitOutputs> outs;
  for (size_t e = e0; e < end; ++e) outs.push_back(head(e));
  const int batch = this->batch();
  keep_.assign(static_cast<size_t>(batch), 1);
  std::vector<int> next_offsets{0};
  for (int s = 0; s < batch; ++s) {
    const size_t slot = static_cast<size_t>(s);
    const int n = offsets_[slot + 1] - offsets_[slot];
    SequenceResult& r = results[static_cast<size_t>(active_[slot])];
    for (size_t e = e0; e < end && keep_[slot]; ++e) {
      const kernels::ExitOutputs& o = outs[e - e0];
      const float* z = o.logits + slot * labels;
      const float* p = o.probs + slot * labels;
      if (record_heads) r.head_logits.insert(r.head_logits.end(), z, z + labels);
      if (o.keep[slot]) continue;
      r.label = o.label[slot];
      r.confidence = o.confidence[slot];
      r.probabilities.assign(p, p + labels);
      r.logits.assign(z, z + labels);
      r.exit_layer = plan_.layer(e);
      r.flops = plan_.costs.leave_at(n, e);
      keep_[slot] = 0;
    }
    if (keep_[slot]) next_offsets.push_back(next_offsets.back() + n);
  }
  keep_survivors(active_, keep_);
  if (!active_.empty() && end == plan_.heads())
    throw kernels::KernelError("internal: inputs outlived the last exit head");
  offsets_ = std::move(next_offsets);
  first_layer_ = plan_.layer(end - 1) + 1;
  next_head_ = end;
  return keep_;
}

}  // namespace offramp::engine
