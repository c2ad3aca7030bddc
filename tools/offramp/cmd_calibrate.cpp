// `offramp calibrate MODEL DEV.tsv`: one full-depth pass recording every exit head, then the
// steps of calibrate_steps.h: per-exit temperature scaling, threshold sweeps for every policy
// (replayed offline), the static baselines, a chosen threshold, measured time at a few points,
// CSV/JSON, the cost report and a plot, and (--write) the choice stored in the model.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <thread>

#include "offramp/offramp.h"
#include "tools/offramp/calibrate_steps.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/device_flags.h"
#include "tools/offramp/plot.h"
#include "tools/offramp/traced.h"
#include "tools/report/atomic_file.h"

namespace offramp::cli {

namespace fs = std::filesystem;

namespace {

struct CalibrateArgs {
  std::string model, dev, out, policy = "max_prob";
  std::optional<double> max_drop, budget, delta;
  std::string bound = "betting";
  bool write = false, no_temperature = false, no_plot = false;
  int timing_inputs = 256, threads = 0, max_length = 0, batch_size = 64;
  DeviceFlags device;
};

// The table on stdout: full depth (timed), the static exits, a thinned sweep of the chosen
// policy (every timed point kept), then the choice: how it was made and what it promises.
void print_calibration(const calibration::Curves& curves, const std::string& policy, const calibration::TimingPlan& plan,
                       const calibration::Choice& choice, const calibration::Criterion& criterion) {
  const auto& curve = curves.by_policy.at(policy);
  std::cout << "\n";
  print_point_header(true);
  print_point("full depth", curves.full);
  for (const auto& p : curves.statics) print_point(point_name(p), p);
  std::cout << "-- " << policy << " sweep (selected thresholds)\n";
  double last_shown = -1;
  for (size_t i = 0; i < curve.size(); ++i) {
    const bool timed = std::find(plan.timed.begin(), plan.timed.end(), &curve[i]) != plan.timed.end();
    if (!timed && std::abs(curve[i].relative_flops - last_shown) < 0.05 && i + 1 != curve.size()) continue;
    last_shown = curve[i].relative_flops;
    print_point(point_name(curve[i]), curve[i]);
  }
  const engine::SweepPoint& pick = *choice.point;
  std::cout << "\nchosen (" << criterion.describe() << ", " << choice.method << "): " << point_name(pick) << "  accuracy "
            << pct(pick.accuracy, 2) << "% (95% bootstrap interval " << pct(pick.accuracy_low, 1) << "-"
            << pct(pick.accuracy_high, 1) << "; full depth " << pct(curves.full.accuracy, 2) << "%)  FLOPs "
            << pct(pick.relative_flops) << "% of full depth (" << pct(pick.relative_flops_low) << "-"
            << pct(pick.relative_flops_high) << ")  mean exit layer " << std::setprecision(2)
            << pick.mean_exit_layer << "\n  " << choice.statement << "\n";
  if (choice.adaptive && !choice.dominating.empty()) {
    const auto& a = *choice.adaptive;
    for (const auto* s : choice.dominating)
      std::cout << "  note: " << point_name(*s) << " (" << pct(s->accuracy, 2) << "% at " << pct(s->relative_flops)
                << "% of the FLOPs) is at least as accurate as the " << policy << " curve's own pick, "
                << point_name(a) << " (" << pct(a.accuracy, 2) << "% at " << pct(a.relative_flops)
                << "%), at no more FLOPs: a static exit dominates the adaptive curve there\n";
  }
}

}  // namespace

Run add_calibrate(CLI::App& app) {
  auto a = std::make_shared<CalibrateArgs>();
  app.add_option("MODEL", a->model, "Model directory with exit heads")->required();
  app.add_option("DEV", a->dev, "Labelled dev set, TSV label<TAB>text ('-' = stdin)")->required();
  app.add_option("--out", a->out, "Output folder for sweep.csv, sweep.json, accuracy_vs_flops.png/.svg (default: MODEL/calibration)");
  app.add_option("--policy", a->policy, "Policy whose curve picks the threshold: max_prob, entropy or patience")
      ->check(CLI::IsMember({"max_prob", "entropy", "patience"}))->capture_default_str();
  auto* drop = app.add_option("--max-drop", a->max_drop, "Choose the cheapest setting (threshold or static exit) within this many accuracy points of full depth (default 1)")
                   ->check(CLI::Range(0.0, 100.0));
  auto* budget = app.add_option("--budget", a->budget, "Choose the most accurate setting within this FLOPs budget, relative to full depth (0..1]")
      ->check(CLI::Range(1e-6, 1.0))->excludes(drop);
  app.add_option("--delta", a->delta,
                 "With --max-drop: a guarantee instead of a dev estimate (Learn-then-Test): with probability >= 1 - DELTA "
                 "over the dev set, the chosen setting loses at most --max-drop points on new data")
      ->check(CLI::Range(1e-6, 0.5))->excludes(budget);
  app.add_option("--bound", a->bound,
                 "With --delta, the p-value: 'betting' (Waudby-Smith & Ramdas, on the net accuracy change) or 'binomial' "
                 "(exact, on the inputs made wrong alone; more conservative)")
      ->check(CLI::IsMember({"betting", "binomial"}))->capture_default_str();
  app.add_flag("--write", a->write, "Store the fitted temperatures and the chosen policy/threshold in MODEL/offramp.json");
  app.add_flag("--no-temperature", a->no_temperature, "Keep the model's temperatures instead of fitting them on DEV");
  app.add_flag("--no-plot", a->no_plot, "Skip the gnuplot plot");
  app.add_option("--timing-inputs", a->timing_inputs, "Dev inputs timed per curve point at batch 32 (a quarter of them at batch 1); 0 = no timing")
      ->check(CLI::Range(0, 1 << 20))->capture_default_str();
  app.add_option("--threads", a->threads, "CPU threads (0 = all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  add_device_flags(app, a->device);
  app.add_option("--max-length", a->max_length, "Truncate inputs to this many tokens (default: the model's)")->check(CLI::Range(2, 1 << 20));
  app.footer("Runs DEV once to full depth, recording every exit head, and replays every threshold offline.\n"
             "Prints per-exit calibration (ECE before/after temperature scaling), the static exits, the sweep,\n"
             "and the chosen point with measured ms/input at batch 1 and 32. The candidates are the policy's thresholds\n"
             "and the static exits ('exit k alone'); accuracies carry 95% bootstrap intervals.");
  return [a] {
    namespace steps = calibration;
    const fs::path out = a->out.empty() ? fs::path(a->model) / "calibration" : fs::path(a->out);
    if (!a->no_plot) require_gnuplot();
    const auto clf = Classifier::load(a->model, load_options(a->device, a->threads));
    const ModelInfo& info = clf.info();
    if (info.exits.empty()) throw Error(a->model + ": this model has no exit heads; add them with offramp-train, then calibrate");
    const auto lines = read_labelled(a->dev, clf, a->max_length);
    report::require_output_dir(out.string(), "calibration", "--out");
    if (a->write) {
      const fs::path oc = fs::path(a->model) / "offramp.json";
      if (access(oc.c_str(), W_OK) != 0) throw Error(oc.string() + ": not writable (needed by --write)");
    }

    engine::SweepInput in = trace_labelled(clf, lines, a->max_length, a->batch_size);
    const auto temperatures = steps::fit_temperatures(in, a->no_temperature);
    steps::print_temperatures(temperatures);
    steps::Curves curves = steps::sweep_all(in);
    const steps::Criterion criterion{a->max_drop, a->budget, a->delta, engine::parse_bound(a->bound)};
    const steps::Choice choice = steps::choose(curves, a->policy, criterion);

    ClassifyOptions base;
    base.temperatures = in.temperatures;
    if (a->max_length > 0) base.max_length = a->max_length;
    const std::unique_ptr<report::EnergySource> meter =
        info.device == "cuda" ? std::unique_ptr<report::EnergySource>(std::make_unique<report::GpuEnergyMeter>())
                              : std::make_unique<report::EnergyMeter>();
    report::Report green{"Offramp cost report: calibration of " + a->model, a->model, a->dev, info.device_name, {}, meter->why()};
    green.precision = info.precision;
    if (meter->available()) green.energy_note = meter->what() + ", measured over the timing runs";
    steps::TimingPlan plan;
    plan.chosen = choice.point;
    plan.timed = steps::points_to_time(curves, a->policy, choice);
    plan.threads = a->threads > 0 ? a->threads : static_cast<int>(std::thread::hardware_concurrency());
    for (size_t i = 0; i < lines.size() && plan.texts.size() < static_cast<size_t>(a->timing_inputs); ++i)
      plan.texts.push_back(lines[i].text);
    steps::time_points(clf, plan, base, curves.full, *meter, green);
    print_calibration(curves, a->policy, plan, choice, criterion);

    steps::Outputs o;
    o.model = a->model, o.dev = a->dev, o.out = out.string(), o.policy = a->policy, o.labels = info.labels;
    o.temperatures = temperatures, o.curves = &curves, o.choice = &choice, o.criterion = criterion;
    o.inputs = in.size(), o.exit_layers = in.exit_layers, o.no_plot = a->no_plot;
    steps::write_outputs(o, green);
    std::cout << "wrote " << (out / "sweep.csv").string() << ", " << (out / "sweep.json").string() << ", "
              << (out / "report.md").string() << " (+ .json: the cost report)"
              << (a->no_plot ? "" : ", " + (out / "accuracy_vs_flops.png").string() + " and .svg") << "\n";
    if (a->write) {
      const engine::SweepPoint& pick = *choice.point;
      steps::store_in_model(a->model, in.temperatures, choice.policy, pick,
                            steps::prediction_json(choice, curves, a->dev, criterion));
      std::cout << std::defaultfloat << std::setprecision(6) << "wrote temperatures and " << point_name(pick) << " to "
                << (fs::path(a->model) / "offramp.json").string() << "\n";
    }
    return 0;
  };
}

}  // namespace offramp::cli
