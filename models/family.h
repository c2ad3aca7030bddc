// One description per model family: everything that differs between BERT-family checkpoints
// as data (tensor names, prefix, position offset, token types, activation and norm
// conventions, classification-head layout), read by the loader (models/bert_config.cpp), the
// trainer's LibTorch module, the test fixtures and, through the loaded weights, every backend.
// Adding a family means one more description here, plus kernels only where its math differs
// (docs/architecture.md, "Adding a model family").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace offramp::models {

// The encoder's tensors by role. Layer roles repeat once per layer.
enum class EncoderTensor {
  // embeddings
  Word, Position, TokenType, EmbNormGamma, EmbNormBeta,
  // per layer, in the order an HF checkpoint lists them
  QueryW, QueryB, KeyW, KeyB, ValueW, ValueB, AttnOutW, AttnOutB, AttnNormGamma, AttnNormBeta,
  FfnInW, FfnInB, FfnOutW, FfnOutB, FfnNormGamma, FfnNormBeta,
};
inline constexpr int kEmbeddingTensors = 5;   // Word .. EmbNormBeta
inline constexpr int kLayerTensors = 16;      // QueryW .. FfnNormBeta

struct FamilyDescription {
  std::string name;                      // "bert"
  std::vector<std::string> model_types;  // config.json model_type values it covers
  // Task checkpoints (e.g. BertForSequenceClassification) nest the encoder under this prefix;
  // a bare encoder has none. The loader accepts both.
  std::string task_prefix;
  // Checkpoint names per role, without the prefix; "{L}" stands for the layer index.
  std::string names[kEmbeddingTensors + kLayerTensors];
  // Position ids of a sequence of n tokens are position_offset + 0 .. n-1.
  int position_offset = 0;

  const std::string& name_of(EncoderTensor t) const { return names[static_cast<int>(t)]; }
};

// BERT's description: the default of a config built by hand.
const FamilyDescription& bert_family();
// The description for a config.json model_type; throws ModelError listing the supported ones.
const FamilyDescription& family_for_model_type(const std::string& model_type, const std::string& where);
// All families, for messages and for telling which family a checkpoint's tensors look like.
const std::vector<FamilyDescription>& families();
std::string supported_model_types();  // "bert" (comma-separated)

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
// in checkpoint order: what the loader reads, the trainer saves and the fixtures write.
std::vector<TensorSpec> encoder_tensors(const FamilyDescription& f, const BertConfig& c);

}  // namespace offramp::models
