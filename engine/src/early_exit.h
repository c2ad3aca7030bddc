// The early-exit core: the bookkeeping every backend shares (docs/architecture.md, "The
// early-exit core"). A backend (the CPU scheduler, engine/src/scheduler.cpp; a GPU lane,
// engine/src/gpu_lane.cpp) supplies embed, run layers, run a head and compact; this file owns
// everything around them: chunking a call's inputs by tokens, packing a chunk without padding,
// the FLOPs each input spent, the results recorded as inputs leave, and the survivor list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/src/exit_policy.h"
#include "kernels/exit_rule.h"
#include "models/exit_heads.h"
#include "models/flops.h"

namespace offramp::engine {

using TokenIds = std::vector<std::vector<int32_t>>;  // token ids per input, each non-empty

struct SequenceResult {
  int label = -1;
  float confidence = 0;
  std::vector<float> probabilities;
  std::vector<float> logits;
  int exit_layer = 0;
  double flops = 0;
  std::vector<float> head_logits;  // [exits * labels] raw logits of every head (record_heads only)
};

struct BatchOptions {
  PolicyParams policy;
  int max_batch_tokens = 16384;
  std::vector<float> temperatures;  // per exit; empty = the model's offramp.json
  bool record_heads = false;        // run every input to the last exit, keeping each head's logits
};

// Inputs [first, last) of a call.
struct InputRange {
  size_t first = 0, last = 0;
  size_t size() const { return last - first; }
};

// Greedy chunks of at most `budget` tokens, in input order; an input longer than the budget
// forms a chunk alone.
std::vector<InputRange> chunk_by_tokens(const TokenIds& inputs, size_t budget);

// A range of inputs packed back to back, no padding: the layout every backend's layers take.
struct PackedInputs {
  std::vector<int32_t> ids;        // [t]
  std::vector<int32_t> positions;  // [t] position_offset + 0 .. n-1 within each sequence
  std::vector<int> offsets;        // [batch + 1] first row of each sequence, then t
};
PackedInputs pack(const TokenIds& inputs, InputRange range, int position_offset);

// What the bookkeeping needs of a model's exits.
struct ExitPlan {
  models::ExitCosts costs;       // exit layers, pooling and the FLOPs shape
  int labels = 0;
  std::vector<float> temperatures;  // [E] the model's (offramp.json)
  std::vector<kernels::Activation> activations;  // [E] after each head's dense layer
  std::vector<size_t> model_heads;  // [E] each head's index among the model's (a plan may use some)
  size_t heads() const { return costs.layers.size(); }
  int layer(size_t head) const { return costs.layers[head]; }
  // Head e's temperature under `opt` (its own list, indexed by the model's heads, else the model's).
  float temperature(const BatchOptions& opt, size_t head) const {
    return opt.temperatures.empty() ? temperatures[head] : opt.temperatures[model_heads[head]];
  }
  // Policy::Static (not when recording every head): the plan of that one exit, whose head alone
  // runs and costs (the model truncated there; full depth is the last exit). Otherwise nullopt:
  // the call uses this plan as it is.
  std::optional<ExitPlan> one_head(const BatchOptions& opt) const;
  // The exit rule of head e under `opt`.
  kernels::ExitRule rule(const BatchOptions& opt, size_t head) const {
    return exit_rule(opt.policy, opt.record_heads, head, heads());
  }
};
ExitPlan exit_plan(const models::BertConfig& c, const models::OfframpConfig& offramp);

// One chunk of inputs on its way through the layers, segment by segment (a segment: the layers
// up to one or more heads, and those heads). It knows which inputs are still active (slot ->
// input), their token offsets, and where the next segment starts; the backend holds the rows.
class ChunkExits {
 public:
  ChunkExits(const ExitPlan& plan, InputRange range, std::vector<int> offsets);

  int batch() const { return static_cast<int>(active_.size()); }
  const std::vector<int>& offsets() const { return offsets_; }  // [batch + 1]
  int tokens() const { return offsets_.back(); }
  int longest() const;  // tokens of the longest active sequence
  size_t next_head() const { return next_head_; }
  int first_layer() const { return first_layer_; }  // 1-based, the next segment's first layer
  bool done() const { return active_.empty() || next_head_ == plan_.heads(); }

  // Records the segment that ran heads [next_head(), end) on the current batch (no compaction
  // in between: every head's outputs are indexed by the same slots). head(e) gives head e's
  // outputs in host memory. Per slot, in head order: each head's logits when record_heads; at
  // the first head whose keep flag is 0 the input leaves with that head's label, confidence,
  // probabilities, logits, layer and FLOPs (models::ExitCosts). Returns the keep flags
  // [batch] of the segment (1 = still active after it); the survivors become the batch.
  const std::vector<unsigned char>& record(size_t end,
                                           const std::function<kernels::ExitOutputs(size_t)>& head,
                                           bool record_heads, std::vector<SequenceResult>& results);

 private:
  const ExitPlan& plan_;
  std::vector<int> active_;   // slot -> input index
  std::vector<int> offsets_;  // [batch + 1]
  std::vector<unsigned char> keep_;
  size_t next_head_ = 0;
  int first_layer_ = 1;
};

// Drops the entries of per-slot state v [batch] whose keep flag is 0, keeping the order.
template <typename T>
void keep_survivors(std::vector<T>& v, const std::vector<unsigned char>& keep) {
  size_t out = 0;
  for (size_t s = 0; s < keep.size(); ++s)
    if (keep[s]) v[out++] = v[s];
  v.resize(out);
}

}  // namespace offramp::engine
