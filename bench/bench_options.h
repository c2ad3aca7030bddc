// Command-line options of offramp-bench (the flags that are not Google Benchmark's own).
#pragma once

#include <string>
#include <vector>

namespace offramp::bench {

struct BenchOptions {
  std::string model;     // Offramp model directory for the classify workloads
  std::string backbone;  // checkpoint for the forward/sgemm micro-benchmarks ("" = skip them)
  std::string data;      // labelled TSV: the real texts
  std::string report;    // folder for the Green-AI report ("" = none)
  size_t inputs = 256;   // texts per workload (the first N of `data`)
  std::vector<int> batches{1, 8, 32, 128}, threads{1, 2, 0}, lengths{64, 128, 256};  // threads 0 = all cores
  // "cpu" and/or "cuda"; empty = the CPU, plus the GPU when one is present.
  std::vector<std::string> devices;
};

// Registers the early-exit and full-depth classify workloads of `o.model` (see classify_bench.cpp).
void register_classify_benchmarks(const BenchOptions& o);
// Writes the Green-AI report of the classify runs that ran (no-op when none did).
void write_classify_report(const BenchOptions& o);
// Registers the full-depth encoder forward, its per-op breakdown and a same-shape sgemm.
void register_forward_benchmarks(const std::string& backbone_dir);

}  // namespace offramp::bench
