// `offramp evaluate MODEL TEST.tsv`: one full-depth pass recording every exit head, then the
// model's own setting (policy, threshold, temperatures from offramp.json, or overrides)
// replayed offline, beside full depth and each static exit, and beside what calibration
// predicted for that setting on dev (offramp.json's "calibration", from calibrate --write).
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "offramp/offramp.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/device_flags.h"
#include "tools/offramp/traced.h"
#include "tools/report/atomic_file.h"

namespace offramp::cli {

namespace {
struct EvaluateArgs {
  std::string model, input, json, policy;
  std::optional<double> threshold;
  std::optional<int> patience, exit_layer;
  int threads = 0, max_length = 0;
  DeviceFlags device;
};

// What calibration predicted on dev for the stored setting, beside what this data measures.
void print_transfer(const nlohmann::json& c, const engine::SweepPoint& got, const engine::SweepPoint& full) {
  const auto interval = [](const nlohmann::json& v, int digits, double scale) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << scale * v[0].get<double>() << "-" << scale * v[1].get<double>();
    return s.str();
  };
  const double drop = 100 * (full.accuracy - got.accuracy);
  std::cout << std::fixed << "\ncalibration (" << c.value("method", "?") << " on " << c.value("dev", "?") << ", "
            << c.value("inputs", 0) << " inputs) predicted for " << c.value("setting", "?") << ":\n"
            << "  dev   accuracy " << std::setprecision(2) << 100 * c.value("accuracy", 0.0) << "% (95% interval "
            << interval(c["accuracy_interval"], 1, 100) << ")  FLOPs " << std::setprecision(3)
            << c.value("relative_flops", 0.0) << " of full depth (" << interval(c["relative_flops_interval"], 3, 1)
            << ")\n  here  accuracy " << std::setprecision(2) << 100 * got.accuracy << "%  FLOPs " << std::setprecision(3)
            << got.relative_flops << " of full depth; full depth here " << std::setprecision(2) << 100 * full.accuracy
            << "%, so " << drop << " points lost\n  promise: " << c.value("statement", "") << "\n";
}

}  // namespace

Run add_evaluate(CLI::App& app) {
  auto a = std::make_shared<EvaluateArgs>();
  app.add_option("MODEL", a->model, "Model directory with exit heads")->required();
  app.add_option("FILE", a->input, "Labelled data, TSV label<TAB>text ('-' = stdin)")->required();
  app.add_option("--json", a->json, "Also write the results as JSON here");
  app.add_option("--policy", a->policy, "max_prob, entropy, patience or static (default: the model's)")
      ->check(CLI::IsMember({"max_prob", "entropy", "patience", "static"}));
  app.add_option("--exit-layer", a->exit_layer, "Static policy: the exit layer every input leaves at (default: the model's)")
      ->check(CLI::Range(1, 1 << 10));
  app.add_option("--threshold", a->threshold, "Exit threshold (default: the model's)")->check(CLI::Range(0.0, 1e9));
  app.add_option("--patience", a->patience, "Patience policy's k (default: the model's)")->check(CLI::Range(0, 1 << 20));
  app.add_option("--threads", a->threads, "CPU threads (0 = all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  add_device_flags(app, a->device);
  app.add_option("--max-length", a->max_length, "Truncate inputs to this many tokens (default: the model's)")->check(CLI::Range(2, 1 << 20));
  return [a] {
    const auto clf = Classifier::load(a->model, load_options(a->device, a->threads));
    const ModelInfo& info = clf.info();
    if (info.exits.empty())
      throw Error(a->model + ": this model has no exit heads; add them with offramp-train");
    if (!a->json.empty()) report::require_writable(a->json, "--json");
    const auto lines = read_labelled(a->input, clf, a->max_length);
    const engine::SweepInput in = trace_labelled(clf, lines, a->max_length, 64);
    engine::PolicyParams pp;
    pp.policy = parse_policy(a->policy.empty() ? info.policy : a->policy);
    pp.threshold = a->threshold.value_or(info.threshold);
    pp.patience = a->patience.value_or(info.patience);
    pp.exit_layer = a->exit_layer.value_or(info.exit_layer);
    const auto point = engine::simulate(in, pp);
    const auto full = engine::full_depth_point(in);
    const auto statics = engine::static_points(in);
    const nlohmann::json predicted =
        info.calibration.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(info.calibration);
    const bool comparable = predicted.is_object() && predicted.value("setting", "") == point_name(point);
    // The JSON first: if it cannot be written, nothing half-done reaches stdout.
    if (!a->json.empty()) {
      nlohmann::json j = {{"model", a->model}, {"data", a->input}, {"inputs", in.size()}, {"full_depth", point_json(full)},
                          {"static", nlohmann::json::array()}, {"setting", point_json(point)}};
      for (const auto& p : statics) j["static"].push_back(point_json(p));
      if (comparable) j["calibration_predicted"] = predicted;
      report::write_file_atomic(a->json, j.dump(1) + "\n");
    }
    print_point_header(false);
    print_point("full depth", full);
    for (const auto& p : statics) print_point(point_name(p), p);
    print_point(point_name(point), point);
    if (comparable) print_transfer(predicted, point, full);
    else if (predicted.is_object())
      std::cout << "\n(the model was calibrated for " << predicted.value("setting", "?") << ", not " << point_name(point)
                << ": no prediction to compare)\n";
    return 0;
  };
}

}  // namespace offramp::cli
