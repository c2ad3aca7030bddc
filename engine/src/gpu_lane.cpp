#include "engine/src/gpu_lane.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "engine/src/gpu_model.h"

namespace offramp::engine {

namespace gpu = kernels::gpu;
using gpu::Buffer;

namespace {

// Per-exit results as they come back to the host: [B, L] logits and probabilities, [B]
// confidences, labels and keep flags, back to back so one copy fetches them.
struct ExitRegion {
  static size_t bytes(int b, int labels) {
    return (2 * static_cast<size_t>(b) * labels + b) * sizeof(float) + b * sizeof(int) + b;
  }
  // Where the next head's region starts when a segment runs several heads (256-byte aligned,
  // as every device buffer the kernels take).
  static size_t stride(int b, int labels) { return (bytes(b, labels) + 255) / 256 * 256; }
  float* logits;
  float* probs;
  float* confidence;
  int* label;
  unsigned char* keep;
  ExitRegion(void* base, int b, int labels) {
    char* p = static_cast<char*>(base);
    logits = reinterpret_cast<float*>(p);
    probs = logits + static_cast<size_t>(b) * labels;
    confidence = probs + static_cast<size_t>(b) * labels;
    label = reinterpret_cast<int*>(confidence + b);
    keep = reinterpret_cast<unsigned char*>(label + b);
  }
};

}  // namespace

GpuLane::GpuLane(const GpuWeights& w, const GpuOptions& o)
    : w_(w),
      budget_(o.max_batch_tokens),
      graph_max_tokens_(o.graph_max_tokens),
      tail_tokens_(o.tail_tokens),
      gelu_epilogue_(w.c.activation == kernels::Activation::GeluTanh ||
                     (o.approximate_gelu && w.c.activation == kernels::Activation::GeluErf)) {
  const size_t e = gpu::dtype_size(w.dt), t = static_cast<size_t>(budget_),
               h = static_cast<size_t>(w.c.hidden);
  // Every sequence has at least one token, so a chunk holds at most `budget` sequences.
  const size_t b = t;
  auto take = [](size_t bytes, const char* what) { return Buffer(bytes, what); };
  xa_ = take(t * h * e, "the hidden states"),
  xb_ = take(t * h * e, "the hidden states (compaction target)");
  qkv_ = take(3 * t * h * e, "the QKV activations"), ctx_ = take(t * h * e, "the attention output");
  tmp_ = take(t * h * e, "the projection output");
  // Also the embeddings [t, e] before ELECTRA's projection.
  ffn_ = take(t * static_cast<size_t>(std::max(w.c.ffn, w.c.embedding_width())) * e, "the FFN activations");
  ids_ = take(t * 4, "token ids"), positions_ = take(t * 4, "positions");
  offsets_a_ = take((b + 1) * 4, "offsets"), offsets_b_ = take((b + 1) * 4, "offsets");
  pooled_ = take(b * h * e, "pooled rows"), dense_ = take(b * h * e, "exit dense rows");
  // One head's results for the whole budget; a tail (which starts after the first head, with at
  // most tail_tokens sequences) writes the other heads' back to back.
  const int labels = std::max(w.labels, 1);
  const size_t tail_regions = w.heads.size() > 1 ? w.heads.size() - 1 : 0;
  exit_out_ =
      take(std::max(ExitRegion::stride(budget_, labels),
                    tail_tokens_ > 0
                        ? tail_regions * ExitRegion::stride(std::min(budget_, tail_tokens_), labels)
                        : 0),
           "exit results");
  state_ = take(2 * b * 4, "exit state"), state_tmp_ = take(2 * b * 4, "exit state");
  compaction_bytes_ = gpu::compaction_scratch_bytes(budget_);
  compaction_ = take(compaction_bytes_, "compaction scratch");
}

void GpuLane::begin(const TokenIds& inputs, InputRange range, const ExitPlan& plan) {
  plan_ = &plan;
  const int batch = static_cast<int>(range.size());
  const PackedInputs in = pack(inputs, range, w_.c.position_offset);
  const int t = in.offsets.back();
  if (t > budget_)
    throw kernels::KernelError("a chunk of " + std::to_string(t) +
                               " tokens exceeds the GPU token budget of " +
                               std::to_string(budget_) + " (LoadOptions.gpu_max_batch_tokens)");
  // One pinned block, then four copies: ids [t], positions [t], offsets [batch + 1] and the
  // exit state [2, batch] (previous argmax -1, unchanged count 0). The stream is idle here
  // (every chunk ends with a synchronised readback), so the block is free to overwrite.
  const size_t n_ints = 2 * static_cast<size_t>(t) + (batch + 1) + 2 * static_cast<size_t>(batch);
  auto* p = static_cast<int32_t*>(gpu::pinned(stream_, n_ints * 4));
  int32_t* pid = p;
  int32_t* ppos = p + t;
  int32_t* poff = ppos + t;
  int32_t* pstate = poff + batch + 1;
  std::copy(in.ids.begin(), in.ids.end(), pid);
  std::copy(in.positions.begin(), in.positions.end(), ppos);
  std::copy(in.offsets.begin(), in.offsets.end(), poff);
  for (int s = 0; s < batch; ++s) pstate[s] = -1, pstate[batch + s] = 0;
  gpu::copy_to_device(stream_, ids_.data(), pid, static_cast<size_t>(t) * 4);
  gpu::copy_to_device(stream_, positions_.data(), ppos, static_cast<size_t>(t) * 4);
  gpu::copy_to_device(stream_, offsets_a_.data(), poff, (static_cast<size_t>(batch) + 1) * 4);
  gpu::copy_to_device(stream_, state_.data(), pstate, 2 * static_cast<size_t>(batch) * 4);
  const bool project = w_.c.projects_embeddings();
  const int e = w_.c.embedding_width();
  gpu::embed_layer_norm(stream_, w_.dt, ids_.as<int32_t>(), positions_.as<int32_t>(), t,
                        w_.word.data(), w_.pos.data(), w_.type0.data(), w_.emb_g.data(),
                        w_.emb_b.data(), w_.c.layer_norm_eps, project ? ffn_.data() : xa_.data(), e);
  if (project)  // [t, e] -> [t, h]
    gpu::linear(stream_, w_.dt, ffn_.data(), w_.emb_project_w.data(), w_.emb_project_b.data(), xa_.data(), t,
                w_.c.hidden, e);
  chunk_ = std::make_unique<ChunkExits>(plan, range, in.offsets);
  batch_ = batch, t_ = t, max_len_ = chunk_->longest();
  cur_ = xa_.data(), other_ = xb_.data();
  off_cur_ = offsets_a_.as<int>(), off_other_ = offsets_b_.as<int>();
}

// Encoder layer `l` (0-based) on cur_ [t, h] for the sequences of off_cur_.
void GpuLane::layer(int l) {
  const GpuLayer& L = w_.layers[static_cast<size_t>(l)];
  const gpu::DType dt = w_.dt;
  const int h = w_.c.hidden, f = w_.c.ffn, t = t_;
  gpu::linear(stream_, dt, cur_, L.qkv_w.data(), L.qkv_b.data(), qkv_.data(), t, 3 * h, h);
  gpu::packed_attention(stream_, dt, qkv_.data(), off_cur_, batch_, max_len_, w_.c.heads,
                        w_.c.head_dim(), ctx_.data());
  gpu::linear(stream_, dt, ctx_.data(), L.ao_w.data(), L.ao_b.data(), tmp_.data(), t, h, h);
  gpu::add_layer_norm(stream_, dt, cur_, tmp_.data(), L.ln1_g.data(), L.ln1_b.data(), t, h,
                      w_.c.layer_norm_eps);
  if (gelu_epilogue_) {
    gpu::linear(stream_, dt, cur_, L.fi_w.data(), L.fi_b.data(), ffn_.data(), t, f, h,
                gpu::Epilogue::BiasGeluTanh);
  } else {
    // BERT's erf GELU has no cuBLASLt epilogue (its GELU is the tanh form): bias in the GEMM,
    // the exact activation in our kernel (unless GpuOptions.approximate_gelu).
    gpu::linear(stream_, dt, cur_, L.fi_w.data(), L.fi_b.data(), ffn_.data(), t, f, h);
    gpu::bias_activation(stream_, dt, ffn_.data(), nullptr, t, f, w_.c.activation);
  }
  gpu::linear(stream_, dt, ffn_.data(), L.fo_w.data(), L.fo_b.data(), tmp_.data(), t, h, f);
  gpu::add_layer_norm(stream_, dt, cur_, tmp_.data(), L.ln2_g.data(), L.ln2_b.data(), t, h,
                      w_.c.layer_norm_eps);
}

void GpuLane::enqueue_segment(const BatchOptions& opt) {
  const ExitPlan& plan = *plan_;
  const size_t e0 = chunk_->next_head();
  const int from_layer = chunk_->first_layer();
  // After the first exit, a few survivors run to the last head in one go: their layers are
  // bound by fixed per-kernel costs, too small to pay for a wait and a compaction per head.
  const bool tail = tail_tokens_ > 0 && e0 > 0 && t_ <= tail_tokens_;
  segment_end_ = tail ? plan.heads() : e0 + 1;
  const int labels = w_.labels;
  const size_t stride = ExitRegion::stride(batch_, labels), bytes = stride * (segment_end_ - e0);
  host_results_ = gpu::pinned(stream_, bytes);  // before any capture: it may synchronise
  auto enqueue = [&] {
    int* st = state_.as<int>();
    int first = from_layer;
    for (size_t e = e0; e < segment_end_; ++e) {
      const GpuHead& hd = w_.heads[plan.model_heads[e]];
      for (int l = first; l <= plan.layer(e); ++l) layer(l - 1);
      first = plan.layer(e) + 1;
      const gpu::ExitHeadDevice head{hd.dense_w.data(),     hd.dense_b.data(), hd.cls_w.as<float>(),
                                     hd.cls_b.as<float>(),  labels,            plan.costs.pooling[e],
                                     plan.temperature(opt, e),  plan.activations[e]};
      const ExitRegion dev(static_cast<char*>(exit_out_.data()) + (e - e0) * stride, batch_,
                           labels);
      const kernels::ExitOutputs out{dev.logits, dev.probs, dev.confidence, dev.label,
                                     dev.keep,   st,        st + batch_};
      gpu::exit_head(stream_, w_.dt, cur_, off_cur_, batch_, w_.c.hidden, head, plan.rule(opt, e),
                     pooled_.data(), dense_.data(), out);
    }
    gpu::copy_to_host(stream_, host_results_, exit_out_.data(), bytes);
  };
  if (t_ <= graph_max_tokens_) {
    // Everything baked into the launches: heads, layers, shapes, buffers, host block, rule, T.
    const kernels::ExitRule base = plan.rule(opt, e0);
    char buf[320];
    std::snprintf(buf, sizeof buf, "seg %zu-%zu from %d b%d t%d n%d x%p o%p h%p p%d %a %d %d", e0,
                  segment_end_, from_layer, batch_, t_, max_len_, cur_,
                  static_cast<void*>(off_cur_), host_results_, static_cast<int>(base.policy),
                  base.threshold, base.patience, base.never_exit ? 1 : 0);
    std::string key = buf;
    for (size_t e = e0; e < segment_end_; ++e) {  // which of the model's heads, at which T
      std::snprintf(buf, sizeof buf, " H%zu T%a", plan.model_heads[e], static_cast<double>(plan.temperature(opt, e)));
      key += buf;
    }
    gpu::run_graph(stream_, key, enqueue);
  } else {
    enqueue();
  }
}

void GpuLane::finish_segment(const BatchOptions& opt, std::vector<SequenceResult>& results) {
  const size_t e0 = chunk_->next_head();
  const int labels = w_.labels, batch = batch_;
  const size_t stride = ExitRegion::stride(batch, labels);
  stream_.synchronize();
  ++round_trips_;
  chunk_->record(
      segment_end_,
      [&](size_t e) {
        const ExitRegion hr(static_cast<char*>(host_results_) + (e - e0) * stride, batch, labels);
        return kernels::ExitOutputs{hr.logits, hr.probs, hr.confidence, hr.label,
                                    hr.keep,   nullptr,  nullptr};
      },
      opt.record_heads, results);
  const int kept = chunk_->batch();
  if (kept > 0 && kept < batch) {
    // The device's own keep flags (the host read a copy of them).
    const ExitRegion dev(exit_out_.data(), batch, labels);
    gpu::compact_sequences(stream_, w_.dt, cur_, other_, w_.c.hidden, off_cur_, batch, t_,
                           dev.keep, off_other_, state_.as<int>(), 2, state_tmp_.as<int>(),
                           compaction_.data(), compaction_bytes_);
    std::swap(cur_, other_);
    std::swap(off_cur_, off_other_);
  }
  batch_ = kept;
  t_ = chunk_->tokens();
  max_len_ = chunk_->longest();
}

void GpuLane::drain() noexcept {
  try {
    stream_.synchronize();
  } catch (...) {  // the error was already reported by the call that failed
  }
  chunk_.reset();
  batch_ = 0;
}

void GpuLane::encode_all() {
  auto enqueue = [&] {
    for (int l = 0; l < w_.c.layers; ++l) layer(l);
  };
  if (t_ <= graph_max_tokens_)
    gpu::run_graph(stream_,
                   "encode b" + std::to_string(batch_) + " t" + std::to_string(t_) + " n" +
                       std::to_string(max_len_),
                   enqueue);
  else
    enqueue();
  stream_.synchronize();
  chunk_.reset();
  batch_ = 0;
}

std::vector<float> GpuLane::hidden_after(int layers) {
  for (int l = 0; l < layers; ++l) layer(l);
  const size_t n = static_cast<size_t>(t_) * w_.c.hidden;
  std::vector<float> out(n);
  // The QKV buffer ([t, 3h] of dt, at least [t, h] of FP32) is free now: convert into it.
  gpu::convert_to_f32(stream_, w_.dt, cur_, qkv_.as<float>(), n);
  gpu::copy_to_host(stream_, out.data(), qkv_.data(), n * sizeof(float));
  stream_.synchronize();
  chunk_.reset();
  batch_ = 0;
  return out;
}

}  // namespace offramp::engine
