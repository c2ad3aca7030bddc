// Exit settings chosen with a statement about new data, and the uncertainty of a dev-set curve.
//
// Learn-then-Test (Angelopoulos, Bates, Candès, Jordan, Lei 2021), the way CALM (Schuster et
// al. 2022) calibrates its exits. Two losses per input, each with a valid p-value (RiskBound):
//   Binomial: loss = 1 when the setting is wrong where full depth is right. The accuracy drop
//     against full depth = P(full right, early wrong) - P(full wrong, early right) <= its risk,
//     so H_j: risk_j > epsilon (epsilon = --max-drop / 100) is tested with the exact binomial
//     tail p_j = P(Binomial(n, epsilon) <= losses_j) (which Hoeffding-Bentkus bounds from above).
//     Conservative: it ignores the inputs the early exit gets right where full depth errs.
//   Betting: loss = +1 wrong where full is right, -1 right where full is wrong, else 0; its mean
//     is exactly the accuracy drop. H_j: drop_j >= epsilon is tested with the betting p-value of
//     Waudby-Smith & Ramdas (2020/2023), which LTT recommends for bounded losses: on
//     x = (loss + 1) / 2 in [0, 1] and m = (1 + epsilon) / 2, the capital
//     K_t = prod_{i<=t} (1 + lambda_i (m - x_i)) is a nonnegative supermartingale under H_j
//     (lambda_i in [0, 1/(1 - m)), chosen from x_1..x_{i-1} only), so by Ville's inequality
//     p_j = min(1, 1 / max_t K_t) is valid. The bet adapts to the variance, which is the share
//     of inputs where the two disagree: small for settings near full depth, so it certifies
//     them with far fewer dev inputs than a bound on the one-sided loss.
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

enum class RiskBound { Binomial, Betting };
const char* bound_name(RiskBound b);  // "binomial" / "betting"
RiskBound parse_bound(const std::string& name);

// P(Binomial(n, p) <= k), summed in log space (exact for the n of a dev set).
double binomial_cdf(int k, int n, double p);

// The betting p-value of H0: mean(loss) >= epsilon for losses in {-1, 0, 1}, taken in the given
// order (certify shuffles them once with a fixed seed, so that a dev file sorted by label does
// not steer the bets). The bets are sized for a test at `level`; the p-value is valid whatever
// level is given.
double betting_p_value(const std::vector<int8_t>& losses, double epsilon, double level);

// Per input: +1 where `point` is wrong and `full` right, -1 the other way, else 0.
std::vector<int8_t> net_losses(const SweepPoint& point, const SweepPoint& full, const std::vector<int>& gold);

struct RiskTest {
  const SweepPoint* point = nullptr;
  int losses = 0;  // wrong where full depth is right
  int gains = 0;   // right where full depth is wrong
  double p_value = 1;
  bool certified = false;
};

struct CertifiedChoice {
  const SweepPoint* chosen = nullptr;       // the cheapest certified setting; nullptr: full depth
  std::vector<std::vector<RiskTest>> tests;  // per family, in test order, through the first failure
  double epsilon = 0, delta = 0;
  RiskBound bound = RiskBound::Betting;
  int inputs = 0;
  // Fewest dev inputs with which even a setting that never differs from full depth could be
  // certified (binomial: (1 - epsilon)^n <= delta / families).
  int inputs_needed = 0;
};

// `families`: each in its fixed test order, most conservative first (most_conservative_first).
CertifiedChoice certify(const std::vector<std::vector<const SweepPoint*>>& families, const SweepPoint& full,
                        const std::vector<int>& gold, double epsilon, double delta,
                        RiskBound bound = RiskBound::Betting);

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
