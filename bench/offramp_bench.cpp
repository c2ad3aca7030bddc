// offramp-bench: full-depth MiniLM-L6 forward on the CPU, per-op breakdown, and an OpenBLAS
// sgemm of a matching shape in the same run (the peer for "how close to the GEMM roofline").
//
//   offramp-bench [--model DIR] [Google Benchmark flags: --benchmark_filter=...]
//
// DIR defaults to $OFFRAMP_MINILM_DIR or .cache/models/all-minilm-l6-v2 (scripts/fetch-minilm.sh).
// Time is ms per forward; counter GFLOP/s uses the analytic FLOPs of models/flops.h, and the
// *_ms counters of BM_ForwardBreakdown give each op's ms per forward, summed over layers.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdlib>
#include <iostream>
#include <random>

#include "engine/src/encoder.h"
#include "engine/src/model_dir.h"
#include "kernels/device.h"
#include "models/flops.h"

using namespace offramp;

namespace {

std::string g_model_dir;

const engine::ModelDir& model() {
  static const engine::ModelDir m = engine::load_model_dir(g_model_dir);
  return m;
}

struct Packed {
  std::vector<int32_t> ids, pos;
  std::vector<int> offsets{0};
};

// `batch` sequences of `len` tokens with random ids (the cost does not depend on the ids).
Packed make_batch(int batch, int len) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> tok(1000, 29000);
  Packed p;
  for (int s = 0; s < batch; ++s) {
    for (int i = 0; i < len; ++i) p.ids.push_back(i == 0 ? 101 : tok(rng)), p.pos.push_back(i);
    p.offsets.push_back(p.offsets.back() + len);
  }
  return p;
}

double forward_flops(int batch, int len) {
  const auto& c = model().config;
  return batch * c.layers * models::layer_flops({c.hidden, c.ffn, 0}, len);
}

void set_counters(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Full-depth encoder forward: args {batch, len, threads}. With `profile`, each op of every
// layer is timed (OpProfile) and reported as a counter in ms per forward: the per-op
// breakdown of the real forward.
void run_forward(benchmark::State& state, bool profile) {
  const int batch = int(state.range(0)), len = int(state.range(1));
  kernels::set_cpu_threads(int(state.range(2)));
  const auto& m = model();
  const engine::Encoder enc(m.config, m.weights, kernels::Device::Cpu);
  const Packed p = make_batch(batch, len);
  engine::Workspace ws;
  engine::OpProfile ops;
  if (profile) ws.profile = &ops;
  for (auto _ : state) {
    enc.embed(p.ids.data(), p.pos.data(), int(p.ids.size()), ws);
    for (int l = 0; l < m.config.layers; ++l) enc.run_layer(l, p.offsets.data(), batch, ws);
    benchmark::DoNotOptimize(ws.x.data());
  }
  set_counters(state, forward_flops(batch, len));
  if (profile)
    for (int op = 0; op < engine::OpProfile::kCount; ++op)
      state.counters[std::string(engine::OpProfile::kNames[op]) + "_ms"] =
          benchmark::Counter(ops.seconds[op] * 1e3, benchmark::Counter::kAvgIterations);
}

void BM_Forward(benchmark::State& state) { run_forward(state, false); }
void BM_ForwardBreakdown(benchmark::State& state) { run_forward(state, true); }

void BM_Sgemm(benchmark::State& state) {
  const int t = int(state.range(0) * state.range(1)), h = model().config.hidden, f = model().config.ffn;
  kernels::set_cpu_threads(int(state.range(2)));
  std::vector<float> a(size_t(t) * h, 0.5f), b(size_t(f) * h, 0.25f), c(size_t(t) * f);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, f, h, 1.0f, a.data(), h, b.data(), h, 0.0f, c.data(), f);
    benchmark::DoNotOptimize(c.data());
  }
  set_counters(state, 2.0 * t * h * f);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "len", "threads"});
  for (int threads : {1, 2})
    for (auto [batch, len] : {std::pair{1, 64}, {32, 128}}) b->Args({batch, len, threads});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_Forward)->Apply(shapes);
BENCHMARK(BM_Sgemm)->Apply(shapes);
BENCHMARK(BM_ForwardBreakdown)->Apply(shapes);

int main(int argc, char** argv) {
  const char* env = std::getenv("OFFRAMP_MINILM_DIR");
  g_model_dir = env && *env ? env : ".cache/models/all-minilm-l6-v2";
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) g_model_dir = argv[++i];
    else if (a.rfind("--model=", 0) == 0) g_model_dir = a.substr(8);
    else if (a == "--help" || a == "-h") {
      std::cout << "offramp-bench [--model DIR] [Google Benchmark flags]\n"
                   "  Full-depth MiniLM-L6 forward (batch x len = 1x64, 32x128; 1 and 2 threads), the same\n"
                   "  forward with a per-op time breakdown, and an OpenBLAS sgemm of the FFN shape in the same run.\n"
                   "  DIR: an all-MiniLM-L6-v2 checkpoint (default $OFFRAMP_MINILM_DIR or .cache/models/all-minilm-l6-v2).\n\n";
      rest.push_back(argv[i]);
    } else rest.push_back(argv[i]);
  }
  int n = int(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  try {
    model();
  } catch (const std::exception& e) {
    std::cerr << "offramp-bench: cannot load the model: " << e.what() << "\n(fetch it with scripts/fetch-minilm.sh or pass --model DIR)\n";
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
