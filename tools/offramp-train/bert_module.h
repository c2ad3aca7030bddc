// The BERT-family encoder with exit heads, in LibTorch, for training. Parameter names are the
// family's (models/family.h) so checkpoints load and save unchanged; the math is the engine's
// (post-LayerNorm layers, erf/tanh GELU or ReLU, heads: pool -> dense + tanh -> classifier).
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "models/safetensors.h"

namespace offramp::train {

struct BertLayerImpl : torch::nn::Module {
  BertLayerImpl(const models::BertConfig& c, double dropout);
  // x: [B, T, h]; mask_bias: [B, 1, 1, T] (0 for tokens, -1e9 for padding) -> [B, T, h]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias);

  int heads;
  kernels::Activation act;
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, attn_out{nullptr}, ffn_in{nullptr}, ffn_out{nullptr};
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(BertLayer);

struct ExitHeadImpl : torch::nn::Module {
  ExitHeadImpl(int hidden, int labels, kernels::Pooling pooling);
  // x: [B, T, h]; mask: [B, T] float (1 token, 0 padding) -> logits [B, labels]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

  kernels::Pooling pooling;
  torch::nn::Linear dense{nullptr}, classifier{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(ExitHead);

struct EarlyExitBertImpl : torch::nn::Module {
  EarlyExitBertImpl(const models::BertConfig& c, const std::vector<models::ExitSpec>& exits, int labels,
                    double dropout);
  // ids: [B, T] int64 (padding = 0); mask: [B, T] float -> logits per exit, each [B, labels]
  std::vector<torch::Tensor> forward(const torch::Tensor& ids, const torch::Tensor& mask);

  // HF-named encoder parameters ("embeddings.word_embeddings.weight", ...), for loading and
  // saving checkpoints, and the exit heads' parameters.
  std::vector<std::pair<std::string, torch::Tensor>> encoder_parameters();
  std::vector<torch::Tensor> head_parameters();
  // Standard BERT initialisation (normal(0, 0.02) weights, zero biases, unit LayerNorm).
  void init_weights();

  models::BertConfig config;
  std::vector<models::ExitSpec> exits;
  torch::nn::Embedding word{nullptr}, position{nullptr}, token_type{nullptr};
  torch::nn::LayerNorm emb_ln{nullptr};
  torch::nn::Linear emb_project{nullptr};  // only where embedding_size != hidden (ELECTRA)
  torch::nn::Dropout emb_drop{nullptr};
  torch::nn::ModuleList layers, heads;
};
TORCH_MODULE(EarlyExitBert);

// Copies an HF model.safetensors (with or without the family's task prefix) into the encoder.
void load_hf_weights(EarlyExitBert& model, const models::SafetensorsFile& file);
// Copies exits.safetensors into the heads (resume from an Offramp model directory).
void load_exit_weights(EarlyExitBert& model, const std::string& safetensors_path);

}  // namespace offramp::train
