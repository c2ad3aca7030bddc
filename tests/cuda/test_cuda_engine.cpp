// The GPU engine end to end against the CPU engine on MiniLM-L6: every exit head's logits
// within the dtype's tolerance, the same exit layer and label for every input whose
// confidence is not within the margin of the threshold, batch invariance and concurrency on
// the GPU, and the errors a user gets without a GPU. The model is $OFFRAMP_GPU_MODEL when set
// (scripts/gpu-check.sh passes a fine-tuned MiniLM-L6), else the MiniLM-L6 fixture with
// seeded exit heads. Without a GPU the GPU tests skip, saying why; the error tests still run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/src/encoder.h"
#include "engine/src/gpu_model.h"
#include "engine/src/model_dir.h"
#include "kernels/exit_head.h"
#include "offramp/batcher.h"
#include "offramp/offramp.h"
#include "tests/cuda/gpu_test_util.h"
#include "tests/support/fixtures.h"

namespace offramp::test {
namespace {

const std::string& model_dir() {
  static const std::string dir = [] {
    if (const char* env = std::getenv("OFFRAMP_GPU_MODEL"); env && *env) return std::string(env);
    const std::string d = fresh_temp_dir("cuda-engine-minilm");
    make_random_heads_model(minilm_dir(), d, 5, "mean");
    return d;
  }();
  return dir;
}

std::vector<std::string> texts(size_t n) { return fine_foods_texts("test", n); }

double logit_tolerance(Precision p) {
  switch (p) {
    case Precision::F16:
      return 0.05;
    case Precision::BF16:
      return 0.25;
    default:
      return 1e-3;
  }
}

gpu::DType to_dtype(Precision p) {
  return p == Precision::F32    ? gpu::DType::F32
         : p == Precision::BF16 ? gpu::DType::BF16
                                : gpu::DType::F16;
}

// The max-prob confidence of one head's raw logits z [labels] after temperature T.
float max_prob(const float* z, size_t labels, float temperature) {
  std::vector<float> p(labels);
  kernels::temperature_softmax(z, static_cast<int>(labels), temperature, p.data());
  return *std::max_element(p.begin(), p.end());
}

// Per input and exit: the max-prob confidence after the model's temperature.
std::vector<std::vector<float>> confidences(const Classifier& clf,
                                            const std::vector<ExitTrace>& trace) {
  std::vector<std::vector<float>> out;
  for (const auto& t : trace) {
    std::vector<float> c;
    for (size_t e = 0; e < t.logits.size(); ++e)
      c.push_back(
          max_prob(t.logits[e].data(), t.logits[e].size(), clf.info().exits[e].temperature));
    out.push_back(c);
  }
  return out;
}

// True when a head at or before layer `deepest` has a confidence within `margin` of the
// threshold: the input's exit may then legitimately differ between two numerically close runs.
bool near_threshold(const std::vector<float>& conf, const std::vector<ExitInfo>& exits, int deepest,
                    double threshold, double margin) {
  for (size_t e = 0; e < conf.size() && exits[e].layer <= deepest; ++e)
    if (std::fabs(conf[e] - threshold) < margin) return true;
  return false;
}

// The first n test texts as the model's token ids (at most 128 each), for the engine-level tests.
std::vector<std::vector<int32_t>> token_ids(const engine::ModelDir& m, size_t n) {
  std::vector<std::vector<int32_t>> ids;
  for (const auto& t : texts(n)) ids.push_back(m.tokenizer->encode(t, 128));
  return ids;
}

class CudaVsCpu : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaVsCpu, LogitsExitsAndLabelsMatchTheCpu) {
  OFFRAMP_REQUIRE_GPU();
  const Precision prec = GetParam();
  const auto cpu = Classifier::load(model_dir(), {.device = Device::Cpu});
  const auto gpu_clf = Classifier::load(model_dir(), {.device = Device::Cuda, .precision = prec});
  ASSERT_EQ(gpu_clf.info().device, "cuda");
  // The host emulation (a build without CUDA) checks the engine's logic, not the kernels'
  // numerics: fewer inputs (still more tokens than one lane takes) keep CI's sanitizer run short.
  const auto in = texts(on_emulation() ? 120 : 300);
  const auto tc = cpu.trace_exits(in), tg = gpu_clf.trace_exits(in);
  ASSERT_EQ(tc.size(), tg.size());
  double max_diff = 0;
  for (size_t i = 0; i < tc.size(); ++i) {
    ASSERT_EQ(tc[i].num_tokens, tg[i].num_tokens);
    ASSERT_EQ(tc[i].logits.size(), tg[i].logits.size());
    for (size_t e = 0; e < tc[i].logits.size(); ++e)
      for (size_t k = 0; k < tc[i].logits[e].size(); ++k)
        max_diff = std::max(
            max_diff, static_cast<double>(std::fabs(tc[i].logits[e][k] - tg[i].logits[e][k])));
  }
  std::cout << "[ info ] " << gpu::dtype_name(to_dtype(prec))
            << ": max |logit diff| GPU vs CPU over " << tc.size()
            << " inputs and every exit: " << max_diff << "\n";
  EXPECT_LE(max_diff, logit_tolerance(prec));

