#include "tools/offramp/calibrate_steps.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/src/temperature.h"
#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "tools/offramp/plot.h"
#include "tools/offramp/traced.h"
#include "tools/report/atomic_file.h"

namespace offramp::cli::calibration {

namespace fs = std::filesystem;

std::vector<TemperatureFit> fit_temperatures(engine::SweepInput& in, bool keep) {
  const size_t E = in.exit_layers.size(), L = static_cast<size_t>(in.labels);
  std::vector<TemperatureFit> fits;
  std::vector<float> z(in.size() * L);  // [N, labels]: exit e's logits
  for (size_t e = 0; e < E; ++e) {
    for (size_t i = 0; i < in.size(); ++i)
      std::copy_n(in.logits.begin() + static_cast<std::ptrdiff_t>((i * E + e) * L), L,
                  z.begin() + static_cast<std::ptrdiff_t>(i * L));
    TemperatureFit f;
    f.layer = in.exit_layers[e];
    f.before = in.temperatures[e];
    f.after = keep ? f.before : engine::fit_temperature(z, in.gold, in.labels);
    f.ece_before = engine::expected_calibration_error(z, in.gold, in.labels, f.before);
    f.ece_after = engine::expected_calibration_error(z, in.gold, in.labels, f.after);
    f.nll_before = engine::temperature_nll(z, in.gold, in.labels, f.before);
    f.nll_after = engine::temperature_nll(z, in.gold, in.labels, f.after);
    in.temperatures[e] = static_cast<float>(f.after);
    fits.push_back(f);
  }
  return fits;
}

void print_temperatures(const std::vector<TemperatureFit>& fits) {
  std::cout << "exit  layer  temperature (before -> after)   ECE before -> after   NLL before -> after\n";
  for (size_t e = 0; e < fits.size(); ++e) {
    const auto& f = fits[e];
    std::cout << std::setw(4) << e << std::setw(7) << f.layer << std::fixed << std::setprecision(3) << std::setw(13)
              << f.before << " -> " << std::setw(6) << f.after << std::setprecision(4) << std::setw(16) << f.ece_before
              << " -> " << std::setw(6) << f.ece_after << std::setw(13) << f.nll_before << " -> " << f.nll_after << "\n";
  }
}

Curves sweep_all(const engine::SweepInput& in, bool intervals, const std::vector<Policy>& policies) {
  Curves c;
  c.full = engine::full_depth_point(in);
  c.statics = engine::static_points(in);
  for (Policy p : policies) c.by_policy[policy_name(p)] = engine::sweep(in, p);
  c.gold = in.gold;
  c.intervals = intervals;
  if (!intervals) return c;
  std::vector<engine::SweepPoint*> all{&c.full};
  for (auto& p : c.statics) all.push_back(&p);
  for (auto& [name, pts] : c.by_policy)
    for (auto& p : pts) all.push_back(&p);
  engine::bootstrap_accuracy(all, c.gold);
  return c;
}

std::string Criterion::describe() const {
  std::ostringstream s;
  if (budget) s << "--budget " << *budget;
  else s << "--max-drop " << max_drop.value_or(1.0);
  if (delta) s << " --delta " << *delta << " --bound " << engine::bound_name(bound);
  return s.str();
}

nlohmann::json Criterion::to_json() const {
  nlohmann::json j = budget ? nlohmann::json{{"budget", *budget}} : nlohmann::json{{"max_drop", max_drop.value_or(1.0)}};
  if (delta) j["delta"] = *delta, j["bound"] = engine::bound_name(bound);
  return j;
}

namespace {

// The cheapest candidate within max_drop points of full depth on dev, or the most accurate
// within the budget; nullptr when none qualifies.
const engine::SweepPoint* point_estimate(const std::vector<const engine::SweepPoint*>& candidates,
                                         const engine::SweepPoint& full, const Criterion& c) {
  return c.budget ? engine::most_accurate_within(candidates, *c.budget)
                  : engine::cheapest_within(candidates, full.accuracy, c.max_drop.value_or(1.0));
}

}  // namespace

Choice choose(Curves& curves, const std::string& policy, const Criterion& c) {
  const auto& curve = curves.by_policy.at(policy);
  std::vector<const engine::SweepPoint*> adaptive, statics;
  for (const auto& p : curve) adaptive.push_back(&p);
  for (size_t e = 0; e + 1 < curves.statics.size(); ++e) statics.push_back(&curves.statics[e]);  // the last is full depth
  std::vector<const engine::SweepPoint*> all = adaptive;
  all.insert(all.end(), statics.begin(), statics.end());
  const double drop = c.max_drop.value_or(1.0);

  Choice ch;
  const engine::SweepPoint* pick = nullptr;
  ch.adaptive = point_estimate(adaptive, curves.full, c);
  if (ch.adaptive)
    for (const auto* s : statics)
      if (s->accuracy >= ch.adaptive->accuracy && s->relative_flops <= ch.adaptive->relative_flops) ch.dominating.push_back(s);
  if (c.delta) {
    if (c.budget) throw Error("--delta goes with --max-drop (a guarantee on the accuracy lost), not with --budget");
    ch.method = "Learn-then-Test";
    ch.certified = engine::certify({engine::most_conservative_first(curve, false),
                                    engine::most_conservative_first(curves.statics, true)},
                                   curves.full, curves.gold, drop / 100.0, *c.delta, c.bound);
    std::ostringstream s;
    if (ch.certified->chosen) {
      pick = ch.certified->chosen;
      s << "with probability at least " << 1 - *c.delta << " over the draw of the " << curves.gold.size()
        << " dev inputs, this setting ";
      if (c.bound == engine::RiskBound::Binomial)
        s << "is wrong where full depth is right on at most " << drop
          << "% of new inputs from the same distribution, so it loses at most " << drop
          << " percentage points of accuracy against full depth (exact binomial p-values";
      else
        s << "loses less than " << drop
          << " percentage points of accuracy against full depth on new inputs from the same distribution (betting "
             "p-values of Waudby-Smith and Ramdas on the net loss";
      s << ", fixed-sequence testing from the most conservative setting of the " << policy
        << " sweep and of the static exits, delta split between them)";
    } else {
      pick = &curves.full;
      s << "no setting could be certified on " << curves.gold.size() << " dev inputs (even a setting that never differs from full "
        << "depth needs at least " << ch.certified->inputs_needed << " for --max-drop " << drop << " --delta " << *c.delta
        << "): falling back to full depth";
    }
    ch.statement = s.str();
  } else {
    ch.method = "point estimate";
    pick = point_estimate(all, curves.full, c);
    if (!pick) {
      if (c.budget)
        throw Error("no " + policy + " threshold or static exit fits the FLOPs budget " + std::to_string(*c.budget) +
                    " (the cheapest costs " + std::to_string(curve.back().relative_flops) + "); raise --budget");
      throw Error("no " + policy + " threshold or static exit within --max-drop of full depth");
    }
    ch.statement = c.budget ? "the most accurate setting on dev within the FLOPs budget; no statement about new data"
                            : "the cheapest setting whose dev accuracy is within " + std::to_string(drop).substr(0, 4) +
                                  " points of full depth's on dev; no statement about new data (add --delta for one)";
  }
  // The pointers above are const views into `curves`, which the caller owns mutably.
  ch.point = const_cast<engine::SweepPoint*>(pick);
  if (curves.intervals) engine::bootstrap_relative_flops(*ch.point, curves.full);
  ch.policy = engine::setting_of(*ch.point).policy;
  return ch;
}

nlohmann::json prediction_json(const Choice& ch, const Curves& curves, const std::string& dev, const Criterion& c) {
  const auto& p = *ch.point;
  // Full depth is stored as the static policy at the last exit, which evaluate names so.
  const std::string setting =
      &p == &curves.full ? "exit " + std::to_string(static_cast<int>(p.threshold)) + " alone" : point_name(p);
  return {{"setting", setting},
          {"method", ch.method},
          {"statement", ch.statement},
          {"criterion", c.to_json()},
          {"dev", dev},
          {"inputs", curves.gold.size()},
          {"accuracy", p.accuracy},
          {"accuracy_interval", {p.accuracy_low, p.accuracy_high}},
          {"relative_flops", p.relative_flops},
          {"relative_flops_interval", {p.relative_flops_low, p.relative_flops_high}},
          {"full_depth_accuracy", curves.full.accuracy}};
}

ClassifyOptions point_options(const engine::SweepPoint& p, const ClassifyOptions& base) {
  const engine::PolicyParams s = engine::setting_of(p);
  ClassifyOptions o = base;
  o.policy = s.policy, o.threshold = s.threshold, o.patience = s.patience, o.exit_layer = s.exit_layer;
  return o;
}

ClassifyOptions full_depth_options(const ClassifyOptions& base) {
  ClassifyOptions o = base;
  o.full_depth = true;
  return o;
}

namespace {

// Mean wall-clock ms per input for classify() over `texts` in batches of `batch`, and the
// energy per input when the meter can read it.
double time_per_input(const Classifier& clf, const std::vector<std::string>& texts, size_t batch,
                      const ClassifyOptions& opt, const report::EnergySource& meter,
                      std::optional<double>* joules_per_input = nullptr) {
  std::vector<std::string> chunk;
  const double j0 = meter.available() ? meter.joules() : 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t b = 0; b < texts.size(); b += batch) {
    chunk.assign(texts.begin() + static_cast<std::ptrdiff_t>(b),
                 texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), b + batch)));
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
  s << std::setprecision(8) << p.kind << "," << p.policy << "," << p.threshold << "," << p.accuracy << "," << p.macro_f1
    << "," << p.mean_flops << "," << p.relative_flops << "," << p.mean_exit_layer << ",";
  for (size_t e = 0; e < p.exit_histogram.size(); ++e) s << (e ? ";" : "") << p.exit_histogram[e];
  s << ",";
  if (p.ms_per_input_batch1 >= 0) s << p.ms_per_input_batch1;
  s << ",";
  if (p.ms_per_input_batch32 >= 0) s << p.ms_per_input_batch32;
  s << ",";
  if (p.accuracy_low >= 0) s << p.accuracy_low << "," << p.accuracy_high;
  else s << ",";
  return s.str() + "\n";
}

}  // namespace

