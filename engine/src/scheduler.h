// Runs a batch of tokenized inputs through the encoder with early exits. The batch keeps
// only its active sequences: after each exit head the inputs that leave are recorded and the
// survivors' token rows are compacted, so later layers run on fewer rows.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/src/exit_policy.h"
#include "engine/src/model_dir.h"
#include "kernels/device.h"

namespace offramp::engine {

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

// inputs: token ids per sequence (each non-empty). Results in input order.
std::vector<SequenceResult> run_batch(const ModelDir& model, kernels::Device dev,
                                      const std::vector<std::vector<int32_t>>& inputs,
                                      const BatchOptions& options);

}  // namespace offramp::engine
