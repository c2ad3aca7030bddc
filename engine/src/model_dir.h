// Loading an Offramp model directory: an HF BERT-family checkpoint plus, optionally, the
// exit heads (offramp.json + exits.safetensors). See docs/architecture.md, "Model directory".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/src/cpu_weights.h"
#include "engine/src/tokenizer.h"
#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "models/quantized_file.h"

namespace offramp::engine {

struct ModelDir {
  std::string path;
  models::BertConfig config;
  models::BertWeights weights;
  models::OfframpConfig offramp;             // defaults (no exits, no labels) for a plain checkpoint
  std::vector<models::ExitHeadParams> heads;  // one per offramp.exits
  std::unique_ptr<Tokenizer> tokenizer;
  // The CPU backend's GEMM weights and word table at the loaded precision (prepare_cpu_weights,
  // run by Classifier::load; empty on the GPU and straight after load_model_dir).
  CpuWeights cpu;
  // What model.safetensors stores (models/quantized_file.h): the CPU's default precision.
  models::StoredPrecision stored = models::StoredPrecision::F32;
  // No offramp.json, and the checkpoint's own classification head (models/task_head.h) is
  // the one exit, after the last layer.
  bool task_head = false;
  bool has_exits() const { return !heads.empty(); }
};

// Throws std::runtime_error (models::ModelError for file problems) naming the file at fault.
// The weights come in the checkpoint's layout; a backend converts them to its own.
ModelDir load_model_dir(const std::string& path);

}  // namespace offramp::engine
