#include "models/exit_heads.h"
#include "models/model_file.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "models/model_error.h"
#include "models/safetensors.h"

namespace offramp::models {

const char* pooling_name(kernels::Pooling p) { return p == kernels::Pooling::Cls ? "cls" : "mean"; }

const char* activation_name(kernels::Activation a) {
  switch (a) {
    case kernels::Activation::GeluErf: return "gelu";
    case kernels::Activation::GeluTanh: return "gelu_new";
    case kernels::Activation::Relu: return "relu";
    case kernels::Activation::Tanh: return "tanh";
  }
  return "?";
}

kernels::Activation parse_activation(const std::string& name, const std::string& where) {
  if (name == "gelu") return kernels::Activation::GeluErf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return kernels::Activation::GeluTanh;
  if (name == "relu") return kernels::Activation::Relu;
  if (name == "tanh") return kernels::Activation::Tanh;
  throw ModelError(where + ": unsupported activation '" + name + "' (supported: gelu, gelu_new, gelu_pytorch_tanh, relu, tanh)");
}

OfframpConfig load_offramp_config(const std::string& path, const BertConfig& cfg) {
  nlohmann::json j = read_model_json(path);
  auto bad = [&](const std::string& what) { return ModelError(path + ": " + what); };
  try {
    OfframpConfig oc;
    if (!j.is_object()) throw bad("not a JSON object");
    if (!j.contains("format_version")) throw bad("missing field 'format_version'");
    oc.format_version = json_int(j["format_version"], 0, 1 << 20, path + ": format_version");
    if (oc.format_version != kOfframpFormatVersion)
      throw bad("format_version " + std::to_string(oc.format_version) + " is not supported (this build reads " +
                std::to_string(kOfframpFormatVersion) + ")");
    if (!j.contains("labels") || !j["labels"].is_array() || j["labels"].size() < 2)
      throw bad("'labels' must list at least two class names");
    for (const auto& l : j["labels"]) {
      if (!l.is_string() || l.get<std::string>().empty())
        throw bad("'labels' must be non-empty strings (got " + l.dump() + ")");
      oc.labels.push_back(l.get<std::string>());
    }
    if (std::set<std::string>(oc.labels.begin(), oc.labels.end()).size() != oc.labels.size())
      throw bad("'labels' has duplicates");
    oc.max_length = j.contains("max_length") ? json_int(j["max_length"], 0, cfg.max_tokens(), path + ": max_length") : 0;
    if (oc.max_length == 1)
      throw bad("max_length " + std::to_string(oc.max_length) + " must be 0 (model maximum) or 2.." +
                std::to_string(cfg.max_tokens()));
    if (j.contains("policy")) {
      const auto& p = j["policy"];
      if (!p.is_object()) throw bad("'policy' must be an object (name, threshold, patience)");
      oc.policy = json_string(p, "name", oc.policy, path + ": policy.name");
      oc.threshold = json_number(p, "threshold", oc.threshold, path + ": policy.threshold");
      if (p.contains("patience")) oc.patience = json_int(p["patience"], 0, 1 << 20, path + ": policy.patience");
      if (p.contains("exit_layer")) oc.exit_layer = json_int(p["exit_layer"], 1, cfg.layers, path + ": policy.exit_layer");
    }
    if (oc.policy != "max_prob" && oc.policy != "entropy" && oc.policy != "patience" && oc.policy != "static")
      throw bad("unknown policy '" + oc.policy + "' (max_prob, entropy, patience or static)");
    if (oc.patience < 0) throw bad("policy.patience must be >= 0");
    if (!(oc.threshold >= 0.0)) throw bad("policy.threshold must be >= 0 (got " + std::to_string(oc.threshold) + ")");
    if (j.contains("calibration")) {
      if (!j["calibration"].is_object()) throw bad("'calibration' must be an object (written by offramp calibrate --write)");
      oc.calibration = j["calibration"].dump();
    }
    if (!j.contains("exits") || !j["exits"].is_array()) throw bad("missing array 'exits'");
    int prev = 0;
    for (const auto& e : j["exits"]) {
      ExitSpec s;
      if (!e.is_object() || !e.contains("layer")) throw bad("each exit needs a 'layer'");
      s.layer = json_int(e["layer"], 1, cfg.layers, path + ": exit layer");
      if (s.layer <= prev || s.layer > cfg.layers)
        throw bad("exit layers must increase and lie in 1.." + std::to_string(cfg.layers) + " (got " +
                  std::to_string(s.layer) + ")");
      prev = s.layer;
      const std::string at = path + ": exit at layer " + std::to_string(s.layer);
      const std::string pool = json_string(e, "pooling", "cls", at + ": pooling");
      if (pool == "cls") s.pooling = kernels::Pooling::Cls;
      else if (pool == "mean") s.pooling = kernels::Pooling::Mean;
      else throw bad("exit at layer " + std::to_string(s.layer) + ": unknown pooling '" + pool + "' (cls or mean)");
      const double temperature = json_number(e, "temperature", 1.0, at + ": temperature");  // checked before narrowing
      if (!(temperature > 0.0) || temperature > 1e4)
        throw bad("exit at layer " + std::to_string(s.layer) + ": temperature must be in (0, 1e4]");
      s.temperature = static_cast<float>(temperature);
      if (e.contains("activation"))
        s.activation = parse_activation(json_string(e, "activation", "", at + ": activation"), at);
      oc.exits.push_back(s);
    }
    if (oc.policy == "static" &&
        std::none_of(oc.exits.begin(), oc.exits.end(), [&](const ExitSpec& s) { return s.layer == oc.exit_layer; }))
      throw bad("policy 'static' needs policy.exit_layer, one of the exits' layers (got " + std::to_string(oc.exit_layer) + ")");
    return oc;
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("malformed field: ") + e.what());
  }
}

