// The exit-head spec of an Offramp model directory:
//   offramp.json       format_version, labels, max_length, policy {name, threshold, patience},
//                      exits [{layer (1-based: after encoder layer `layer`), pooling, temperature}]
//   exits.safetensors  per exit i: exits.<i>.dense.{weight [h,h], bias [h]},
//                      exits.<i>.classifier.{weight [labels,h], bias [labels]}
#pragma once

#include <string>
#include <vector>

#include "kernels/exit_head.h"
#include "models/bert_config.h"

namespace offramp::models {

inline constexpr int kOfframpFormatVersion = 1;

struct ExitSpec {
  int layer = 0;  // 1-based: the head reads the output of encoder layer `layer`
  kernels::Pooling pooling = kernels::Pooling::Cls;
  float temperature = 1.0f;
  // After the dense layer: tanh for Offramp's heads; a Hugging Face classification head kept
  // as the final exit has its family's (models/task_head.h).
  kernels::Activation activation = kernels::Activation::Tanh;
};

struct ExitHeadParams {
  std::vector<float> dense_w, dense_b;  // [h, h], [h]
  std::vector<float> cls_w, cls_b;      // [labels, h], [labels]
};

struct OfframpConfig {
  int format_version = kOfframpFormatVersion;
  std::vector<std::string> labels;
  int max_length = 0;               // 0: the encoder's max_position
  std::string policy = "max_prob";  // max_prob | entropy | patience | static
  int exit_layer = 0;               // static: the exit every input leaves at
  // What `offramp calibrate --write` predicted for the stored setting (a JSON object, kept as
  // text and written back unchanged; empty when never calibrated): `offramp evaluate` shows it
  // beside what test data measures.
  std::string calibration;
  double threshold = 0.9;
  int patience = 2;
  std::vector<ExitSpec> exits;      // sorted by layer, unique layers
};

// Reads and validates offramp.json against the encoder config.
OfframpConfig load_offramp_config(const std::string& path, const BertConfig& cfg);
// Reads exits.safetensors for every exit of `oc`, checking shapes.
std::vector<ExitHeadParams> load_exit_heads(const std::string& path, const BertConfig& cfg,
                                            const OfframpConfig& oc);

// Writers (tests, fixtures, and later the trainer). Atomic: write then rename.
void save_offramp_config(const std::string& path, const OfframpConfig& oc);
void save_exit_heads(const std::string& path, const std::vector<ExitHeadParams>& heads, int hidden,
                     int labels);

const char* pooling_name(kernels::Pooling p);
// HF's name of an activation ("gelu", "gelu_new", "relu", "tanh"), and back (throws ModelError
// naming `where` for an unknown one).
const char* activation_name(kernels::Activation a);
kernels::Activation parse_activation(const std::string& name, const std::string& where);

}  // namespace offramp::models
