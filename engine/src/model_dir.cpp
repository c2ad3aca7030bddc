#include "engine/src/model_dir.h"

#include <filesystem>

#include "models/model_error.h"
#include "models/safetensors.h"
#include "models/task_head.h"

namespace offramp::engine {

namespace fs = std::filesystem;

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
  const models::SafetensorsFile weights = models::SafetensorsFile::open((dir / "model.safetensors").string());
  if (has_json) {
    m.offramp = models::load_offramp_config((dir / "offramp.json").string(), m.config);
    m.heads = models::load_exit_heads((dir / "exits.safetensors").string(), m.config, m.offramp);
  } else if (auto head = models::load_task_head((dir / "config.json").string(), weights, m.config)) {
    // A *ForSequenceClassification checkpoint: its own head is the (only, final) exit.
    m.offramp = models::offramp_config_for(*head);
    m.heads = {std::move(head->params)};
    m.task_head = true;
  }
  m.stored = models::stored_precision(weights);
  m.weights = models::load_bert_weights(weights, m.config);
  return m;
}

}  // namespace offramp::engine