std::vector<ExitHeadParams> load_exit_heads(const std::string& path, const BertConfig& cfg,
                                            const OfframpConfig& oc) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  const int64_t h = cfg.hidden, c = static_cast<int64_t>(oc.labels.size());
  std::vector<ExitHeadParams> heads;
  for (size_t i = 0; i < oc.exits.size(); ++i) {
    const std::string p = "exits." + std::to_string(i) + ".";
    ExitHeadParams e;
    e.dense_w = f.read_f32(p + "dense.weight", {h, h});
    e.dense_b = f.read_f32(p + "dense.bias", {h});
    e.cls_w = f.read_f32(p + "classifier.weight", {c, h});
    e.cls_b = f.read_f32(p + "classifier.bias", {c});
    heads.push_back(std::move(e));
  }
  return heads;
}

void save_offramp_config(const std::string& path, const OfframpConfig& oc) {
  nlohmann::json j;
  j["format_version"] = oc.format_version;
  j["labels"] = oc.labels;
  j["max_length"] = oc.max_length;
  j["policy"] = {{"name", oc.policy}, {"threshold", oc.threshold}, {"patience", oc.patience}};
  if (oc.policy == "static") j["policy"]["exit_layer"] = oc.exit_layer;
  if (!oc.calibration.empty()) j["calibration"] = nlohmann::json::parse(oc.calibration);
  j["exits"] = nlohmann::json::array();
  for (const auto& e : oc.exits) {
    nlohmann::json x = {{"layer", e.layer}, {"pooling", pooling_name(e.pooling)}, {"temperature", e.temperature}};
    if (e.activation != kernels::Activation::Tanh) x["activation"] = activation_name(e.activation);
    j["exits"].push_back(x);
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw ModelError(path + ": cannot write (directory missing or not writable)");
    out << j.dump(2) << "\n";
    if (!out) throw ModelError(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw ModelError(path + ": cannot rename " + tmp);
}

void save_exit_heads(const std::string& path, const std::vector<ExitHeadParams>& heads, int hidden,
                     int labels) {
  std::vector<NamedTensor> t;
  const int64_t h = hidden, c = labels;
  for (size_t i = 0; i < heads.size(); ++i) {
    const std::string p = "exits." + std::to_string(i) + ".";
    t.push_back({p + "dense.weight", {h, h}, heads[i].dense_w});
    t.push_back({p + "dense.bias", {h}, heads[i].dense_b});
    t.push_back({p + "classifier.weight", {c, h}, heads[i].cls_w});
    t.push_back({p + "classifier.bias", {c}, heads[i].cls_b});
  }
  write_safetensors(path, t);
}

}  // namespace offramp::models
