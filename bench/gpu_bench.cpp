// offramp-gpu-bench: the GPU measurements scripts/gpu-check.sh tabulates.
//  1. The cuBLASLt FP16 GEMM peak on this GPU (the best of a few large square products),
//     the ceiling the encoder's TFLOP/s are compared with.
//  2. Full-depth encoder forwards of a MiniLM-L6-shaped and a BERT-base-shaped model (random
//     weights) at batch x tokens shapes: median ms, achieved TFLOP/s.
//  3. Early exit over a labelled TSV at a fixed batch: wall-clock of all inputs at full depth
//     and at the model's threshold (and others), beside the relative FLOPs.
// Writes JSON (--json) and prints a short summary. Times are host wall-clock around work
// that ends in a stream synchronisation, tokenisation excluded.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engine/src/gpu_model.h"
#include "engine/src/model_dir.h"
#include "kernels/gpu.h"
#include "models/flops.h"
#include "offramp/offramp.h"
#include "tools/offramp/input.h"

namespace {

namespace gpu = offramp::kernels::gpu;
using offramp::engine::GpuModel;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Shape {
  int batch, tokens;
};

std::vector<Shape> parse_shapes(const std::string& s) {
  std::vector<Shape> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Shape sh{};
    char x = 0;
    std::stringstream is(item);
    if (!(is >> sh.batch >> x >> sh.tokens) || x != 'x' || sh.batch < 1 || sh.tokens < 2)
      throw offramp::Error("--shapes: '" + item + "' is not BATCHxTOKENS (e.g. 32x128)");
    out.push_back(sh);
  }
  return out;
}

gpu::DType parse_dtype(const std::string& s) {
  if (s == "fp16") return gpu::DType::F16;
  if (s == "bf16") return gpu::DType::BF16;
  if (s == "fp32") return gpu::DType::F32;
  throw offramp::Error("--precision must be fp16, bf16 or fp32 (got '" + s + "')");
}

// cuBLASLt FP16 (or the chosen dtype) GEMM rate: best TFLOP/s over a few square sizes.
double gemm_peak(gpu::Stream& s, gpu::DType dt) {
  double best = 0;
  for (int n : {4096, 8192, 12288}) {
    const size_t e = gpu::dtype_size(dt), nn = static_cast<size_t>(n) * n;
    gpu::Buffer a(nn * e, "GEMM peak A"), b(nn * e, "GEMM peak B"), c(nn * e, "GEMM peak C");
    // Random-ish values (not zeros: zeros run faster on Hopper than real data).
    std::vector<float> host(nn);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> d(-1, 1);
    for (auto& v : host) v = d(rng);
    gpu::Buffer staging(nn * 4, "GEMM peak staging");
    gpu::copy_to_device(s, staging.data(), host.data(), nn * 4);
    gpu::convert_from_f32(s, dt, staging.as<float>(), a.data(), nn);
    gpu::convert_from_f32(s, dt, staging.as<float>(), b.data(), nn);
    s.synchronize();
    for (int i = 0; i < 3; ++i)
      gpu::linear(s, dt, a.data(), b.data(), nullptr, c.data(), n, n, n, gpu::Epilogue::None);
    s.synchronize();
    const int iters = n >= 8192 ? 10 : 30;
    const auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i)
      gpu::linear(s, dt, a.data(), b.data(), nullptr, c.data(), n, n, n, gpu::Epilogue::None);
    s.synchronize();
    const double sec = ms_since(t0) / 1000.0 / iters;
    best = std::max(best, 2.0 * n * static_cast<double>(n) * n / sec / 1e12);
  }
  return best;
}

offramp::models::BertConfig shape_config(const std::string& name) {
  offramp::models::BertConfig c;
  c.model_type = "bert", c.vocab_size = 30522, c.max_position = 512, c.type_vocab_size = 2;
  c.hidden_act = "gelu", c.activation = offramp::kernels::Activation::GeluErf;
  if (name == "minilm-l6")
    c.hidden = 384, c.layers = 6, c.heads = 12, c.ffn = 1536;
  else if (name == "bert-base")
    c.hidden = 768, c.layers = 12, c.heads = 12, c.ffn = 3072;
  else
    throw offramp::Error("--models: unknown shape '" + name + "' (minilm-l6, bert-base)");
  return c;
}

