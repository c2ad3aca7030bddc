#include "tools/report/evp.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace offramp::report {

std::vector<double> expected_validation_performance(std::vector<double> scores) {
  if (scores.empty()) throw std::invalid_argument("expected validation performance needs at least one trial");
  std::sort(scores.begin(), scores.end());
  const int N = static_cast<int>(scores.size());
  // log C(a, b) through lgamma: C(N, n) overflows doubles for a few hundred trials.
  const auto log_choose = [](int a, int b) { return std::lgamma(a + 1.0) - std::lgamma(b + 1.0) - std::lgamma(a - b + 1.0); };
  std::vector<double> evp(static_cast<size_t>(N));
  for (int n = 1; n <= N; ++n) {
    double e = 0;
    for (int i = n; i <= N; ++i)
      e += scores[static_cast<size_t>(i - 1)] * std::exp(log_choose(i - 1, n - 1) - log_choose(N, n));
    evp[static_cast<size_t>(n - 1)] = e;
  }
  return evp;
}

}  // namespace offramp::report
