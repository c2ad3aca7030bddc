// The CPU backend of the early-exit core: runs a batch of tokenized inputs through the encoder
// with early exits. The batch keeps only its active sequences: after each exit head the inputs
// that leave are recorded and the survivors' token rows are compacted, so later layers run on
// fewer rows. The bookkeeping (chunks, packing, FLOPs, results, survivors) is the core's
// (engine/src/early_exit.h); this file supplies the CPU's layers, heads and compaction.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/src/early_exit.h"
#include "engine/src/model_dir.h"
#include "kernels/device.h"

namespace offramp::engine {

// inputs: token ids per sequence (each non-empty). Results in input order.
std::vector<SequenceResult> run_batch(const ModelDir& model, kernels::Device dev,
                                      const TokenIds& inputs, const BatchOptions& options);

}  // namespace offramp::engine
