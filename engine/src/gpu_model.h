// A model resident on the GPU: weights uploaded once (in the chosen dtype), a workspace for a
// token budget allocated at load, and the early-exit scheduler run on the device. Between
// exits nothing leaves the GPU; at an exit head the decisions are made on the device, the
// survivors are compacted there (prefix sum, kernels/gpu.h), and one copy brings the exit
// results ([batch] flags, labels, confidences and [batch, labels] logits/probabilities) to
// the host, which also tells it the next layers' launch sizes. With GpuOptions.tail_tokens, a
// lane's last few survivors run their remaining layers and heads with one such wait in all.
//
// Concurrent run() calls take turns on a mutex (documented in the public header); each call
// is a whole batch. Inside a call, large chunks are split over `lanes` streams
// (engine/src/gpu_lane.h) so the host's per-exit reads overlap another lane's layers, and a
// lane whose inputs have all left takes the next piece of the call at once, without waiting
// for the other lanes; small batches replay CUDA graphs of each segment (the layers up to a
// head, the head, the copy).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/src/gpu_lane.h"
#include "engine/src/scheduler.h"
#include "kernels/gpu.h"
#include "models/bert_config.h"
#include "models/exit_heads.h"

namespace offramp::engine {

struct GpuOptions {
  kernels::gpu::DType dtype = kernels::gpu::DType::F16;
  int max_batch_tokens = 32768;  // workspace size; larger batches are split into chunks
  // Groups of layers over at most this many tokens are replayed as CUDA graphs (one launch
  // instead of ~10 per layer: small batches are bound by launch overhead); 0 turns them off.
  int graph_max_tokens = 2048;
  // Streams, each with its own workspace of max_batch_tokens: a chunk larger than the graph
  // limit is split over them, so one lane's layers run while the host reads another's exit
  // results (the per-exit synchronisation would otherwise leave the GPU idle).
  int lanes = 2;
  // Models with BERT's erf GELU take cuBLASLt's tanh-GELU epilogue instead of a separate pass
  // over the FFN activations [t, ffn]. Not exact: at most 4.7e-4 from erf (at x = -2.7), about
  // FP16's rounding step for activations near 1 (4.9e-4). Off by default; offramp-gpu-bench
  // times both so that the default can follow a measurement.
  bool approximate_gelu = false;
  // A lane whose survivors, after its first exit, are at most this many tokens runs all its
  // remaining layers and heads as one segment: one wait for the host instead of one per head,
  // and no compaction, at the cost of the layers of inputs that leave on the way (their
  // results and FLOPs are still those of their exit). A small tail's layers cost fixed
  // per-kernel and per-wait times more than their tokens do. 0 (the default) turns it off;
  // offramp-gpu-bench times both so that the default can follow a measurement.
  int tail_tokens = 0;
};

class GpuModel {
 public:
  // Throws KernelError; out of memory says how much the weights and the workspace needed.
  // `heads` may be empty (a plain encoder: encode() and hidden() only).
  GpuModel(const models::BertConfig& config, const models::BertWeights& weights,
           const models::OfframpConfig& offramp, const std::vector<models::ExitHeadParams>& heads,
           const GpuOptions& options);
  ~GpuModel();
  GpuModel(const GpuModel&) = delete;
  GpuModel& operator=(const GpuModel&) = delete;

  // Same contract as engine::run_batch (scheduler.h).
  std::vector<SequenceResult> run(const std::vector<std::vector<int32_t>>& inputs,
                                  const BatchOptions& options) const;
  // Embeddings and every layer at full depth, no heads; returns when the GPU is done
  // (benchmarks). Inputs must fit the token budget together.
  void encode(const std::vector<std::vector<int32_t>>& inputs) const;
  // Hidden states [t, h] after `layers` layers (0 = the embeddings), FP32 on the host (tests).
  std::vector<float> hidden(const std::vector<std::vector<int32_t>>& inputs, int layers) const;
  // How often run() has waited for exit results since load (tests, benchmarks).
  long round_trips() const;
  // A lane of its own, for a caller that carries chunks segment by segment itself (the
  // Batcher): a stream and a workspace of max(max_tokens, max_position) tokens, sharing this
  // model's weights (read-only) but none of run()'s lanes, so the two never wait for each other.
  std::unique_ptr<GpuLane> new_lane(int max_tokens) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace offramp::engine
