#include "engine/src/risk_control.h"

#include <algorithm>
#include <cmath>
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

int losses_against(const SweepPoint& point, const SweepPoint& full, const std::vector<int>& gold) {
  if (point.predictions.size() != gold.size() || full.predictions.size() != gold.size())
    throw Error("risk control: a sweep point without per-input predictions");
  int losses = 0;
  for (size_t i = 0; i < gold.size(); ++i) losses += point.predictions[i] != gold[i] && full.predictions[i] == gold[i];
  return losses;
}

CertifiedChoice certify(const std::vector<std::vector<const SweepPoint*>>& families, const SweepPoint& full,
                        const std::vector<int>& gold, double epsilon, double delta) {
  if (!(epsilon > 0 && epsilon < 1)) throw Error("risk control: the tolerated loss must lie in (0, 1)");
  if (!(delta > 0 && delta < 1)) throw Error("risk control: delta must lie in (0, 1)");
  CertifiedChoice c;
  c.epsilon = epsilon, c.delta = delta, c.inputs = static_cast<int>(gold.size());
  const double level = delta / static_cast<double>(std::max<size_t>(families.size(), 1));
  c.inputs_needed = static_cast<int>(std::ceil(std::log(level) / std::log1p(-epsilon)));
  for (const auto& family : families) {
    std::vector<RiskTest> tests;
    for (const SweepPoint* p : family) {
      RiskTest t;
      t.point = p;
      t.losses = losses_against(*p, full, gold);
      t.p_value = binomial_cdf(t.losses, c.inputs, epsilon);
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
