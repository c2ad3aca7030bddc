#include "engine/src/gpu_model.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "kernels/gemm.h"
#include "models/flops.h"

namespace offramp::engine {

namespace gpu = kernels::gpu;
using gpu::Buffer;
using gpu::DType;

namespace {

struct LayerDev {
  Buffer qkv_w, qkv_b, ao_w, ao_b, ln1_g, ln1_b, fi_w, fi_b, fo_w, fo_b, ln2_g, ln2_b;
};

struct HeadDev {
  Buffer dense_w, dense_b, cls_w, cls_b;  // dense in dt, classifier FP32
};

struct ExitSpec {
  int layer;
  kernels::Pooling pooling;
  float temperature;
};

// Per-exit results as they come back to the host: [B, L] logits and probabilities, [B]
// confidences, labels and keep flags, back to back so one copy fetches them.
struct ExitRegion {
  static size_t bytes(int b, int labels) {
    return (2 * static_cast<size_t>(b) * labels + b) * sizeof(float) + b * sizeof(int) + b;
  }
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

struct GpuModel::Impl {
  models::BertConfig c;
  DType dt;
  int budget;            // tokens
  int max_batch;         // sequences (each has >= 1 token)
  int graph_max_tokens;  // segments of at most this many tokens run as CUDA graphs
  int labels = 0;
  std::vector<ExitSpec> exits;
  size_t weight_bytes = 0, workspace_bytes = 0;

  mutable std::mutex mu;
  mutable gpu::Stream stream;

  Buffer word, pos, type0, emb_g, emb_b;
  std::vector<LayerDev> layers;
  std::vector<HeadDev> heads;
  // Workspace, sized for `budget` tokens.
  Buffer xa, xb, qkv, ctx, tmp, ffn, ids, positions, offsets_a, offsets_b, pooled, dense, exit_out, state, state_tmp,
      compaction;
  size_t compaction_bytes = 0;

  Impl(const models::BertConfig& config, DType dtype, int tokens, int graph_tokens)
      : c(config), dt(dtype), budget(tokens), max_batch(tokens), graph_max_tokens(graph_tokens) {}

  Buffer upload(const std::vector<float>& v, DType as, Buffer& staging, const char* what) {
    Buffer b(v.size() * gpu::dtype_size(as), what);
    if (as == DType::F32) {
      gpu::copy_to_device(stream, b.data(), v.data(), v.size() * sizeof(float));
    } else {
      gpu::copy_to_device(stream, staging.data(), v.data(), v.size() * sizeof(float));
      gpu::convert_from_f32(stream, as, staging.as<float>(), b.data(), v.size());
    }
    // Pageable host memory and a shared staging buffer: finish before the next upload.
    stream.synchronize();
    weight_bytes += b.bytes();
    return b;
  }

  void alloc_workspace() {
    const size_t e = gpu::dtype_size(dt), t = static_cast<size_t>(budget), h = static_cast<size_t>(c.hidden);
    const size_t b = static_cast<size_t>(max_batch);
    auto take = [&](size_t bytes, const char* what) {
      workspace_bytes += bytes;
      return Buffer(bytes, what);
    };
    xa = take(t * h * e, "the hidden states"), xb = take(t * h * e, "the hidden states (compaction target)");
    qkv = take(3 * t * h * e, "the QKV activations"), ctx = take(t * h * e, "the attention output");
    tmp = take(t * h * e, "the projection output"), ffn = take(t * static_cast<size_t>(c.ffn) * e, "the FFN activations");
    ids = take(t * 4, "token ids"), positions = take(t * 4, "positions");
    offsets_a = take((b + 1) * 4, "offsets"), offsets_b = take((b + 1) * 4, "offsets");
    pooled = take(b * h * e, "pooled rows"), dense = take(b * h * e, "exit dense rows");
    exit_out = take(ExitRegion::bytes(max_batch, std::max(labels, 1)), "exit results");
    state = take(2 * b * 4, "exit state"), state_tmp = take(2 * b * 4, "exit state");
    compaction_bytes = gpu::compaction_scratch_bytes(max_batch);
    compaction = take(compaction_bytes, "compaction scratch");
  }