offramp::models::BertWeights random_weights(const offramp::models::BertConfig& c) {
  std::mt19937 rng(42);
  std::normal_distribution<float> d(0.0f, 0.02f);
  auto fill = [&](size_t n, float base = 0.0f) {
    std::vector<float> v(n);
    for (auto& x : v) x = base + d(rng);
    return v;
  };
  const size_t h = c.hidden, f = c.ffn;
  offramp::models::BertWeights w;
  w.word = fill(c.vocab_size * h), w.position = fill(c.max_position * h),
  w.token_type = fill(c.type_vocab_size * h);
  w.emb_ln_g = fill(h, 1.0f), w.emb_ln_b = fill(h);
  for (int l = 0; l < c.layers; ++l) {
    offramp::models::BertLayerWeights L;
    L.qkv_w = fill(3 * h * h), L.qkv_b = fill(3 * h), L.attn_out_w = fill(h * h),
    L.attn_out_b = fill(h);
    L.ln1_g = fill(h, 1.0f), L.ln1_b = fill(h), L.ffn_in_w = fill(f * h), L.ffn_in_b = fill(f);
    L.ffn_out_w = fill(h * f), L.ffn_out_b = fill(h), L.ln2_g = fill(h, 1.0f), L.ln2_b = fill(h);
    w.layers.push_back(std::move(L));
  }
  return w;
}

// FLOPs of one full-depth forward, the convention of models/flops.h and the PyTorch peer:
// per layer and token 2(4h^2 + 2hf) for the projections and FFN, plus 4nh for attention.
double forward_flops(const offramp::models::BertConfig& c, Shape s) {
  const double h = c.hidden, f = c.ffn, n = s.tokens;
  return c.layers * static_cast<double>(s.batch) * n * (2 * (4 * h * h + 2 * h * f) + 4 * n * h);
}

// Section 2 for one encoder shape: the default GpuModel; the same without CUDA graphs for the
// shapes small enough to use them (what the graphs are worth); and with the erf GELU in
// cuBLASLt's tanh-GELU epilogue (GpuOptions.approximate_gelu: what the exact activation's
// separate pass costs). Appends a row per model and shape to `runs`.
void time_encoder(const std::string& name, const offramp::models::BertConfig& c,
                  const std::vector<Shape>& shapes, gpu::DType dt, int warmup, int iters,
                  nlohmann::json& runs) {
  int budget = 0;
  for (const auto& sh : shapes) budget = std::max(budget, sh.batch * sh.tokens);
  offramp::engine::GpuOptions go;
  go.dtype = dt, go.max_batch_tokens = std::max(budget, c.max_position);
  const auto weights = random_weights(c);
  const GpuModel g(c, weights, {}, {}, go);
  offramp::engine::GpuOptions plain = go;
  plain.graph_max_tokens = 0;
  std::unique_ptr<GpuModel> g_plain;
  for (const auto& sh : shapes)
    if (sh.batch * sh.tokens <= go.graph_max_tokens && !g_plain)
      g_plain = std::make_unique<GpuModel>(c, weights, offramp::models::OfframpConfig{},
                                           std::vector<offramp::models::ExitHeadParams>{}, plain);
  offramp::engine::GpuOptions tanh_gelu = go;
  tanh_gelu.approximate_gelu = true;
  const GpuModel g_tanh(c, weights, {}, {}, tanh_gelu);
  for (const auto& sh : shapes) {
    std::mt19937 rng(7);
    std::vector<std::vector<int32_t>> inputs(static_cast<size_t>(sh.batch),
                                             std::vector<int32_t>(static_cast<size_t>(sh.tokens)));
    for (auto& in : inputs)
      for (auto& id : in) id = static_cast<int32_t>(rng() % static_cast<unsigned>(c.vocab_size));
    for (const GpuModel* model :
         std::initializer_list<const GpuModel*>{&g, g_plain.get(), &g_tanh}) {
      if (model == nullptr ||
          (model == g_plain.get() && sh.batch * sh.tokens > go.graph_max_tokens))
        continue;
      for (int i = 0; i < warmup; ++i) model->encode(inputs);
      std::vector<double> times;
      for (int i = 0; i < iters; ++i) {
        const auto t0 = Clock::now();
        model->encode(inputs);
        times.push_back(ms_since(t0));
      }
      const double med = median(times), tflops = forward_flops(c, sh) / (med / 1000.0) / 1e12;
      const std::string label = model == &g        ? name
                                : model == &g_tanh ? name + " (tanh GELU epilogue)"
                                                   : name + " (no CUDA graphs)";
      runs.push_back({{"model", label},
                      {"batch", sh.batch},
                      {"tokens", sh.tokens},
                      {"dtype", gpu::dtype_name(dt)},
                      {"ms", med},
                      {"tflops", tflops}});
      std::printf("%-28s %4dx%-4d %9.3f ms %7.1f TFLOP/s\n", label.c_str(), sh.batch, sh.tokens,
                  med, tflops);
    }
  }
}

