// Classify workloads: the public API end to end (tokenize, encoder, exits) over real texts
// of a labelled TSV and over fixed-length inputs, at full depth and at the thresholds of the
// model's calibration output, per batch size and thread count. One iteration = one pass over
// all the inputs, in batches.
//
// Names: Classify/<input>/b<batch>/t<threads>/<setting>/<device>  (device: cpu | cpu-int8 | cpu-bf16 | cuda; on the
// GPU each workload runs once, with the first thread count, since threads only tokenize there)
//   input    real (the TSV's texts) | len64 | len128 | len256 (texts joined and truncated)
//   setting  full (never exits early) | chosen (calibration's chosen threshold) |
//            <policy><threshold> (other timed calibration points) | model (offramp.json's)
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench/bench_options.h"
#include "engine/src/sweep.h"
#include "kernels/device.h"
#include "kernels/gpu.h"
#include "offramp/offramp.h"
#include "tools/offramp/input.h"
#include "tools/report/gpu_energy.h"
#include "tools/report/green_report.h"

namespace offramp::bench {

namespace fs = std::filesystem;

namespace {

struct Inputs {
  std::vector<std::string> texts;
  std::vector<int> gold;  // label index per text; empty for fixed-length inputs
  int max_length = 0;     // 0 = the model's
};

struct Setting {
  std::string name;
  ClassifyOptions options;
};

struct Ran {  // what the report needs from one workload
  std::string name, setting;
  int batch, threads;
  double accuracy = -1, gflop_per_input, relative_flops, mean_exit_layer, inputs_per_s;
  std::optional<double> joules_per_1000;
};

std::unique_ptr<Classifier> g_clf;                  // the CPU's (also tokenizes, traces)
std::unique_ptr<Classifier> g_gpu;                  // the GPU's, when "cuda" is benchmarked
std::vector<std::unique_ptr<Classifier>> g_lowp;    // the CPU's at int8 / bf16, when benchmarked
std::map<std::string, const Classifier*> g_device;  // "cpu" / "cuda" -> classifier
std::map<std::string, Inputs> g_inputs;
std::vector<Ran> g_ran;
report::EnergyMeter g_meter;                          // the CPU's (RAPL)
std::unique_ptr<report::GpuEnergyMeter> g_gpu_meter;  // the GPU's (NVML), with "cuda" runs

// The calibration output's chosen point and other timed points, else the model's setting.
std::vector<Setting> thresholds(const std::string& model_dir, const ModelInfo& info) {
  std::vector<Setting> out;
  ClassifyOptions full;
  full.full_depth = true;  // every layer, the last head only
  out.push_back({"full", full});
  auto option_for = [](const nlohmann::json& p) {  // a sweep.json point (calibrate's point_json)
    ClassifyOptions o;
    const std::string kind = p.value("kind", "dynamic");
    if (kind == "full_depth") {
      o.full_depth = true;
    } else if (kind == "static") {
      o.policy = Policy::Static, o.exit_layer = p.at("layer").get<int>();
    } else {
      o.policy = parse_policy(p.at("policy").get<std::string>());
      if (*o.policy == Policy::Patience) o.patience = p.at("threshold").get<int>();
      else o.threshold = p.at("threshold").get<double>();
    }
    return o;
  };
  const fs::path sweep = fs::path(model_dir) / "calibration" / "sweep.json";
  if (fs::exists(sweep)) {
    const auto j = nlohmann::json::parse(std::ifstream(sweep));
    const auto& chosen = j.at("chosen");
    out.push_back({"chosen", option_for(chosen)});
    for (const auto& [policy, points] : j.at("sweep").items())
      for (const auto& p : points)
        if (p.contains("ms_per_input_batch32") && p != chosen) {
          std::ostringstream name;
          name << policy << p.at("threshold").get<double>();
          out.push_back({name.str(), option_for(p)});
        }
    return out;
  }
  ClassifyOptions model;
  out.push_back({"model", model});
  (void)info;
  return out;
}

void run_classify(benchmark::State& state, const std::string& name, const std::string& device,
                  const std::string& input_kind, int batch, int threads, const Setting& setting) {
  const Classifier& clf = *g_device.at(device);
  kernels::set_cpu_threads(threads);
  const Inputs& in = g_inputs.at(input_kind);
  ClassifyOptions opt = setting.options;
  if (in.max_length > 0) opt.max_length = in.max_length;
  std::vector<std::vector<std::string>> batches;
  for (size_t b = 0; b < in.texts.size(); b += static_cast<size_t>(batch))
    batches.emplace_back(in.texts.begin() + static_cast<std::ptrdiff_t>(b),
                         in.texts.begin() + static_cast<std::ptrdiff_t>(std::min(in.texts.size(), b + static_cast<size_t>(batch))));
  const report::EnergySource& meter =
      device == "cuda" ? static_cast<const report::EnergySource&>(*g_gpu_meter) : g_meter;
  std::vector<Result> results;
  double seconds = 0, joules = 0;
  for (auto _ : state) {
    results.clear();
    const double j0 = meter.available() ? meter.joules() : 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& b : batches) {
      auto r = clf.classify(b, opt);
      results.insert(results.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (meter.available()) joules += meter.joules() - j0;
  }
  const double n = static_cast<double>(in.texts.size()), iters = static_cast<double>(state.iterations());
  double flops = 0, full = 0, layers = 0, correct = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    flops += results[i].flops, full += results[i].full_depth_flops, layers += results[i].exit_layer;
    if (!in.gold.empty()) correct += results[i].label_index == in.gold[i];
  }
  state.counters["inputs_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["ms_per_batch"] = 1e3 * seconds / (iters * static_cast<double>(batches.size()));
  state.counters["gflop_per_input"] = flops / n * 1e-9;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["relative_flops"] = flops / full;
  state.counters["mean_exit_layer"] = layers / n;
  if (!in.gold.empty()) state.counters["accuracy"] = correct / n;
  Ran r{name, setting.name, batch, threads, in.gold.empty() ? -1 : correct / n, flops / n * 1e-9, flops / full,
        layers / n, n * iters / seconds, std::nullopt};
  if (meter.available()) r.joules_per_1000 = 1000 * joules / (n * iters);
  g_ran.push_back(r);
}

// Static exits and full depth on the real texts, from one traced pass: the reference points
// `offramp plot` draws beside the measured curves.
nlohmann::json static_points(const Inputs& real) {
  engine::SweepInput in = engine::sweep_input_for(g_clf->info());
  const auto traces = g_clf->trace_exits(real.texts);
  for (size_t i = 0; i < traces.size(); ++i) engine::add_traced(in, traces[i], real.gold[i]);
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : engine::static_points(in))
    j.push_back({{"layer", static_cast<int>(p.threshold)}, {"accuracy", p.accuracy}, {"relative_flops", p.relative_flops}});
  return j;
}

}  // namespace

void register_classify_benchmarks(const BenchOptions& o) {
  g_clf = std::make_unique<Classifier>(Classifier::load(o.model, {.device = Device::Cpu}));
  // The CPU classifier is shared: it also tokenizes the fixed-length inputs and traces exits.
  std::vector<std::string> devices = o.devices;
  if (devices.empty()) {
    devices.push_back("cpu");
    if (kernels::gpu::device_count() > 0) devices.push_back("cuda");
  }
  g_device["cpu"] = g_clf.get();
  // The CPU at lower GEMM precisions: classifiers of their own, named cpu-int8 / cpu-bf16.
  for (const auto& [name, precision] : {std::pair{"cpu-int8", Precision::Int8}, {"cpu-bf16", Precision::BF16}})
    if (std::find(devices.begin(), devices.end(), name) != devices.end()) {
      g_lowp.push_back(std::make_unique<Classifier>(Classifier::load(o.model, {.device = Device::Cpu, .precision = precision})));
      g_device[name] = g_lowp.back().get();
    }
  if (std::find(devices.begin(), devices.end(), "cuda") != devices.end()) {
    g_gpu = std::make_unique<Classifier>(Classifier::load(o.model, {.device = Device::Cuda}));
    g_device["cuda"] = g_gpu.get();
    g_gpu_meter = std::make_unique<report::GpuEnergyMeter>();
    benchmark::AddCustomContext("offramp_gpu", g_gpu->info().device_name);
  }
  const ModelInfo& info = g_clf->info();
  if (info.exits.empty()) throw Error(o.model + ": this model has no exit heads; the classify workloads need them");
  const auto rows = cli::read_input(o.data, cli::InputFormat::Tsv, true);
  Inputs real;
  for (size_t i = 0; i < rows.size() && real.texts.size() < o.inputs; ++i) {
    const auto it = std::find(info.labels.begin(), info.labels.end(), *rows[i].label);
    if (it == info.labels.end())
      throw Error(o.data + ":" + std::to_string(rows[i].line_no) + ": unknown label '" + *rows[i].label + "' for this model");
    real.texts.push_back(rows[i].text);
    real.gold.push_back(static_cast<int>(it - info.labels.begin()));
  }
  g_inputs["real"] = real;
  // Fixed-length inputs: consecutive texts joined until they exceed L tokens, truncated to L.
  for (int len : o.lengths) {
    if (len > info.max_position) continue;
    Inputs fixed;
    fixed.max_length = len;
    size_t next = 0;
    for (size_t k = 0; k < real.texts.size(); ++k) {
      std::string text = rows[next++ % rows.size()].text;
      // Truncated to `len` tokens; join texts until the truncation is reached (bounded, in
      // case the texts are too short to ever fill `len`).
      for (size_t joined = 1; static_cast<int>(g_clf->tokenize(text, len).size()) < len; ++joined) {
        if (joined > rows.size()) throw Error(o.data + ": its texts together are too short for " + std::to_string(len) + "-token inputs");
        text += " " + rows[next++ % rows.size()].text;
      }
      fixed.texts.push_back(text);
    }
    g_inputs["len" + std::to_string(len)] = fixed;
  }
  benchmark::AddCustomContext("offramp_model", o.model);
  benchmark::AddCustomContext("offramp_data", o.data);
  benchmark::AddCustomContext("offramp_inputs", std::to_string(real.texts.size()));
  benchmark::AddCustomContext("offramp_static_exits", static_points(real).dump());

  const auto settings = thresholds(o.model, info);
  std::vector<int> threads;
  for (int t : o.threads) {
    const int n = t > 0 ? t : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (std::find(threads.begin(), threads.end(), n) == threads.end()) threads.push_back(n);
  }
  for (const auto& device : devices)
    for (const auto& [kind, in] : g_inputs)
      for (int b : o.batches)
        for (int t : threads)
          for (const auto& s : settings) {
            if (kind != "real" && s.name != "full" && s.name != "chosen" && s.name != "model")
              continue;
            if (device == "cuda" && t != threads.front()) continue;
            const std::string name = "Classify/" + kind + "/b" + std::to_string(b) + "/t" +
                                     std::to_string(t) + "/" + s.name + "/" + device;
            benchmark::RegisterBenchmark(
                name.c_str(),
                [name, device, kind = kind, b, t, s](benchmark::State& st) {
                  run_classify(st, name, device, kind, b, t, s);
                })
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
          }
}

void write_classify_report(const BenchOptions& o) {
  if (g_ran.empty() || o.report.empty()) return;
  fs::create_directories(o.report);
  const std::string device = g_gpu ? "cpu; cuda: " + g_gpu->info().device_name : "cpu";
  report::Report r{
      "Offramp cost report: offramp-bench", o.model, o.data, device, {}, g_meter.why()};
  r.precision.clear();
  for (const auto& [name, clf] : g_device)
    r.precision += (r.precision.empty() ? "" : ", ") + clf->info().precision + " (/" + name + ")";
  if (g_meter.available())
    r.energy_note = g_meter.what() + ", measured over each workload's timed passes";
  if (g_gpu_meter) {
    const std::string gpu_note = g_gpu_meter->available()
                                     ? g_gpu_meter->what() + " for the /cuda workloads"
                                     : "GPU energy " + g_gpu_meter->why();
    r.energy_note =
        r.energy_note.empty() ? gpu_note : r.energy_note + " (/cpu workloads); " + gpu_note;
  }
  // One row per workload (repetitions keep their last run).
  std::map<std::string, report::CostRow> rows;
  for (const auto& x : g_ran) {
    report::CostRow c;
    c.setting = x.name;
    c.batch_size = x.batch, c.threads = x.threads;
    if (x.accuracy >= 0) c.accuracy = x.accuracy;
    c.gflop_per_input = x.gflop_per_input, c.relative_flops = x.relative_flops, c.mean_exit_layer = x.mean_exit_layer;
    c.inputs_per_s = x.inputs_per_s;
    c.joules_per_1000 = x.joules_per_1000;
    rows[c.setting] = c;
  }
  for (const auto& [name, c] : rows) r.rows.push_back(c);
  const std::string stem = (fs::path(o.report) / "report").string();
  report::write_report(r, stem);
  std::cerr << "cost report: " << stem << ".md and " << stem << ".json\n";
}

}  // namespace offramp::bench
