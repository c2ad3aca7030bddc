// Learn-then-Test and the bootstrap (engine/src/risk_control.h): hand-computed binomial tails
// and betting capitals, synthetic settings whose true risk is known (under both p-values), a dev
// set too small to certify anything, and the coverage of the accuracy intervals.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "engine/src/risk_control.h"
#include "offramp/error.h"

using namespace offramp::engine;

TEST(RiskControl, BinomialTailMatchesHandComputedValues) {
  EXPECT_NEAR(binomial_cdf(0, 10, 0.1), std::pow(0.9, 10), 1e-12);                               // 0.3486784401
  EXPECT_NEAR(binomial_cdf(1, 10, 0.1), std::pow(0.9, 10) + 10 * 0.1 * std::pow(0.9, 9), 1e-12);  // 0.7360989291
  EXPECT_NEAR(binomial_cdf(0, 1000, 0.01), std::pow(0.99, 1000), 1e-15);                          // 4.3171e-5
  EXPECT_DOUBLE_EQ(binomial_cdf(10, 10, 0.3), 1.0);
  EXPECT_DOUBLE_EQ(binomial_cdf(-1, 10, 0.3), 0.0);
  // Mean 10 of Binomial(1000, 0.01): the tail at the mean is a little above one half.
  const double at_mean = binomial_cdf(10, 1000, 0.01);
  EXPECT_GT(at_mean, 0.5);
  EXPECT_LT(at_mean, 0.6);
}

TEST(RiskControl, BettingPValueMatchesHandComputedCapital) {
  // epsilon 0.5: m = 0.75, the bet cap is 0.75 / (1 - m) = 3. Two inputs, level 0.05:
  // t = 1: var 1/4, sqrt(2 ln 20 / (2 * 1/4)) = 3.46 -> bet 3; x = 1/2 multiplies K by 1 + 3 * 0.25.
  // t = 2: var (1/4 + (1/2 - 1/2)^2) / 2 = 1/8 -> sqrt(2 ln 20 / (2 / 8)) = 4.90 -> bet 3 again.
  EXPECT_NEAR(betting_p_value({0, 0}, 0.5, 0.05), 1 / (1.75 * 1.75), 1e-12);
  // A loss first (x = 1): K = 1 + 3 * (0.75 - 1) = 0.25 < 1, so the running maximum stays 1.
  EXPECT_DOUBLE_EQ(betting_p_value({1}, 0.5, 0.05), 1.0);
  // A gain (x = 0): K = 1 + 3 * 0.75 = 3.25.
  EXPECT_NEAR(betting_p_value({-1}, 0.5, 0.05), 1 / 3.25, 1e-12);
  // Net loss at the null's mean: no evidence, whatever the order.
  std::vector<int8_t> at_null(1000, 0);
  for (size_t i = 0; i < 10; ++i) at_null[i * 100] = 1;  // mean 0.01 = epsilon
  EXPECT_GT(betting_p_value(at_null, 0.01, 0.05), 0.2);
  EXPECT_THROW(parse_bound("hoeffding"), offramp::Error);
  EXPECT_EQ(parse_bound(bound_name(RiskBound::Binomial)), RiskBound::Binomial);
}

namespace {

// J settings over one population: setting j is wrong (where full depth is right) on inputs
// with u < risk[j], nested, and cheaper as j grows. Full depth is always right; gold is 0.
struct Synthetic {
  std::vector<SweepPoint> settings;
  SweepPoint full;
  std::vector<int> gold;
};

Synthetic draw(const std::vector<double>& risk, size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u01(0, 1);
  Synthetic s;
  s.gold.assign(n, 0);
  s.full.predictions.assign(n, 0);
  std::vector<double> u(n);
  for (auto& x : u) x = u01(rng);
  for (size_t j = 0; j < risk.size(); ++j) {
    SweepPoint p;
    p.threshold = 1.0 - 0.01 * static_cast<double>(j);  // most conservative first = j ascending
    p.relative_flops = 1.0 - 0.05 * static_cast<double>(j);
    p.predictions.resize(n);
    for (size_t i = 0; i < n; ++i) p.predictions[i] = u[i] < risk[j] ? 1 : 0;
    s.settings.push_back(std::move(p));
  }
  return s;
}

}  // namespace