// Section 3's inputs, tokenised and cut into batches once: copying token ids is not part of
// what the passes time.
struct ExitRun {
  const offramp::engine::ModelDir& m;
  std::string model;  // the directory, as the rows name it
  std::vector<std::vector<std::vector<int32_t>>> batches;
  std::vector<int> gold;  // per input, in batch order
  int batch = 0, max_len = 0, reps = 0;
  std::vector<double> thresholds;  // the model's own first
};

// One engine setting of section 3. The judged one: two lanes (the default: one lane's layers
// overlap the host's reads of the other's exit results) and no CUDA graphs. Every rep replays
// the same batches, so graphs would be captured once and replayed from then on, which traffic
// of unseen texts never gets. Shown beside it: one lane (every exit stalls the GPU), four
// lanes, two lanes with graphs (what repeated shapes would gain), two lanes whose tails of at
// most 512 or 4096 tokens run in one segment with one wait (GpuOptions.tail_tokens), and the
// whole file in one call, cut into chunks of at most the largest batch's tokens: there a lane
// done with its piece takes the next chunk's while the other lane is still in its last layers
// (an offline job's view; a service that gets batches of 256 has no next chunk to overlap).
struct Setting {
  int lanes;
  bool graphs;
  int tail_tokens;
  bool one_call;
  const char* suffix;
};
constexpr Setting kSettings[] = {
    {2, false, 0, false, ""},
    {1, false, 0, false, " (1 lane)"},
    {4, false, 0, false, " (4 lanes)"},
    {2, true, 0, false, " (CUDA graphs, batches repeated)"},
    {2, false, 512, false, " (tail <= 512 tokens in one segment)"},
    {2, false, 4096, false, " (tail <= 4096 tokens in one segment)"},
    {2, false, 0, true, " (whole file in one call)"},
    {2, false, 4096, true, " (whole file in one call, tail <= 4096 tokens in one segment)"}};