  // ws.x = LayerNorm(embeddings) for the packed inputs; uploads ids, positions, offsets and
  // the initial exit state in one pinned copy. Returns the host offsets.
  std::vector<int> start(const std::vector<std::vector<int32_t>>& inputs, size_t first, size_t last) {
    const int batch = static_cast<int>(last - first);
    std::vector<int> offsets{0};
    for (size_t i = first; i < last; ++i) offsets.push_back(offsets.back() + static_cast<int>(inputs[i].size()));
    const int t = offsets.back();
    if (t > budget)
      throw kernels::KernelError("a chunk of " + std::to_string(t) + " tokens exceeds the GPU token budget of " +
                                 std::to_string(budget) + " (LoadOptions.gpu_max_batch_tokens)");
    // Pinned layout: ids [t], positions [t], offsets [batch + 1], state [2 * batch].
    const size_t n_ints = 2 * static_cast<size_t>(t) + (batch + 1) + 2 * static_cast<size_t>(batch);
    auto* p = static_cast<int32_t*>(gpu::pinned(stream, n_ints * 4));
    int32_t* pid = p;
    int32_t* ppos = p + t;
    int32_t* poff = ppos + t;
    int32_t* pstate = poff + batch + 1;
    size_t k = 0;
    for (size_t i = first; i < last; ++i)
      for (size_t j = 0; j < inputs[i].size(); ++j, ++k) pid[k] = inputs[i][j], ppos[k] = static_cast<int32_t>(j);
    std::copy(offsets.begin(), offsets.end(), poff);
    for (int s = 0; s < batch; ++s) pstate[s] = -1, pstate[batch + s] = 0;  // prev_argmax, unchanged
    gpu::copy_to_device(stream, ids.data(), pid, static_cast<size_t>(t) * 4);
    gpu::copy_to_device(stream, positions.data(), ppos, static_cast<size_t>(t) * 4);
    gpu::copy_to_device(stream, offsets_a.data(), poff, (static_cast<size_t>(batch) + 1) * 4);
    gpu::copy_to_device(stream, state.data(), pstate, 2 * static_cast<size_t>(batch) * 4);
    gpu::embed_layer_norm(stream, dt, ids.as<int32_t>(), positions.as<int32_t>(), t, word.data(), pos.data(),
                          type0.data(), emb_g.data(), emb_b.data(), c.layer_norm_eps, xa.data(), c.hidden);
    return offsets;
  }

  // Encoder layer `l` on x [t, h] for the sequences of `offsets_dev`.
  void layer(int l, void* x, const int* offsets_dev, int batch, int t, int max_len) {
    const LayerDev& L = layers[static_cast<size_t>(l)];
    const int h = c.hidden, f = c.ffn;
    gpu::linear(stream, dt, x, L.qkv_w.data(), L.qkv_b.data(), qkv.data(), t, 3 * h, h);
    gpu::packed_attention(stream, dt, qkv.data(), offsets_dev, batch, max_len, c.heads, c.head_dim(), ctx.data());
    gpu::linear(stream, dt, ctx.data(), L.ao_w.data(), L.ao_b.data(), tmp.data(), t, h, h);
    gpu::add_layer_norm(stream, dt, x, tmp.data(), L.ln1_g.data(), L.ln1_b.data(), t, h, c.layer_norm_eps);
    if (c.activation == kernels::Activation::GeluTanh) {
      gpu::linear(stream, dt, x, L.fi_w.data(), L.fi_b.data(), ffn.data(), t, f, h, gpu::Epilogue::BiasGeluTanh);
    } else {
      // BERT's erf GELU has no cuBLASLt epilogue (its GELU is the tanh form): bias in the
      // GEMM, the activation in our kernel.
      gpu::linear(stream, dt, x, L.fi_w.data(), L.fi_b.data(), ffn.data(), t, f, h);
      gpu::bias_activation(stream, dt, ffn.data(), nullptr, t, f, c.activation);
    }
    gpu::linear(stream, dt, ffn.data(), L.fo_w.data(), L.fo_b.data(), tmp.data(), t, h, f);
    gpu::add_layer_norm(stream, dt, x, tmp.data(), L.ln2_g.data(), L.ln2_b.data(), t, h, c.layer_norm_eps);
  }