TEST(RiskControl, ChosenSettingKeepsItsPromiseOnKnownRisks) {
  std::vector<double> risk;
  for (int j = 0; j < 16; ++j) risk.push_back(0.002 * j);  // 0 .. 0.03; epsilon 0.01 sits at j = 5
  const double epsilon = 0.01, delta = 0.1;
  for (const RiskBound bound : {RiskBound::Binomial, RiskBound::Betting}) {
    std::mt19937_64 rng(7);
    int trials = 400, violations = 0, nothing = 0;
    double chosen_risk = 0;
    for (int t = 0; t < trials; ++t) {
      const Synthetic s = draw(risk, 2000, rng);
      const auto c = certify({most_conservative_first(s.settings, false)}, s.full, s.gold, epsilon, delta, bound);
      if (!c.chosen) {
        ++nothing;
        continue;
      }
      const size_t j = static_cast<size_t>(c.chosen - s.settings.data());
      violations += risk[j] > epsilon;
      chosen_risk += risk[j];
    }
    // At most delta of the draws may choose a setting whose true risk exceeds epsilon (with a
    // binomial margin of three standard deviations over 400 trials: 0.1 + 0.045).
    EXPECT_LE(violations, static_cast<int>(trials * (delta + 3 * std::sqrt(delta * (1 - delta) / trials))))
        << bound_name(bound);
    // And it is not vacuous: with 2000 inputs a setting of risk <= 0.006 is certified nearly always.
    EXPECT_LT(nothing, trials / 20) << bound_name(bound);
    EXPECT_GT(chosen_risk / (trials - nothing), 0.004) << bound_name(bound);
  }
}

TEST(RiskControl, BettingCountsTheInputsTheEarlyExitGetsRight) {
  // Full depth is wrong on the 20% of inputs with u < 0.2. Setting j (cheaper as j grows) is
  // wrong where full depth is right on u in [0.2, 0.2 + 0.004 j) and right where full depth is
  // wrong on u < 0.003 j: one-sided risk 0.004 j, true accuracy drop 0.001 j. With epsilon 0.01
  // the drop promise holds through j = 10; the one-sided risk only through j = 2.
  const double epsilon = 0.01, delta = 0.1;
  const int settings = 16, trials = 200;
  const size_t n = 2000;
  std::map<RiskBound, double> mean_j;
  std::map<RiskBound, int> violations;
  for (const RiskBound bound : {RiskBound::Binomial, RiskBound::Betting}) {
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<double> u01(0, 1);
    for (int t = 0; t < trials; ++t) {
      std::vector<double> u(n);
      for (auto& x : u) x = u01(rng);
      SweepPoint full;
      std::vector<SweepPoint> sweep(static_cast<size_t>(settings));
      const std::vector<int> gold(n, 0);
      for (size_t i = 0; i < n; ++i) full.predictions.push_back(u[i] < 0.2 ? 1 : 0);
      for (int j = 0; j < settings; ++j) {
        SweepPoint& p = sweep[static_cast<size_t>(j)];
        p.threshold = 1.0 - 0.01 * j, p.relative_flops = 1.0 - 0.05 * j;
        for (size_t i = 0; i < n; ++i)
          p.predictions.push_back(u[i] < 0.2 ? (u[i] < 0.003 * j ? 0 : 1) : (u[i] < 0.2 + 0.004 * j ? 1 : 0));
      }
      const auto c = certify({most_conservative_first(sweep, false)}, full, gold, epsilon, delta, bound);
      const int j = c.chosen ? static_cast<int>(c.chosen - sweep.data()) : -1;
      mean_j[bound] += j / static_cast<double>(trials);
      violations[bound] += j > 10;
    }
  }
  // Both keep the drop promise (at most delta of the draws, with a 3-sigma margin over 200).
  for (const auto& [bound, v] : violations)
    EXPECT_LE(v, static_cast<int>(trials * (delta + 3 * std::sqrt(delta * (1 - delta) / trials)))) << bound_name(bound);
  // The binomial bound is stuck below the one-sided risk's limit; betting goes well past it.
  EXPECT_LE(mean_j[RiskBound::Binomial], 2.0);
  EXPECT_GT(mean_j[RiskBound::Betting], mean_j[RiskBound::Binomial] + 2.0)
      << mean_j[RiskBound::Betting] << " vs " << mean_j[RiskBound::Binomial];
}