  // Thresholds that split the inputs: the median confidence at the first exit, and 0.9.
  const auto cc = confidences(cpu, tc), cg = confidences(cpu, tg);
  std::vector<float> first;
  double conf_gap = 0;
  for (size_t i = 0; i < cc.size(); ++i) {
    first.push_back(cc[i][0]);
    for (size_t e = 0; e < cc[i].size(); ++e)
      conf_gap = std::max(conf_gap, static_cast<double>(std::fabs(cc[i][e] - cg[i][e])));
  }
  std::nth_element(first.begin(), first.begin() + first.size() / 2, first.end());
  // The margin is 1e-3; in FP16/BF16 the confidences themselves differ by up to
  // conf_gap (measured above, bounded by the logit tolerance), so that is the margin there.
  const double margin = std::max(1e-3, conf_gap);
  for (double threshold : {static_cast<double>(first[first.size() / 2]), 0.9}) {
    ClassifyOptions o;
    o.threshold = threshold;
    o.policy = Policy::MaxProb;
    const auto rc = cpu.classify(in, o), rg = gpu_clf.classify(in, o);
    size_t compared = 0;
    for (size_t i = 0; i < rc.size(); ++i) {
      const int deepest = std::max(rc[i].exit_layer, rg[i].exit_layer);
      if (near_threshold(cc[i], cpu.info().exits, deepest, threshold, margin)) continue;
      ++compared;
      EXPECT_EQ(rc[i].exit_layer, rg[i].exit_layer) << "input " << i << " threshold " << threshold;
      EXPECT_EQ(rc[i].label, rg[i].label) << "input " << i << " threshold " << threshold;
      EXPECT_DOUBLE_EQ(rc[i].flops, rg[i].flops) << "input " << i;
      EXPECT_NEAR(rc[i].confidence, rg[i].confidence, margin + 1e-6) << "input " << i;
    }
    std::cout << "[ info ] threshold " << threshold << ": " << compared << " of " << rc.size()
              << " inputs compared (margin " << margin << ")\n";
    // BF16's 8-bit mantissa widens the margin, so fewer inputs are far enough from it.
    const size_t want = prec == Precision::BF16 ? rc.size() / 2 : rc.size() * 8 / 10;
    EXPECT_GE(compared, want) << "too many inputs near the threshold for the test to mean anything";
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaVsCpu,
                         ::testing::Values(Precision::F32, Precision::F16, Precision::BF16),
                         [](const auto& info) {
                           return std::string(gpu::dtype_name(to_dtype(info.param)));
                         });

TEST(CudaEngine, HiddenStatesMatchTheCpuEncoderLayerByLayer) {
  OFFRAMP_REQUIRE_GPU();
  auto m = engine::load_model_dir(model_dir());
  m.cpu = engine::prepare_cpu_weights(m.weights, m.config, kernels::GemmPrecision::F32);
  const auto ids = token_ids(m, 40);
  engine::GpuOptions go;
  go.dtype = gpu::DType::F32;
  const engine::GpuModel g(m.config, m.weights, m.offramp, m.heads, go);
  const engine::PackedInputs in = engine::pack(ids, {0, ids.size()}, m.config.position_offset);
  const auto& flat = in.ids;
  std::vector<int> offsets = in.offsets;
  engine::Workspace ws;
  const engine::Encoder enc(m.config, m.weights, m.cpu, kernels::Device::Cpu);
  enc.embed(flat.data(), in.positions.data(), static_cast<int>(flat.size()), ws);
  for (int l = 0; l <= m.config.layers; ++l) {
    if (l > 0) enc.run_layer(l - 1, offsets.data(), static_cast<int>(ids.size()), ws);
    const std::vector<float> cpu(ws.x.data(), ws.x.data() + flat.size() * m.config.hidden);
    EXPECT_LE(scaled_error(g.hidden(ids, l), cpu), 1e-4) << "after layer " << l;
  }
}

// GpuOptions.approximate_gelu: MiniLM's erf GELU through the tanh-GELU epilogue changes the
// hidden states (the option takes effect) but only by the approximation's size (FP32, so
// nothing else differs).
TEST(CudaEngine, ApproximateGeluMovesHiddenStatesOnlySlightly) {
  OFFRAMP_REQUIRE_GPU();
  const auto m = engine::load_model_dir(model_dir());
  ASSERT_EQ(m.config.activation, kernels::Activation::GeluErf);
  const auto ids = token_ids(m, 16);
  engine::GpuOptions go;
  go.dtype = gpu::DType::F32;
  const engine::GpuModel exact(m.config, m.weights, m.offramp, m.heads, go);
  go.approximate_gelu = true;
  const engine::GpuModel approx(m.config, m.weights, m.offramp, m.heads, go);
  const double err =
      scaled_error(approx.hidden(ids, m.config.layers), exact.hidden(ids, m.config.layers));
  std::cout << "[ info ] tanh-GELU epilogue vs erf GELU, hidden states after every layer: " << err
            << "\n";
  EXPECT_GT(err, 1e-6) << "the option changed nothing";
  EXPECT_LT(err, 1e-2);
}

TEST(CudaEngine, BatchInvarianceAndChunkingOnTheGpu) {
  OFFRAMP_REQUIRE_GPU();
  const auto clf = Classifier::load(model_dir(), {.device = Device::Cuda});
  const auto in = texts(64);
  ClassifyOptions o;
  o.threshold = 0.8;
  const auto together = clf.classify(in, o);
  o.max_batch_tokens = clf.info().max_position;  // many small chunks
  const auto chunked = clf.classify(in, o);
  o.max_batch_tokens = 16384;
  const auto conf = confidences(clf, clf.trace_exits(in));
  for (size_t i = 0; i < in.size(); ++i) {
    const auto alone = clf.classify(in[i], o);
    for (const auto* r : {&together[i], &chunked[i]}) {
      // FP16: an input with any head this close to the threshold is too close to call.
      if (near_threshold(conf[i], clf.info().exits, std::max(alone.exit_layer, r->exit_layer), 0.8,
                         5e-3))
        continue;
      EXPECT_EQ(alone.exit_layer, r->exit_layer) << "input " << i;
      EXPECT_EQ(alone.label, r->label) << "input " << i;
      for (size_t k = 0; k < alone.logits.size() && alone.exit_layer == r->exit_layer; ++k)
        EXPECT_NEAR(alone.logits[k], r->logits[k], 0.02) << "input " << i;
    }
  }
}

// Static exits and full depth run one head of the model on the GPU too (the lane takes the call's
// plan, ExitPlan::one_head): every input leaves there, the FLOPs are that exit's alone, and the
// labels are the CPU's. Twice each, so small batches also replay their graphs (keyed by head).
TEST(CudaEngine, StaticExitsAndFullDepthRunOneHead) {
  OFFRAMP_REQUIRE_GPU();
  const auto gpu = Classifier::load(model_dir(), {.device = Device::Cuda, .precision = Precision::F32});
  const auto cpu = Classifier::load(model_dir(), {.device = Device::Cpu});
  const auto in = texts(12);
  for (const auto& exit : gpu.info().exits) {
    ClassifyOptions o;
    o.policy = Policy::Static, o.exit_layer = exit.layer;
    const auto want = cpu.classify(in, o);
    for (int round = 0; round < 2; ++round) {
      const auto got = gpu.classify(in, o);
      for (size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(got[i].exit_layer, exit.layer);
        EXPECT_EQ(got[i].flops, want[i].flops);
        EXPECT_EQ(got[i].label, want[i].label) << "input " << i << " exit " << exit.layer;
      }
    }
  }
  const auto full = gpu.classify(in, {.full_depth = true});
  for (const auto& r : full) {
    EXPECT_EQ(r.exit_layer, gpu.info().exits.back().layer);
    EXPECT_EQ(r.flops, r.full_depth_flops);
  }
}

// Small batches run their segments directly the first time a shape is seen, capture a CUDA
// graph the second time and replay it after: all three must give the same results.
TEST(CudaEngine, GraphCaptureAndReplayGiveTheDirectResults) {
  OFFRAMP_REQUIRE_GPU();
  const auto clf = Classifier::load(model_dir(), {.device = Device::Cuda});
  const auto in = texts(8);  // a few hundred tokens: under the graph limit (2048)
  for (double threshold : {0.6, 2.0}) {
    ClassifyOptions o;
    o.threshold = threshold;
    const auto direct = clf.classify(in, o), captured = clf.classify(in, o),
               replayed = clf.classify(in, o);
    const auto single = clf.classify(in[0], o), single2 = clf.classify(in[0], o),
               single3 = clf.classify(in[0], o);
    for (size_t i = 0; i < in.size(); ++i)
      for (const auto* r : {&captured[i], &replayed[i]}) {
        EXPECT_EQ(r->exit_layer, direct[i].exit_layer)
            << "input " << i << " threshold " << threshold;
        EXPECT_EQ(r->logits, direct[i].logits) << "input " << i << " threshold " << threshold;
      }
    for (const auto* r : {&single2, &single3}) {
      EXPECT_EQ(r->exit_layer, single.exit_layer);
      EXPECT_EQ(r->logits, single.logits);
    }
  }
}

// Large chunks are split over two lanes (streams); one lane runs them whole. With a small
// token budget a call is many chunks, and a lane that is done takes the next piece while the
// others are still in theirs (three lanes: pieces of two chunks at once). Same exits, labels
// and FLOPs every way, logits within FP16 noise (the pieces' GEMMs may take other cuBLASLt
// algorithms).
TEST(CudaEngine, LaneCountsAndChunkingAgree) {
  OFFRAMP_REQUIRE_GPU();
  const auto m = engine::load_model_dir(model_dir());
  // About 15,000 tokens on a GPU, 6,000 on the emulation: five chunks of the small budget either way.
  const auto ids = token_ids(m, on_emulation() ? 80 : 200);
  const int small_budget = on_emulation() ? 1200 : 3000;
  engine::BatchOptions bo;
  bo.policy.threshold = 0.8;
  std::vector<std::vector<engine::SequenceResult>> runs;
  std::vector<engine::SequenceResult> traced;
  struct Way {
    int lanes, budget;
  };
  for (const Way way : {Way{1, 16384}, Way{2, 16384}, Way{2, small_budget}, Way{3, small_budget}}) {
    engine::GpuOptions go;
    go.lanes = way.lanes;
    const engine::GpuModel g(m.config, m.weights, m.offramp, m.heads, go);
    engine::BatchOptions o = bo;
    o.max_batch_tokens = way.budget;  // small: 5 chunks, each split in two
    runs.push_back(g.run(ids, o));
    if (runs.size() == 2) {
      o.record_heads = true;
      traced = g.run(ids, o);
    }
  }
  std::vector<ExitInfo> exits;
  for (const auto& e : m.offramp.exits) exits.push_back({e.layer, "", e.temperature});
  const size_t labels = m.offramp.labels.size();
  for (size_t i = 0; i < ids.size(); ++i) {
    std::vector<float> conf;  // per head, after the temperature
    for (size_t e = 0; e < exits.size(); ++e)
      conf.push_back(
          max_prob(traced[i].head_logits.data() + e * labels, labels, exits[e].temperature));
    for (size_t r = 1; r < runs.size(); ++r) {
      // FP16: an input with any head this close to the threshold is too close to call.
      if (near_threshold(conf, exits, std::max(runs[0][i].exit_layer, runs[r][i].exit_layer), 0.8,
                         5e-3))
        continue;
      EXPECT_EQ(runs[0][i].exit_layer, runs[r][i].exit_layer) << "input " << i << " way " << r;
      EXPECT_EQ(runs[0][i].label, runs[r][i].label) << "input " << i << " way " << r;
      EXPECT_DOUBLE_EQ(runs[0][i].flops, runs[r][i].flops) << "input " << i << " way " << r;
      for (size_t k = 0;
           k < runs[0][i].logits.size() && runs[0][i].exit_layer == runs[r][i].exit_layer; ++k)
        EXPECT_NEAR(runs[0][i].logits[k], runs[r][i].logits[k], 0.02)
            << "input " << i << " way " << r;
    }
  }
}

// GpuOptions.tail_tokens: once a lane's survivors are few, its remaining layers and heads run
// as one segment with one wait. In FP32 every input gets the per-head path's exit, label and
// FLOPs (logits within GEMM-order noise) under each policy, with fewer waits; a tail replayed
// from a CUDA graph gives its direct results.
TEST(CudaEngine, TailInOneSegmentGivesThePerHeadResults) {
  OFFRAMP_REQUIRE_GPU();
  const auto m = engine::load_model_dir(model_dir());
  const auto ids = token_ids(m, 64);  // ~4800 tokens: two lanes, no graphs for the first segment
  engine::GpuOptions go;
  go.dtype = gpu::DType::F32;
  go.max_batch_tokens = 8192;  // room for the 64 inputs; keeps three models' workspaces small
  const engine::GpuModel per_head(m.config, m.weights, m.offramp, m.heads, go);
  go.tail_tokens = 1 << 30;  // every lane's tail starts right after its first exit
  const engine::GpuModel whole_tail(m.config, m.weights, m.offramp, m.heads, go);

  engine::BatchOptions record;
  record.record_heads = true;
  const auto traced = per_head.run(ids, record);
  const size_t labels = m.offramp.labels.size();
  std::vector<ExitInfo> exits;
  for (const auto& e : m.offramp.exits) exits.push_back({e.layer, "", e.temperature});
  // True when some head's confidence is within 1e-4 of `threshold`, or its top two
  // probabilities are that close (patience compares argmaxes): too close to call in FP32.
  auto too_close = [&](size_t i, double threshold) {
    for (size_t e = 0; e < exits.size(); ++e) {
      std::vector<float> p(labels);
      kernels::temperature_softmax(traced[i].head_logits.data() + e * labels,
                                   static_cast<int>(labels), exits[e].temperature, p.data());
      std::sort(p.begin(), p.end(), std::greater<>());
      if (std::fabs(p[0] - threshold) < 1e-4 || (labels > 1 && p[0] - p[1] < 1e-4)) return true;
    }
    return false;
  };
  auto expect_same = [&](const std::vector<engine::SequenceResult>& got,
                         const std::vector<engine::SequenceResult>& want, const std::string& name,
                         double threshold) {
    size_t compared = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      if (too_close(i, threshold)) continue;
      ++compared;
      EXPECT_EQ(got[i].exit_layer, want[i].exit_layer) << name << " input " << i;
      EXPECT_EQ(got[i].label, want[i].label) << name << " input " << i;
      EXPECT_DOUBLE_EQ(got[i].flops, want[i].flops) << name << " input " << i;
      EXPECT_NEAR(got[i].confidence, want[i].confidence, 1e-4) << name << " input " << i;
      ASSERT_EQ(got[i].logits.size(), want[i].logits.size());
      for (size_t k = 0; k < want[i].logits.size(); ++k)
        EXPECT_NEAR(got[i].logits[k], want[i].logits[k], 1e-3) << name << " input " << i;
      ASSERT_EQ(got[i].head_logits.size(), want[i].head_logits.size()) << name << " " << i;
      for (size_t k = 0; k < want[i].head_logits.size(); ++k)
        EXPECT_NEAR(got[i].head_logits[k], want[i].head_logits[k], 1e-3) << name << " " << i;
    }
    EXPECT_GE(compared, want.size() * 9 / 10) << name << ": too many inputs too close to call";
  };

