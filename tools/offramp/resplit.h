// Does a calibrated choice hold off the dev set? Calibrate-then-evaluate repeated over random
// dev/test re-splits of one labelled set, replayed from its recorded head outputs (one
// trace_exits pass, no engine re-run): per split, calibrate's steps on the dev half (temperatures,
// sweep, choice by the point estimate and by Learn-then-Test), then the chosen setting replayed on
// the test half with the dev temperatures. A split violates the promise when the test accuracy
// falls more than --max-drop points below test full depth.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/src/risk_control.h"
#include "engine/src/sweep.h"

namespace offramp::cli::calibration {

struct ResplitOptions {
  int splits = 100;
  double dev_fraction = 0.5;
  double max_drop = 1.0;  // accuracy points
  double delta = 0.1;
  engine::RiskBound bound = engine::RiskBound::Betting;
  std::string policy = "max_prob";
  uint64_t seed = 1;
};

// One method's record over the splits.
struct MethodRecord {
  std::string method;                // "point estimate" / "Learn-then-Test"
  int violations = 0;                // splits whose test drop exceeded max_drop
  int full_depth = 0;                // splits where the method fell back to full depth
  double mean_test_drop = 0;         // points, test full depth minus test accuracy
  double mean_relative_flops = 0;    // on test
  std::vector<std::string> settings; // the setting chosen per split
  double violation_rate(int splits) const { return splits ? static_cast<double>(violations) / splits : 0; }
};

struct ResplitResult {
  ResplitOptions options;
  int inputs = 0, dev_inputs = 0;
  MethodRecord point, guaranteed;
};

ResplitResult validate_by_resplits(const engine::SweepInput& all, const ResplitOptions& o);

}  // namespace offramp::cli::calibration
