// Threshold sweeps over recorded exit-head outputs: each input ran once to full depth with
// every head's logits kept (Classifier::trace_exits); any policy, threshold and temperature
// is then replayed offline with the engine's own exit rule (kernels::finish_exit, the function
// every backend's exit head calls) and cost function (models::ExitCosts), so the sweep
// predicts exactly what `classify` does at that setting, by construction.
#pragma once

#include <string>
#include <vector>

#include "engine/src/exit_policy.h"
#include "kernels/exit_head.h"
#include "offramp/offramp.h"

namespace offramp::engine {

struct SweepInput {
  int labels = 0;
  std::vector<int> exit_layers;             // [E] 1-based, increasing
  std::vector<kernels::Pooling> pooling;    // [E]
  int hidden = 0, ffn = 0;                  // for the FLOPs formula
  int projected_embedding = 0;              // e of a projected embedding (ELECTRA), else 0
  std::vector<float> temperatures;          // [E]
  std::vector<int> num_tokens;              // [N]
  std::vector<int> gold;                    // [N] label indices
  std::vector<float> logits;                // [N, E, labels] raw head logits
  size_t size() const { return gold.size(); }
};

// An empty replay input for a model: exits, pooling, temperatures and FLOPs shape from `info`.
SweepInput sweep_input_for(const ModelInfo& info);
// Appends one traced input (Classifier::trace_exits) with its gold label index.
void add_traced(SweepInput& in, const ExitTrace& trace, int gold);
// The inputs `rows` of `in` (in that order), with its exits, shape and temperatures.
SweepInput subset(const SweepInput& in, const std::vector<size_t>& rows);

struct SweepPoint {
  std::string kind;      // "dynamic", "static" (one exit used alone) or "full_depth"
  std::string policy;    // max_prob | entropy | patience (dynamic points)
  double threshold = 0;  // patience: k
  double accuracy = 0;   // fraction in [0, 1]
  double accuracy_low = -1, accuracy_high = -1;  // bootstrap interval (risk_control.h); -1 = none
  double macro_f1 = 0;
  double mean_flops = 0;          // per input
  double relative_flops = 0;      // sum of FLOPs / sum of full-depth FLOPs
  double mean_exit_layer = 0;
  std::vector<int> exit_histogram;  // inputs leaving at each exit [E]
  std::vector<int> predictions;     // [N] the label index each input gets (for risk control)
  std::vector<float> input_flops;   // [N] what each input cost (for the FLOPs interval)
  double relative_flops_low = -1, relative_flops_high = -1;  // bootstrap interval; -1 = none
  double ms_per_input_batch1 = -1, ms_per_input_batch32 = -1;  // measured, -1 = not measured
};

// Replays one setting. A threshold above 1 (MaxProb, Entropy) runs everything to the last exit.
SweepPoint simulate(const SweepInput& in, const PolicyParams& p);
// Each exit used alone as a truncated model (FLOPs: its layers and one head).
std::vector<SweepPoint> static_points(const SweepInput& in);
// The last exit alone: the reference "full depth" (relative FLOPs exactly 1).
SweepPoint full_depth_point(const SweepInput& in);
// The thresholds swept for a policy: MaxProb/Entropy a grid in [0, 1] that is finer near 1
// (where confident models put most inputs); Patience k = 0 .. E-1.
std::vector<double> sweep_thresholds(Policy policy, int exits);
std::vector<SweepPoint> sweep(const SweepInput& in, Policy policy);

// The cheapest point whose accuracy is at most max_drop_points (percentage points) below
// full depth; ties go to the more accurate. nullptr if none.
const SweepPoint* cheapest_within(const std::vector<const SweepPoint*>& points, double full_accuracy,
                                  double max_drop_points);
// The most accurate point with relative FLOPs <= budget; ties go to the cheaper. nullptr if none.
const SweepPoint* most_accurate_within(const std::vector<const SweepPoint*>& points, double budget);
// The same over a vector, as an index (-1 if none).
int choose_by_max_drop(const std::vector<SweepPoint>& points, double full_accuracy, double max_drop_points);
int choose_by_budget(const std::vector<SweepPoint>& points, double budget);

// The setting a point was swept at, to replay or run it: its policy and threshold, patience k
// or exit layer (static points and full depth: Static at their exit).
PolicyParams setting_of(const SweepPoint& p);

}  // namespace offramp::engine