std::vector<engine::SweepPoint*> points_to_time(Curves& curves, const std::string& policy, const Choice& choice) {
  auto& curve = curves.by_policy.at(policy);
  std::vector<engine::SweepPoint*> timed;
  if (choice.point != &curves.full) timed.push_back(choice.point);
  for (double target : {0.4, 0.7}) {
    size_t best = 0;
    for (size_t i = 1; i < curve.size(); ++i)
      if (std::abs(curve[i].relative_flops - target) < std::abs(curve[best].relative_flops - target)) best = i;
    if (std::find(timed.begin(), timed.end(), &curve[best]) == timed.end()) timed.push_back(&curve[best]);
  }
  return timed;
}

void time_points(const Classifier& clf, const TimingPlan& plan, const ClassifyOptions& base, engine::SweepPoint& full,
                 const report::EnergySource& meter, report::Report& green) {
  const auto name = [&](const engine::SweepPoint& p, const std::string& base_name) {
    return base_name + (&p == plan.chosen ? " (chosen)" : "");
  };
  const auto& texts = plan.texts;
  if (texts.empty()) {  // no timing: the analytic rows of full depth and the chosen point
    green.rows.push_back(cost_row(name(full, "full depth"), full, 0, plan.threads, -1, std::nullopt));
    if (plan.chosen != &full)
      green.rows.push_back(cost_row(name(*plan.chosen, point_name(*plan.chosen)), *plan.chosen, 0, plan.threads, -1,
                                    std::nullopt));
    return;
  }
  const std::vector<std::string> texts1(texts.begin(),
                                        texts.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(1, texts.size() / 4)));
  std::cerr << "timing " << plan.timed.size() + 1 << " points on " << texts.size() << " dev inputs at batch 32 and "
            << texts1.size() << " at batch 1\n";
  const ClassifyOptions fo = full_depth_options(base);
  (void)time_per_input(clf, texts1, 1, fo, meter);  // warm-up
  std::optional<double> j1, j32;
  full.ms_per_input_batch1 = time_per_input(clf, texts1, 1, fo, meter, &j1);
  full.ms_per_input_batch32 = time_per_input(clf, texts, 32, fo, meter, &j32);
  green.rows.push_back(cost_row(name(full, "full depth"), full, 1, plan.threads, full.ms_per_input_batch1, j1));
  green.rows.push_back(cost_row(name(full, "full depth"), full, 32, plan.threads, full.ms_per_input_batch32, j32));
  for (engine::SweepPoint* p : plan.timed) {
    const ClassifyOptions o = point_options(*p, base);
    p->ms_per_input_batch1 = time_per_input(clf, texts1, 1, o, meter, &j1);
    p->ms_per_input_batch32 = time_per_input(clf, texts, 32, o, meter, &j32);
    green.rows.push_back(cost_row(name(*p, point_name(*p)), *p, 1, plan.threads, p->ms_per_input_batch1, j1));
    green.rows.push_back(cost_row(name(*p, point_name(*p)), *p, 32, plan.threads, p->ms_per_input_batch32, j32));
  }
}