  engine::BatchOptions max_prob, patience;
  max_prob.policy.threshold = 0.8;
  patience.policy.policy = Policy::Patience, patience.policy.patience = 2;
  for (const auto& [name, bo] : {std::pair{"max_prob", max_prob}, std::pair{"patience", patience},
                                 std::pair{"record_heads", record}}) {
    const long before = per_head.round_trips(), tail_before = whole_tail.round_trips();
    const auto want = per_head.run(ids, bo);
    const long waits = per_head.round_trips() - before;
    expect_same(whole_tail.run(ids, bo), want, name, bo.policy.threshold);
    const long tail_waits = whole_tail.round_trips() - tail_before;
    std::cout << "[ info ] " << name << ": " << waits << " waits for exit results per head, "
              << tail_waits << " with every tail in one segment\n";
    // Some input stays past the first head under every policy here, so the tail saves waits.
    EXPECT_LT(tail_waits, waits) << name;

    // A tail that starts at a later head: one lane whose tail_tokens are the tokens left after
    // head k, the first after which fewer are left than after the first head.
    std::vector<long> left;  // tokens still running after each head
    for (const auto& e : exits) {
      long t = 0;
      for (size_t i = 0; i < ids.size(); ++i)
        if (want[i].exit_layer > e.layer) t += static_cast<long>(ids[i].size());
      left.push_back(t);
    }
    size_t k = 1;
    while (k + 2 < left.size() && !(left[k] > 0 && left[k] < left[0])) ++k;
    if (k + 2 >= left.size()) {
      std::cout << "[ info ] " << name << ": no head lets a later tail start; not checked\n";
      continue;
    }
    engine::GpuOptions late = go;
    late.lanes = 1, late.tail_tokens = static_cast<int>(left[k]);
    const engine::GpuModel late_tail(m.config, m.weights, m.offramp, m.heads, late);
    expect_same(late_tail.run(ids, bo), want, std::string(name) + " (later tail)",
                bo.policy.threshold);
    EXPECT_EQ(late_tail.round_trips(), static_cast<long>(k) + 2)
        << name << ": heads 1.." << k + 1 << " one by one, then the tail from head " << k + 2;
  }

