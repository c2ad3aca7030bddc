// Expected Validation Performance (Dodge et al. 2019, "Show Your Work"): the best dev score one
// expects from n trials of a hyperparameter search, as a function of n and of what n trials cost.
// Estimated from N finished trials with the unbiased estimator of Tang et al. 2020 (the max of n
// trials drawn without replacement): with the scores sorted ascending v_(1) <= ... <= v_(N),
//   EVP(n) = sum_{i=n}^{N} v_(i) * C(i-1, n-1) / C(N, n),   n = 1..N.
#pragma once

#include <vector>

namespace offramp::report {

// EVP(n) for n = 1..N (index n-1). Throws std::invalid_argument on an empty list.
std::vector<double> expected_validation_performance(std::vector<double> scores);

}  // namespace offramp::report
