#include "engine/src/temperature.h"

#include <algorithm>
#include <cmath>

#include "kernels/exit_head.h"

namespace offramp::engine {

double temperature_nll(const std::vector<float>& logits, const std::vector<int>& gold, int labels, double t) {
  double sum = 0;
  const size_t n = gold.size();
  for (size_t i = 0; i < n; ++i) {
    const float* z = logits.data() + i * static_cast<size_t>(labels);
    double mx = z[0] / t;
    for (int k = 1; k < labels; ++k) mx = std::max(mx, z[k] / t);
    double s = 0;
    for (int k = 0; k < labels; ++k) s += std::exp(z[k] / t - mx);
    sum += mx + std::log(s) - z[gold[i]] / t;
  }
  return n ? sum / static_cast<double>(n) : 0.0;
}

double fit_temperature(const std::vector<float>& logits, const std::vector<int>& gold, int labels) {
  // Golden section on beta = 1/T in [1/20, 1/0.05].
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = 0.05, b = 20.0;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = temperature_nll(logits, gold, labels, 1 / c), fd = temperature_nll(logits, gold, labels, 1 / d);
  for (int it = 0; it < 80 && b - a > 1e-7; ++it) {
    if (fc < fd) {
      b = d, d = c, fd = fc;
      c = b - g * (b - a);
      fc = temperature_nll(logits, gold, labels, 1 / c);
    } else {
      a = c, c = d, fc = fd;
      d = a + g * (b - a);
      fd = temperature_nll(logits, gold, labels, 1 / d);
    }
  }
  return 1 / ((a + b) / 2);
}

double expected_calibration_error(const std::vector<float>& logits, const std::vector<int>& gold, int labels,
                                  double temperature, int bins) {
  std::vector<double> conf(static_cast<size_t>(bins)), acc(static_cast<size_t>(bins)), count(static_cast<size_t>(bins));
  std::vector<float> p(static_cast<size_t>(labels));
  const size_t n = gold.size();
  for (size_t i = 0; i < n; ++i) {
    kernels::temperature_softmax(logits.data() + i * static_cast<size_t>(labels), labels, static_cast<float>(temperature), p.data());
    const int arg = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    const double c = p[static_cast<size_t>(arg)];
    const auto b = static_cast<size_t>(std::min(bins - 1, static_cast<int>(c * bins)));
    conf[b] += c, acc[b] += arg == gold[i], count[b] += 1;
  }
  double ece = 0;
  for (size_t b = 0; b < static_cast<size_t>(bins); ++b)
    if (count[b] > 0) ece += std::abs(acc[b] - conf[b]) / static_cast<double>(n);
  return ece;
}

}  // namespace offramp::engine
