// Temperature scaling and threshold sweeps: known answers on synthetic and hand-made head
// outputs, and the offline replay against the engine's real early exits.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/src/sweep.h"
#include "engine/src/temperature.h"
#include "offramp/offramp.h"
#include "tests/support/fixtures.h"

using namespace offramp;
using engine::PolicyParams;

TEST(Temperature, RecoversAKnownTemperatureFromSyntheticLogits) {
  // Labels drawn from softmax(z); the model reports z * 2.5 (over-confident), so the
  // NLL-optimal temperature is 2.5.
  const int n = 20000, labels = 4;
  const double true_t = 2.5;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> logits(static_cast<size_t>(n) * labels);
  std::vector<int> gold(n);
  for (int i = 0; i < n; ++i) {
    std::vector<double> p(labels);
    double sum = 0;
    for (int k = 0; k < labels; ++k) {
      const float z = normal(rng);
      logits[static_cast<size_t>(i) * labels + k] = static_cast<float>(z * true_t);
      sum += p[static_cast<size_t>(k)] = std::exp(z);
    }
    std::discrete_distribution<int> draw(p.begin(), p.end());
    gold[static_cast<size_t>(i)] = draw(rng);
  }
  const double t = engine::fit_temperature(logits, gold, labels);
  EXPECT_NEAR(t, true_t, 0.1);
  EXPECT_LT(engine::temperature_nll(logits, gold, labels, t), engine::temperature_nll(logits, gold, labels, 1.0));
  const double ece_before = engine::expected_calibration_error(logits, gold, labels, 1.0);
  const double ece_after = engine::expected_calibration_error(logits, gold, labels, t);
  EXPECT_GT(ece_before, 0.1);
  EXPECT_LT(ece_after, 0.02);
}

namespace {
// Two exits (after layers 1 and 3), h = 4, f = 8, 2 labels, [CLS] pooling. By hand:
//   layer FLOPs(n) = 2n(4h^2 + 2hf) + 4n^2 h = 256n + 16n^2;  head = 2h^2 + 2hc = 48
engine::SweepInput hand_made() {
  engine::SweepInput in;
  in.labels = 2;
  in.exit_layers = {1, 3};
  in.pooling = {kernels::Pooling::Cls, kernels::Pooling::Cls};
  in.hidden = 4, in.ffn = 8;
  in.temperatures = {1.0f, 1.0f};
  in.num_tokens = {3, 5, 2};
  in.gold = {0, 1, 1};
  // [input][exit][label]; max softmax prob: input 0: 0.881 then 0.731, input 1: 0.5 then
  // 0.953, input 2: 0.982 then 0.993.
  in.logits = {2, 0, 0, 1, /**/ 0, 0, 0, 3, /**/ 0, 4, 5, 0};
  return in;
}
double layer(int n) { return 256.0 * n + 16.0 * n * n; }
}  // namespace

TEST(Sweep, HandMadeHeadOutputsGiveHandComputedAccuracyAndFlops) {
  const auto in = hand_made();
  const double full = (3 * layer(3) + 48) + (3 * layer(5) + 48) + (3 * layer(2) + 48);

  PolicyParams p;
  p.threshold = 0.85;  // inputs 0 and 2 leave at exit 1 (right), input 1 at exit 2 (right)
  auto a = engine::simulate(in, p);
  EXPECT_DOUBLE_EQ(a.accuracy, 1.0);
  EXPECT_EQ(a.exit_histogram, (std::vector<int>{2, 1}));
  const double flops_a = (layer(3) + 48) + (3 * layer(5) + 2 * 48) + (layer(2) + 48);
  EXPECT_DOUBLE_EQ(a.mean_flops, flops_a / 3);
  EXPECT_DOUBLE_EQ(a.relative_flops, flops_a / full);
  EXPECT_DOUBLE_EQ(a.mean_exit_layer, 5.0 / 3);
  EXPECT_DOUBLE_EQ(a.macro_f1, 1.0);

  p.threshold = 0.9;  // input 0 (0.881) now goes on to exit 2 and is wrong there
  auto b = engine::simulate(in, p);
  EXPECT_DOUBLE_EQ(b.accuracy, 2.0 / 3);
  EXPECT_EQ(b.exit_histogram, (std::vector<int>{1, 2}));
  // predictions 1,1,1 against gold 0,1,1: F1 of label 0 is 0, of label 1 is 2*2/(2*2+1) = 0.8.
  EXPECT_DOUBLE_EQ(b.macro_f1, 0.4);

  p.threshold = 1.5;  // never early: everything at the last exit, both heads evaluated
  auto c = engine::simulate(in, p);
  EXPECT_EQ(c.exit_histogram, (std::vector<int>{0, 3}));
  EXPECT_DOUBLE_EQ(c.relative_flops, (full + 3 * 48) / full);

  const auto st = engine::static_points(in);
  ASSERT_EQ(st.size(), 2u);
  EXPECT_DOUBLE_EQ(st[0].accuracy, 2.0 / 3);  // input 1's tie (0, 0) goes to label 0
  EXPECT_DOUBLE_EQ(st[0].relative_flops, (layer(3) + layer(5) + layer(2) + 3 * 48) / full);
  EXPECT_DOUBLE_EQ(st[1].accuracy, 1.0 / 3);
  EXPECT_DOUBLE_EQ(engine::full_depth_point(in).relative_flops, 1.0);

  PolicyParams pat;
  pat.policy = Policy::Patience;
  pat.patience = 1;  // argmax must repeat once: inputs 0 and 2 flip, input 1 ties then 1
  auto d = engine::simulate(in, pat);
  EXPECT_EQ(d.exit_histogram, (std::vector<int>{0, 3}));
}

