// Exit settings chosen with a statement about new data, and the uncertainty of a dev-set curve.
//
// Learn-then-Test (Angelopoulos, Bates, Candès, Jordan, Lei 2021), the way CALM (Schuster et
// al. 2022) calibrates its exits:
//   loss of a setting on input i = 1 when its prediction is wrong where full depth's is right.
//   Accuracy drop against full depth = P(full right, early wrong) - P(full wrong, early right)
//   <= risk, so a risk <= epsilon bounds the drop by epsilon (as a fraction; --max-drop / 100).
//   H_j: risk(setting j) > epsilon; with losses in {0, 1}, p_j = P(Binomial(n, epsilon) <= losses_j)
//   is a valid p-value (the exact binomial tail, which Hoeffding-Bentkus bounds from above).
//   Fixed-sequence testing: each family of settings (a policy's sweep, the static exits) is
//   tested in a fixed order from its most conservative setting on, rejecting while
//   p <= delta / families and stopping at the first failure; delta is split evenly over the
//   families (Bonferroni). Then, with probability >= 1 - delta over the draw of the dev set, every
//   certified setting has risk <= epsilon on new data from the same distribution.
// The cheapest certified setting (dev FLOPs) is chosen; none certified means full depth.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/src/sweep.h"

namespace offramp::engine {

// P(Binomial(n, p) <= k), summed in log space (exact for the n of a dev set).
double binomial_cdf(int k, int n, double p);

// Inputs where `point` is wrong and `full` right (predictions as in SweepPoint::predictions).
int losses_against(const SweepPoint& point, const SweepPoint& full, const std::vector<int>& gold);

struct RiskTest {
  const SweepPoint* point = nullptr;
  int losses = 0;
  double p_value = 1;
  bool certified = false;
};

struct CertifiedChoice {
  const SweepPoint* chosen = nullptr;       // the cheapest certified setting; nullptr: full depth
  std::vector<std::vector<RiskTest>> tests;  // per family, in test order, through the first failure
  double epsilon = 0, delta = 0;
  int inputs = 0;
  // Fewest dev inputs with which even a loss-free setting could be certified:
  // (1 - epsilon)^n <= delta / families.
  int inputs_needed = 0;
};

// `families`: each in its fixed test order, most conservative first (most_conservative_first).
CertifiedChoice certify(const std::vector<std::vector<const SweepPoint*>>& families, const SweepPoint& full,
                        const std::vector<int>& gold, double epsilon, double delta);

// A sweep's settings from the most conservative on: thresholds and patience from the largest
// down, static exits from the deepest down (the last exit, which is full depth, left out).
std::vector<const SweepPoint*> most_conservative_first(const std::vector<SweepPoint>& points, bool statics);

// Percentile bootstrap intervals of accuracy at every point, from one set of resamples of the
// inputs shared by all points (B resamples, seeded: the same data gives the same intervals).
// Fills accuracy_low / accuracy_high.
void bootstrap_accuracy(std::vector<SweepPoint*> points, const std::vector<int>& gold, int resamples = 1000,
                        double level = 0.95, uint64_t seed = 20261205);
// The same for one point's FLOPs relative to full depth (a ratio of sums over the resampled
// inputs, from SweepPoint::input_flops). Fills relative_flops_low / relative_flops_high.
void bootstrap_relative_flops(SweepPoint& point, const SweepPoint& full, int resamples = 1000, double level = 0.95,
                              uint64_t seed = 20261205);

}  // namespace offramp::engine
