// Writing the trained model as an Offramp model directory (config.json, model.safetensors,
// tokenizer files, offramp.json, exits.safetensors) that `offramp classify` loads.
#pragma once

#include <string>

#include "models/exit_heads.h"
#include "tools/offramp-train/bert_module.h"

namespace offramp::train {

// config_json: the config.json the model was built from (copied verbatim so HF tools still
// read it); tokenizer_dir: where the tokenizer files are copied from. Each file is written
// to a temporary name and renamed, so an interrupted save leaves the previous files whole.
void save_model_dir(const std::string& out_dir, EarlyExitBert& model, const std::string& config_json,
                    const std::string& tokenizer_dir, const models::OfframpConfig& oc);

// Loads an Offramp model directory (config.json, model.safetensors, offramp.json,
// exits.safetensors) into the LibTorch model, e.g. for the PyTorch peer benchmark.
EarlyExitBert load_model_dir(const std::string& dir, models::OfframpConfig* oc_out = nullptr);

}  // namespace offramp::train