  // A small batch (one lane, under the graph limit; patience: everyone passes the first head,
  // so the tail runs): direct, captured, replayed; then other temperatures for the tail's
  // heads after its first, which a graph key without them would replay stale.
  const std::vector<std::vector<int32_t>> few(ids.begin(), ids.begin() + 8);
  const auto direct = whole_tail.run(few, patience);
  for (int rep = 0; rep < 2; ++rep) {
    const long before = whole_tail.round_trips();
    const auto again = whole_tail.run(few, patience);
    EXPECT_EQ(whole_tail.round_trips() - before, 2) << "the first head, then the whole tail";
    for (size_t i = 0; i < few.size(); ++i) {
      EXPECT_EQ(again[i].exit_layer, direct[i].exit_layer) << "rep " << rep << " input " << i;
      EXPECT_EQ(again[i].logits, direct[i].logits) << "rep " << rep << " input " << i;
    }
  }
  engine::BatchOptions hotter = patience;
  for (size_t e = 0; e < exits.size(); ++e)
    hotter.temperatures.push_back(exits[e].temperature * (e < 2 ? 1.0f : 2.0f));
  const auto got = whole_tail.run(few, hotter);
  expect_same(got, per_head.run(few, hotter), "other temperatures", hotter.policy.threshold);
  size_t moved = 0;
  for (size_t i = 0; i < few.size(); ++i) moved += got[i].confidence != direct[i].confidence;
  EXPECT_GT(moved, 0u) << "the temperatures changed no confidence";
}

TEST(CudaEngine, ConcurrentCallersGetTheResultsOfOne) {
  OFFRAMP_REQUIRE_GPU();
  const auto clf = Classifier::load(model_dir(), {.device = Device::Cuda});
  const auto in = texts(48);
  const auto ref = clf.classify(in);
  std::vector<std::vector<Result>> got(4);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) threads.emplace_back([&, k] { got[k] = clf.classify(in); });
  for (auto& t : threads) t.join();
  for (const auto& g : got)
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ(g[i].exit_layer, ref[i].exit_layer);
      EXPECT_EQ(g[i].logits, ref[i].logits);  // same chunks, same kernels: identical
    }
}

