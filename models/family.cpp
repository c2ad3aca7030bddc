#include "models/family.h"

#include "models/bert_config.h"
#include "models/model_error.h"

namespace offramp::models {

namespace {

FamilyDescription bert() {
  FamilyDescription f;
  f.name = "bert";
  f.model_types = {"bert"};  // BERT, MiniLM and bge all say "bert" in HF
  f.task_prefix = "bert.";
  const char* names[] = {
      "embeddings.word_embeddings.weight",
      "embeddings.position_embeddings.weight",
      "embeddings.token_type_embeddings.weight",
      "embeddings.LayerNorm.weight",
      "embeddings.LayerNorm.bias",
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
  f.position_offset = 0;
  return f;
}

std::string with_layer(const std::string& pattern, int layer) {
  const auto at = pattern.find("{L}");
  return at == std::string::npos ? pattern : pattern.substr(0, at) + std::to_string(layer) + pattern.substr(at + 3);
}

}  // namespace

const std::vector<FamilyDescription>& families() {
  static const std::vector<FamilyDescription> all = {bert()};
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
  throw ModelError(where + ": unsupported architecture model_type='" + model_type +
                   "'; Offramp runs BERT-family encoders (supported model_type: " + supported_model_types() +
                   "; 'bert' covers BERT, MiniLM and bge)");
}

std::vector<TensorSpec> encoder_tensors(const FamilyDescription& f, const BertConfig& c) {
  using T = EncoderTensor;
  const int64_t h = c.hidden, ff = c.ffn;
  std::vector<TensorSpec> out;
  auto add = [&](T role, int layer, std::vector<int64_t> shape) {
    out.push_back({role, layer, with_layer(f.name_of(role), layer), std::move(shape)});
  };
  add(T::Word, -1, {c.vocab_size, h});
  add(T::Position, -1, {c.max_position, h});
  add(T::TokenType, -1, {c.type_vocab_size, h});
  add(T::EmbNormGamma, -1, {h});
  add(T::EmbNormBeta, -1, {h});
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
