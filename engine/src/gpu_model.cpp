#include "engine/src/gpu_model.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>

#include "engine/src/gpu_lane.h"
#include "kernels/gemm.h"

namespace offramp::engine {

namespace gpu = kernels::gpu;
using gpu::Buffer;
using gpu::DType;

struct GpuModel::Impl {
  GpuWeights w;
  GpuOptions options;  // options.max_batch_tokens: tokens per chunk (and per lane's workspace)
  std::vector<std::unique_ptr<GpuLane>> lanes;
  mutable std::mutex mu;

  Buffer upload(const std::vector<float>& v, DType as, Buffer& staging, gpu::Stream& s,
                const char* what) {
    if (v.size() * sizeof(float) > staging.bytes())
      throw kernels::KernelError(std::string("internal: the staging buffer is too small for ") +
                                 what);
    Buffer b(v.size() * gpu::dtype_size(as), what);
    if (as == DType::F32) {
      gpu::copy_to_device(s, b.data(), v.data(), v.size() * sizeof(float));
    } else {
      gpu::copy_to_device(s, staging.data(), v.data(), v.size() * sizeof(float));
      gpu::convert_from_f32(s, as, staging.as<float>(), b.data(), v.size());
    }
    // Pageable host memory and a shared staging buffer: finish before the next upload.
    s.synchronize();
    return b;
  }