  void run_chunk(const std::vector<std::vector<int32_t>>& inputs, size_t first, size_t last, const BatchOptions& opt,
                 std::vector<SequenceResult>& results);
};

namespace {

int max_length(const std::vector<int>& offsets) {
  int m = 0;
  for (size_t s = 0; s + 1 < offsets.size(); ++s) m = std::max(m, offsets[s + 1] - offsets[s]);
  return m;
}

}  // namespace

void GpuModel::Impl::run_chunk(const std::vector<std::vector<int32_t>>& inputs, size_t first, size_t last,
                               const BatchOptions& opt, std::vector<SequenceResult>& results) {
  const int h = c.hidden;
  const models::FlopsShape shape{h, c.ffn, labels};
  std::vector<int> offsets = start(inputs, first, last);
  int batch = static_cast<int>(last - first), t = offsets.back(), max_len = max_length(offsets);
  std::vector<int> active(static_cast<size_t>(batch));  // slot -> input index
  for (int s = 0; s < batch; ++s) active[static_cast<size_t>(s)] = static_cast<int>(first) + s;
  void* cur = xa.data();
  void* other = xb.data();
  int* off_cur = offsets_a.as<int>();
  int* off_other = offsets_b.as<int>();

  // One segment per exit head: the layers since the previous head, the head, and the copy of
  // its results to pinned memory; captured as a CUDA graph for small batches.
  for (size_t e = 0, from = 1; e < exits.size() && batch > 0; from = static_cast<size_t>(exits[e].layer) + 1, ++e) {
    const ExitSpec& spec = exits[e];
    const HeadDev& hd = heads[e];
    const bool final_head = e + 1 == exits.size();
    const float temperature = opt.temperatures.empty() ? spec.temperature : opt.temperatures[e];
    const gpu::ExitHeadDevice head{hd.dense_w.data(), hd.dense_b.data(), hd.cls_w.as<float>(), hd.cls_b.as<float>(),
                                   labels, spec.pooling, temperature};
    const gpu::ExitRule rule{static_cast<int>(opt.policy.policy), static_cast<float>(opt.policy.threshold),
                             opt.policy.patience, opt.record_heads, final_head};
    const ExitRegion dev(exit_out.data(), batch, labels);
    int* st = state.as<int>();
    const gpu::ExitOutputs out{dev.logits, dev.probs, dev.confidence, dev.label, dev.keep, st, st + batch};
    const size_t bytes = ExitRegion::bytes(batch, labels);
    void* host_base = gpu::pinned(stream, bytes);  // before any capture: it may synchronise
    auto enqueue = [&] {
      for (int l = static_cast<int>(from); l <= spec.layer; ++l) layer(l - 1, cur, off_cur, batch, t, max_len);
      gpu::exit_head(stream, dt, cur, off_cur, batch, h, head, rule, pooled.data(), dense.data(), out);
      gpu::copy_to_host(stream, host_base, exit_out.data(), bytes);
    };
    if (t <= graph_max_tokens) {
      char key[320];
      std::snprintf(key, sizeof key, "seg %zu %zu b%d t%d n%d x%p o%p h%p T%a p%d %a %d %d", from, e, batch, t, max_len,
                    cur, static_cast<void*>(off_cur), host_base, static_cast<double>(temperature), rule.policy,
                    static_cast<double>(rule.threshold), rule.patience, rule.never_exit ? 1 : 0);
      gpu::run_graph(stream, key, enqueue);
    } else {
      enqueue();
    }
    for (int l = static_cast<int>(from); l <= spec.layer; ++l)
      for (int s = 0; s < batch; ++s)
        results[static_cast<size_t>(active[static_cast<size_t>(s)])].flops +=
            models::layer_flops(shape, offsets[static_cast<size_t>(s) + 1] - offsets[static_cast<size_t>(s)]);
    stream.synchronize();
    const ExitRegion hr(host_base, batch, labels);

    std::vector<int> next_offsets{0};
    int kept = 0;
    for (int s = 0; s < batch; ++s) {
      const int input = active[static_cast<size_t>(s)];
      const int n = offsets[static_cast<size_t>(s) + 1] - offsets[static_cast<size_t>(s)];
      SequenceResult& r = results[static_cast<size_t>(input)];
      r.flops += models::head_flops(shape, n, spec.pooling);
      const float* z = hr.logits + static_cast<size_t>(s) * labels;
      const float* p = hr.probs + static_cast<size_t>(s) * labels;
      if (opt.record_heads) r.head_logits.insert(r.head_logits.end(), z, z + labels);
      if (!hr.keep[s]) {
        r.label = hr.label[s];
        r.confidence = hr.confidence[s];
        r.probabilities.assign(p, p + labels);
        r.logits.assign(z, z + labels);
        r.exit_layer = spec.layer;
      } else {
        active[static_cast<size_t>(kept++)] = input;
        next_offsets.push_back(next_offsets.back() + n);
      }
    }
    if (kept > 0 && kept < batch) {
      gpu::compact_sequences(stream, dt, cur, other, h, off_cur, batch, t, dev.keep, off_other, st, 2,
                             state_tmp.as<int>(), compaction.data(), compaction_bytes);
      std::swap(cur, other);
      std::swap(off_cur, off_other);
    }
    batch = kept;
    offsets = std::move(next_offsets);
    t = offsets.back();
    max_len = max_length(offsets);
  }
  // Every chunk ends with the final head's readback, so the stream is idle here and the next
  // chunk may reuse the pinned staging memory; it starts again from xa / offsets_a.
}

GpuModel::GpuModel(const models::BertConfig& config, const models::BertWeights& weights,
                   const models::OfframpConfig& offramp, const std::vector<models::ExitHeadParams>& heads,
                   const GpuOptions& options) {
  if (options.max_batch_tokens < config.max_position)
    throw kernels::KernelError("the GPU token budget (" + std::to_string(options.max_batch_tokens) +
                               ") must hold at least one input of max_position_embeddings = " +
                               std::to_string(config.max_position) + " tokens");
  impl_ = std::make_unique<Impl>(config, options.dtype, options.max_batch_tokens, options.graph_max_tokens);
  Impl& m = *impl_;
  m.labels = static_cast<int>(offramp.labels.size());
  for (const auto& e : offramp.exits) m.exits.push_back({e.layer, e.pooling, e.temperature});
  const auto& c = config;
  const int h = c.hidden;
  try {
    // The largest tensor passes through one FP32 staging buffer on its way to `dt`.
    size_t largest = weights.word.size();
    for (const auto& L : weights.layers)
      largest = std::max({largest, L.qkv_w.size(), L.ffn_in_w.size(), L.ffn_out_w.size()});
    Buffer staging(largest * sizeof(float), "the weight staging buffer");
    const DType dt = m.dt;
    m.word = m.upload(weights.word, dt, staging, "word embeddings");
    m.pos = m.upload(weights.position, dt, staging, "position embeddings");
    m.type0 = m.upload(std::vector<float>(weights.token_type.begin(), weights.token_type.begin() + h), dt, staging,
                       "token type embeddings");
    m.emb_g = m.upload(weights.emb_ln_g, dt, staging, "embedding LayerNorm");
    m.emb_b = m.upload(weights.emb_ln_b, dt, staging, "embedding LayerNorm");
    // GEMMs take [n, k] weights (HF's layout); the CPU may have stored them transposed.
    auto nk = [&](const std::vector<float>& w, int n, int k) {
      return weights.layout == kernels::WeightLayout::KN ? kernels::transpose(w, k, n) : w;
    };
    for (const auto& L : weights.layers) {
      LayerDev d;
      d.qkv_w = m.upload(nk(L.qkv_w, 3 * h, h), dt, staging, "QKV weights");
      d.qkv_b = m.upload(L.qkv_b, dt, staging, "QKV bias");
      d.ao_w = m.upload(nk(L.attn_out_w, h, h), dt, staging, "attention output weights");
      d.ao_b = m.upload(L.attn_out_b, dt, staging, "attention output bias");
      d.ln1_g = m.upload(L.ln1_g, dt, staging, "LayerNorm");
      d.ln1_b = m.upload(L.ln1_b, dt, staging, "LayerNorm");
      d.fi_w = m.upload(nk(L.ffn_in_w, c.ffn, h), dt, staging, "FFN weights");
      d.fi_b = m.upload(L.ffn_in_b, dt, staging, "FFN bias");
      d.fo_w = m.upload(nk(L.ffn_out_w, h, c.ffn), dt, staging, "FFN weights");
      d.fo_b = m.upload(L.ffn_out_b, dt, staging, "FFN bias");
      d.ln2_g = m.upload(L.ln2_g, dt, staging, "LayerNorm");
      d.ln2_b = m.upload(L.ln2_b, dt, staging, "LayerNorm");
      m.layers.push_back(std::move(d));
    }
    for (const auto& hp : heads) {
      HeadDev d;
      d.dense_w = m.upload(hp.dense_w, dt, staging, "exit head weights");
      d.dense_b = m.upload(hp.dense_b, dt, staging, "exit head bias");
      d.cls_w = m.upload(hp.cls_w, DType::F32, staging, "exit classifier weights");
      d.cls_b = m.upload(hp.cls_b, DType::F32, staging, "exit classifier bias");
      m.heads.push_back(std::move(d));
    }
    m.alloc_workspace();
  } catch (const kernels::KernelError& e) {
    const double mib = 1.0 / (1024.0 * 1024.0);
    const size_t e_size = gpu::dtype_size(m.dt);
    const double per_token = static_cast<double>(e_size) * (7.0 * h + c.ffn) + 8.0;
    throw kernels::KernelError("loading the model onto the GPU (" + std::string(gpu::dtype_name(m.dt)) +
                               ") needs about " + std::to_string(static_cast<long long>(
                                                      static_cast<double>(weights.parameter_count * e_size) * mib)) +
                               " MiB of weights plus " +
                               std::to_string(static_cast<long long>(per_token * m.budget * mib)) +
                               " MiB of workspace for " + std::to_string(m.budget) +
                               " tokens (LoadOptions.gpu_max_batch_tokens): " + e.what());
  }
}

GpuModel::~GpuModel() = default;

DType GpuModel::dtype() const { return impl_->dt; }
int GpuModel::max_batch_tokens() const { return impl_->budget; }
size_t GpuModel::weight_bytes() const { return impl_->weight_bytes; }
size_t GpuModel::workspace_bytes() const { return impl_->workspace_bytes; }

std::vector<SequenceResult> GpuModel::run(const std::vector<std::vector<int32_t>>& inputs,
                                          const BatchOptions& options) const {
  Impl& m = *impl_;
  if (m.heads.empty()) throw kernels::KernelError("this model has no exit heads to classify with");
  std::vector<SequenceResult> results(inputs.size());
  const size_t budget = static_cast<size_t>(std::min(std::max(options.max_batch_tokens, 1), m.budget));
  const std::lock_guard<std::mutex> lock(m.mu);
  size_t first = 0;
  while (first < inputs.size()) {
    // Greedy chunking in input order, as the CPU scheduler does; every input fits the budget
    // (max_length <= max_position <= budget).
    size_t last = first, tokens = 0;
    while (last < inputs.size() && (last == first || tokens + inputs[last].size() <= budget))
      tokens += inputs[last++].size();
    m.run_chunk(inputs, first, last, options, results);
    first = last;
  }
  return results;
}

void GpuModel::encode(const std::vector<std::vector<int32_t>>& inputs) const {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.mu);
  const std::vector<int> offsets = m.start(inputs, 0, inputs.size());
  const int batch = static_cast<int>(inputs.size()), t = offsets.back(), max_len = max_length(offsets);
  auto enqueue = [&] {
    for (int l = 0; l < m.c.layers; ++l) m.layer(l, m.xa.data(), m.offsets_a.as<int>(), batch, t, max_len);
  };
  if (t <= m.graph_max_tokens)
    gpu::run_graph(m.stream, "encode b" + std::to_string(batch) + " t" + std::to_string(t) + " n" + std::to_string(max_len),
                   enqueue);
  else
    enqueue();
  m.stream.synchronize();
}

std::vector<float> GpuModel::hidden(const std::vector<std::vector<int32_t>>& inputs, int layers) const {
  Impl& m = *impl_;
  if (layers < 0 || layers > m.c.layers)
    throw kernels::KernelError("hidden(): layers must lie in 0.." + std::to_string(m.c.layers));
  const std::lock_guard<std::mutex> lock(m.mu);
  const std::vector<int> offsets = m.start(inputs, 0, inputs.size());
  const int batch = static_cast<int>(inputs.size()), t = offsets.back(), max_len = max_length(offsets);
  for (int l = 0; l < layers; ++l) m.layer(l, m.xa.data(), m.offsets_a.as<int>(), batch, t, max_len);
  const size_t n = static_cast<size_t>(t) * m.c.hidden;
  std::vector<float> out(n);
  // The QKV buffer ([t, 3h]) is free now: convert into it, then copy down.
  gpu::convert_to_f32(m.stream, m.dt, m.xa.data(), m.qkv.as<float>(), n);
  gpu::copy_to_host(m.stream, out.data(), m.qkv.data(), n * sizeof(float));
  m.stream.synchronize();
  return out;
}

}  // namespace offramp::engine