namespace {

nlohmann::json choice_json(const Choice& ch) {
  nlohmann::json j = {{"method", ch.method}, {"statement", ch.statement}, {"setting", point_name(*ch.point)},
                      {"policy", policy_name(ch.policy)}};
  if (ch.adaptive) j["adaptive_point_estimate"] = point_name(*ch.adaptive);
  j["dominating_static_exits"] = nlohmann::json::array();
  for (const auto* s : ch.dominating) j["dominating_static_exits"].push_back(point_name(*s));
  if (ch.certified) {
    const auto& c = *ch.certified;
    j["epsilon"] = c.epsilon, j["delta"] = c.delta, j["bound"] = engine::bound_name(c.bound);
    j["inputs"] = c.inputs, j["inputs_needed"] = c.inputs_needed;
    j["tests"] = nlohmann::json::array();
    for (const auto& family : c.tests)
      for (const auto& t : family)
        j["tests"].push_back({{"setting", point_name(*t.point)}, {"losses", t.losses}, {"gains", t.gains}, {"p_value", t.p_value},
                              {"certified", t.certified}});
  }
  return j;
}

}  // namespace

void write_outputs(const Outputs& o, const report::Report& green) {
  const Curves& c = *o.curves;
  const fs::path out(o.out);
  const Choice& ch = *o.choice;
  const engine::SweepPoint& pick = *ch.point;
  std::string csv =
      "kind,policy,threshold,accuracy,macro_f1,mean_flops,relative_flops,mean_exit_layer,exit_histogram,"
      "ms_per_input_batch1,ms_per_input_batch32,accuracy_low,accuracy_high\n";
  csv += csv_row(c.full);
  for (const auto& p : c.statics) csv += csv_row(p);
  for (const auto& [name, pts] : c.by_policy)
    for (const auto& p : pts) csv += csv_row(p);
  nlohmann::json temps = nlohmann::json::array();
  for (size_t e = 0; e < o.temperatures.size(); ++e) {
    const auto& f = o.temperatures[e];
    temps.push_back({{"exit", e}, {"layer", f.layer}, {"temperature_before", f.before},
                     {"temperature", static_cast<float>(f.after)}, {"ece_before", f.ece_before},
                     {"ece_after", f.ece_after}, {"nll_before", f.nll_before}, {"nll_after", f.nll_after}});
  }
  nlohmann::json j = {{"model", o.model},          {"dev", o.dev},
                      {"inputs", o.inputs},        {"labels", o.labels},
                      {"exit_layers", o.exit_layers}, {"temperatures", temps},
                      {"full_depth", point_json(c.full)}, {"static", nlohmann::json::array()},
                      {"sweep", nlohmann::json::object()}, {"chosen", point_json(pick)},
                      {"criterion", o.criterion.to_json()}, {"choice", choice_json(ch)}};
  for (const auto& p : c.statics) j["static"].push_back(point_json(p));
  for (const auto& [name, pts] : c.by_policy) {
    j["sweep"][name] = nlohmann::json::array();
    for (const auto& p : pts) j["sweep"][name].push_back(point_json(p));
  }
  report::write_file_atomic((out / "sweep.csv").string(), csv);
  report::write_file_atomic((out / "sweep.json").string(), j.dump(1));
  report::write_report(green, (out / "report").string());
  if (!o.no_plot) {
    PlotSpec spec{"Accuracy vs FLOPs on " + fs::path(o.dev).filename().string() + " (" + std::to_string(o.inputs) +
                      " inputs)",
                  "FLOPs relative to full depth", "accuracy (%)", {}, {}};
    PlotSeries band{o.policy + " 95% bootstrap interval", {}, true, {}};
    for (const auto& p : c.by_policy.at(o.policy))
      band.points.emplace_back(p.relative_flops, 100 * p.accuracy_low), band.high.push_back(100 * p.accuracy_high);
    spec.series.push_back(std::move(band));
    for (const auto& [name, pts] : c.by_policy) {
      PlotSeries s{name, {}, true, {}};
      for (const auto& p : pts) s.points.emplace_back(p.relative_flops, 100 * p.accuracy);
      spec.series.push_back(std::move(s));
    }
    PlotSeries st{"static exits", {}, false, {}};
    for (const auto& p : c.statics) st.points.emplace_back(p.relative_flops, 100 * p.accuracy);
    spec.series.push_back(std::move(st));
    spec.series.push_back({"chosen", {{pick.relative_flops, 100 * pick.accuracy}}, false, {}});
    spec.labels.push_back({"full depth", {1.0, 100 * c.full.accuracy}});
    plot(spec, (out / "accuracy_vs_flops").string());
  }
}

void store_in_model(const std::string& model_dir, const std::vector<float>& temperatures, Policy policy,
                    const engine::SweepPoint& pick, const nlohmann::json& prediction) {
  const fs::path dir(model_dir);
  const auto cfg = models::load_bert_config((dir / "config.json").string());
  auto oc = models::load_offramp_config((dir / "offramp.json").string(), cfg);
  if (temperatures.size() != oc.exits.size())
    throw Error(model_dir + ": " + std::to_string(temperatures.size()) + " temperatures for " +
                std::to_string(oc.exits.size()) + " exits");
  for (size_t e = 0; e < oc.exits.size(); ++e) oc.exits[e].temperature = temperatures[e];
  oc.policy = policy_name(policy);
  if (policy == Policy::Patience) oc.patience = static_cast<int>(pick.threshold);
  else if (policy == Policy::Static) oc.exit_layer = static_cast<int>(pick.threshold);
  else oc.threshold = pick.threshold;
  oc.calibration = prediction.is_null() ? "" : prediction.dump();
  models::save_offramp_config((dir / "offramp.json").string(), oc);
}

}  // namespace offramp::cli::calibration
