#include "models/family.h"

#include "models/bert_config.h"
#include "models/model_error.h"

namespace offramp::models {

namespace {

// BERT's names; the other families that share its layout (RoBERTa, XLM-R, ELECTRA) differ
// only in prefix, positions and config.
FamilyDescription bert_layout() {
  FamilyDescription f;
  const char* names[] = {
      "embeddings.word_embeddings.weight",
      "embeddings.position_embeddings.weight",
      "embeddings.token_type_embeddings.weight",
      "embeddings.LayerNorm.weight",
      "embeddings.LayerNorm.bias",
      "",  // embeddings_project: ELECTRA only
      "",
      "encoder.layer.{L}.attention.self.query.weight",
      "encoder.layer.{L}.attention.self.query.bias",
      "encoder.layer.{L}.attention.self.key.weight",
      "encoder.layer.{L}.attention.self.key.bias",
      "encoder.layer.{L}.attention.self.value.weight",
      "encoder.layer.{L}.attention.self.value.bias",
      "encoder.layer.{L}.attention.output.dense.weight",
      "encoder.layer.{L}.attention.output.dense.bias",
      "encoder.layer.{L}.attention.output.LayerNorm.weight",
      "encoder.layer.{L}.attention.output.LayerNorm.bias",
      "encoder.layer.{L}.intermediate.dense.weight",
      "encoder.layer.{L}.intermediate.dense.bias",
      "encoder.layer.{L}.output.dense.weight",
      "encoder.layer.{L}.output.dense.bias",
      "encoder.layer.{L}.output.LayerNorm.weight",
      "encoder.layer.{L}.output.LayerNorm.bias",
  };
  for (int i = 0; i < kEmbeddingTensors + kLayerTensors; ++i) f.names[i] = names[i];
  return f;
}

FamilyDescription bert() {
  FamilyDescription f = bert_layout();
  f.name = "bert";
  f.model_types = {"bert"};
  f.examples = "BERT, MiniLM, bge";
  f.task_prefix = "bert.";
  // BertForSequenceClassification: the pooler (dense + tanh on [CLS]), then the classifier.
  f.task_head = {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias",
                 kernels::Activation::Tanh};
  return f;
}

FamilyDescription roberta() {
  FamilyDescription f = bert_layout();
  f.name = "roberta";
  f.model_types = {"roberta"};
  f.examples = "RoBERTa, DistilRoBERTa";
  f.task_prefix = "roberta.";
  f.positions = PositionIds::AfterPadding;
  f.task_head = {"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
                 "classifier.out_proj.bias", kernels::Activation::Tanh};
  return f;
}

FamilyDescription xlm_roberta() {
  FamilyDescription f = roberta();
  f.name = "xlm-roberta";
  f.model_types = {"xlm-roberta"};
  f.examples = "XLM-RoBERTa";
  return f;
}

FamilyDescription electra() {
  FamilyDescription f = bert_layout();
  f.name = "electra";
  f.model_types = {"electra"};
  f.examples = "ELECTRA discriminators";
  f.task_prefix = "electra.";
  // ELECTRA-small discriminators keep embeddings of embedding_size (128) below hidden_size (256).
  f.names[static_cast<int>(EncoderTensor::EmbProjectW)] = "embeddings_project.weight";
  f.names[static_cast<int>(EncoderTensor::EmbProjectB)] = "embeddings_project.bias";
  // ElectraClassificationHead: GELU (erf) where BERT has tanh.
  f.task_head = {"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
                 "classifier.out_proj.bias", kernels::Activation::GeluErf};
  return f;
}

FamilyDescription distilbert() {
  FamilyDescription f;
  f.name = "distilbert";
  f.model_types = {"distilbert"};
  f.examples = "DistilBERT";
  f.task_prefix = "distilbert.";
  f.keys.hidden = "dim", f.keys.layers = "n_layers", f.keys.heads = "n_heads";
  f.keys.ffn = "hidden_dim", f.keys.activation = "activation";
  f.keys.layer_norm_eps = "";   // nn.LayerNorm(eps=1e-12) in HF's DistilBERT
  f.keys.type_vocab_size = "";  // no token type embeddings
  // DistilBertForSequenceClassification: pre_classifier + ReLU, then the classifier.
  f.task_head = {"pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias",
                 kernels::Activation::Relu};
  const char* names[] = {
      "embeddings.word_embeddings.weight",
      "embeddings.position_embeddings.weight",
      "",
      "embeddings.LayerNorm.weight",
      "embeddings.LayerNorm.bias",
      "",
      "",
      "transformer.layer.{L}.attention.q_lin.weight",
      "transformer.layer.{L}.attention.q_lin.bias",
      "transformer.layer.{L}.attention.k_lin.weight",
      "transformer.layer.{L}.attention.k_lin.bias",
      "transformer.layer.{L}.attention.v_lin.weight",
      "transformer.layer.{L}.attention.v_lin.bias",
      "transformer.layer.{L}.attention.out_lin.weight",
      "transformer.layer.{L}.attention.out_lin.bias",
      "transformer.layer.{L}.sa_layer_norm.weight",
      "transformer.layer.{L}.sa_layer_norm.bias",
      "transformer.layer.{L}.ffn.lin1.weight",
      "transformer.layer.{L}.ffn.lin1.bias",
      "transformer.layer.{L}.ffn.lin2.weight",
      "transformer.layer.{L}.ffn.lin2.bias",
      "transformer.layer.{L}.output_layer_norm.weight",
      "transformer.layer.{L}.output_layer_norm.bias",
  };
  for (int i = 0; i < kEmbeddingTensors + kLayerTensors; ++i) f.names[i] = names[i];
  return f;
}

std::string with_layer(const std::string& pattern, int layer) {
  const auto at = pattern.find("{L}");
  return at == std::string::npos ? pattern : pattern.substr(0, at) + std::to_string(layer) + pattern.substr(at + 3);
}

}  // namespace

const std::vector<FamilyDescription>& families() {
  static const std::vector<FamilyDescription> all = {bert(), distilbert(), roberta(), xlm_roberta(),
                                                     electra()};
  return all;
}

const FamilyDescription& bert_family() { return families().front(); }

std::string supported_model_types() {
  std::string s;
  for (const auto& f : families())
    for (const auto& t : f.model_types) s += (s.empty() ? "" : ", ") + t;
  return s;
}

const FamilyDescription& family_for_model_type(const std::string& model_type, const std::string& where) {
  for (const auto& f : families())
    for (const auto& t : f.model_types)
      if (t == model_type) return f;
  std::string covers;
  for (const auto& f : families()) covers += (covers.empty() ? "" : "; ") + f.name + ": " + f.examples;
  throw ModelError(where + ": unsupported architecture model_type='" + model_type +
                   "'; Offramp runs BERT-family encoders (supported model_type: " + supported_model_types() +
                   " (" + covers + "))");
}

const FamilyDescription* family_by_tensors(const std::function<bool(const std::string&)>& has) {
  // The most specific name first: RoBERTa, XLM-R and ELECTRA share BERT's names and differ in
  // the prefix a task checkpoint gives them.
  for (const auto& f : families())
    if (has(f.task_prefix + f.name_of(EncoderTensor::Word))) return &f;
  for (const auto& f : families()) {
    const std::string& layer0 = f.name_of(EncoderTensor::QueryW);
    const std::string q = with_layer(layer0, 0);
    if (has(q) || has(f.task_prefix + q)) return &f;
  }
  return nullptr;
}

std::vector<TensorSpec> encoder_tensors(const FamilyDescription& f, const BertConfig& c) {
  using T = EncoderTensor;
  const int64_t h = c.hidden, ff = c.ffn, e = c.embedding_width();
  std::vector<TensorSpec> out;
  auto add = [&](T role, int layer, std::vector<int64_t> shape) {
    out.push_back({role, layer, with_layer(f.name_of(role), layer), std::move(shape)});
  };
  add(T::Word, -1, {c.vocab_size, e});
  add(T::Position, -1, {c.max_position, e});
  if (f.has_token_types()) add(T::TokenType, -1, {c.type_vocab_size, e});
  add(T::EmbNormGamma, -1, {e});
  add(T::EmbNormBeta, -1, {e});
  if (c.projects_embeddings()) {
    add(T::EmbProjectW, -1, {h, e});
    add(T::EmbProjectB, -1, {h});
  }
  for (int l = 0; l < c.layers; ++l) {
    for (T w : {T::QueryW, T::KeyW, T::ValueW}) {
      add(w, l, {h, h});
      add(static_cast<T>(static_cast<int>(w) + 1), l, {h});  // its bias
    }
    add(T::AttnOutW, l, {h, h});
    add(T::AttnOutB, l, {h});
    add(T::AttnNormGamma, l, {h});
    add(T::AttnNormBeta, l, {h});
    add(T::FfnInW, l, {ff, h});
    add(T::FfnInB, l, {ff});
    add(T::FfnOutW, l, {h, ff});
    add(T::FfnOutB, l, {h});
    add(T::FfnNormGamma, l, {h});
    add(T::FfnNormBeta, l, {h});
  }
  return out;
}

}  // namespace offramp::models
