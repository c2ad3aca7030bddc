// `offramp validate MODEL DATA.tsv`: how often does a calibrated choice break its promise on
// new data? One full-depth pass over DATA records every head; then resplit.h repeats
// calibrate-then-evaluate over random dev/test re-splits, for the point estimate and for
// Learn-then-Test, and reports each one's violation rate.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "offramp/offramp.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/device_flags.h"
#include "tools/offramp/resplit.h"
#include "tools/offramp/traced.h"
#include "tools/report/atomic_file.h"

namespace offramp::cli {

namespace {

struct ValidateArgs {
  std::string model, data, json, bound = "betting";
  calibration::ResplitOptions resplit;
  int threads = 0, max_length = 0;
  DeviceFlags device;
};

nlohmann::json record_json(const calibration::MethodRecord& r, int splits) {
  return {{"method", r.method},
          {"violations", r.violations},
          {"violation_rate", r.violation_rate(splits)},
          {"full_depth_fallbacks", r.full_depth},
          {"mean_test_drop_points", r.mean_test_drop},
          {"mean_relative_flops", r.mean_relative_flops},
          {"settings", r.settings}};
}

}  // namespace

Run add_validate(CLI::App& app) {
  auto a = std::make_shared<ValidateArgs>();
  auto& o = a->resplit;
  app.add_option("MODEL", a->model, "Model directory with exit heads")->required();
  app.add_option("DATA", a->data, "Labelled data, TSV label<TAB>text, split at random into dev and test ('-' = stdin)")
      ->required();
  app.add_option("--splits", o.splits, "Random dev/test re-splits")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--dev-fraction", o.dev_fraction, "Share of DATA used as dev in each split")
      ->check(CLI::Range(0.05, 0.95))->capture_default_str();
  app.add_option("--max-drop", o.max_drop, "Accuracy points the choice may lose against full depth")
      ->check(CLI::Range(0.01, 100.0))->capture_default_str();
  app.add_option("--delta", o.delta, "Learn-then-Test: the promise may fail with at most this probability")
      ->check(CLI::Range(1e-6, 0.5))->capture_default_str();
  app.add_option("--bound", a->bound, "Learn-then-Test's p-value: betting (on the net loss) or binomial (inputs made wrong)")
      ->check(CLI::IsMember({"betting", "binomial"}))->capture_default_str();
  app.add_option("--policy", o.policy, "Policy whose sweep (with the static exits) is chosen from")
      ->check(CLI::IsMember({"max_prob", "entropy", "patience"}))->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of the re-splits")->capture_default_str();
  app.add_option("--json", a->json, "Also write the results (and every split's choices) as JSON here");
  app.add_option("--threads", a->threads, "CPU threads (0 = all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  add_device_flags(app, a->device);
  app.add_option("--max-length", a->max_length, "Truncate inputs to this many tokens (default: the model's)")
      ->check(CLI::Range(2, 1 << 20));
  app.footer("Runs DATA once to full depth recording every exit head, then for each split fits temperatures, sweeps\n"
             "and chooses on dev (point estimate and Learn-then-Test) and replays the choice on test. A split violates\n"
             "the promise when test accuracy falls more than --max-drop points below test full depth.");
  return [a] {
    const auto clf = Classifier::load(a->model, load_options(a->device, a->threads));
    if (clf.info().exits.empty()) throw Error(a->model + ": this model has no exit heads; add them with offramp-train");
    if (!a->json.empty()) report::require_writable(a->json, "--json");
    const auto lines = read_labelled(a->data, clf, a->max_length);
    const engine::SweepInput all = trace_labelled(clf, lines, a->max_length, 64);
    a->resplit.bound = engine::parse_bound(a->bound);
    const auto& o = a->resplit;
    std::cerr << "calibrate-then-evaluate over " << o.splits << " re-splits\n";
    const auto res = calibration::validate_by_resplits(all, o);
    std::cout << std::fixed << std::setprecision(3) << res.inputs << " inputs, " << o.splits << " random splits into "
              << res.dev_inputs << " dev and " << res.inputs - res.dev_inputs << " test; promise: at most " << o.max_drop
              << " points below test full depth (" << o.policy << " sweep and static exits)\n\n"
              << "method                  violation rate   mean test drop (points)   mean test FLOPs rel.   full-depth fallbacks\n";
    for (const auto* r : {&res.point, &res.guaranteed}) {
      const std::string name = r == &res.guaranteed ? "LTT " + std::string(engine::bound_name(o.bound)) + ", delta " + std::to_string(o.delta).substr(0, 5)
                                                    : "point estimate";
      std::cout << std::left << std::setw(24) << name << std::right << std::setw(14) << r->violation_rate(o.splits)
                << std::setw(26) << r->mean_test_drop << std::setw(23) << r->mean_relative_flops << std::setw(23)
                << r->full_depth << "\n";
    }
    if (res.point.mean_relative_flops > 0)
      std::cout << "\nFLOPs of the guaranteed choice / the point estimate's: "
                << res.guaranteed.mean_relative_flops / res.point.mean_relative_flops << "\n";
    if (!a->json.empty()) {
      const nlohmann::json j = {{"model", a->model},          {"data", a->data},
                                {"inputs", res.inputs},       {"dev_inputs", res.dev_inputs},
                                {"splits", o.splits},         {"max_drop", o.max_drop},
                                {"delta", o.delta},           {"bound", engine::bound_name(o.bound)}, {"policy", o.policy},
                                {"seed", o.seed},             {"point_estimate", record_json(res.point, o.splits)},
                                {"learn_then_test", record_json(res.guaranteed, o.splits)}};
      report::write_file_atomic(a->json, j.dump(1) + "\n");
    }
    return 0;
  };
}

}  // namespace offramp::cli
