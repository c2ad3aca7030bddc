// `offramp report RUN_DIR...`: the cost and the reproducibility record of a set of training runs
// (a hyperparameter search: scripts/random-search.sh), from each run's train_report.json:
// Expected Validation Performance against the number of trials and against their total
// training cost (tools/report/evp.h), a table and a plot, and the checklist of Dodge et al.
// 2019 filled from what the runs recorded.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "offramp/offramp.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/plot.h"
#include "tools/report/atomic_file.h"
#include "tools/report/evp.h"

namespace offramp::cli {

namespace fs = std::filesystem;

namespace {

struct ReportArgs {
  std::vector<std::string> runs;
  std::string out = "offramp-report";
  bool no_plot = false;
};

struct TrainingRun {
  std::string dir;
  nlohmann::json j;  // train_report.json
  double score = 0, flops = 0, seconds = 0;
};

TrainingRun read_run(const std::string& dir) {
  const fs::path file = fs::path(dir) / "train_report.json";
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": cannot open (is " + dir + " an offramp-train output directory?)");
  TrainingRun r;
  r.dir = dir;
  try {
    r.j = nlohmann::json::parse(in);
    r.score = r.j.at("result").at("best_dev_score").get<double>();
    r.flops = r.j.at("cost").at("training_flops").get<double>();
    r.seconds = r.j.at("cost").at("wall_clock_seconds").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not an offramp-train report (" + std::string(e.what()) + ")");
  }
  return r;
}

std::string num(double v, int digits = 4) {
  std::ostringstream s;
  s << std::setprecision(digits) << v;
  return s.str();
}

// "min .. max" of a hyperparameter over the runs, or its one value.
std::string bounds(const std::vector<TrainingRun>& runs, const std::string& key) {
  std::set<double> v;
  for (const auto& r : runs)
    if (r.j["hyperparameters"].contains(key) && r.j["hyperparameters"][key].is_number())
      v.insert(r.j["hyperparameters"][key].get<double>());
  if (v.empty()) return "not recorded";
  return v.size() == 1 ? num(*v.begin()) : num(*v.begin()) + " .. " + num(*v.rbegin()) + " (" + std::to_string(v.size()) + " values)";
}

// The search's own record (scripts/random-search.sh writes search.json beside its runs).
std::string search_method(const std::string& run_dir) {
  const fs::path file = fs::absolute(run_dir).parent_path() / "search.json";
  std::ifstream in(file);
  if (!in) return "not recorded (no search.json beside the runs)";
  try {
    const auto j = nlohmann::json::parse(in);
    return j.value("method", "?") + " with seed " + j["seed"].dump() + " over " + j["bounds"].dump() + " (" +
           file.string() + ")";
  } catch (const nlohmann::json::exception&) {
    return "not readable (" + file.string() + " is not valid JSON)";
  }
}

}  // namespace

