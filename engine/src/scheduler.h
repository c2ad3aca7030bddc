// The CPU backend of the early-exit core: runs a batch of tokenized inputs through the encoder
// with early exits. The batch keeps only its active sequences: after each exit head the inputs
// that leave are recorded and the survivors' token rows are compacted, so later layers run on
// fewer rows. The bookkeeping (chunks, packing, FLOPs, results, survivors) is the core's
// (engine/src/early_exit.h); this file supplies the CPU's layers, heads and compaction.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/src/early_exit.h"
#include "engine/src/encoder.h"
#include "engine/src/model_dir.h"
#include "kernels/device.h"

namespace offramp::engine {

// inputs: token ids per sequence (each non-empty). Results in input order.
std::vector<SequenceResult> run_batch(const ModelDir& model, kernels::Device dev,
                                      const TokenIds& inputs, const BatchOptions& options);

// One chunk of inputs on the CPU, carried through the layers one segment at a time (the layers
// up to the next exit head, and that head). run_batch runs each chunk to its end; the Batcher
// (engine/src/batcher.cpp) interleaves chunks that started at different times, so inputs that
// arrive later start at layer 1 while an earlier chunk is deeper.
class CpuChunk {
 public:
  // Packs inputs[range] and runs the embeddings. `plan` (the call's: ExitPlan::one_head for
  // Static) and `inputs` must outlive the chunk.
  CpuChunk(const ModelDir& m, kernels::Device dev, const ExitPlan& plan, const TokenIds& inputs, InputRange range);

  bool busy() const { return !chunk_.done(); }
  int batch() const { return chunk_.batch(); }    // active inputs
  int tokens() const { return chunk_.tokens(); }  // their token rows
  // Runs the next segment and records the inputs that leave at its head in `results`
  // (indexed by input, as inputs is).
  void step(const BatchOptions& opt, std::vector<SequenceResult>& results);

 private:
  // The head's outputs over the batch (kernels/exit_rule.h), and the patience state that the
  // rule reads and updates, carried across heads per active slot.
  struct HeadBuffers {
    AlignedVector<float> scratch, logits, probs, confidence;
    std::vector<int> label, prev_argmax, unchanged;
    std::vector<unsigned char> keep;
  };

  const ModelDir& m_;
  const ExitPlan& plan_;
  kernels::Device dev_;
  Encoder enc_;
  Workspace ws_;
  PackedInputs in_;           // until the embeddings have run
  std::vector<int> offsets_;  // [batch + 1], compacted in place with the rows
  ChunkExits chunk_;
  HeadBuffers buf_;
};

}  // namespace offramp::engine
