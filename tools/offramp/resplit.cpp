#include "tools/offramp/resplit.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "offramp/error.h"
#include "tools/offramp/calibrate_steps.h"
#include "tools/offramp/traced.h"

namespace offramp::cli::calibration {

namespace {

void record(MethodRecord& r, const Choice& ch, const engine::SweepInput& test, const engine::SweepPoint& test_full,
            double max_drop) {
  const engine::SweepPoint got = engine::simulate(test, engine::setting_of(*ch.point));
  const double drop = 100 * (test_full.accuracy - got.accuracy);
  r.violations += drop > max_drop + 1e-9;
  r.full_depth += ch.point->kind == "full_depth";
  r.mean_test_drop += drop;
  r.mean_relative_flops += got.relative_flops;
  r.settings.push_back(point_name(*ch.point));
}

}  // namespace

ResplitResult validate_by_resplits(const engine::SweepInput& all, const ResplitOptions& o) {
  const size_t n = all.size();
  const size_t dev_n = static_cast<size_t>(o.dev_fraction * static_cast<double>(n));
  if (o.splits < 1) throw Error("resplits: --splits must be >= 1");
  if (dev_n < 2 || dev_n + 2 > n) throw Error("resplits: too few inputs (" + std::to_string(n) + ") to split into dev and test");
  ResplitResult res;
  res.options = o, res.inputs = static_cast<int>(n), res.dev_inputs = static_cast<int>(dev_n);
  res.point.method = "point estimate", res.guaranteed.method = "Learn-then-Test";
  std::mt19937_64 rng(o.seed);
  std::vector<size_t> order(n);
  for (int s = 0; s < o.splits; ++s) {
    std::iota(order.begin(), order.end(), size_t{0});
    std::shuffle(order.begin(), order.end(), rng);
    engine::SweepInput dev = engine::subset(all, {order.begin(), order.begin() + static_cast<std::ptrdiff_t>(dev_n)});
    engine::SweepInput test = engine::subset(all, {order.begin() + static_cast<std::ptrdiff_t>(dev_n), order.end()});
    // calibrate on dev: temperatures, the sweep (no intervals: they do not change the choice), choices.
    fit_temperatures(dev, false);
    test.temperatures = dev.temperatures;
    // Only the policy's sweep (the others are not chosen from), no intervals (they choose nothing).
    Curves curves = sweep_all(dev, false, {parse_policy(o.policy)});
    const Choice point = choose(curves, o.policy, {.max_drop = o.max_drop});
    const Choice guaranteed = choose(curves, o.policy, {.max_drop = o.max_drop, .delta = o.delta, .bound = o.bound});
    // evaluate on test.
    const engine::SweepPoint test_full = engine::full_depth_point(test);
    record(res.point, point, test, test_full, o.max_drop);
    record(res.guaranteed, guaranteed, test, test_full, o.max_drop);
  }
  for (MethodRecord* r : {&res.point, &res.guaranteed}) {
    r->mean_test_drop /= o.splits;
    r->mean_relative_flops /= o.splits;
  }
  return res;
}

}  // namespace offramp::cli::calibration
