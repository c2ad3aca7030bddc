#include "engine/src/risk_control.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <map>
#include <random>
#include <tuple>

#include "offramp/error.h"

namespace offramp::engine {

double binomial_cdf(int k, int n, double p) {
  if (k < 0) return 0;
  if (k >= n || p <= 0) return 1;
  if (p >= 1) return 0;
  const double lp = std::log(p), lq = std::log1p(-p), ln = std::lgamma(n + 1.0);
  double mx = -INFINITY;
  std::vector<double> terms(static_cast<size_t>(k) + 1);
  for (int j = 0; j <= k; ++j) {
    terms[static_cast<size_t>(j)] = ln - std::lgamma(j + 1.0) - std::lgamma(n - j + 1.0) + j * lp + (n - j) * lq;
    mx = std::max(mx, terms[static_cast<size_t>(j)]);
  }
  double sum = 0;
  for (double t : terms) sum += std::exp(t - mx);
  return std::min(1.0, std::exp(mx + std::log(sum)));
}

const char* bound_name(RiskBound b) { return b == RiskBound::Binomial ? "binomial" : "betting"; }

RiskBound parse_bound(const std::string& name) {
  if (name == "binomial") return RiskBound::Binomial;
  if (name == "betting") return RiskBound::Betting;
  throw Error("unknown risk bound '" + name + "' (binomial or betting)");
}

// x_t = (loss_t + 1) / 2 in {0, 1/2, 1}; m = (1 + epsilon) / 2 is the null's smallest mean.
// Bet lambda_t = min(cap, sqrt(2 log(1/level) / (n var_{t-1}))) (the predictable plug-in of
// Waudby-Smith & Ramdas with the horizon n known, as in LTT's appendix); cap = 3/4 of the bet
// 1/(1 - m) that one x = 1 would ruin, so one loss costs at most log 4 of the capital.
double betting_p_value(const std::vector<int8_t>& losses, double epsilon, double level) {
  const double m = (1 + epsilon) / 2, cap = 0.75 / (1 - m);
  const double n = static_cast<double>(losses.size()), log_inv_level = std::log(1 / level);
  double log_k = 0, best = 0, sum = 0, sq = 0;
  for (size_t t = 0; t < losses.size(); ++t) {
    // Running estimates from x_1..x_{t-1}, started at mean 1/2 and variance 1/4.
    const double var = (0.25 + sq) / static_cast<double>(t + 1);
    const double lambda = std::min(cap, std::sqrt(2 * log_inv_level / (n * var)));
    const double x = (losses[t] + 1) / 2.0;
    log_k += std::log1p(lambda * (m - x));
    best = std::max(best, log_k);
    sum += x;
    const double mean = (0.5 + sum) / static_cast<double>(t + 2);
    sq += (x - mean) * (x - mean);
  }
  return std::min(1.0, std::exp(-best));
}

namespace {

// Fewest inputs of zero loss with which the betting p-value reaches `level` (doubling, then
// bisection; the p-value of n zero losses falls as n grows).
int betting_inputs_needed(double epsilon, double level) {
  const auto passes = [&](size_t n) { return betting_p_value(std::vector<int8_t>(n, 0), epsilon, level) <= level; };
  size_t hi = 1;
  while (!passes(hi)) {
    if (hi > (size_t{1} << 26)) return std::numeric_limits<int>::max();
    hi *= 2;
  }
  size_t lo = hi / 2;  // fails (or 0)
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    (passes(mid) ? hi : lo) = mid;
  }
  return static_cast<int>(hi);
}
}  // namespace

std::vector<int8_t> net_losses(const SweepPoint& point, const SweepPoint& full, const std::vector<int>& gold) {
  if (point.predictions.size() != gold.size() || full.predictions.size() != gold.size())
    throw Error("risk control: a sweep point without per-input predictions");
  std::vector<int8_t> out(gold.size());
  for (size_t i = 0; i < gold.size(); ++i) {
    const bool early = point.predictions[i] == gold[i], deep = full.predictions[i] == gold[i];
    out[i] = static_cast<int8_t>(deep && !early ? 1 : early && !deep ? -1 : 0);
  }
  return out;
}