TEST(RiskControl, ADevSetTooSmallCertifiesNothing) {
  std::mt19937_64 rng(3);
  const Synthetic s = draw({0.0, 0.0, 0.002}, 50, rng);
  const auto c = certify({most_conservative_first(s.settings, false)}, s.full, s.gold, 0.01, 0.1, RiskBound::Binomial);
  EXPECT_EQ(c.chosen, nullptr);
  // (1 - 0.01)^n <= 0.1 needs n >= 230 even for a setting that never loses.
  EXPECT_EQ(c.inputs_needed, 230);
  ASSERT_EQ(c.tests.size(), 1u);
  ASSERT_EQ(c.tests[0].size(), 1u);  // the first failure ends the family
  EXPECT_NEAR(c.tests[0][0].p_value, std::pow(0.99, 50), 1e-12);
  // Two families split delta: each needs (1 - 0.01)^n <= 0.05.
  EXPECT_EQ(certify({most_conservative_first(s.settings, false), {}}, s.full, s.gold, 0.01, 0.1, RiskBound::Binomial)
                .inputs_needed,
            299);
  // Betting: inputs_needed is the fewest inputs that never differ from full depth whose p-value
  // reaches the level, and one fewer does not.
  const auto b = certify({most_conservative_first(s.settings, false), {}}, s.full, s.gold, 0.01, 0.1);
  EXPECT_EQ(b.chosen, nullptr);
  const size_t need = static_cast<size_t>(b.inputs_needed);
  EXPECT_LE(betting_p_value(std::vector<int8_t>(need, 0), 0.01, 0.05), 0.05);
  EXPECT_GT(betting_p_value(std::vector<int8_t>(need - 1, 0), 0.01, 0.05), 0.05);
  EXPECT_GT(need, 50u);
}

TEST(RiskControl, OrdersFromTheMostConservativeSetting) {
  std::vector<SweepPoint> sweep(3), statics(3);
  for (int i = 0; i < 3; ++i) sweep[static_cast<size_t>(i)].threshold = 0.5 + 0.2 * i, statics[static_cast<size_t>(i)].threshold = i + 1;
  const auto s = most_conservative_first(sweep, false);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], &sweep[2]);
  EXPECT_EQ(s[2], &sweep[0]);
  const auto st = most_conservative_first(statics, true);  // the last exit is full depth: left out
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0], &statics[1]);
  EXPECT_EQ(st[1], &statics[0]);
}

TEST(RiskControl, BootstrapIntervalsCoverTheTrueAccuracyAtAboutTheNominalRate) {
  const double truth = 0.8;
  const int trials = 300;
  std::mt19937_64 rng(11);
  std::bernoulli_distribution right(truth);
  int covered = 0;
  double width = 0;
  for (int t = 0; t < trials; ++t) {
    SweepPoint p;
    std::vector<int> gold(400, 0);
    for (auto& g : gold) p.predictions.push_back(right(rng) ? 0 : 1), (void)g;
    bootstrap_accuracy({&p}, gold, 400, 0.95, 1000 + static_cast<uint64_t>(t));
    covered += p.accuracy_low <= truth && truth <= p.accuracy_high;
    width += p.accuracy_high - p.accuracy_low;
  }
  // Nominal 95%: between 90% and 99% of 300 draws (about three standard deviations).
  EXPECT_GE(covered, 270);
  EXPECT_LE(covered, 297);
  // 2 * 1.96 * sqrt(0.8 * 0.2 / 400) = 0.078.
  EXPECT_NEAR(width / trials, 0.078, 0.01);
}