Run add_report(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  app.add_option("RUN_DIR", a->runs, "offramp-train output directories (each with train_report.json)")->required();
  app.add_option("--out", a->out, "Folder for report.md, report.json and evp.png/.svg")->capture_default_str();
  app.add_flag("--no-plot", a->no_plot, "Skip the gnuplot plot");
  app.footer("Expected Validation Performance (Dodge et al. 2019) with the unbiased estimator of Tang et al. 2020:\n"
             "the best dev score expected from n trials, against n and against the training FLOPs of n trials.");
  return [a] {
    if (!a->no_plot) require_gnuplot();
    std::vector<TrainingRun> runs;
    for (const auto& d : a->runs) runs.push_back(read_run(d));
    report::require_output_dir(a->out, "report", "--out");
    std::vector<double> scores;
    double flops = 0, seconds = 0;
    for (const auto& r : runs) scores.push_back(r.score), flops += r.flops, seconds += r.seconds;
    const auto evp = report::expected_validation_performance(scores);
    const double n_runs = static_cast<double>(runs.size());
    const auto best = std::max_element(runs.begin(), runs.end(), [](const TrainingRun& x, const TrainingRun& y) { return x.score < y.score; });

    std::ostringstream md;
    md << "# Search report: " << runs.size() << " training runs\n\n"
       << "| run | lr | epochs | batch | seed | dev score | training FLOPs | wall clock (s) |\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : runs) {
      const auto& h = r.j["hyperparameters"];
      md << "| " << r.dir << " | " << h.value("lr", 0.0) << " | " << h.value("epochs", 0) << " | " << h.value("batch_size", 0)
         << " | " << r.j["environment"].value("seed", 0) << " | " << num(r.score) << " | " << num(r.flops, 3) << " | "
         << num(r.seconds, 3) << " |\n";
    }
    md << "\n## Expected validation performance\n\n"
       << "| trials n | EVP(n) | training FLOPs of n trials | hours of n trials |\n|---|---|---|---|\n";
    nlohmann::json evp_json = nlohmann::json::array();
    for (size_t n = 1; n <= evp.size(); ++n) {
      const double f = static_cast<double>(n) * flops / n_runs, h = static_cast<double>(n) * seconds / n_runs / 3600;
      md << "| " << n << " | " << num(evp[n - 1]) << " | " << num(f, 3) << " | " << num(h, 3) << " |\n";
      evp_json.push_back({{"trials", n}, {"evp", evp[n - 1]}, {"training_flops", f}, {"hours", h}});
    }
    const auto& b = *best;
    md << "\nEVP(n) is the best dev score expected from n trials drawn without replacement from these " << runs.size()
       << " (Tang et al. 2020's unbiased estimator of Dodge et al. 2019's curve); the cost of n trials is n times the mean.\n"
       << "\n## Reproducibility checklist (Dodge et al. 2019; what the runs recorded)\n\n"
       << "- Computing infrastructure: " << b.j["environment"].value("hardware", "not recorded") << "\n"
       << "- Average runtime per trial: " << num(seconds / n_runs, 3) << " s; total " << num(seconds / 3600, 3) << " h, "
       << num(flops, 3) << " training FLOPs (analytic)\n"
       << "- Energy and CO2e: per run in its train_report.md (" << b.j["cost"].value("energy_note", "not recorded") << ")\n"
       << "- Number of parameters: " << b.j["model"].value("parameters", 0) << " (" << b.j["model"].value("trainable_parameters", 0)
       << " trained)\n"
       << "- Data: train " << b.j["data"].value("train", "?") << " (" << b.j["data"].value("train_examples", 0)
       << " examples), validation " << b.j["data"].value("dev", "?") << " (" << b.j["data"].value("dev_examples", 0)
       << " examples)\n"
       << "- Evaluation metric: dev accuracy (" << b.j["hyperparameters"].value("select", "mean")
       << " exit; mean = averaged over the exit heads), the best epoch's\n"
       << "- Number of hyperparameter trials: " << runs.size() << "\n"
       << "- Bounds of the hyperparameters searched: lr " << bounds(runs, "lr") << "; epochs " << bounds(runs, "epochs")
       << "; batch size " << bounds(runs, "batch_size") << "; weight decay " << bounds(runs, "weight_decay") << "\n"
       << "- Best configuration: " << b.dir << " (" << b.j["hyperparameters"].dump() << ", seed "
       << b.j["environment"].value("seed", 0) << "), dev score " << num(b.score) << "\n"
       << "- Expected validation performance: the table above; mean dev score " << num(evp.front()) << "\n"
       << "- Method of choosing hyperparameter values: " << search_method(runs.front().dir) << "\n";
    const fs::path out(a->out);
    report::write_file_atomic((out / "report.md").string(), md.str());
    nlohmann::json runs_json = nlohmann::json::array();
    for (const auto& r : runs) runs_json.push_back({{"dir", r.dir}, {"dev_score", r.score}, {"training_flops", r.flops},
                                                    {"seconds", r.seconds}, {"hyperparameters", r.j["hyperparameters"]}});
    report::write_file_atomic((out / "report.json").string(),
                              nlohmann::json{{"runs", runs_json}, {"evp", evp_json}, {"best", b.dir}}.dump(1) + "\n");
    if (!a->no_plot) {
      PlotSpec by_n{"Expected validation performance", "trials", "best dev score expected", {}, {}};
      PlotSpec by_cost{"Expected validation performance vs cost", "training FLOPs of the trials", "best dev score expected",
                       {}, {}};
      PlotSeries sn{"EVP", {}, true, {}}, sc{"EVP", {}, true, {}};
      for (const auto& e : evp_json) {
        sn.points.emplace_back(e["trials"].get<double>(), e["evp"].get<double>());
        sc.points.emplace_back(e["training_flops"].get<double>(), e["evp"].get<double>());
      }
      by_n.series.push_back(std::move(sn)), by_cost.series.push_back(std::move(sc));
      plot({by_n, by_cost}, (out / "evp").string());
    }
    std::cout << md.str();
    return 0;
  };
}

}  // namespace offramp::cli
