// `offramp plot BENCH.json`: trade-off curves from an offramp-bench JSON output (Google
// Benchmark's --benchmark_out format). Two panels side by side: accuracy against FLOPs
// relative to full depth, and accuracy against measured ms per input, one curve per batch
// size, with full depth and the static exits, so a reader sees whether FLOPs savings became
// time savings.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "offramp/error.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/plot.h"

namespace offramp::cli {

namespace {
struct PlotArgs {
  std::string input, out;
  int threads = 0;
};

struct RunPoint {
  double relative_flops, accuracy, ms_per_input;
  std::string setting;
};

// Draws the curves of an offramp-bench JSON `j` already checked to hold a "benchmarks" array.
int draw(const nlohmann::json& j, const PlotArgs& args) {
  // Runs on the real (labelled) texts; with repetitions, their mean aggregate.
  // At most 6 digits, so std::stoi cannot overflow on a hand-edited name.
  const std::regex name_re(R"(^Classify/real/b(\d{1,6})/t(\d{1,6})/([^/]+)/([a-z]+))");
  std::map<int, std::map<int, std::vector<RunPoint>>> runs;  // threads -> batch -> points
  bool has_aggregates = false;
  for (const auto& b : j["benchmarks"]) has_aggregates |= b.value("run_type", "") == "aggregate";
  for (const auto& b : j["benchmarks"]) {
    std::smatch m;
    const std::string name = b.value("name", "");
    if (!std::regex_search(name, m, name_re)) continue;
    if (has_aggregates && b.value("aggregate_name", "") != "mean") continue;
    if (!b.contains("accuracy") || !b.contains("relative_flops") || !b.contains("inputs_per_s")) continue;
    runs[std::stoi(m[2])][std::stoi(m[1])].push_back(
        {b["relative_flops"].get<double>(), b["accuracy"].get<double>(), 1e3 / b["inputs_per_s"].get<double>(), m[3]});
  }
  if (runs.empty())
    throw Error(args.input + ": no Classify/real/... runs with accuracy, relative_flops and inputs_per_s counters to draw");
  const int threads = args.threads ? args.threads : runs.rbegin()->first;
  if (!runs.count(threads)) throw Error(args.input + ": no runs with " + std::to_string(threads) + " threads");

  PlotSpec flops{"Accuracy vs FLOPs (" + std::to_string(threads) + " threads)", "FLOPs relative to full depth", "accuracy (%)", {}, {}};
  PlotSpec time{"Accuracy vs measured time (" + std::to_string(threads) + " threads)", "ms per input", "accuracy (%)", {}, {}};
  for (auto& [batch, pts] : runs[threads]) {
    std::sort(pts.begin(), pts.end(), [](const RunPoint& x, const RunPoint& y) { return x.relative_flops < y.relative_flops; });
    PlotSeries f{"batch " + std::to_string(batch), {}, true}, t{"batch " + std::to_string(batch), {}, true};
    for (const auto& p : pts) {
      f.points.emplace_back(p.relative_flops, 100 * p.accuracy);
      t.points.emplace_back(p.ms_per_input, 100 * p.accuracy);
    }
    flops.series.push_back(std::move(f));
    time.series.push_back(std::move(t));
  }
  const auto& ctx = j.value("context", nlohmann::json::object());
  if (ctx.contains("offramp_static_exits")) {
    PlotSeries st{"static exits", {}, false};
    for (const auto& s : nlohmann::json::parse(ctx["offramp_static_exits"].get<std::string>()))
      st.points.emplace_back(s["relative_flops"].get<double>(), 100 * s["accuracy"].get<double>());
    if (!st.points.empty()) flops.labels.push_back({"full depth", st.points.back()});
    flops.series.push_back(std::move(st));
  }
  std::string stem = args.out;
  if (stem.empty()) {
    stem = args.input;
    if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".json") stem.resize(stem.size() - 5);
    stem += "-tradeoff";
  }
  plot({flops, time}, stem);
  std::cout << "wrote " << stem << ".png and " << stem << ".svg\n";
  return 0;
}

}  // namespace

Run add_plot(CLI::App& app) {
  auto a = std::make_shared<PlotArgs>();
  app.add_option("BENCH", a->input, "offramp-bench JSON (--benchmark_out=FILE --benchmark_out_format=json)")->required();
  app.add_option("--out", a->out, "Output stem: writes STEM.png and STEM.svg (default: BENCH without .json, plus -tradeoff)");
  app.add_option("--threads", a->threads, "Thread count whose runs to draw (default: the largest in the file)")->check(CLI::Range(1, 1024));
  return [a] {
    require_gnuplot();
    if (std::filesystem::is_directory(a->input)) throw Error(a->input + ": is a directory, not offramp-bench's JSON");
    std::ifstream in(a->input);
    if (!in) throw Error(a->input + ": cannot open");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(a->input + ": not valid JSON (" + std::string(e.what()) + "); expected offramp-bench's --benchmark_out file");
    }
    if (!j.is_object() || !j.contains("benchmarks") || !j["benchmarks"].is_array())
      throw Error(a->input + ": no \"benchmarks\" array; expected offramp-bench's --benchmark_out JSON");
    try {
      return draw(j, *a);
    } catch (const nlohmann::json::exception& e) {
      // A field of the wrong type or shape is the file's fault: say so, not "internal error".
      throw Error(a->input + ": not the shape of offramp-bench's JSON output (" + std::string(e.what()) + ")");
    }
  };
}

}  // namespace offramp::cli
