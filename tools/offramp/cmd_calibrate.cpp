// `offramp calibrate MODEL DEV.tsv`: one full-depth pass recording every exit head, then
// per-exit temperature scaling, threshold sweeps for every policy (replayed offline), the
// static baselines, a chosen threshold, measured time at a few points, CSV/JSON and a plot.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "engine/src/temperature.h"
#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "offramp/offramp.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/device_flags.h"
#include "tools/offramp/plot.h"
#include "tools/offramp/traced.h"
#include "tools/report/atomic_file.h"
#include "tools/report/gpu_energy.h"
#include "tools/report/green_report.h"

namespace offramp::cli {

namespace fs = std::filesystem;

namespace {

struct CalibrateArgs {
  std::string model, dev, out, policy = "max_prob";
  std::optional<double> max_drop, budget;
  bool write = false, no_temperature = false, no_plot = false;
  int timing_inputs = 256, threads = 0, max_length = 0, batch_size = 64;
  DeviceFlags device;
};

// Fails early (before any model work) when the output folder cannot be written.
void check_writable(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path probe = dir / ".offramp-write-test";
  std::ofstream f(probe);
  if (ec || !f) throw Error(dir.string() + ": cannot write the calibration output here (choose another --out)");
  f.close();
  fs::remove(probe);
}

// Mean wall-clock ms per input for classify() over `texts` in batches of `batch`, and the
// energy per input when the meter can read it.
double time_per_input(const Classifier& clf, const std::vector<std::string>& texts, size_t batch,
                      const ClassifyOptions& opt, const report::EnergySource& meter,
                      std::optional<double>* joules_per_input = nullptr) {
  std::vector<std::string> chunk;
  const double j0 = meter.available() ? meter.joules() : 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t b = 0; b < texts.size(); b += batch) {
    chunk.assign(texts.begin() + static_cast<std::ptrdiff_t>(b), texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), b + batch)));
    (void)clf.classify(chunk, opt);
  }
  const double n = static_cast<double>(texts.size());
  if (joules_per_input && meter.available()) *joules_per_input = (meter.joules() - j0) / n;
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / n;
}

report::CostRow cost_row(const std::string& setting, const engine::SweepPoint& p, int batch, int threads, double ms,
                         const std::optional<double>& joules_per_input) {
  report::CostRow c;
  c.setting = setting, c.batch_size = batch, c.threads = threads;
  c.accuracy = p.accuracy, c.gflop_per_input = p.mean_flops * 1e-9, c.relative_flops = p.relative_flops;
  c.mean_exit_layer = p.mean_exit_layer;
  if (ms > 0) c.inputs_per_s = 1e3 / ms;
  if (joules_per_input) c.joules_per_1000 = 1000 * *joules_per_input;
  return c;
}

std::string csv_row(const engine::SweepPoint& p) {
  std::ostringstream s;
  s << std::setprecision(8) << p.kind << "," << p.policy << "," << p.threshold << "," << p.accuracy << "," << p.macro_f1 << ","
    << p.mean_flops << "," << p.relative_flops << "," << p.mean_exit_layer << ",";
  for (size_t e = 0; e < p.exit_histogram.size(); ++e) s << (e ? ";" : "") << p.exit_histogram[e];
  s << ",";
  if (p.ms_per_input_batch1 >= 0) s << p.ms_per_input_batch1;
  s << ",";
  if (p.ms_per_input_batch32 >= 0) s << p.ms_per_input_batch32;
  return s.str() + "\n";
}

}  // namespace