// Full depth, then each threshold, with `set`; appends a row per threshold to `rows`.
void time_early_exit(const ExitRun& d, const Setting& set, gpu::DType dt, nlohmann::json& rows) {
  const std::string label = d.model + set.suffix;
  offramp::engine::GpuOptions go;
  go.dtype = dt, go.max_batch_tokens = std::max(d.batch * d.max_len, d.m.config.max_position),
  go.lanes = set.lanes, go.tail_tokens = set.tail_tokens;
  if (!set.graphs) go.graph_max_tokens = 0;
  const GpuModel g(d.m.config, d.m.weights, d.m.offramp, d.m.heads, go);
  const double inputs = static_cast<double>(d.gold.size());
  // one_call: every batch's inputs in order, in chunks of at most the largest batch's tokens.
  std::vector<std::vector<std::vector<int32_t>>> joined(1);
  size_t largest_batch_tokens = 0;
  for (const auto& b : d.batches) {
    size_t tokens = 0;
    for (const auto& ids : b) tokens += ids.size();
    largest_batch_tokens = std::max(largest_batch_tokens, tokens);
    if (set.one_call) joined[0].insert(joined[0].end(), b.begin(), b.end());
  }
  const auto& calls = set.one_call ? joined : d.batches;
  struct Pass {
    double ms, flops, accuracy, mean_exit, waits_per_batch;
  };
  auto pass = [&](double threshold) {
    offramp::engine::BatchOptions bo;
    bo.policy.policy = offramp::Policy::MaxProb, bo.policy.threshold = threshold;
    bo.max_batch_tokens =
        set.one_call ? static_cast<int>(largest_batch_tokens) : go.max_batch_tokens;
    std::vector<double> times;
    Pass p{};
    for (int r = 0; r < d.reps + 1; ++r) {
      double flops = 0, correct = 0, exits = 0;
      const long waits = g.round_trips();
      const auto t0 = Clock::now();
      size_t first = 0;
      for (const auto& call : calls) {
        const auto res = g.run(call, bo);
        for (size_t i = 0; i < res.size(); ++i)
          flops += res[i].flops, correct += res[i].label == d.gold[first + i],
              exits += res[i].exit_layer;
        first += res.size();
      }
      if (r > 0) times.push_back(ms_since(t0));  // the first pass warms up (plans, pinned memory)
      p.flops = flops, p.accuracy = correct / inputs, p.mean_exit = exits / inputs;
      p.waits_per_batch =
          static_cast<double>(g.round_trips() - waits) / static_cast<double>(d.batches.size());
    }
    p.ms = median(times);
    return p;
  };
  const Pass full = pass(2.0);  // max_prob never reaches 2: every input runs to the last exit
  for (double t : d.thresholds) {
    const Pass p = pass(t);
    const double rel_time = p.ms / full.ms, rel_flops = p.flops / full.flops;
    rows.push_back({{"model", label},
                    {"lanes", set.lanes},
                    {"cuda_graphs", set.graphs},
                    {"batch", d.batch},
                    {"inputs", d.gold.size()},
                    {"policy", "max_prob"},
                    {"threshold", t},
                    {"full_ms", full.ms},
                    {"exit_ms", p.ms},
                    {"relative_time", rel_time},
                    {"relative_flops", rel_flops},
                    {"full_accuracy", full.accuracy},
                    {"exit_accuracy", p.accuracy},
                    {"mean_exit_layer", p.mean_exit},
                    {"tail_tokens", set.tail_tokens},
                    {"one_call", set.one_call},
                    {"waits_per_batch", p.waits_per_batch},
                    {"full_waits_per_batch", full.waits_per_batch}});
    std::printf(
        "early exit, %d lane(s)%s, tail %d, batch %d%s, max_prob >= %.3f: %.2f ms vs %.2f ms full "
        "(%.3f of the time) at %.3f of the FLOPs; accuracy %.2f%% vs %.2f%%, mean exit layer "
        "%.2f, %.1f waits per batch (%.1f at full depth)\n",
        set.lanes, set.graphs ? " + graphs" : "", set.tail_tokens, d.batch,
        set.one_call ? " (whole file in one call)" : "", t, p.ms, full.ms, rel_time, rel_flops,
        100 * p.accuracy, 100 * full.accuracy, p.mean_exit, p.waits_per_batch,
        full.waits_per_batch);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "offramp-gpu-bench: GEMM peak, encoder forwards and early exit on the GPU (see "
      "scripts/gpu-check.sh)"};
  std::string model = std::string(OFFRAMP_REPO_DIR) + "/models/fine-foods-tiny";
  std::string data = std::string(OFFRAMP_REPO_DIR) + "/data/fine_foods/test.tsv";
  std::string json_path, shapes_s = "1x128,32x128,256x128", models_s = "minilm-l6,bert-base",
                         precision = "fp16";
  std::vector<double> thresholds{0.9};
  int batch = 256, iters = 30, warmup = 5, reps = 5;
  app.add_option("--model", model, "early-exit model directory")->capture_default_str();
  app.add_option("--data", data, "labelled TSV (label<TAB>text) for the early-exit run")
      ->capture_default_str();
  app.add_option("--batch", batch, "inputs per classify call in the early-exit run")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--thresholds", thresholds, "max_prob thresholds timed besides the model's own")
      ->capture_default_str();
  app.add_option("--shapes", shapes_s, "BATCHxTOKENS list for the encoder forwards")
      ->capture_default_str();
  app.add_option("--models", models_s, "encoder shapes: minilm-l6, bert-base")
      ->capture_default_str();
  app.add_option("--precision", precision, "fp16, bf16 or fp32")->capture_default_str();
  app.add_option("--iters", iters, "timed forwards per shape (median)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup, "untimed forwards first")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  app.add_option("--reps", reps, "repetitions of each early-exit pass (median)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--json", json_path, "write the results here");
  CLI11_PARSE(app, argc, argv);

  // The JSON is rewritten after every section, and a section that fails (a CUDA error, out of
  // memory) is recorded under "errors" while the others still run: gpu-check gets one GPU run,
  // and a late failure must not lose the numbers measured before it.
  nlohmann::json out;
  auto save = [&] {
    if (json_path.empty()) return;
    std::ofstream f(json_path);
    if (!(f << out.dump(2) << "\n")) throw offramp::Error(json_path + ": cannot write");
  };
  auto failed = [&](const std::string& what, const std::exception& e) {
    std::cerr << "offramp-gpu-bench: " << what << ": " << e.what() << "\n";
    out["errors"].push_back(what + ": " + e.what());
    save();
  };
  try {
    if (gpu::device_count() == 0) {
      std::cerr << "offramp-gpu-bench: no CUDA device present"
                << (offramp::kernels::cuda_compiled() ? "" : " (this build has no CUDA backend)")
                << "; nothing to measure\n";
      return 2;
    }
    const gpu::DType dt = parse_dtype(precision);
    const auto shapes = parse_shapes(shapes_s);
    std::vector<std::pair<std::string, offramp::models::BertConfig>> configs;
    std::stringstream ms(models_s);
    for (std::string name; std::getline(ms, name, ',');) {
      configs.emplace_back(name, shape_config(name));
      for (const auto& sh : shapes)
        if (sh.tokens > configs.back().second.max_position)
          throw offramp::Error("--shapes: tokens above max_position 512");
    }
    out["device"] = gpu::device_description();
    out["dtype"] = gpu::dtype_name(dt);
    {
      gpu::Stream s;
      out["gemm_peak_tflops"] = gemm_peak(s, dt);
    }
    std::printf("device %s; cuBLASLt %s GEMM peak %.1f TFLOP/s\n",
                out["device"].get<std::string>().c_str(), gpu::dtype_name(dt),
                out["gemm_peak_tflops"].get<double>());
    out["runs"] = nlohmann::json::array();
    save();

    for (const auto& [name, c] : configs) {
      try {
        time_encoder(name, c, shapes, dt, warmup, iters, out["runs"]);
        save();
      } catch (const std::exception& e) {
        failed("encoder " + name, e);
      }
    }

    // Early exit over the labelled TSV.
    const auto m = offramp::engine::load_model_dir(model);
    if (!m.has_exits())
      throw offramp::Error(model + ": no exit heads; the early-exit run needs a model with exits");
    const auto lines = offramp::cli::read_input(data, offramp::cli::InputFormat::Tsv, true);
    const int max_len = m.offramp.max_length > 0 ? m.offramp.max_length : m.config.max_position;
    std::vector<std::vector<int32_t>> ids;
    std::vector<int> gold;
    for (const auto& l : lines) {
      ids.push_back(m.tokenizer->encode(l.text, max_len));
      const auto it = std::find(m.offramp.labels.begin(), m.offramp.labels.end(), *l.label);
      if (it == m.offramp.labels.end())
        throw offramp::Error(data + ":" + std::to_string(l.line_no) + ": label '" + *l.label +
                             "' is not one of the model's");
      gold.push_back(static_cast<int>(it - m.offramp.labels.begin()));
    }
    ExitRun run{m, model, {}, std::move(gold), batch, max_len, reps, {}};
    for (size_t first = 0; first < ids.size(); first += static_cast<size_t>(batch))
      run.batches.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(first),
                               ids.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                 ids.size(), first + static_cast<size_t>(batch))));
    run.thresholds = {m.offramp.policy == "max_prob" ? m.offramp.threshold : 0.9};
    for (double t : thresholds)
      if (std::find(run.thresholds.begin(), run.thresholds.end(), t) == run.thresholds.end())
        run.thresholds.push_back(t);
    out["early_exit"] = nlohmann::json::array();
    for (const Setting& set : kSettings) {
      try {
        time_early_exit(run, set, dt, out["early_exit"]);
        save();
      } catch (const std::exception& e) {
        failed("early exit " + model + set.suffix, e);
      }
    }
    return out.contains("errors") ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "offramp-gpu-bench: " << e.what() << "\n";
    if (!out.empty()) {
      out["errors"].push_back(e.what());
      try {
        save();
      } catch (const std::exception&) {  // the message above is what matters now
      }
    }
    return 1;
  }
}
