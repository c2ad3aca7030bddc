// The whole cost of a training run, written as OUT/train_report.md and .json (the Green-AI
// report of Schwartz, Dodge et al.: report what a result cost, not only its accuracy): the model
// and data, hyperparameters, tokens seen, analytic training FLOPs, wall clock, energy where
// the machine can measure it, an estimated CO2e, hardware, seed and versions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/exit_heads.h"
#include "models/flops.h"
#include "tools/offramp-train/trainer.h"

namespace offramp::train {

// Counted while training (trainer.cpp).
struct TrainCost {
  int64_t examples_seen = 0, tokens_seen = 0;  // training steps' examples and their real tokens
  double train_forward_flops = 0;              // the training steps' forward passes
  double train_heads_forward_flops = 0;        // of which the exit heads'
  double eval_forward_flops = 0;               // dev evaluations (forward only)
  double seconds = 0;                          // wall clock of the whole run
  std::optional<double> joules;                // measured (RAPL) over the run
  std::string energy_note;                     // how it was measured, or why not
};

// Forward FLOPs of one example of n tokens through every layer and every exit head (the
// models/flops.h formula); `heads` gets the heads' part.
double example_forward_flops(const models::FlopsShape& s, int layers, const std::vector<models::ExitSpec>& exits,
                             int n_tokens, double* heads = nullptr);

// Training FLOPs: forward plus backward, the backward pass costing twice the forward of what it
// runs through (Kaplan et al. 2020: 6 FLOPs per parameter and token, 2 forward + 4 backward).
// A frozen backbone (--freeze-backbone, --keep-head) runs backward through the heads only.
// Dev evaluations add their forward passes.
double training_flops(const TrainCost& c, bool backbone_trained);

struct ReportFacts {
  std::string model_type;
  int64_t parameters = 0, trainable_parameters = 0;
  size_t train_examples = 0, dev_examples = 0;
  int64_t train_tokens = 0;  // per epoch
  int best_epoch = -1;
  double best_dev_score = 0;
  std::string select;
};

// Writes OUT/train_report.md and OUT/train_report.json. CO2e = energy x grid intensity
// (o.grid_intensity g CO2e per kWh); without a measurement, energy is estimated from
// o.assumed_watts when given, else CO2e is "not estimated" with the reason.
void write_train_report(const TrainOptions& o, const ReportFacts& f, const TrainCost& c);

}  // namespace offramp::train
