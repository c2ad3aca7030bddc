// The steps of `offramp calibrate`, each a function that can run and be tested alone;
// cmd_calibrate.cpp runs them in this order on one traced dev set (traced.h):
//   fit_temperatures -> sweep_all -> choose -> time_points -> write_outputs -> store_in_model
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/src/risk_control.h"
#include "engine/src/sweep.h"
#include "offramp/offramp.h"
#include "tools/report/gpu_energy.h"
#include "tools/report/green_report.h"

namespace offramp::cli::calibration {

// One exit's temperature before (the model's) and after the fit, with what it did to the
// expected calibration error and the negative log-likelihood on dev.
struct TemperatureFit {
  int layer = 0;
  double before = 1, after = 1, ece_before = 0, ece_after = 0, nll_before = 0, nll_after = 0;
};
// Fits one temperature per exit on the recorded logits by minimising the NLL (or keeps the
// model's when `keep` is set) and stores them in in.temperatures, which the later steps replay.
std::vector<TemperatureFit> fit_temperatures(engine::SweepInput& in, bool keep);
void print_temperatures(const std::vector<TemperatureFit>& fits);

// Every policy's threshold sweep, the static exits and the full-depth reference, with bootstrap
// intervals of accuracy on every point (engine::bootstrap_accuracy).
struct Curves {
  engine::SweepPoint full;
  std::vector<engine::SweepPoint> statics;
  std::map<std::string, std::vector<engine::SweepPoint>> by_policy;  // max_prob, entropy, patience
  std::vector<int> gold;                                              // [N] the dev labels
  bool intervals = false;  // bootstrap intervals computed (then choose adds the chosen FLOPs')
};
// `policies`: whose sweeps to run (calibrate: all three; validate: the one chosen from).
Curves sweep_all(const engine::SweepInput& in, bool intervals = true,
                 const std::vector<Policy>& policies = {Policy::MaxProb, Policy::Entropy, Policy::Patience});

// How the point is chosen: the cheapest within max_drop accuracy points of full depth (on dev:
// a point estimate; with delta: Learn-then-Test, a statement about new data), or the most
// accurate within a FLOPs budget relative to full depth.
struct Criterion {
  std::optional<double> max_drop, budget, delta;  // max_drop or budget (neither = max_drop 1)
  engine::RiskBound bound = engine::RiskBound::Betting;  // with delta: the p-value (risk_control.h)
  std::string describe() const;                   // "--max-drop 1 --delta 0.1" / "--budget 0.5"
  nlohmann::json to_json() const;
};

// The setting chosen among the policy's sweep and the static exits, how, and what it promises.
struct Choice {
  engine::SweepPoint* point = nullptr;  // into Curves: a sweep point, a static exit or full depth
  Policy policy = Policy::MaxProb;            // what classify runs it with (Static for exits alone)
  std::string method;                         // "point estimate" or "Learn-then-Test"
  std::string statement;                      // what the choice guarantees, in words
  std::optional<engine::CertifiedChoice> certified;
  // The policy's own pick by the point estimate, and the static exits that are at least as
  // accurate at no more FLOPs on dev (then the adaptive curve is not worth it there).
  const engine::SweepPoint* adaptive = nullptr;
  std::vector<const engine::SweepPoint*> dominating;
};
// With intervals, also fills the chosen point's interval of relative FLOPs. Throws offramp::Error
// saying why when no point qualifies (budget, or max-drop on dev).
Choice choose(Curves& curves, const std::string& policy, const Criterion& c);
// What the choice predicts for new data, as offramp.json's "calibration" object (evaluate shows
// it beside test): setting, method and statement, dev accuracy and relative FLOPs with intervals.
nlohmann::json prediction_json(const Choice& choice, const Curves& curves, const std::string& dev, const Criterion& c);

// What classify() needs to reproduce a swept point (engine::setting_of: its policy and threshold,
// patience k or exit layer),
// and the full-depth baseline whatever policy the model stores (ClassifyOptions::full_depth).
ClassifyOptions point_options(const engine::SweepPoint& p, const ClassifyOptions& base);
ClassifyOptions full_depth_options(const ClassifyOptions& base);

// Measures ms per input at batch 1 (on a quarter of `texts`) and batch 32 for full depth and
// the curve points `timed`, filling their ms fields and the cost report's rows (energy too when
// the meter reads); without texts, the report gets the analytic rows of full depth and the
// chosen point only. `threads` is only reported.
struct TimingPlan {
  std::vector<std::string> texts;
  std::vector<engine::SweepPoint*> timed;       // besides full depth
  const engine::SweepPoint* chosen = nullptr;   // marked "(chosen)" in the report
  int threads = 0;
};
void time_points(const Classifier& clf, const TimingPlan& plan, const ClassifyOptions& base, engine::SweepPoint& full,
                 const report::EnergySource& meter, report::Report& green);
// The chosen point and the policy's curve points nearest 40% and 70% of full-depth FLOPs.
std::vector<engine::SweepPoint*> points_to_time(Curves& curves, const std::string& policy, const Choice& choice);

// sweep.csv, sweep.json, the cost report and (unless no_plot) accuracy_vs_flops.png/.svg in `out`,
// each written atomically after everything is computed.
struct Outputs {
  std::string model, dev, out, policy;
  std::vector<std::string> labels;
  std::vector<TemperatureFit> temperatures;
  const Curves* curves = nullptr;
  const Choice* choice = nullptr;
  Criterion criterion;
  size_t inputs = 0;
  std::vector<int> exit_layers;
  bool no_plot = false;
};
void write_outputs(const Outputs& o, const report::Report& green);

// --write: the fitted temperatures and the chosen policy with its threshold (or patience k) go
// into MODEL/offramp.json; everything else in it stays.
void store_in_model(const std::string& model_dir, const std::vector<float>& temperatures, Policy policy,
                    const engine::SweepPoint& pick, const nlohmann::json& prediction = nullptr);

}  // namespace offramp::cli::calibration
