// The BERT-family encoder spec: HF config.json fields, and the weights as every backend
// receives them. What differs between families (tensor names, prefix, position offset) is
// the family's description (models/family.h).
#pragma once

#include <string>
#include <vector>

#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "models/family.h"

namespace offramp::models {

struct BertConfig {
  std::string model_type;       // "bert" (MiniLM, BERT, bge are all "bert" in HF)
  const FamilyDescription* family = &bert_family();  // from model_type
  int vocab_size = 0;
  int hidden = 0;               // h
  int embedding_size = 0;       // e: ELECTRA's embedding_size; 0 means h (no projection)
  int layers = 0;
  int heads = 0;
  int ffn = 0;                  // intermediate size f
  int max_position = 0;
  int type_vocab_size = 0;      // 0: the family has no token types (DistilBERT)
  float layer_norm_eps = 1e-12f;
  std::string hidden_act;       // "gelu", "gelu_new", "gelu_pytorch_tanh", "relu"
  kernels::Activation activation = kernels::Activation::GeluErf;

  int head_dim() const { return hidden / heads; }
  int embedding_width() const { return embedding_size > 0 ? embedding_size : hidden; }
  bool projects_embeddings() const { return embedding_width() != hidden; }
  // Position ids of a sequence start here (the family's convention, PositionIds).
  int position_offset = 0;
  // The longest input the position embeddings allow.
  int max_tokens() const { return max_position - position_offset; }
};

// Parses and validates an HF config.json. Throws ModelError naming the file and field.
BertConfig load_bert_config(const std::string& path);

// Encoder weights in fp32, as the CPU kernels consume them.
struct BertLayerWeights {
  std::vector<float> qkv_w;  // [3h, h]: query, key and value weights stacked (one GEMM)
  std::vector<float> qkv_b;  // [3h]
  std::vector<float> attn_out_w, attn_out_b;  // [h, h], [h]
  std::vector<float> ln1_g, ln1_b;            // [h]
  std::vector<float> ffn_in_w, ffn_in_b;      // [f, h], [f]
  std::vector<float> ffn_out_w, ffn_out_b;    // [h, f], [h]
  std::vector<float> ln2_g, ln2_b;            // [h]
};

struct BertWeights {
  std::vector<float> word;       // [vocab, e]  (e = embedding_width(), h for all but ELECTRA-small)
  std::vector<float> position;   // [max_position, e]
  std::vector<float> token_type; // [type_vocab, e]
  std::vector<float> emb_ln_g, emb_ln_b;  // [e]
  // ELECTRA's embeddings_project, when e != h: [h, e] (NK as loaded; layout below), [h].
  std::vector<float> emb_project_w, emb_project_b;
  std::vector<BertLayerWeights> layers;
  // Of the layers' four weight matrices: the checkpoint's NK as loaded; each backend stores
  // them as its GEMMs want (the CPU: engine::use_cpu_weight_layout; the GPU uploads NK).
  kernels::WeightLayout layout = kernels::WeightLayout::NK;
  size_t parameter_count = 0;    // encoder parameters as stored in the checkpoint
};

// Loads model.safetensors (the family's names, with or without its task prefix such as
// "bert."), checking every shape against `cfg`.
BertWeights load_bert_weights(const std::string& path, const BertConfig& cfg);
class SafetensorsFile;  // models/safetensors.h
BertWeights load_bert_weights(const SafetensorsFile& file, const BertConfig& cfg);

}  // namespace offramp::models
