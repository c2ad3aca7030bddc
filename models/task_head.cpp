#include "models/task_head.h"
#include "models/model_file.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "models/model_error.h"
#include "models/safetensors.h"

namespace offramp::models {

namespace {

// config.json's id2label as a list in id order; HF writes the ids as strings ("0", "1", ...).
std::vector<std::string> read_labels(const std::string& path, size_t rows) {
  nlohmann::json j = read_model_json(path);
  std::vector<std::string> labels(rows);
  if (!j.contains("id2label") || !j["id2label"].is_object()) {
    for (size_t i = 0; i < rows; ++i) labels[i] = "LABEL_" + std::to_string(i);  // HF's default names
    return labels;
  }
  const auto& m = j["id2label"];
  if (m.size() != rows)
    throw ModelError(path + ": id2label has " + std::to_string(m.size()) + " labels but the classification head has " +
                     std::to_string(rows) + " rows");
  for (auto it = m.begin(); it != m.end(); ++it) {
    size_t id = rows;
    try {
      size_t used = 0;
      id = std::stoul(it.key(), &used);
      if (used != it.key().size()) id = rows;
    } catch (const std::exception&) {
    }
    if (id >= rows || !it.value().is_string() || !labels[id].empty())
      throw ModelError(path + ": id2label must map each id 0.." + std::to_string(rows - 1) +
                       " to one name (bad entry '" + it.key() + "')");
    labels[id] = it.value().get<std::string>();
  }
  if (std::set<std::string>(labels.begin(), labels.end()).size() != labels.size())
    throw ModelError(path + ": id2label has duplicate names");
  return labels;
}

}  // namespace

std::optional<TaskHead> load_task_head(const std::string& config_path, const SafetensorsFile& f,
                                       const BertConfig& c) {
  const TaskHeadNames& n = c.family->task_head;
  if (n.out_w.empty() || !f.has(n.out_w)) return std::nullopt;
  const std::string& safetensors_path = f.path();
  const int64_t h = c.hidden;
  const std::vector<int64_t> out_shape = f.tensors().at(n.out_w).shape;
  if (out_shape.size() != 2 || out_shape[1] != h || out_shape[0] < 2 || out_shape[0] > 100000)
    throw ModelError(safetensors_path + ": tensor '" + n.out_w + "' must be [labels >= 2, " + std::to_string(h) +
                     "], the " + c.family->name + " classification head");
  const int64_t labels = out_shape[0];
  TaskHead t;
  t.params.dense_w = f.read_f32(n.dense_w, {h, h});
  t.params.dense_b = f.read_f32(n.dense_b, {h});
  t.params.cls_w = f.read_f32(n.out_w, {labels, h});
  t.params.cls_b = f.read_f32(n.out_b, {labels});
  t.exit = {c.layers, kernels::Pooling::Cls, 1.0f, n.activation};
  t.labels = read_labels(config_path, static_cast<size_t>(labels));
  return t;
}

OfframpConfig offramp_config_for(const TaskHead& head) {
  OfframpConfig oc;
  oc.labels = head.labels;
  oc.exits = {head.exit};
  return oc;
}

}  // namespace offramp::models
