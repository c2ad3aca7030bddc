// A Hugging Face *ForSequenceClassification checkpoint's own head, kept as the model's final
// exit: the family's head (models/family.h, TaskHeadNames) read from model.safetensors, labels
// from config.json's id2label. Full-depth predictions are then exactly the checkpoint's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "models/safetensors.h"

namespace offramp::models {

struct TaskHead {
  ExitSpec exit;            // after the last layer, [CLS] pooling, the family's activation
  ExitHeadParams params;    // dense [h, h] + [h], out [labels, h] + [labels]
  std::vector<std::string> labels;  // id2label in id order
};

// The head of the checkpoint `weights` whose config.json is `config_path`, or nothing
// when it has none (a bare encoder). Throws ModelError naming the file and tensor when the
// head is there but malformed (wrong shapes, labels that do not match its rows).
std::optional<TaskHead> load_task_head(const std::string& config_path, const SafetensorsFile& weights,
                                       const BertConfig& c);

// offramp.json's view of a model whose only exit is its task head: its labels, that one exit
// (the last head always decides, so the policy's threshold does not matter).
OfframpConfig offramp_config_for(const TaskHead& head);

}  // namespace offramp::models
