// One description per model family: everything that differs between BERT-family checkpoints
// as data (tensor names, prefix, position offset, token types, activation and norm
// conventions, classification-head layout), read by the loader (models/bert_config.cpp), the
// trainer's LibTorch module, the test fixtures and, through the loaded weights, every backend.
// Adding a family means one more description here, plus kernels only where its math differs
// (docs/architecture.md, "Adding a model family").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/activation.h"

namespace offramp::models {

// The encoder's tensors by role. Layer roles repeat once per layer.
enum class EncoderTensor {
  // embeddings
  Word, Position, TokenType, EmbNormGamma, EmbNormBeta,
  // ELECTRA's embeddings_project [h, e] + [h], present when embedding_size e != hidden_size h
  EmbProjectW, EmbProjectB,
  // per layer, in the order an HF checkpoint lists them
  QueryW, QueryB, KeyW, KeyB, ValueW, ValueB, AttnOutW, AttnOutB, AttnNormGamma, AttnNormBeta,
  FfnInW, FfnInB, FfnOutW, FfnOutB, FfnNormGamma, FfnNormBeta,
};
inline constexpr int kEmbeddingTensors = 7;   // Word .. EmbProjectB
inline constexpr int kLayerTensors = 16;      // QueryW .. FfnNormBeta

// Where a family's config.json keeps each field (HF's names differ between families).
struct ConfigKeys {
  std::string hidden = "hidden_size", layers = "num_hidden_layers", heads = "num_attention_heads",
              ffn = "intermediate_size", activation = "hidden_act";
  std::string layer_norm_eps = "layer_norm_eps";  // empty: the family fixes it at 1e-12
  std::string type_vocab_size = "type_vocab_size";  // empty: the family has no token types
};

// How position ids are numbered.
enum class PositionIds {
  FromZero,      // 0 .. n-1 (BERT, DistilBERT, ELECTRA)
  AfterPadding,  // pad_token_id + 1 .. pad_token_id + n (RoBERTa, XLM-R: fairseq's numbering)
};

// The family's Hugging Face *ForSequenceClassification head, as the task checkpoint names it
// (full names, prefix included): [CLS] row -> dense [h, h] -> activation -> out [labels, h].
struct TaskHeadNames {
  std::string dense_w, dense_b, out_w, out_b;
  kernels::Activation activation = kernels::Activation::Tanh;
};

struct FamilyDescription {
  std::string name;                      // "bert"
  std::vector<std::string> model_types;  // config.json model_type values it covers
  std::string examples;                  // checkpoints it covers, for messages
  // Task checkpoints (e.g. BertForSequenceClassification) nest the encoder under this prefix;
  // a bare encoder has none. The loader accepts both.
  std::string task_prefix;
  ConfigKeys keys;
  // Checkpoint names per role, without the prefix; "{L}" stands for the layer index. An empty
  // name: the family has no such tensor (DistilBERT's token types).
  std::string names[kEmbeddingTensors + kLayerTensors];
  PositionIds positions = PositionIds::FromZero;
  TaskHeadNames task_head;

  const std::string& name_of(EncoderTensor t) const { return names[static_cast<int>(t)]; }
  bool has_token_types() const { return !name_of(EncoderTensor::TokenType).empty(); }
  // Whether embeddings narrower than the layers are projected up (embedding_size may differ).
  bool has_embedding_projection() const { return !name_of(EncoderTensor::EmbProjectW).empty(); }
};

// BERT's description: the default of a config built by hand.
const FamilyDescription& bert_family();
// The description for a config.json model_type; throws ModelError listing the supported ones.
const FamilyDescription& family_for_model_type(const std::string& model_type, const std::string& where);
// All families, for messages and for telling which family a checkpoint's tensors look like.
const std::vector<FamilyDescription>& families();
std::string supported_model_types();  // "bert, distilbert, ..." (comma-separated)
// The family whose word-embedding tensor `has` finds (with or without its task prefix), or
// null: tells a user which family a checkpoint's tensors look like.
const FamilyDescription* family_by_tensors(const std::function<bool(const std::string&)>& has);

// One tensor of an encoder: its role, layer (-1 for the embeddings), checkpoint name without
// the prefix, and shape.
struct TensorSpec {
  EncoderTensor role;
  int layer;
  std::string name;
  std::vector<int64_t> shape;
};

struct BertConfig;  // models/bert_config.h
// Every tensor of an encoder of this family and config, embeddings first, then layer by layer
// in checkpoint order: what the loader reads, the trainer saves and the fixtures write. A
// role the family lacks is left out.
std::vector<TensorSpec> encoder_tensors(const FamilyDescription& f, const BertConfig& c);

}  // namespace offramp::models