Run add_calibrate(CLI::App& app) {
  auto a = std::make_shared<CalibrateArgs>();
  app.add_option("MODEL", a->model, "Model directory with exit heads")->required();
  app.add_option("DEV", a->dev, "Labelled dev set, TSV label<TAB>text ('-' = stdin)")->required();
  app.add_option("--out", a->out, "Output folder for sweep.csv, sweep.json, accuracy_vs_flops.png/.svg (default: MODEL/calibration)");
  app.add_option("--policy", a->policy, "Policy whose curve picks the threshold: max_prob, entropy or patience")
      ->check(CLI::IsMember({"max_prob", "entropy", "patience"}))->capture_default_str();
  auto* drop = app.add_option("--max-drop", a->max_drop, "Choose the cheapest threshold within this many accuracy points of full depth (default 1)")
                   ->check(CLI::Range(0.0, 100.0));
  app.add_option("--budget", a->budget, "Choose the most accurate threshold within this FLOPs budget, relative to full depth (0..1]")
      ->check(CLI::Range(1e-6, 1.0))->excludes(drop);
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
             "and the chosen point with measured ms/input at batch 1 and 32.");
  return [a] {
    const fs::path out = a->out.empty() ? fs::path(a->model) / "calibration" : fs::path(a->out);
    const double max_drop = a->max_drop.value_or(1.0);
    if (!a->no_plot) require_gnuplot();
    const auto clf = Classifier::load(a->model, load_options(a->device, a->threads));
    const ModelInfo& info = clf.info();
    if (info.exits.empty()) throw Error(a->model + ": this model has no exit heads; add them with offramp-train, then calibrate");
    const auto lines = read_labelled(a->dev, clf, a->max_length);
    check_writable(out);
    if (a->write) {
      const fs::path oc = fs::path(a->model) / "offramp.json";
      if (access(oc.c_str(), W_OK) != 0) throw Error(oc.string() + ": not writable (needed by --write)");
    }

    engine::SweepInput in = trace_labelled(clf, lines, a->max_length, a->batch_size);
    const size_t E = in.exit_layers.size(), L = static_cast<size_t>(in.labels);

    // Temperatures per exit, with ECE before (the model's temperatures) and after.
    nlohmann::json temps = nlohmann::json::array();
    std::cout << "exit  layer  temperature (before -> after)   ECE before -> after   NLL before -> after\n";
    for (size_t e = 0; e < E; ++e) {
      std::vector<float> z(in.size() * L);
      for (size_t i = 0; i < in.size(); ++i)
        std::copy_n(in.logits.begin() + static_cast<std::ptrdiff_t>((i * E + e) * L), L, z.begin() + static_cast<std::ptrdiff_t>(i * L));
      const double before_t = in.temperatures[e];
      const double after_t = a->no_temperature ? before_t : engine::fit_temperature(z, in.gold, in.labels);
      const double ece0 = engine::expected_calibration_error(z, in.gold, in.labels, before_t);
      const double ece1 = engine::expected_calibration_error(z, in.gold, in.labels, after_t);
      const double nll0 = engine::temperature_nll(z, in.gold, in.labels, before_t);
      const double nll1 = engine::temperature_nll(z, in.gold, in.labels, after_t);
      in.temperatures[e] = static_cast<float>(after_t);
      std::cout << std::setw(4) << e << std::setw(7) << in.exit_layers[e] << std::fixed << std::setprecision(3) << std::setw(13)
                << before_t << " -> " << std::setw(6) << after_t << std::setprecision(4) << std::setw(16) << ece0 << " -> "
                << std::setw(6) << ece1 << std::setw(13) << nll0 << " -> " << nll1 << "\n";
      temps.push_back({{"exit", e}, {"layer", in.exit_layers[e]}, {"temperature_before", before_t},
                       {"temperature", in.temperatures[e]}, {"ece_before", ece0}, {"ece_after", ece1},
                       {"nll_before", nll0}, {"nll_after", nll1}});
    }

    const auto full = engine::full_depth_point(in);
    const auto statics = engine::static_points(in);
    std::map<std::string, std::vector<engine::SweepPoint>> curves;
    for (Policy p : {Policy::MaxProb, Policy::Entropy, Policy::Patience}) curves[policy_name(p)] = engine::sweep(in, p);
    auto& curve = curves[a->policy];
    const int chosen = a->budget ? engine::choose_by_budget(curve, *a->budget)
                                 : engine::choose_by_max_drop(curve, full.accuracy, max_drop);
    if (chosen < 0)
      throw Error(a->budget ? "no " + a->policy + " threshold fits the FLOPs budget " + std::to_string(*a->budget) +
                                  " (the cheapest costs " + std::to_string(curve.back().relative_flops) + "); raise --budget"
                            : "no " + a->policy + " threshold within --max-drop of full depth");

    // Measured time for a few points: full depth, the chosen point, and the curve points
    // nearest 40% and 70% of full-depth FLOPs.
    ClassifyOptions base;
    base.temperatures = in.temperatures;
    if (a->max_length > 0) base.max_length = a->max_length;
    const Policy pol = parse_policy(a->policy);
    auto opts_for = [&](const engine::SweepPoint& p) {
      ClassifyOptions o = base;
      o.policy = pol;
      if (pol == Policy::Patience) o.patience = static_cast<int>(p.threshold), o.threshold = 2.0;
      else o.threshold = p.threshold;
      return o;
    };
    engine::SweepPoint full_timed = full;
    std::vector<size_t> timed{static_cast<size_t>(chosen)};
    for (double target : {0.4, 0.7}) {
      size_t best = 0;
      for (size_t i = 1; i < curve.size(); ++i)
        if (std::abs(curve[i].relative_flops - target) < std::abs(curve[best].relative_flops - target)) best = i;
      if (std::find(timed.begin(), timed.end(), best) == timed.end()) timed.push_back(best);
    }
    const std::unique_ptr<report::EnergySource> meter_ptr =
        clf.info().device == "cuda"
            ? std::unique_ptr<report::EnergySource>(std::make_unique<report::GpuEnergyMeter>())
            : std::make_unique<report::EnergyMeter>();
    const report::EnergySource& meter = *meter_ptr;
    report::Report green{"Offramp cost report: calibration of " + a->model,
                         a->model,
                         a->dev,
                         clf.info().device_name,
                         {},
                         meter.why()};
    if (meter.available()) green.energy_note = meter.what() + ", measured over the timing runs";
    const int threads = a->threads > 0 ? a->threads : static_cast<int>(std::thread::hardware_concurrency());
    if (a->timing_inputs > 0) {
      std::vector<std::string> texts;
      for (size_t i = 0; i < lines.size() && texts.size() < static_cast<size_t>(a->timing_inputs); ++i) texts.push_back(lines[i].text);
      const std::vector<std::string> texts1(texts.begin(), texts.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(1, texts.size() / 4)));
      std::cerr << "timing " << timed.size() + 1 << " points on " << texts.size() << " dev inputs at batch 32 and " << texts1.size()
                << " at batch 1\n";
      ClassifyOptions fo = base;
      fo.threshold = 2.0;  // never exits early: full depth
      (void)time_per_input(clf, texts1, 1, fo, meter);  // warm-up
      std::optional<double> j1, j32;
      full_timed.ms_per_input_batch1 = time_per_input(clf, texts1, 1, fo, meter, &j1);
      full_timed.ms_per_input_batch32 = time_per_input(clf, texts, 32, fo, meter, &j32);
      green.rows.push_back(cost_row("full depth", full_timed, 1, threads, full_timed.ms_per_input_batch1, j1));
      green.rows.push_back(cost_row("full depth", full_timed, 32, threads, full_timed.ms_per_input_batch32, j32));
      for (size_t i : timed) {
        curve[i].ms_per_input_batch1 = time_per_input(clf, texts1, 1, opts_for(curve[i]), meter, &j1);
        curve[i].ms_per_input_batch32 = time_per_input(clf, texts, 32, opts_for(curve[i]), meter, &j32);
        const std::string name = point_name(curve[i]) + (i == static_cast<size_t>(chosen) ? " (chosen)" : "");
        green.rows.push_back(cost_row(name, curve[i], 1, threads, curve[i].ms_per_input_batch1, j1));
        green.rows.push_back(cost_row(name, curve[i], 32, threads, curve[i].ms_per_input_batch32, j32));
      }
    } else {
      green.rows.push_back(cost_row("full depth", full, 0, threads, -1, std::nullopt));
      green.rows.push_back(cost_row(point_name(curve[static_cast<size_t>(chosen)]) + " (chosen)", curve[static_cast<size_t>(chosen)],
                                    0, threads, -1, std::nullopt));
    }
    const engine::SweepPoint& pick = curve[static_cast<size_t>(chosen)];

    // Report.
    std::cout << "\n";
    print_point_header(true);
    print_point("full depth", full_timed);
    for (const auto& p : statics) print_point(point_name(p), p);
    std::cout << "-- " << a->policy << " sweep (selected thresholds)\n";
    double last_shown = -1;
    for (size_t i = 0; i < curve.size(); ++i) {
      const bool timed_point = std::find(timed.begin(), timed.end(), i) != timed.end();
      if (!timed_point && std::abs(curve[i].relative_flops - last_shown) < 0.05 && i + 1 != curve.size()) continue;
      last_shown = curve[i].relative_flops;
      print_point(point_name(curve[i]), curve[i]);
    }
    std::ostringstream crit;
    crit << (a->budget ? "--budget " : "--max-drop ") << (a->budget ? *a->budget : max_drop);
    std::cout << "\nchosen (" << crit.str() << "): " << point_name(pick) << "  accuracy " << pct(pick.accuracy, 2) << "% (full depth " << pct(full.accuracy, 2)
              << "%)  FLOPs " << pct(pick.relative_flops) << "% of full depth  mean exit layer " << std::setprecision(2)
              << pick.mean_exit_layer << "\n";

    // Files: everything computed first, then each written atomically.
    std::string csv = "kind,policy,threshold,accuracy,macro_f1,mean_flops,relative_flops,mean_exit_layer,exit_histogram,"
                      "ms_per_input_batch1,ms_per_input_batch32\n";
    csv += csv_row(full_timed);
    for (const auto& p : statics) csv += csv_row(p);
    for (const auto& [name, pts] : curves)
      for (const auto& p : pts) csv += csv_row(p);
    nlohmann::json j = {{"model", a->model}, {"dev", a->dev}, {"inputs", in.size()}, {"labels", info.labels},
                        {"exit_layers", in.exit_layers}, {"temperatures", temps}, {"full_depth", point_json(full_timed)},
                        {"static", nlohmann::json::array()}, {"sweep", nlohmann::json::object()},
                        {"chosen", point_json(pick)},
                        {"criterion", a->budget ? nlohmann::json{{"budget", *a->budget}} : nlohmann::json{{"max_drop", max_drop}}}};
    for (const auto& p : statics) j["static"].push_back(point_json(p));
    for (const auto& [name, pts] : curves) {
      j["sweep"][name] = nlohmann::json::array();
      for (const auto& p : pts) j["sweep"][name].push_back(point_json(p));
    }
    report::write_file_atomic((out / "sweep.csv").string(), csv);
    report::write_file_atomic((out / "sweep.json").string(), j.dump(1));
    report::write_report(green, (out / "report").string());
    if (!a->no_plot) {
      PlotSpec spec{"Accuracy vs FLOPs on " + fs::path(a->dev).filename().string() + " (" + std::to_string(in.size()) + " inputs)",
                    "FLOPs relative to full depth", "accuracy (%)", {}, {}};
      for (const auto& [name, pts] : curves) {
        PlotSeries s{name, {}, true};
        for (const auto& p : pts) s.points.emplace_back(p.relative_flops, 100 * p.accuracy);
        spec.series.push_back(std::move(s));
      }
      PlotSeries st{"static exits", {}, false};
      for (const auto& p : statics) st.points.emplace_back(p.relative_flops, 100 * p.accuracy);
      spec.series.push_back(std::move(st));
      spec.series.push_back({"chosen", {{pick.relative_flops, 100 * pick.accuracy}}, false});
      spec.labels.push_back({"full depth", {1.0, 100 * full.accuracy}});
      plot(spec, (out / "accuracy_vs_flops").string());
    }
    std::cout << "wrote " << (out / "sweep.csv").string() << ", " << (out / "sweep.json").string() << ", "
              << (out / "report.md").string() << " (+ .json: the cost report)"
              << (a->no_plot ? "" : ", " + (out / "accuracy_vs_flops.png").string() + " and .svg") << "\n";

    if (a->write) {
      const fs::path dir(a->model);
      const auto cfg = models::load_bert_config((dir / "config.json").string());
      auto oc = models::load_offramp_config((dir / "offramp.json").string(), cfg);
      for (size_t e = 0; e < E; ++e) oc.exits[e].temperature = in.temperatures[e];
      oc.policy = a->policy;
      if (pol == Policy::Patience) oc.patience = static_cast<int>(pick.threshold);
      else oc.threshold = pick.threshold;
      models::save_offramp_config((dir / "offramp.json").string(), oc);
      std::cout << std::defaultfloat << std::setprecision(6) << "wrote temperatures and " << a->policy << " " << pick.threshold << " to " << (dir / "offramp.json").string() << "\n";
    }
    return 0;
  };
}

}  // namespace offramp::cli
