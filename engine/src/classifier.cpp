// offramp::Classifier: the public API over model_dir (loading), tokenizer and scheduler.
#include <algorithm>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cmath>

#include "engine/src/classifier_impl.h"
#include "engine/src/encoder.h"
#include "kernels/dense_weight.h"
#include "kernels/device.h"
#include "kernels/gpu.h"
#include "models/flops.h"
#include "offramp/offramp.h"

namespace offramp {

namespace {

// What the CPU backend keeps resident for the weights: the prepared GEMM weights and word table
// (engine::CpuWeights) plus every FP32 tensor still held (positions, biases, LayerNorms, heads).
size_t cpu_weight_bytes(const engine::ModelDir& m) {
  const auto& w = m.weights;
  size_t floats = w.position.size() + w.token_type.size() + w.emb_ln_g.size() + w.emb_ln_b.size() +
                  w.emb_project_w.size() + w.emb_project_b.size();
  for (const auto& L : w.layers)
    floats += L.qkv_b.size() + L.attn_out_b.size() + L.ln1_g.size() + L.ln1_b.size() + L.ffn_in_b.size() +
              L.ffn_out_b.size() + L.ln2_g.size() + L.ln2_b.size();
  for (const auto& h : m.heads) floats += h.dense_w.size() + h.dense_b.size() + h.cls_w.size() + h.cls_b.size();
  return m.cpu.bytes() + floats * sizeof(float);
}

ModelInfo make_info(const engine::ModelDir& m, const std::string& device) {
  const auto& c = m.config;
  ModelInfo i;
  i.path = m.path;
  i.architecture = c.model_type;
  i.layers = c.layers, i.hidden = c.hidden, i.heads = c.heads, i.ffn = c.ffn;
  i.embedding_size = c.embedding_width();
  i.max_tokens = c.max_tokens();
  i.vocab_size = c.vocab_size, i.max_position = c.max_position;
  i.activation = c.hidden_act;
  i.tokenizer = m.tokenizer->kind();
  i.max_length = m.offramp.max_length > 0 ? m.offramp.max_length : c.max_tokens();
  i.parameters = m.weights.parameter_count;
  for (const auto& h : m.heads) i.parameters += h.dense_w.size() + h.dense_b.size() + h.cls_w.size() + h.cls_b.size();
  for (const auto& e : m.offramp.exits)
    i.exits.push_back({e.layer, models::pooling_name(e.pooling), e.temperature, models::activation_name(e.activation),
                       m.task_head});
  i.labels = m.offramp.labels;
  i.policy = m.offramp.policy;
  i.threshold = m.offramp.threshold;
  i.patience = m.offramp.patience;
  i.exit_layer = m.offramp.exit_layer;
  i.calibration = m.offramp.calibration;
  i.flops_per_token_per_layer = models::layer_flops({c.hidden, c.ffn, 0}, 1) - 4.0 * c.hidden;
  i.device = device;
  return i;
}

}  // namespace

Policy parse_policy(std::string_view name) {
  if (name == "max_prob") return Policy::MaxProb;
  if (name == "entropy") return Policy::Entropy;
  if (name == "patience") return Policy::Patience;
  if (name == "static") return Policy::Static;
  throw Error("unknown exit policy '" + std::string(name) + "' (use max_prob, entropy, patience or static)");
}

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::MaxProb: return "max_prob";
    case Policy::Entropy: return "entropy";
    case Policy::Patience: return "patience";
    case Policy::Static: return "static";
  }
  return "?";
}

