// Encoder micro-benchmarks on a backbone checkpoint: the full-depth forward over packed
// random ids, the same forward with a per-op time breakdown, and the FFN-shaped GEMM alone in
// the same run (the peer for "how close to the GEMM roofline").
#include <benchmark/benchmark.h>

#include <memory>
#include <random>

#include "bench/bench_options.h"
#include "engine/src/encoder.h"
#include "engine/src/model_dir.h"
#include "kernels/device.h"
#include "kernels/gemm.h"
#include "models/flops.h"

namespace offramp::bench {

namespace {

std::shared_ptr<const engine::ModelDir> g_backbone;

struct Packed {
  std::vector<int32_t> ids, pos;
  std::vector<int> offsets{0};
};

// `batch` sequences of `len` tokens with random ids (the cost does not depend on the ids).
Packed make_batch(int batch, int len, int vocab) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> tok(5, vocab - 1);
  Packed p;
  for (int s = 0; s < batch; ++s) {
    for (int i = 0; i < len; ++i) p.ids.push_back(tok(rng)), p.pos.push_back(i);
    p.offsets.push_back(p.offsets.back() + len);
  }
  return p;
}

void set_gflops(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Args {batch, len, threads}. With `profile`, each op of every layer is timed (OpProfile)
// and reported as a counter in ms per forward.
void run_forward(benchmark::State& state, bool profile) {
  const int batch = int(state.range(0)), len = int(state.range(1));
  kernels::set_cpu_threads(int(state.range(2)));
  const auto& m = *g_backbone;
  const engine::Encoder enc(m.config, m.weights, m.cpu, kernels::Device::Cpu);
  const Packed p = make_batch(batch, len, m.config.vocab_size);
  engine::Workspace ws;
  engine::OpProfile ops;
  if (profile) ws.profile = &ops;
  for (auto _ : state) {
    enc.embed(p.ids.data(), p.pos.data(), int(p.ids.size()), ws);
    for (int l = 0; l < m.config.layers; ++l) enc.run_layer(l, p.offsets.data(), batch, ws);
    benchmark::DoNotOptimize(ws.x.data());
  }
  set_gflops(state, batch * m.config.layers * models::layer_flops({m.config.hidden, m.config.ffn, 0}, len));
  if (profile)
    for (int op = 0; op < engine::OpProfile::kCount; ++op)
      state.counters[std::string(engine::OpProfile::kNames[op]) + "_ms"] =
          benchmark::Counter(ops.seconds[op] * 1e3, benchmark::Counter::kAvgIterations);
}

void BM_Forward(benchmark::State& state) { run_forward(state, false); }
void BM_ForwardBreakdown(benchmark::State& state) { run_forward(state, true); }

// The FFN-in GEMM alone (tokens x h -> tokens x f) through the same kernel the encoder calls
// (an FP32 kernels::DenseWeight: oneDNN's sgemm, or OpenBLAS without oneDNN): the forward's
// roofline.
void BM_Sgemm(benchmark::State& state) {
  const int t = int(state.range(0) * state.range(1)), h = g_backbone->config.hidden, f = g_backbone->config.ffn;
  kernels::set_cpu_threads(int(state.range(2)));
  std::vector<float> a(size_t(t) * h, 0.5f), b(size_t(f) * h, 0.25f), c(size_t(t) * f);
  const kernels::DenseWeight w = kernels::prepare_weight(kernels::GemmPrecision::F32, b.data(), f, h, kernels::WeightLayout::NK);
  for (auto _ : state) {
    kernels::linear(kernels::Device::Cpu, a.data(), w, nullptr, c.data(), t);
    benchmark::DoNotOptimize(c.data());
  }
  set_gflops(state, 2.0 * t * h * f);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "len", "threads"});
  for (int threads : {1, 2})
    for (auto [batch, len] : {std::pair{1, 64}, {32, 128}}) b->Args({batch, len, threads});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

void register_forward_benchmarks(const std::string& backbone_dir) {
  auto model = std::make_shared<engine::ModelDir>(engine::load_model_dir(backbone_dir));
  engine::use_cpu_weight_layout(model->weights, model->config);  // as Classifier::load does
  model->cpu = engine::prepare_cpu_weights(model->weights, model->config, kernels::GemmPrecision::F32);
  g_backbone = std::move(model);
  benchmark::RegisterBenchmark("BM_Forward", BM_Forward)->Apply(shapes);
  benchmark::RegisterBenchmark("BM_Sgemm", BM_Sgemm)->Apply(shapes);
  benchmark::RegisterBenchmark("BM_ForwardBreakdown", BM_ForwardBreakdown)->Apply(shapes);
}

}  // namespace offramp::bench
