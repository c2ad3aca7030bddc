// Writing the trained model as an Offramp model directory (config.json, model.safetensors,
// tokenizer files, offramp.json, exits.safetensors) that `offramp classify` loads.
#pragma once

#include <string>

#include "models/exit_heads.h"
#include "models/task_head.h"
#include "tools/offramp-train/bert_module.h"

namespace offramp::train {

// config_json: the config.json the model was built from (copied verbatim so HF tools still
// read it); tokenizer_dir: where the tokenizer files are copied from. Each file is written
// to a temporary name and renamed, so an interrupted save leaves the previous files whole.
// A checkpoint's own classification head kept as the final exit (--keep-head): the backbone is
// copied from `checkpoint` byte for byte instead of being written from the (frozen) module, and
// the head is appended after the trained ones; `oc` then lists its exit last.
struct KeptHead {
  models::TaskHead head;
  std::string checkpoint;  // the --init model.safetensors
};
void save_model_dir(const std::string& out_dir, EarlyExitBert& model, const std::string& config_json,
                    const std::string& tokenizer_dir, const models::OfframpConfig& oc,
                    const KeptHead* kept = nullptr);

// Loads an Offramp model directory (config.json, model.safetensors, offramp.json,
// exits.safetensors) into the LibTorch model, e.g. for the PyTorch peer benchmark.
EarlyExitBert load_model_dir(const std::string& dir, models::OfframpConfig* oc_out = nullptr);

}  // namespace offramp::train