TEST(CudaEngine, AutoTakesTheGpuAndReportsIt) {
  OFFRAMP_REQUIRE_GPU();
  const auto clf = Classifier::load(model_dir());
  EXPECT_EQ(clf.info().device, "cuda");
  EXPECT_EQ(clf.info().precision, "fp16");
  EXPECT_EQ(clf.info().device_name, gpu::device_description());
  if (kernels::cuda_compiled()) {  // not the host emulation: a real device with its architecture
    EXPECT_NE(clf.info().device_name.find("sm_"), std::string::npos) << clf.info().device_name;
  }
}

TEST(CudaEngine, OutOfMemoryAtLoadSaysHowMuchWasNeeded) {
  OFFRAMP_REQUIRE_GPU();
  try {
    (void)Classifier::load(model_dir(), {.device = Device::Cuda, .gpu_max_batch_tokens = 1 << 30});
    FAIL() << "a workspace for 2^30 tokens fitted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("MiB of workspace"), std::string::npos) << msg;
    EXPECT_NE(msg.find("gpu_max_batch_tokens"), std::string::npos) << msg;
  }
}

// These run everywhere: what a user without a GPU (or with bad options) is told.
TEST(CudaEngineErrors, CudaWithoutAGpuIsAClearError) {
  if (gpu::device_count() > 0) GTEST_SKIP() << "a GPU is present; this checks the no-GPU message";
  const std::string d = fresh_temp_dir("cuda-errors-tiny");
  make_tiny_model(d, 3);
  try {
    (void)Classifier::load(d, {.device = Device::Cuda});
    FAIL() << "Device::Cuda loaded without a GPU";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Device::Cuda requested"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Device::Cpu"), std::string::npos) << msg;
  }
  // Auto falls back to the CPU and says so.
  const auto clf = Classifier::load(d);
  EXPECT_EQ(clf.info().device, "cpu");
  EXPECT_EQ(clf.info().precision, "fp32");
}

