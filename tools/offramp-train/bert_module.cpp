#include "tools/offramp-train/bert_module.h"

#include <cmath>
#include <stdexcept>

#include "models/safetensors.h"

namespace offramp::train {

namespace nn = torch::nn;

BertLayerImpl::BertLayerImpl(const models::BertConfig& c, double dropout) : heads(c.heads), act(c.activation) {
  const int h = c.hidden, f = c.ffn;
  query = register_module("query", nn::Linear(h, h));
  key = register_module("key", nn::Linear(h, h));
  value = register_module("value", nn::Linear(h, h));
  attn_out = register_module("attn_out", nn::Linear(h, h));
  ln1 = register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({h}).eps(c.layer_norm_eps)));
  ffn_in = register_module("ffn_in", nn::Linear(h, f));
  ffn_out = register_module("ffn_out", nn::Linear(f, h));
  ln2 = register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({h}).eps(c.layer_norm_eps)));
  drop = register_module("drop", nn::Dropout(dropout));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias) {
  const auto B = x.size(0), T = x.size(1), h = x.size(2), d = h / heads;
  // [B, T, h] -> [B, heads, T, d]
  auto split = [&](const torch::Tensor& t) { return t.view({B, T, heads, d}).transpose(1, 2); };
  const auto q = split(query(x)), k = split(key(x)), v = split(value(x));
  auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(d)) + mask_bias;
  auto p = drop(torch::softmax(scores, -1));
  auto ctx = torch::matmul(p, v).transpose(1, 2).reshape({B, T, h});
  auto a = ln1(x + drop(attn_out(ctx)));
  auto mid = ffn_in(a);
  switch (act) {
    case kernels::Activation::GeluErf: mid = torch::gelu(mid); break;
    case kernels::Activation::GeluTanh: mid = torch::gelu(mid, "tanh"); break;
    case kernels::Activation::Relu: mid = torch::relu(mid); break;
    case kernels::Activation::Tanh: mid = torch::tanh(mid); break;
  }
  return ln2(a + drop(ffn_out(mid)));
}

ExitHeadImpl::ExitHeadImpl(int hidden, int labels, kernels::Pooling p) : pooling(p) {
  dense = register_module("dense", nn::Linear(hidden, hidden));
  classifier = register_module("classifier", nn::Linear(hidden, labels));
  drop = register_module("drop", nn::Dropout(0.1));
}

torch::Tensor ExitHeadImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  torch::Tensor pooled;
  if (pooling == kernels::Pooling::Cls) {
    pooled = x.select(1, 0);
  } else {
    // Mean over real tokens only: [B, T, h] * [B, T, 1] summed over T / count.
    pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, true);
  }
  return classifier(drop(torch::tanh(dense(pooled))));
}

EarlyExitBertImpl::EarlyExitBertImpl(const models::BertConfig& c, const std::vector<models::ExitSpec>& ex,
                                     int labels, double dropout)
    : config(c), exits(ex) {
  const int e = c.embedding_width();  // ELECTRA-small: narrower than hidden, projected up
  word = register_module("word", nn::Embedding(c.vocab_size, e));
  position = register_module("position", nn::Embedding(c.max_position, e));
  // A family without token types (DistilBERT) never adds this table (forward).
  token_type = register_module("token_type", nn::Embedding(std::max(c.type_vocab_size, 1), e));
  emb_ln = register_module("emb_ln", nn::LayerNorm(nn::LayerNormOptions({e}).eps(c.layer_norm_eps)));
  if (c.projects_embeddings()) emb_project = register_module("emb_project", nn::Linear(e, c.hidden));
  emb_drop = register_module("emb_drop", nn::Dropout(dropout));
  layers = register_module("layers", nn::ModuleList());
  for (int l = 0; l < c.layers; ++l) layers->push_back(BertLayer(c, dropout));
  heads = register_module("heads", nn::ModuleList());
  for (const auto& e : exits) heads->push_back(ExitHead(c.hidden, labels, e.pooling));
}

