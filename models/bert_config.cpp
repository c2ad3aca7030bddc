#include "models/bert_config.h"
#include "models/model_file.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "models/exit_heads.h"
#include "models/model_error.h"
#include "models/safetensors.h"

namespace offramp::models {

namespace {

int positive_int(const nlohmann::json& j, const std::string& path, const char* key) {
  if (!j.contains(key)) throw ModelError(path + ": missing field '" + key + "'");
  return json_int(j[key], 1, 1 << 24, path + ": field '" + key + "'");
}

}  // namespace

BertConfig load_bert_config(const std::string& path) {
  const nlohmann::json j = read_model_json(path);
  if (!j.is_object()) throw ModelError(path + ": not a JSON object");
  BertConfig c;
  if (!j.contains("model_type") || !j["model_type"].is_string())
    throw ModelError(path + ": missing field 'model_type'");
  c.model_type = j["model_type"].get<std::string>();
  c.family = &family_for_model_type(c.model_type, path);
  const ConfigKeys& k = c.family->keys;
  c.vocab_size = positive_int(j, path, "vocab_size");
  c.hidden = positive_int(j, path, k.hidden.c_str());
  c.layers = positive_int(j, path, k.layers.c_str());
  c.heads = positive_int(j, path, k.heads.c_str());
  c.ffn = positive_int(j, path, k.ffn.c_str());
  c.max_position = positive_int(j, path, "max_position_embeddings");
  if (k.type_vocab_size.empty())
    c.type_vocab_size = 0;  // the family has no token type embeddings
  else
    c.type_vocab_size = j.contains(k.type_vocab_size) ? positive_int(j, path, k.type_vocab_size.c_str()) : 2;
  if (c.hidden % c.heads != 0)
    throw ModelError(path + ": " + k.hidden + " " + std::to_string(c.hidden) + " is not divisible by " + k.heads +
                     " " + std::to_string(c.heads));
  if (!k.layer_norm_eps.empty() && j.contains(k.layer_norm_eps)) {
    if (!j[k.layer_norm_eps].is_number() || j[k.layer_norm_eps].get<double>() <= 0)
      throw ModelError(path + ": field '" + k.layer_norm_eps + "' must be a positive number");
    c.layer_norm_eps = j[k.layer_norm_eps].get<float>();
  }
  if (c.family->positions == PositionIds::AfterPadding) {
    // fairseq numbering (HF create_position_ids_from_input_ids): a sequence's positions start
    // after the padding index, so position ids reach pad_token_id + max_length.
    const int pad = j.contains("pad_token_id")
                        ? json_int(j["pad_token_id"], 0, c.max_position - 2, path + ": field 'pad_token_id'")
                        : 1;
    c.position_offset = pad + 1;
  }
  if (j.contains("embedding_size")) {
    c.embedding_size = json_int(j["embedding_size"], 1, 1 << 16, path + ": field 'embedding_size'");
    if (c.embedding_size != c.hidden && !c.family->has_embedding_projection())
      throw ModelError(path + ": embedding_size " + std::to_string(c.embedding_size) + " differs from " + k.hidden +
                       " " + std::to_string(c.hidden) + ", which only ELECTRA's embeddings_project allows, not " +
                       c.family->name);
  }
  c.hidden_act = json_string(j, k.activation, "gelu", path + ": field '" + k.activation + "'");
  c.activation = parse_activation(c.hidden_act, path + ": field '" + k.activation + "'");
  if (c.activation == kernels::Activation::Tanh)
    throw ModelError(path + ": unsupported " + k.activation + " 'tanh' (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)");
  const std::string pos =
      json_string(j, "position_embedding_type", "absolute", path + ": field 'position_embedding_type'");
  if (pos != "absolute")
    throw ModelError(path + ": unsupported position_embedding_type '" + pos + "' (only 'absolute')");
  return c;
}

BertWeights load_bert_weights(const std::string& path, const BertConfig& c) {
  return load_bert_weights(SafetensorsFile::open(path), c);
}

BertWeights load_bert_weights(const SafetensorsFile& f, const BertConfig& c) {
  const std::string& path = f.path();
  const FamilyDescription& fam = *c.family;
  const std::string& word = fam.name_of(EncoderTensor::Word);
  const std::string p = f.has(fam.task_prefix + word) ? fam.task_prefix : "";
  // The word embeddings and the first layer's query weights tell the family apart (DistilBERT
  // shares BERT's embedding names, not its layer names).
  const std::vector<TensorSpec> tensors = encoder_tensors(fam, c);
  std::string query0;
  for (const TensorSpec& t : tensors)
    if (t.role == EncoderTensor::QueryW) {
      query0 = t.name;
      break;
    }
  // Only a checkpoint that lacks the family's first tensors is searched for its family.
  const FamilyDescription* other =
      f.has(p + word) && f.has(p + query0) ? nullptr : family_by_tensors([&](const std::string& n) { return f.has(n); });
  if (!f.has(p + word) || (other && other != &fam)) {
    // Name the family the tensors belong to; other problems (a missing later tensor, a wrong
    // dtype or shape) are reported by the reads below, tensor by tensor.
    throw ModelError(path + ": no tensor '" + (f.has(p + word) ? query0 : word) + "' (nor '" + fam.task_prefix +
                     "'-prefixed): not a " + fam.name + " checkpoint, as config.json's model_type says" +
                     (other && other != &fam ? "; its tensors look like a " + other->name +
                                                   " checkpoint (model_type '" + other->model_types.front() + "')"
                                             : ""));
  }
  BertWeights w;
  w.layers.resize(static_cast<size_t>(c.layers));
  // A family without token types (DistilBERT) adds nothing: one row of zeros keeps the
  // embedding sum, exactly, the same for every backend.
  if (!fam.has_token_types()) w.token_type.assign(static_cast<size_t>(c.embedding_width()), 0.0f);
  for (const TensorSpec& t : tensors) {
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
      case T::EmbProjectW: dst = &w.emb_project_w; break;
      case T::EmbProjectB: dst = &w.emb_project_b; break;
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