TEST(CudaEngineErrors, HalfPrecisionOnTheCpuAndATinyGpuBudgetAreClearErrors) {
  const std::string d = fresh_temp_dir("cuda-errors-tiny2");
  make_tiny_model(d, 4);
  try {
    (void)Classifier::load(d, {.device = Device::Cpu, .precision = Precision::F16});
    FAIL() << "FP16 on the CPU loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fp16 needs the GPU"), std::string::npos) << e.what();
  }
  if (gpu::device_count() == 0) return;
  EXPECT_THROW((void)Classifier::load(d, {.device = Device::Cuda, .gpu_max_batch_tokens = 8}),
               Error);
}

// The Batcher on the GPU carries its batches on lanes of its own, segment by segment: the
// answers are classify's, each input answered as it exits (so in exit-layer order within one
// batch), and a queued request starts while a deeper batch is still on the other lane.
TEST(CudaEngine, BatcherAnswersEachInputAsItExitsOnItsLanes) {
  OFFRAMP_REQUIRE_GPU();
  const auto clf = Classifier::load(model_dir(), {.device = Device::Cuda, .precision = Precision::F32});
  const auto a = texts(32), all = texts(48);
  const std::vector<std::string> b(all.begin() + 32, all.end());
  ClassifyOptions o;
  o.threshold = 0.8;
  const auto want_a = clf.classify(a, o), want_b = clf.classify(b, o);
  const auto conf = confidences(clf, clf.trace_exits(all));
  struct Answer {
    int request;
    Outcome outcome;
  };
  for (const int budget : {1 << 16, 0}) {  // one batch for both requests; then A alone fills the budget
    std::mutex mu;
    std::vector<Answer> log;
    int tokens_a = 0;
    for (const auto& t : a) tokens_a += static_cast<int>(clf.tokenize(t).size());
    {
      Batcher batcher(clf, {.max_batch_tokens = budget > 0 ? budget : tokens_a,
                            .max_queue_delay = std::chrono::seconds(budget > 0 ? 10 : 0)});
      for (int r = 0; r < 2; ++r)
        batcher.submit(r == 0 ? a : b, o, [&, r](Outcome&& out) {
          const std::lock_guard<std::mutex> lock(mu);
          log.push_back({r, std::move(out)});
        });
      batcher.stop();
    }
    ASSERT_EQ(log.size(), all.size());
    std::vector<int> layers;
    size_t first_b = log.size(), last_a = 0;
    for (size_t k = 0; k < log.size(); ++k) {
      const auto& [r, out] = log[k];
      ASSERT_EQ(out.failure, Failure::None) << out.error;
      const size_t i = out.index + (r == 0 ? 0 : a.size());
      const Result& w = (r == 0 ? want_a : want_b)[out.index];
      if (!near_threshold(conf[i], clf.info().exits, std::max(w.exit_layer, out.result.exit_layer), 0.8, 5e-3)) {
        EXPECT_EQ(out.result.exit_layer, w.exit_layer) << "input " << i;
        EXPECT_EQ(out.result.label, w.label) << "input " << i;
      }
      layers.push_back(out.result.exit_layer);
      if (r == 1) first_b = std::min(first_b, k);
      if (r == 0) last_a = k;
    }
    if (budget > 0) {
      EXPECT_TRUE(std::is_sorted(layers.begin(), layers.end()));
      EXPECT_LT(layers.front(), layers.back()) << "every input left at one layer: the test shows nothing";
    } else {
      EXPECT_LT(first_b, last_a) << "B waited for all of A";
    }
  }
}

}  // namespace
}  // namespace offramp::test
