// The device side of a GpuModel: its weights (uploaded once) and its lanes. A lane is a CUDA
// stream with its own workspace that carries one chunk of inputs through the layers and the
// exit heads, segment by segment (a segment: the layers up to the next head, the head, and
// the copy of the head's results to the host). GpuModel interleaves lanes, so while the host
// waits for one lane's exit results another lane's layers keep the GPU busy.
// With GpuOptions.tail_tokens, a lane whose survivors are that few runs all its remaining
// layers and heads as one segment: no compaction, one copy and one wait at the end.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/src/early_exit.h"
#include "kernels/gpu.h"
#include "models/bert_config.h"

namespace offramp::engine {

struct GpuOptions;  // engine/src/gpu_model.h

struct GpuLayer {
  kernels::gpu::Buffer qkv_w, qkv_b, ao_w, ao_b, ln1_g, ln1_b, fi_w, fi_b, fo_w, fo_b, ln2_g, ln2_b;
};

// Exit head e's weights; its layer, pooling and temperature are GpuWeights::plan's.
struct GpuHead {
  kernels::gpu::Buffer dense_w, dense_b;  // [h, h], [h] in the model's dtype
  kernels::gpu::Buffer cls_w, cls_b;      // [labels, h], [labels] FP32
};

struct GpuWeights {
  models::BertConfig c;
  kernels::gpu::DType dt = kernels::gpu::DType::F16;
  int labels = 0;
  kernels::gpu::Buffer word, pos, type0, emb_g, emb_b;  // [vocab, e], [max_pos, e], [e], [e], [e]
  kernels::gpu::Buffer emb_project_w, emb_project_b;  // ELECTRA's projection [h, e], [h]; else empty
  std::vector<GpuLayer> layers;
  std::vector<GpuHead> heads;  // in layer order
  ExitPlan plan;               // the heads' layers, pooling, temperatures and FLOPs
};

class GpuLane {
 public:
  // Allocates the workspace for o.max_batch_tokens tokens; throws KernelError (naming the
  // buffer and the bytes) when the GPU is out of memory. Takes o's graph_max_tokens,
  // approximate_gelu and tail_tokens.
  GpuLane(const GpuWeights& w, const GpuOptions& o);

  // Starts the inputs of `range` (at most `budget` tokens): uploads ids, positions, offsets
  // and the exit state, and runs the embeddings. Asynchronous. `plan` is the call's (the
  // weights' plan, or one head of it: ExitPlan::one_head); it must outlive the chunk.
  void begin(const TokenIds& inputs, InputRange range, const ExitPlan& plan);
  // True while some input of the chunk has not left.
  bool busy() const { return chunk_ && !chunk_->done(); }
  // Token rows of the chunk's active inputs (0 without a chunk).
  int tokens() const { return busy() ? chunk_->tokens() : 0; }
  // Enqueues the next segment (to the next head, or with tail_tokens to the last). Asynchronous.
  void enqueue_segment(const BatchOptions& opt);
  // Waits for that segment, records the inputs that left in `results` (indexed by input;
  // the core's ChunkExits::record), and compacts the survivors on the device.
  void finish_segment(const BatchOptions& opt, std::vector<SequenceResult>& results);
  // Waits for exit results so far (one per finish_segment): tests and benchmarks.
  long round_trips() const { return round_trips_; }

  // After an error: waits for whatever is queued (errors ignored) and drops the chunk.
  void drain() noexcept;

  // Every layer, no heads (benchmarks); returns when the GPU is done.
  void encode_all();
  // Hidden states [t, h] after `layers` layers, FP32 on the host (tests).
  std::vector<float> hidden_after(int layers);

 private:
  void layer(int l);

  const GpuWeights& w_;
  const ExitPlan* plan_ = nullptr;  // the current call's (begin)
  kernels::gpu::Stream stream_;
  int budget_, graph_max_tokens_, tail_tokens_;
  bool gelu_epilogue_;  // the FFN's activation runs in the GEMM's epilogue
  size_t compaction_bytes_ = 0;
  kernels::gpu::Buffer xa_, xb_, qkv_, ctx_, tmp_, ffn_, ids_, positions_, offsets_a_, offsets_b_,
      pooled_, dense_, exit_out_, state_, state_tmp_, compaction_;

  // The chunk in flight: its bookkeeping (active inputs, host offsets, next head) is the
  // core's; the lane holds the device rows.
  std::unique_ptr<ChunkExits> chunk_;
  int batch_ = 0, t_ = 0, max_len_ = 0;  // of the rows on the device
  void* cur_ = nullptr;  // hidden states [t, h]: xa_ or xb_
  void* other_ = nullptr;
  int* off_cur_ = nullptr;
  int* off_other_ = nullptr;
  size_t segment_end_ = 0;  // the segment in flight runs heads [next_head, segment_end_)
  long round_trips_ = 0;
  void* host_results_ = nullptr;  // pinned, where the segment's exit results land
};

}  // namespace offramp::engine