Classifier::Classifier(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;
Classifier::~Classifier() = default;

Classifier Classifier::load(const std::string& model_dir, const LoadOptions& options) {
  return engine::guarded([&] {
    const int gpus = kernels::gpu::device_count();
    if (options.device == Device::Cuda && gpus == 0)
      throw Error(kernels::cuda_compiled()
                      ? "Device::Cuda requested, but no CUDA device is present (or no driver); use "
                        "Device::Cpu or Device::Auto"
                      : "Device::Cuda requested, but this build has no CUDA backend; use "
                        "Device::Cpu or Device::Auto");
    if (options.threads < 0) throw Error("LoadOptions.threads must be >= 0 (0 = all cores)");
    if (options.threads > 0) kernels::set_cpu_threads(options.threads);
    const bool on_gpu =
        options.device == Device::Cuda || (options.device == Device::Auto && gpus > 0);
    if (!on_gpu && options.precision == Precision::F16)
      throw Error("the CPU backend runs fp32, bf16 or int8; fp16 needs the GPU (Device::Cuda)");
    if (on_gpu && options.precision == Precision::Int8)
      throw Error("int8 runs on the CPU only (Device::Cpu); the GPU runs fp32, fp16 or bf16");
    // The CPU's precision: the one asked for (checked before the weights are read), else the one
    // the model file stores (bf16 only where the CPU runs it natively; its bf16 weights read as
    // FP32 exactly otherwise).
    kernels::GemmPrecision cpu_precision = options.precision == Precision::BF16   ? kernels::GemmPrecision::BF16
                                           : options.precision == Precision::Int8 ? kernels::GemmPrecision::Int8
                                                                                  : kernels::GemmPrecision::F32;
    if (!on_gpu) {
      const std::string why = kernels::cpu_gemm_support(cpu_precision);
      if (!why.empty()) throw Error(why);
    }
    auto impl = std::make_shared<Impl>();
    impl->model = engine::load_model_dir(model_dir);
    if (options.precision == Precision::Auto) {
      if (impl->model.stored == models::StoredPrecision::Int8) cpu_precision = kernels::GemmPrecision::Int8;
      if (impl->model.stored == models::StoredPrecision::BF16 &&
          kernels::cpu_gemm_support(kernels::GemmPrecision::BF16).empty())
        cpu_precision = kernels::GemmPrecision::BF16;
    }
    if (!on_gpu && options.precision == Precision::Auto) {  // the stored precision (an int8 file, no oneDNN)
      const std::string why = kernels::cpu_gemm_support(cpu_precision);
      if (!why.empty()) throw Error(why);
    }
    if (on_gpu) {
      if (options.gpu_max_batch_tokens < impl->model.config.max_position)
        throw Error("gpu_max_batch_tokens " + std::to_string(options.gpu_max_batch_tokens) +
                    " must be at least the model's max_position_embeddings (" +
                    std::to_string(impl->model.config.max_position) + ")");
      engine::GpuOptions go;
      go.dtype = options.precision == Precision::F32    ? kernels::gpu::DType::F32
                 : options.precision == Precision::BF16 ? kernels::gpu::DType::BF16
                                                        : kernels::gpu::DType::F16;
      go.max_batch_tokens = options.gpu_max_batch_tokens;
      const auto& m = impl->model;
      impl->gpu = std::make_unique<engine::GpuModel>(m.config, m.weights, m.offramp, m.heads, go);
      impl->device = kernels::Device::Cuda;
      // The host copies of the layer weights are no longer needed.
      impl->model.weights.layers.clear();
      impl->model.weights.layers.shrink_to_fit();
      impl->info = make_info(impl->model, "cuda");
      impl->info.device_name = kernels::gpu::device_description();
      impl->info.precision = kernels::gpu::dtype_name(go.dtype);
    } else {
      engine::use_cpu_weight_layout(impl->model.weights, impl->model.config);
      impl->model.cpu = engine::prepare_cpu_weights(impl->model.weights, impl->model.config, cpu_precision);
#ifdef __GLIBC__
      // Hand the released FP32 copies back to the OS: glibc keeps freed heap memory otherwise
      // (measured: 22 MB of MiniLM's 66 MB freed stayed resident after an int8 load).
      if (cpu_precision != kernels::GemmPrecision::F32) malloc_trim(0);
#endif
      impl->device = kernels::Device::Cpu;
      impl->info = make_info(impl->model, "cpu");
      impl->info.device_name = "cpu";
      impl->info.precision = kernels::gemm_precision_name(cpu_precision);
      impl->info.weight_bytes = cpu_weight_bytes(impl->model);
      if (cpu_precision != kernels::GemmPrecision::F32)
        impl->info.precision_note = kernels::cpu_gemm_description(cpu_precision);
    }
    return Classifier(std::move(impl));
  });
}

const ModelInfo& Classifier::info() const { return impl_->info; }

namespace {
// tokenize()'s max_length: 0 is the model's; larger than the positions allow is clamped.
int tokenize_limit(const Classifier::Impl& impl, int max_length) {
  const int limit = max_length > 0 ? std::min(max_length, impl.model.config.max_tokens()) : impl.info.max_length;
  return std::max(limit, 2);
}
}  // namespace

std::vector<int> Classifier::tokenize(std::string_view text, int max_length) const {
  return engine::guarded([&] {
    const auto ids = impl_->model.tokenizer->encode(text, tokenize_limit(*impl_, max_length));
    return std::vector<int>(ids.begin(), ids.end());
  });
}

std::optional<size_t> Classifier::decided_prefix(std::string_view partial, int max_length) const {
  return engine::guarded([&] {
    return impl_->model.tokenizer->decided_prefix(partial, tokenize_limit(*impl_, max_length));
  });
}

std::string Classifier::token_string(int id) const { return impl_->model.tokenizer->id_to_token(id); }

Result Classifier::classify(std::string_view text, const ClassifyOptions& options) const {
  return classify(std::vector<std::string>{std::string(text)}, options).front();
}

namespace engine {

// Checks the options against the model and tokenizes every text.
Prepared prepare(const Classifier::Impl& impl, const std::vector<std::string>& texts, const ClassifyOptions& options) {
  const auto& m = impl.model;
  if (!m.has_exits())
    throw Error(m.path + ": this model has no exit heads (no offramp.json / exits.safetensors); "
                "add them with offramp-train before classifying");
  Prepared p;
  engine::BatchOptions& bo = p.batch;
  bo.policy.policy = options.full_depth ? Policy::Static : options.policy.value_or(parse_policy(m.offramp.policy));
  bo.policy.threshold = options.threshold.value_or(m.offramp.threshold);
  bo.policy.patience = options.patience.value_or(m.offramp.patience);
  if (bo.policy.policy == Policy::Static) {
    // One head answers and the others do not run (ExitPlan::one_head).
    const auto& exits = m.offramp.exits;
    const int layer = options.full_depth ? exits.back().layer : options.exit_layer.value_or(m.offramp.exit_layer);
    if (std::none_of(exits.begin(), exits.end(), [&](const auto& e) { return e.layer == layer; })) {
      std::string layers;
      for (const auto& e : exits) layers += (layers.empty() ? "" : ", ") + std::to_string(e.layer);
      throw Error("the static policy needs exit_layer, one of the model's exit layers (" + layers + "); got " +
                  std::to_string(layer));
    }
    bo.policy.exit_layer = layer;
  }
  bo.max_batch_tokens = options.max_batch_tokens;
  bo.temperatures = options.temperatures;
  if (!(bo.policy.threshold >= 0.0)) throw Error("threshold must be >= 0 (got " + std::to_string(bo.policy.threshold) + ")");
  if (bo.policy.patience < 0) throw Error("patience must be >= 0");
  if (bo.max_batch_tokens < 1) throw Error("max_batch_tokens must be >= 1");
  if (!bo.temperatures.empty()) {
    if (bo.temperatures.size() != m.offramp.exits.size())
      throw Error("temperatures: " + std::to_string(bo.temperatures.size()) + " values for " +
                  std::to_string(m.offramp.exits.size()) + " exit heads");
    for (float t : bo.temperatures)
      if (!(t > 0.0f) || !std::isfinite(t)) throw Error("temperatures must be finite and > 0");
  }
  const int max_length = options.max_length.value_or(impl.info.max_length);
  if (max_length < 2 || max_length > m.config.max_tokens())
    throw Error("max_length " + std::to_string(max_length) + " must lie in 2.." +
                std::to_string(m.config.max_tokens()) + " (the model's max_position_embeddings" +
                (m.config.position_offset > 0
                     ? " less its position offset " + std::to_string(m.config.position_offset) + ")"
                     : ")"));
  p.ids.resize(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].find_first_not_of(" \t\r\n\v\f") == std::string::npos)
      throw Error("text " + std::to_string(i) + " is empty (or only whitespace): nothing to classify");
    p.ids[i] = m.tokenizer->encode(texts[i], max_length);
  }
  return p;
}