CertifiedChoice certify(const std::vector<std::vector<const SweepPoint*>>& families, const SweepPoint& full,
                        const std::vector<int>& gold, double epsilon, double delta, RiskBound bound) {
  if (!(epsilon > 0 && epsilon < 1)) throw Error("risk control: the tolerated loss must lie in (0, 1)");
  if (!(delta > 0 && delta < 1)) throw Error("risk control: delta must lie in (0, 1)");
  CertifiedChoice c;
  c.epsilon = epsilon, c.delta = delta, c.bound = bound, c.inputs = static_cast<int>(gold.size());
  const double level = delta / static_cast<double>(std::max<size_t>(families.size(), 1));
  c.inputs_needed = bound == RiskBound::Binomial ? static_cast<int>(std::ceil(std::log(level) / std::log1p(-epsilon)))
                                                 : betting_inputs_needed(epsilon, level);
  // The order the bets see the inputs in: one fixed shuffle shared by every setting.
  std::vector<size_t> order(gold.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), std::mt19937_64(20261205));
  std::vector<int8_t> shuffled(gold.size());
  for (const auto& family : families) {
    std::vector<RiskTest> tests;
    for (const SweepPoint* p : family) {
      RiskTest t;
      t.point = p;
      const std::vector<int8_t> net = net_losses(*p, full, gold);
      t.losses = static_cast<int>(std::count(net.begin(), net.end(), int8_t{1}));
      t.gains = static_cast<int>(std::count(net.begin(), net.end(), int8_t{-1}));
      if (bound == RiskBound::Binomial) {
        t.p_value = binomial_cdf(t.losses, c.inputs, epsilon);
      } else {
        for (size_t i = 0; i < order.size(); ++i) shuffled[i] = net[order[i]];
        t.p_value = betting_p_value(shuffled, epsilon, level);
      }
      t.certified = t.p_value <= level;
      tests.push_back(t);
      if (!t.certified) break;  // fixed sequence: the first failure ends the family
      if (!c.chosen || p->relative_flops < c.chosen->relative_flops ||
          (p->relative_flops == c.chosen->relative_flops && p->accuracy > c.chosen->accuracy))
        c.chosen = p;
    }
    c.tests.push_back(std::move(tests));
  }
  return c;
}

std::vector<const SweepPoint*> most_conservative_first(const std::vector<SweepPoint>& points, bool statics) {
  std::vector<const SweepPoint*> out;
  const size_t n = statics && !points.empty() ? points.size() - 1 : points.size();
  for (size_t i = 0; i < n; ++i) out.push_back(&points[i]);
  // Sweeps list thresholds, patience and exit layers in increasing order; larger is safer.
  std::stable_sort(out.begin(), out.end(), [](const SweepPoint* a, const SweepPoint* b) { return a->threshold > b->threshold; });
  return out;
}

namespace {
// The central `level` interval of resampled values (sorted here): percentiles by nearest rank.
std::pair<double, double> percentile_interval(std::vector<double>& values, double level) {
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    return values[std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size() - 1) + 0.5))];
  };
  return {at((1 - level) / 2), at((1 + level) / 2)};
}
}  // namespace

void bootstrap_accuracy(std::vector<SweepPoint*> points, const std::vector<int>& gold, int resamples, double level,
                        uint64_t seed) {
  const size_t n = gold.size();
  if (n == 0 || points.empty()) return;
  // The counts below take resamples * n * 2 bytes: keep them under 100 MB on huge dev sets.
  resamples = static_cast<int>(std::min<size_t>(static_cast<size_t>(resamples), std::max<size_t>(200, 50'000'000 / n)));
  // Resample counts [B][n], shared by every point (a paired bootstrap).
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<std::vector<uint16_t>> counts(static_cast<size_t>(resamples), std::vector<uint16_t>(n));
  for (auto& w : counts)
    for (size_t k = 0; k < n; ++k) ++w[pick(rng)];
  // Points with the same per-input correctness share an interval (neighbouring thresholds).
  std::map<std::string, std::pair<double, double>> done;  // key: one byte (0/1) per input
  std::vector<double> acc(static_cast<size_t>(resamples));
  for (SweepPoint* p : points) {
    if (p->predictions.size() != n) throw Error("bootstrap: a sweep point without per-input predictions");
    std::string correct(n, '\0');
    for (size_t i = 0; i < n; ++i) correct[i] = p->predictions[i] == gold[i] ? 1 : 0;
    auto it = done.find(correct);
    if (it == done.end()) {
      for (size_t b = 0; b < acc.size(); ++b) {
        uint32_t hits = 0;
        const uint16_t* w = counts[b].data();
        for (size_t i = 0; i < n; ++i) hits += w[i] * static_cast<uint8_t>(correct[i]);
        acc[b] = static_cast<double>(hits) / static_cast<double>(n);
      }
      it = done.emplace(correct, percentile_interval(acc, level)).first;
    }
    p->accuracy_low = it->second.first, p->accuracy_high = it->second.second;
  }
}

void bootstrap_relative_flops(SweepPoint& point, const SweepPoint& full, int resamples, double level, uint64_t seed) {
  const size_t n = point.input_flops.size();
  if (n == 0 || full.input_flops.size() != n) throw Error("bootstrap: a sweep point without per-input FLOPs");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> ratio(static_cast<size_t>(resamples));
  for (auto& r : ratio) {
    double spent = 0, whole = 0;
    for (size_t k = 0; k < n; ++k) {
      const size_t i = pick(rng);
      spent += point.input_flops[i], whole += full.input_flops[i];
    }
    r = whole > 0 ? spent / whole : 0;
  }
  std::tie(point.relative_flops_low, point.relative_flops_high) = percentile_interval(ratio, level);
}

}  // namespace offramp::engine
