#include "models/bert_config.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "models/model_error.h"
#include "models/safetensors.h"

namespace offramp::models {

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ModelError(path + ": cannot open (missing or unreadable)");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw ModelError(path + ": not valid JSON: " + e.what());
  }
}

int positive_int(const nlohmann::json& j, const std::string& path, const char* key) {
  if (!j.contains(key)) throw ModelError(path + ": missing field '" + key + "'");
  if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0 || j[key].get<int64_t>() > (1 << 24))
    throw ModelError(path + ": field '" + key + "' must be a positive integer");
  return j[key].get<int>();
}

}  // namespace

BertConfig load_bert_config(const std::string& path) {
  const nlohmann::json j = read_json(path);
  if (!j.is_object()) throw ModelError(path + ": not a JSON object");
  BertConfig c;
  if (!j.contains("model_type") || !j["model_type"].is_string())
    throw ModelError(path + ": missing field 'model_type'");
  c.model_type = j["model_type"].get<std::string>();
  c.family = &family_for_model_type(c.model_type, path);
  c.vocab_size = positive_int(j, path, "vocab_size");
  c.hidden = positive_int(j, path, "hidden_size");
  c.layers = positive_int(j, path, "num_hidden_layers");
  c.heads = positive_int(j, path, "num_attention_heads");
  c.ffn = positive_int(j, path, "intermediate_size");
  c.max_position = positive_int(j, path, "max_position_embeddings");
  c.type_vocab_size = j.contains("type_vocab_size") ? positive_int(j, path, "type_vocab_size") : 2;
  if (c.hidden % c.heads != 0)
    throw ModelError(path + ": hidden_size " + std::to_string(c.hidden) +
                     " is not divisible by num_attention_heads " + std::to_string(c.heads));
  if (j.contains("layer_norm_eps")) {
    if (!j["layer_norm_eps"].is_number() || j["layer_norm_eps"].get<double>() <= 0)
      throw ModelError(path + ": field 'layer_norm_eps' must be a positive number");
    c.layer_norm_eps = j["layer_norm_eps"].get<float>();
  }
  c.hidden_act = j.value("hidden_act", std::string("gelu"));
  if (c.hidden_act == "gelu") {
    c.activation = kernels::Activation::GeluErf;
  } else if (c.hidden_act == "gelu_new" || c.hidden_act == "gelu_pytorch_tanh") {
    c.activation = kernels::Activation::GeluTanh;
  } else if (c.hidden_act == "relu") {
    c.activation = kernels::Activation::Relu;
  } else {
    throw ModelError(path + ": unsupported hidden_act '" + c.hidden_act +
                     "' (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)");
  }
  const std::string pos = j.value("position_embedding_type", std::string("absolute"));
  if (pos != "absolute")
    throw ModelError(path + ": unsupported position_embedding_type '" + pos + "' (only 'absolute')");
  return c;
}

BertWeights load_bert_weights(const std::string& path, const BertConfig& c) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  const FamilyDescription& fam = *c.family;
  const std::string& word = fam.name_of(EncoderTensor::Word);
  const std::string p = f.has(fam.task_prefix + word) ? fam.task_prefix : "";
  if (!f.has(p + word))
    throw ModelError(path + ": no tensor '" + word + "' (nor '" + fam.task_prefix + "'-prefixed): not a " +
                     fam.name + " checkpoint");
  BertWeights w;
  w.layers.resize(static_cast<size_t>(c.layers));
  for (const TensorSpec& t : encoder_tensors(fam, c)) {
    std::vector<float> v = f.read_f32(p + t.name, t.shape);
    w.parameter_count += v.size();
    std::vector<float>* dst = nullptr;
    BertLayerWeights* L = t.layer >= 0 ? &w.layers[static_cast<size_t>(t.layer)] : nullptr;
    using T = EncoderTensor;
    switch (t.role) {
      case T::Word: dst = &w.word; break;
      case T::Position: dst = &w.position; break;
      case T::TokenType: dst = &w.token_type; break;
      case T::EmbNormGamma: dst = &w.emb_ln_g; break;
      case T::EmbNormBeta: dst = &w.emb_ln_b; break;
      // Query, key and value stack into one [3h, h] matrix and [3h] bias (one GEMM), in
      // checkpoint order.
      case T::QueryW: case T::KeyW: case T::ValueW: dst = &L->qkv_w; break;
      case T::QueryB: case T::KeyB: case T::ValueB: dst = &L->qkv_b; break;
      case T::AttnOutW: dst = &L->attn_out_w; break;
      case T::AttnOutB: dst = &L->attn_out_b; break;
      case T::AttnNormGamma: dst = &L->ln1_g; break;
      case T::AttnNormBeta: dst = &L->ln1_b; break;
      case T::FfnInW: dst = &L->ffn_in_w; break;
      case T::FfnInB: dst = &L->ffn_in_b; break;
      case T::FfnOutW: dst = &L->ffn_out_w; break;
      case T::FfnOutB: dst = &L->ffn_out_b; break;
      case T::FfnNormGamma: dst = &L->ln2_g; break;
      case T::FfnNormBeta: dst = &L->ln2_b; break;
    }
    dst->insert(dst->end(), v.begin(), v.end());
  }
  return w;
}

}  // namespace offramp::models