  void upload_all(const models::BertWeights& weights, const models::OfframpConfig& offramp,
                  const std::vector<models::ExitHeadParams>& heads) {
    const auto& c = w.c;
    const int h = c.hidden;
    const DType dt = w.dt;
    gpu::Stream s;
    // Every tensor passes through one FP32 staging buffer on its way to `dt`: size it for the
    // largest (upload() checks).
    size_t largest = std::max({weights.word.size(), weights.position.size(), weights.emb_project_w.size(),
                               static_cast<size_t>(h)});
    for (const auto& L : weights.layers)
      largest = std::max({largest, L.qkv_w.size(), L.attn_out_w.size(), L.ffn_in_w.size(),
                          L.ffn_out_w.size(), L.ffn_in_b.size()});
    for (const auto& hp : heads) largest = std::max({largest, hp.dense_w.size(), hp.cls_w.size()});
    Buffer staging(largest * sizeof(float), "the weight staging buffer");
    w.word = upload(weights.word, dt, staging, s, "word embeddings");
    w.pos = upload(weights.position, dt, staging, s, "position embeddings");
    const int e = c.embedding_width();
    w.type0 = upload(std::vector<float>(weights.token_type.begin(), weights.token_type.begin() + e),
                     dt, staging, s, "token type embeddings");
    if (c.projects_embeddings()) {
      w.emb_project_w = upload(weights.emb_project_w, dt, staging, s, "embedding projection weights");
      w.emb_project_b = upload(weights.emb_project_b, dt, staging, s, "embedding projection bias");
    }
    w.emb_g = upload(weights.emb_ln_g, dt, staging, s, "embedding LayerNorm");
    w.emb_b = upload(weights.emb_ln_b, dt, staging, s, "embedding LayerNorm");
    for (const auto& L : weights.layers) {
      GpuLayer d;
      d.qkv_w = upload(L.qkv_w, dt, staging, s, "QKV weights");
      d.qkv_b = upload(L.qkv_b, dt, staging, s, "QKV bias");
      d.ao_w = upload(L.attn_out_w, dt, staging, s, "attention output weights");
      d.ao_b = upload(L.attn_out_b, dt, staging, s, "attention output bias");
      d.ln1_g = upload(L.ln1_g, dt, staging, s, "LayerNorm");
      d.ln1_b = upload(L.ln1_b, dt, staging, s, "LayerNorm");
      d.fi_w = upload(L.ffn_in_w, dt, staging, s, "FFN weights");
      d.fi_b = upload(L.ffn_in_b, dt, staging, s, "FFN bias");
      d.fo_w = upload(L.ffn_out_w, dt, staging, s, "FFN weights");
      d.fo_b = upload(L.ffn_out_b, dt, staging, s, "FFN bias");
      d.ln2_g = upload(L.ln2_g, dt, staging, s, "LayerNorm");
      d.ln2_b = upload(L.ln2_b, dt, staging, s, "LayerNorm");
      w.layers.push_back(std::move(d));
    }
    for (size_t e = 0; e < heads.size() && e < offramp.exits.size(); ++e) {
      GpuHead d;
      d.dense_w = upload(heads[e].dense_w, dt, staging, s, "exit head weights");
      d.dense_b = upload(heads[e].dense_b, dt, staging, s, "exit head bias");
      d.cls_w = upload(heads[e].cls_w, DType::F32, staging, s, "exit classifier weights");
      d.cls_b = upload(heads[e].cls_b, DType::F32, staging, s, "exit classifier bias");
      w.heads.push_back(std::move(d));
    }
  }
};

namespace {

// Input ranges for the lanes, in input order: the core's chunks of at most `budget` tokens
// (every input fits: max_length <= max_position <= budget), and a chunk too big for graphs
// split over the lanes by tokens, so that one lane's layers run while the host handles
// another's exit results.
std::vector<InputRange> split_into_pieces(const TokenIds& inputs, size_t budget,
                                          int graph_max_tokens, size_t lanes) {
  std::vector<InputRange> pieces;
  for (const InputRange& chunk : chunk_by_tokens(inputs, budget)) {
    size_t tokens = 0;
    for (size_t i = chunk.first; i < chunk.last; ++i) tokens += inputs[i].size();
    const size_t parts =
        tokens > static_cast<size_t>(graph_max_tokens) ? std::min(lanes, chunk.size()) : 1;
    size_t from = chunk.first, acc = 0, made = 0;
    for (size_t i = chunk.first; i < chunk.last && made + 1 < parts; ++i) {
      acc += inputs[i].size();
      if (acc * parts >= tokens * (made + 1) && i + 1 < chunk.last)
        pieces.push_back({from, i + 1}), from = i + 1, ++made;
    }
    pieces.push_back({from, chunk.last});
  }
  return pieces;
}

}  // namespace

GpuModel::GpuModel(const models::BertConfig& config, const models::BertWeights& weights,
                   const models::OfframpConfig& offramp,
                   const std::vector<models::ExitHeadParams>& heads, const GpuOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (options.max_batch_tokens < config.max_position)
    throw kernels::KernelError("the GPU token budget (" + std::to_string(options.max_batch_tokens) +
                               ") must hold at least one input of max_position_embeddings = " +
                               std::to_string(config.max_position) + " tokens");
  // cuBLASLt takes [n, k] weights: the checkpoint's layout, as loaded.
  if (weights.layout != kernels::WeightLayout::NK)
    throw kernels::KernelError("internal: the GPU uploads weights in the checkpoint's [n, k] layout");
  if (options.lanes < 1) throw kernels::KernelError("GpuOptions.lanes must be >= 1");
  if (options.tail_tokens < 0) throw kernels::KernelError("GpuOptions.tail_tokens must be >= 0");
  Impl& m = *impl_;
  m.w.c = config, m.w.dt = options.dtype, m.w.labels = static_cast<int>(offramp.labels.size());
  if (!heads.empty()) m.w.plan = exit_plan(config, offramp);
  m.options = options;
  try {
    m.upload_all(weights, offramp, heads);
    for (int l = 0; l < options.lanes; ++l)
      m.lanes.push_back(std::make_unique<GpuLane>(m.w, options));
  } catch (const kernels::KernelError& e) {
    const double mib = 1.0 / (1024.0 * 1024.0);
    const size_t e_size = gpu::dtype_size(m.w.dt);
    const double per_token = static_cast<double>(e_size) * (7.0 * config.hidden + config.ffn) + 8.0;
    throw kernels::KernelError(
        "loading the model onto the GPU (" + std::string(gpu::dtype_name(m.w.dt)) +
        ") needs about " +
        std::to_string(
            static_cast<long long>(static_cast<double>(weights.parameter_count * e_size) * mib)) +
        " MiB of weights plus " +
        std::to_string(static_cast<long long>(per_token * options.max_batch_tokens * options.lanes * mib)) +
        " MiB of workspace for " + std::to_string(options.lanes) + " lane(s) of " +
        std::to_string(options.max_batch_tokens) + " tokens (LoadOptions.gpu_max_batch_tokens): " + e.what());
  }
}

GpuModel::~GpuModel() = default;

std::vector<SequenceResult> GpuModel::run(const std::vector<std::vector<int32_t>>& inputs,
                                          const BatchOptions& options) const {
  Impl& m = *impl_;
  if (m.w.heads.empty())
    throw kernels::KernelError("this model has no exit heads to classify with");
  std::vector<SequenceResult> results(inputs.size());
  const size_t budget =
      static_cast<size_t>(std::min(std::max(options.max_batch_tokens, 1), m.options.max_batch_tokens));
  const std::optional<ExitPlan> one = m.w.plan.one_head(options);
  const ExitPlan& plan = one ? *one : m.w.plan;
  const std::lock_guard<std::mutex> lock(m.mu);
  try {
    const auto pieces = split_into_pieces(inputs, budget, m.options.graph_max_tokens, m.lanes.size());
    // A lane takes the next piece as soon as its own has left, not when every lane is done
    // with the chunk: the last layers of a piece (few survivors, bound by per-kernel and
    // per-wait times) then overlap another piece's first layers instead of idling the GPU.
    size_t next = 0;
    auto take_next = [&](GpuLane& lane) {  // an idle lane starts the next piece, if any
      if (next < pieces.size()) lane.begin(inputs, pieces[next++], plan);
      if (lane.busy()) lane.enqueue_segment(options);
    };
    for (auto& lane : m.lanes) take_next(*lane);
    for (bool any = true; any;) {
      any = false;
      for (auto& lp : m.lanes) {
        GpuLane& lane = *lp;
        if (!lane.busy()) continue;
        any = true;
        lane.finish_segment(options, results);
        if (lane.busy())
          lane.enqueue_segment(options);
        else
          take_next(lane);
      }
    }
  } catch (...) {
    for (auto& l : m.lanes) l->drain();
    throw;
  }
  return results;
}

std::unique_ptr<GpuLane> GpuModel::new_lane(int max_tokens) const {
  GpuOptions o = impl_->options;
  o.max_batch_tokens = std::max(max_tokens, impl_->w.c.max_position);
  return std::make_unique<GpuLane>(impl_->w, o);
}

long GpuModel::round_trips() const {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  long n = 0;
  for (const auto& l : impl_->lanes) n += l->round_trips();
  return n;
}

void GpuModel::encode(const std::vector<std::vector<int32_t>>& inputs) const {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.mu);
  try {
    m.lanes[0]->begin(inputs, {0, inputs.size()}, m.w.plan);
    m.lanes[0]->encode_all();
  } catch (...) {
    m.lanes[0]->drain();
    throw;
  }
}

std::vector<float> GpuModel::hidden(const std::vector<std::vector<int32_t>>& inputs,
                                    int layers) const {
  Impl& m = *impl_;
  if (layers < 0 || layers > m.w.c.layers)
    throw kernels::KernelError("hidden(): layers must lie in 0.." + std::to_string(m.w.c.layers));
  const std::lock_guard<std::mutex> lock(m.mu);
  try {
    m.lanes[0]->begin(inputs, {0, inputs.size()}, m.w.plan);
    return m.lanes[0]->hidden_after(layers);
  } catch (...) {
    m.lanes[0]->drain();
    throw;
  }
}

}  // namespace offramp::engine
