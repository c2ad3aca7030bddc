#include "engine/src/model_dir.h"

#include <filesystem>

#include "kernels/gemm.h"
#include "models/model_error.h"

namespace offramp::engine {

namespace fs = std::filesystem;

namespace {

// Stores the layers' weight matrices ([n, k] in the checkpoint) in the GEMM's preferred
// layout, once, so no request pays for a transposition.
void set_weight_layout(models::BertWeights& w, const models::BertConfig& c, kernels::WeightLayout layout) {
  if (w.layout == layout || layout != kernels::WeightLayout::KN) return;
  for (auto& L : w.layers) {
    L.qkv_w = kernels::transpose(L.qkv_w, 3 * c.hidden, c.hidden);
    L.attn_out_w = kernels::transpose(L.attn_out_w, c.hidden, c.hidden);
    L.ffn_in_w = kernels::transpose(L.ffn_in_w, c.ffn, c.hidden);
    L.ffn_out_w = kernels::transpose(L.ffn_out_w, c.hidden, c.ffn);
  }
  w.layout = layout;
}

}  // namespace

ModelDir load_model_dir(const std::string& path) {
  const fs::path dir(path);
  if (!fs::exists(dir)) throw models::ModelError(path + ": no such model directory");
  if (!fs::is_directory(dir)) throw models::ModelError(path + ": not a directory (give the model directory)");
  for (const char* f : {"config.json", "model.safetensors"})
    if (!fs::exists(dir / f))
      throw models::ModelError((dir / f).string() + ": missing; a model directory holds an HF checkpoint "
                               "(config.json, model.safetensors, vocab.txt or spiece.model)");
  ModelDir m;
  m.path = path;
  m.config = models::load_bert_config((dir / "config.json").string());
  m.tokenizer = load_tokenizer(path);
  if (m.tokenizer->vocab_size() > m.config.vocab_size)
    throw models::ModelError(path + ": the tokenizer has " + std::to_string(m.tokenizer->vocab_size()) +
                             " tokens but config.json vocab_size is " + std::to_string(m.config.vocab_size));
  const bool has_json = fs::exists(dir / "offramp.json"), has_heads = fs::exists(dir / "exits.safetensors");
  if (has_json != has_heads)
    throw models::ModelError((dir / (has_json ? "exits.safetensors" : "offramp.json")).string() +
                             ": missing; exit heads need both offramp.json and exits.safetensors");
  m.offramp.exits.clear();
  if (has_json) {
    m.offramp = models::load_offramp_config((dir / "offramp.json").string(), m.config);
    m.heads = models::load_exit_heads((dir / "exits.safetensors").string(), m.config, m.offramp);
  }
  m.weights = models::load_bert_weights((dir / "model.safetensors").string(), m.config);
  set_weight_layout(m.weights, m.config, kernels::preferred_weight_layout(kernels::Device::Cpu));
  return m;
}

}  // namespace offramp::engine