Result to_result(const Classifier::Impl& impl, const SequenceResult& seq, int num_tokens) {
  const auto& m = impl.model;
  Result r;
  r.label_index = seq.label;
  r.label = m.offramp.labels[static_cast<size_t>(seq.label)];
  r.confidence = seq.confidence;
  r.probabilities = seq.probabilities;
  r.logits = seq.logits;
  r.exit_layer = seq.exit_layer;
  r.num_tokens = num_tokens;
  r.flops = seq.flops;
  const auto& last = m.offramp.exits.back();
  r.full_depth_flops = models::full_depth_flops(
      models::flops_shape(m.config, static_cast<int>(m.offramp.labels.size())), num_tokens, last.layer, last.pooling);
  return r;
}

}  // namespace engine

std::vector<ExitTrace> Classifier::trace_exits(const std::vector<std::string>& texts,
                                               const ClassifyOptions& options) const {
  return engine::guarded([&] {
    engine::Prepared p = engine::prepare(*impl_, texts, options);
    p.batch.record_heads = true;  // every head, whatever the policy
    const auto seq = impl_->run(p.ids, p.batch);
    const size_t labels = impl_->model.offramp.labels.size();
    std::vector<ExitTrace> out(seq.size());
    for (size_t i = 0; i < seq.size(); ++i) {
      out[i].num_tokens = static_cast<int>(p.ids[i].size());
      for (size_t e = 0; e * labels < seq[i].head_logits.size(); ++e)
        out[i].logits.emplace_back(seq[i].head_logits.begin() + static_cast<std::ptrdiff_t>(e * labels),
                                   seq[i].head_logits.begin() + static_cast<std::ptrdiff_t>((e + 1) * labels));
    }
    return out;
  });
}

std::vector<Result> Classifier::classify(const std::vector<std::string>& texts,
                                         const ClassifyOptions& options) const {
  return engine::guarded([&] {
    const engine::Prepared p = engine::prepare(*impl_, texts, options);
    const auto seq = impl_->run(p.ids, p.batch);
    std::vector<Result> out;
    out.reserve(seq.size());
    for (size_t i = 0; i < seq.size(); ++i)
      out.push_back(engine::to_result(*impl_, seq[i], static_cast<int>(p.ids[i].size())));
    return out;
  });
}

}  // namespace offramp