TEST(Sweep, TemperatureChangesWhoLeaves) {
  auto in = hand_made();
  in.temperatures = {3.0f, 1.0f};  // input 0: softmax(2/3, 0) max 0.661 < 0.85, input 2: 0.79
  PolicyParams p;
  p.threshold = 0.85;
  EXPECT_EQ(engine::simulate(in, p).exit_histogram, (std::vector<int>{0, 3}));
}

TEST(Sweep, MaxDropAndBudgetPickTheRightPoints) {
  auto pt = [](double acc, double rel) {
    engine::SweepPoint p;
    p.accuracy = acc, p.relative_flops = rel;
    return p;
  };
  const std::vector<engine::SweepPoint> pts = {pt(0.90, 1.0), pt(0.895, 0.5), pt(0.88, 0.3), pt(0.895, 0.45)};
  EXPECT_EQ(engine::choose_by_max_drop(pts, 0.90, 1.0), 3);
  EXPECT_EQ(engine::choose_by_max_drop(pts, 0.90, 2.0), 2);
  EXPECT_EQ(engine::choose_by_max_drop(pts, 0.90, 0.0), 0);
  EXPECT_EQ(engine::choose_by_max_drop(pts, 0.95, 1.0), -1);
  EXPECT_EQ(engine::choose_by_budget(pts, 0.5), 3);   // 0.895 at 0.45 beats 0.895 at 0.5
  EXPECT_EQ(engine::choose_by_budget(pts, 0.35), 2);
  EXPECT_EQ(engine::choose_by_budget(pts, 1.0), 0);
  EXPECT_EQ(engine::choose_by_budget(pts, 0.2), -1);
}

TEST(Sweep, OfflineReplayMatchesTheEnginesRealExits) {
  // One traced pass replayed at several settings must give exactly what classify() does.
  const auto clf = Classifier::load(test::test_models_dir() + "/minilm-heads-mean", {.device = Device::Cpu});
  const auto rows = test::read_tsv(test::repo_dir() + "/data/fine_foods/dev.tsv");
  std::vector<std::string> texts;
  for (size_t i = 0; i < 96; ++i) texts.push_back(rows[i].second);
  const auto traces = clf.trace_exits(texts, {.max_length = 128});
  engine::SweepInput in = engine::sweep_input_for(clf.info());
  for (const auto& t : traces) {
    ASSERT_EQ(t.logits.size(), in.exit_layers.size());
    engine::add_traced(in, t, 0);
  }
  struct Setting {
    Policy policy;
    double threshold;
    int patience;
  };
  for (const Setting s : {Setting{Policy::MaxProb, 0.6, 0}, Setting{Policy::MaxProb, 0.75, 0},
                          Setting{Policy::Entropy, 0.2, 0}, Setting{Policy::Patience, 2.0, 1}}) {
    ClassifyOptions o;
    o.policy = s.policy, o.threshold = s.threshold, o.patience = s.patience, o.max_length = 128;
    const auto real = clf.classify(texts, o);
    PolicyParams p;
    p.policy = s.policy, p.threshold = s.threshold, p.patience = s.patience;
    const auto sim = engine::simulate(in, p);
    std::vector<int> hist(in.exit_layers.size());
    double flops = 0, full = 0, label0 = 0;
    for (const auto& r : real) {
      ++hist[static_cast<size_t>(r.exit_layer - 1)];
      flops += r.flops, full += r.full_depth_flops;
      label0 += r.label_index == 0;
    }
    EXPECT_DOUBLE_EQ(sim.accuracy, label0 / static_cast<double>(real.size()));  // every gold label is 0
    EXPECT_EQ(sim.exit_histogram, hist) << policy_name(s.policy) << " " << s.threshold;
    EXPECT_NEAR(sim.relative_flops, flops / full, 1e-12);
    // Spread: the setting must make some inputs leave early and keep others.
    if (s.policy == Policy::MaxProb && s.threshold == 0.75) {
      EXPECT_GT(hist.front() + hist[1], 0);
      EXPECT_GT(hist.back(), 0);
    }
  }
}
