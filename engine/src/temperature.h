// Temperature scaling (Guo et al. 2017) for one exit head: the T > 0 minimising the
// negative log-likelihood of softmax(z / T) on labelled dev logits, and the expected
// calibration error that shows what it changed.
#pragma once

#include <vector>

namespace offramp::engine {

// logits: [n, labels] row-major; gold: [n] label indices.
// Mean negative log-likelihood of softmax(z / T).
double temperature_nll(const std::vector<float>& logits, const std::vector<int>& gold, int labels, double temperature);
// argmin_T NLL, searched over T in [0.05, 20]. NLL is convex in 1/T (a log-sum-exp of
// functions linear in 1/T), so a golden-section search on 1/T finds the minimum.
double fit_temperature(const std::vector<float>& logits, const std::vector<int>& gold, int labels);
// Expected calibration error of max-probability confidence with `bins` equal-width bins:
// sum over bins of |bin| / n * |accuracy(bin) - mean confidence(bin)|.
double expected_calibration_error(const std::vector<float>& logits, const std::vector<int>& gold, int labels,
                                  double temperature, int bins = 15);

}  // namespace offramp::engine
