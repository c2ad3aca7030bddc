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
  if (c.model_type != "bert")
    throw ModelError(path + ": unsupported architecture model_type='" + c.model_type +
                     "'; Offramp runs BERT-family encoders (model_type 'bert': BERT, MiniLM, bge)");
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
  // Task checkpoints (BertForSequenceClassification) prefix the encoder with "bert.".
  const std::string p = f.has("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  if (!f.has(p + "embeddings.word_embeddings.weight"))
    throw ModelError(path + ": no tensor 'embeddings.word_embeddings.weight' (nor 'bert.'-prefixed): not a BERT checkpoint");
  const int64_t h = c.hidden, ff = c.ffn;
  BertWeights w;
  auto get = [&](const std::string& name, std::vector<int64_t> shape) {
    auto v = f.read_f32(p + name, shape);
    w.parameter_count += v.size();
    return v;
  };
  w.word = get("embeddings.word_embeddings.weight", {c.vocab_size, h});
  w.position = get("embeddings.position_embeddings.weight", {c.max_position, h});
  w.token_type = get("embeddings.token_type_embeddings.weight", {c.type_vocab_size, h});
  w.emb_ln_g = get("embeddings.LayerNorm.weight", {h});
  w.emb_ln_b = get("embeddings.LayerNorm.bias", {h});
  for (int l = 0; l < c.layers; ++l) {
    const std::string L = "encoder.layer." + std::to_string(l) + ".";
    BertLayerWeights lw;
    for (const char* part : {"query", "key", "value"}) {
      auto wt = get(L + "attention.self." + part + ".weight", {h, h});
      auto bs = get(L + "attention.self." + part + ".bias", {h});
      lw.qkv_w.insert(lw.qkv_w.end(), wt.begin(), wt.end());
      lw.qkv_b.insert(lw.qkv_b.end(), bs.begin(), bs.end());
    }
    lw.attn_out_w = get(L + "attention.output.dense.weight", {h, h});
    lw.attn_out_b = get(L + "attention.output.dense.bias", {h});
    lw.ln1_g = get(L + "attention.output.LayerNorm.weight", {h});
    lw.ln1_b = get(L + "attention.output.LayerNorm.bias", {h});
    lw.ffn_in_w = get(L + "intermediate.dense.weight", {ff, h});
    lw.ffn_in_b = get(L + "intermediate.dense.bias", {ff});
    lw.ffn_out_w = get(L + "output.dense.weight", {h, ff});
    lw.ffn_out_b = get(L + "output.dense.bias", {h});
    lw.ln2_g = get(L + "output.LayerNorm.weight", {h});
    lw.ln2_b = get(L + "output.LayerNorm.bias", {h});
    w.layers.push_back(std::move(lw));
  }
  return w;
}

}  // namespace offramp::models
