// offramp-bench: trade-off benchmarks of an early-exit model (Google Benchmark).
//
//   offramp-bench [--model DIR] [--data TSV] [--inputs N] [--batches 1,8,32,128]
//                 [--threads 1,2,0] [--lengths 64,128,256] [--devices cpu,cpu-int8,cpu-bf16,cuda]
//                 [--backbone DIR] [--report DIR]
//                 [Google Benchmark flags: --benchmark_filter=... --benchmark_out=... ...]
//
// Counters per classify run: inputs_per_s, ms_per_batch, gflop_per_input (analytic),
// GFLOP/s (achieved), relative_flops, mean_exit_layer, accuracy (labelled real texts).
// `offramp plot` draws the curves from the JSON output (--benchmark_out=FILE).
#include <benchmark/benchmark.h>

#include <iostream>
#include <sstream>

#include "bench/bench_options.h"
#include "offramp/error.h"

namespace {

std::vector<int> parse_list(const std::string& flag, const std::string& value, int min) {
  std::vector<int> out;
  std::istringstream in(value);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || v < min)
      throw offramp::Error(flag + ": '" + item + "' is not an integer >= " + std::to_string(min));
    out.push_back(v);
  }
  if (out.empty()) throw offramp::Error(flag + ": empty list");
  return out;
}

const char* kUsage =
    "offramp-bench [options] [Google Benchmark flags]\n"
    "  --model DIR       Offramp model with exit heads (default: models/fine-foods-minilm-int8 of this "
    "repository)\n"
    "  --data TSV        labelled label<TAB>text file (default: data/fine_foods/test.tsv)\n"
    "  --inputs N        texts per workload, the first N of TSV (default 256)\n"
    "  --batches LIST    batch sizes (default 1,8,32,128)\n"
    "  --threads LIST    CPU threads, 0 = all cores (default 1,2,0)\n"
    "  --lengths LIST    fixed input lengths in tokens (default 64,128,256)\n"
    "  --devices LIST    cpu (at the precision the model file stores: fp32 unless `offramp quantize`\n"
    "                    wrote it), cpu-int8, cpu-bf16 and/or cuda (default: cpu, plus cuda when a GPU is\n"
    "                    present); on the GPU the workloads run once (t1), FP16\n"
    "  --backbone DIR    also run the encoder forward / sgemm micro-benchmarks on this checkpoint\n"
    "  --report DIR      where the Green-AI cost report goes (default out/bench; '' = none)\n"
    "Workloads: Classify/<real|lenN>/b<batch>/t<threads>/<full|chosen|...>/<cpu|cuda>; thresholds "
    "come from\n"
    "DIR/calibration/sweep.json (offramp calibrate). Filter with --benchmark_filter=REGEX, save "
    "JSON with\n"
    "--benchmark_out=FILE --benchmark_out_format=json, then plot it with `offramp plot FILE`.\n\n";

}  // namespace

int main(int argc, char** argv) {
  offramp::bench::BenchOptions o;
  o.model = std::string(OFFRAMP_REPO_DIR) + "/models/fine-foods-minilm-int8";
  o.data = std::string(OFFRAMP_REPO_DIR) + "/data/fine_foods/test.tsv";
  o.report = "out/bench";
  std::vector<char*> rest{argv[0]};
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&](const std::string& flag) -> std::string {
        if (a.rfind(flag + "=", 0) == 0) return a.substr(flag.size() + 1);
        if (i + 1 >= argc) throw offramp::Error(flag + " needs a value");
        return argv[++i];
      };
      auto is = [&](const std::string& flag) { return a == flag || a.rfind(flag + "=", 0) == 0; };
      if (is("--model")) o.model = value("--model");
      else if (is("--data")) o.data = value("--data");
      else if (is("--backbone")) o.backbone = value("--backbone");
      else if (is("--report")) o.report = value("--report");
      else if (is("--inputs")) o.inputs = static_cast<size_t>(parse_list("--inputs", value("--inputs"), 1).at(0));
      else if (is("--batches")) o.batches = parse_list("--batches", value("--batches"), 1);
      else if (is("--threads")) o.threads = parse_list("--threads", value("--threads"), 0);
      else if (is("--lengths")) o.lengths = parse_list("--lengths", value("--lengths"), 2);
      else if (is("--devices")) {
        std::istringstream in(value("--devices"));
        for (std::string d; std::getline(in, d, ',');) {
          if (d != "cpu" && d != "cuda" && d != "cpu-int8" && d != "cpu-bf16")
            throw offramp::Error("--devices: '" + d + "' is not cpu, cpu-int8, cpu-bf16 or cuda");
          o.devices.push_back(d);
        }
        if (o.devices.empty()) throw offramp::Error("--devices: empty list");
      } else if (a == "--help" || a == "-h") {
        std::cout << kUsage;
        rest.push_back(argv[i]);
      } else if (a.rfind("--benchmark_", 0) == 0 || a.rfind("--v", 0) == 0)
        rest.push_back(argv[i]);
      else throw offramp::Error("unknown option '" + a + "' (see --help)");
    }
  } catch (const offramp::Error& e) {
    std::cerr << "offramp-bench: error: " << e.what() << "\n";
    return 1;
  }
  int n = int(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  try {
    offramp::bench::register_classify_benchmarks(o);
    if (!o.backbone.empty()) offramp::bench::register_forward_benchmarks(o.backbone);
  } catch (const std::exception& e) {
    std::cerr << "offramp-bench: error: " << e.what() << "\n";
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  try {
    offramp::bench::write_classify_report(o);
  } catch (const std::exception& e) {
    std::cerr << "offramp-bench: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