std::vector<torch::Tensor> EarlyExitBertImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  const auto T = ids.size(1);
  // Positions as the engine numbers them (the family's offset: RoBERTa and XLM-R start after
  // the padding index); padded positions are masked out of attention and pooling.
  const auto pos = (torch::arange(T, torch::kLong) + config.position_offset).unsqueeze(0);
  auto x = word(ids) + position(pos);
  if (config.family->has_token_types()) x = x + token_type(torch::zeros_like(ids));
  x = emb_drop(emb_ln(x));
  if (config.projects_embeddings()) x = emb_project(x);  // [B, T, e] -> [B, T, h], as HF's ElectraModel
  // [B, T] -> [B, 1, 1, T]: padded keys get a large negative score.
  const auto mask_bias = ((1.0 - mask) * -1e9).unsqueeze(1).unsqueeze(1);
  std::vector<torch::Tensor> out;
  size_t next = 0;
  const int last = exits.empty() ? 0 : exits.back().layer;
  for (int l = 0; l < last; ++l) {
    x = layers[static_cast<size_t>(l)]->as<BertLayer>()->forward(x, mask_bias);
    if (next < exits.size() && exits[next].layer == l + 1)
      out.push_back(heads[next++]->as<ExitHead>()->forward(x, mask));
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> EarlyExitBertImpl::encoder_parameters() {
  // The family's description names each tensor; this module only says which parameter holds it.
  std::vector<std::pair<std::string, torch::Tensor>> p;
  for (const models::TensorSpec& t : models::encoder_tensors(*config.family, config)) {
    BertLayerImpl* L = t.layer >= 0 ? layers[static_cast<size_t>(t.layer)]->as<BertLayer>() : nullptr;
    using T = models::EncoderTensor;
    torch::Tensor v;
    switch (t.role) {
      case T::Word: v = word->weight; break;
      case T::Position: v = position->weight; break;
      case T::TokenType: v = token_type->weight; break;
      case T::EmbNormGamma: v = emb_ln->weight; break;
      case T::EmbNormBeta: v = emb_ln->bias; break;
      case T::EmbProjectW: v = emb_project->weight; break;
      case T::EmbProjectB: v = emb_project->bias; break;
      case T::QueryW: v = L->query->weight; break;
      case T::QueryB: v = L->query->bias; break;
      case T::KeyW: v = L->key->weight; break;
      case T::KeyB: v = L->key->bias; break;
      case T::ValueW: v = L->value->weight; break;
      case T::ValueB: v = L->value->bias; break;
      case T::AttnOutW: v = L->attn_out->weight; break;
      case T::AttnOutB: v = L->attn_out->bias; break;
      case T::AttnNormGamma: v = L->ln1->weight; break;
      case T::AttnNormBeta: v = L->ln1->bias; break;
      case T::FfnInW: v = L->ffn_in->weight; break;
      case T::FfnInB: v = L->ffn_in->bias; break;
      case T::FfnOutW: v = L->ffn_out->weight; break;
      case T::FfnOutB: v = L->ffn_out->bias; break;
      case T::FfnNormGamma: v = L->ln2->weight; break;
      case T::FfnNormBeta: v = L->ln2->bias; break;
    }
    p.emplace_back(t.name, v);
  }
  return p;
}

std::vector<torch::Tensor> EarlyExitBertImpl::head_parameters() {
  std::vector<torch::Tensor> p;
  for (auto& m : *heads)
    for (auto& t : m->parameters()) p.push_back(t);
  return p;
}

void EarlyExitBertImpl::init_weights() {
  torch::NoGradGuard no_grad;
  for (auto& m : modules(false)) {
    if (auto* lin = m->as<nn::Linear>()) {
      lin->weight.normal_(0.0, 0.02);
      lin->bias.zero_();
    } else if (auto* emb = m->as<nn::Embedding>()) {
      emb->weight.normal_(0.0, 0.02);
    } else if (auto* ln = m->as<nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
}

namespace {
void copy_into(torch::Tensor& dst, std::vector<float> values) {
  torch::NoGradGuard no_grad;
  dst.copy_(torch::from_blob(values.data(), dst.sizes(), torch::kFloat32));
}
}  // namespace

void load_hf_weights(EarlyExitBert& model, const models::SafetensorsFile& file) {
  const models::FamilyDescription& fam = *model->config.family;
  const std::string prefix =
      file.has(fam.task_prefix + fam.name_of(models::EncoderTensor::Word)) ? fam.task_prefix : "";
  for (auto& [name, t] : model->encoder_parameters()) {
    auto dst = t;
    copy_into(dst, file.read_f32(prefix + name, t.sizes().vec()));
  }
}

void load_exit_weights(EarlyExitBert& model, const std::string& path) {
  const auto file = models::SafetensorsFile::open(path);
  for (size_t i = 0; i < model->heads->size(); ++i) {
    auto head = model->heads[i]->as<ExitHead>();
    const std::string pre = "exits." + std::to_string(i) + ".";
    for (auto [name, t] : std::vector<std::pair<std::string, torch::Tensor>>{
             {"dense.weight", head->dense->weight}, {"dense.bias", head->dense->bias},
             {"classifier.weight", head->classifier->weight}, {"classifier.bias", head->classifier->bias}})
      copy_into(t, file.read_f32(pre + name, t.sizes().vec()));
  }
}

}  // namespace offramp::train
