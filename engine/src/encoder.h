// The BERT encoder run layer by layer on a packed batch (token rows of all active sequences
// back to back, no padding), so the scheduler can stop, test exits and compact in between.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/src/aligned_vector.h"
#include "engine/src/cpu_weights.h"
#include "kernels/device.h"
#include "models/bert_config.h"

namespace offramp::engine {

// Wall-clock seconds per op kind, summed over layers (offramp-bench's per-op breakdown).
struct OpProfile {
  enum Op { kQkv, kAttention, kAttnOut, kLayerNorm, kFfnIn, kActivation, kFfnOut, kCount };
  static constexpr const char* kNames[kCount] = {"qkv_linear", "attention", "attn_out_linear", "add_layer_norm",
                                                 "ffn_in_linear", "activation", "ffn_out_linear"};
  double seconds[kCount] = {};
};

// Per-call scratch for a packed batch of at most `tokens` rows. One per caller, so
// concurrent calls never share buffers. Not zeroed: each op writes its output rows before the
// next reads them.
struct Workspace {
  ScratchVector<float> x;    // [t, h]   hidden states (compacted in place)
  ScratchVector<float> qkv;  // [t, 3h]
  ScratchVector<float> ctx;  // [t, h]
  ScratchVector<float> tmp;  // [t, h]
  ScratchVector<float> ffn;  // [t, f]; also [t, e] for embeddings before their projection
  OpProfile* profile = nullptr;  // when set, run_layer times each op into it
  void reserve(int tokens, const models::BertConfig& c);
};

// Stores the layers' four weight matrices ([n, k] in the checkpoint) as the CPU GEMM runs
// fastest (kernels::preferred_weight_layout), once at load, so no request pays for a
// transposition. The CPU backend's own layout: the GPU uploads the checkpoint's.
void use_cpu_weight_layout(models::BertWeights& w, const models::BertConfig& c);

class Encoder {
 public:
  // cpu: the GEMM weights and word table at the model's precision (prepare_cpu_weights);
  // weights supplies everything else (positions, biases, LayerNorms).
  Encoder(const models::BertConfig& config, const models::BertWeights& weights, const CpuWeights& cpu,
          kernels::Device dev)
      : c_(config), w_(weights), cpu_(cpu), dev_(dev) {}

  // ids, positions: [t] -> ws.x: [t, h] (embeddings + LayerNorm, then ELECTRA's projection
  // e -> h where the embeddings are narrower).
  void embed(const int32_t* ids, const int32_t* positions, int t, Workspace& ws) const;
  // Encoder layer `layer` (0-based) on ws.x: [t, h] for the sequences of `offsets` [batch + 1].
  void run_layer(int layer, const int* offsets, int batch, Workspace& ws) const;

 private:
  const models::BertConfig& c_;
  const models::BertWeights& w_;
  const CpuWeights& cpu_;
  kernels::Device dev_;
};

}  // namespace offramp::engine
