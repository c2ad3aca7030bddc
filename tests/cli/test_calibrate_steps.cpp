// The steps of `offramp calibrate` (tools/offramp/calibrate_steps.h), each alone on a real
// traced dev set: temperatures, sweep, choice, the options that reproduce a point and the
// full-depth baseline, and storing the choice in a model.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "tests/support/fixtures.h"
#include "tools/offramp/calibrate_steps.h"
#include "tools/offramp/resplit.h"
#include "tools/offramp/traced.h"

namespace fs = std::filesystem;
using namespace offramp;
namespace steps = offramp::cli::calibration;

namespace {

// A writable copy of the MiniLM fixture with random mean-pooled heads, its offramp.json edited.
std::string model_copy(const std::string& name, const std::function<void(nlohmann::json&)>& edit = {}) {
  const std::string dir = test::fresh_temp_dir(name) + "/model";
  fs::copy(test::test_models_dir() + "/minilm-heads-mean", dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  if (edit) {
    auto j = nlohmann::json::parse(std::ifstream(dir + "/offramp.json"));
    edit(j);
    std::ofstream(dir + "/offramp.json") << j.dump(1);
  }
  return dir;
}

std::vector<std::string> dev_texts(size_t n) {
  std::vector<std::string> texts;
  for (const auto& [label, text] : test::read_tsv(test::repo_dir() + "/data/fine_foods/dev.tsv"))
    if (texts.size() < n) texts.push_back(text);
  return texts;
}

engine::SweepInput traced(const Classifier& clf, size_t n) {
  const std::string path = test::fresh_temp_dir("steps_dev") + "/dev.tsv";
  test::head_lines(test::repo_dir() + "/data/fine_foods/dev.tsv", path, n);
  return cli::trace_labelled(clf, cli::read_labelled(path, clf, 128), 128, 32);
}

}  // namespace

TEST(CalibrateSteps, FullDepthIsFullDepthUnderAStoredPatiencePolicy) {
  // Patience 0 leaves at the first head. calibrate once timed "full depth" with threshold 2.0,
  // which patience ignores: its baseline was the first layer. full_depth_options is every layer.
  const auto clf = Classifier::load(model_copy("steps_patience", [](auto& j) {
    j["policy"] = {{"name", "patience"}, {"patience", 0}, {"threshold", 0.5}};
  }));
  const auto texts = dev_texts(24);
  ClassifyOptions base;
  base.max_length = 128;
  ClassifyOptions old_way = base;
  old_way.threshold = 2.0;
  for (const auto& r : clf.classify(texts, old_way)) EXPECT_EQ(r.exit_layer, 1) << "the old baseline was not full depth";
  const auto full = clf.classify(texts, steps::full_depth_options(base));
  const auto last = clf.info().exits.back().layer;
  ClassifyOptions max_prob_never = base;
  max_prob_never.policy = Policy::MaxProb, max_prob_never.threshold = 2.0;
  const auto reference = clf.classify(texts, max_prob_never);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(full[i].exit_layer, last);
    EXPECT_EQ(full[i].logits, reference[i].logits);
    EXPECT_EQ(full[i].label, reference[i].label);
  }
}

TEST(CalibrateSteps, FullDepthOptionOverridesEveryPolicy) {
  const auto clf = Classifier::load(test::test_models_dir() + "/minilm-heads-mean");
  const auto texts = dev_texts(16);
  const int last = clf.info().exits.back().layer;
  for (const Policy p : {Policy::MaxProb, Policy::Entropy, Policy::Patience}) {
    ClassifyOptions o{.threshold = 0.0, .policy = p, .patience = 0, .max_length = 128};
    for (const auto& r : clf.classify(texts, o)) EXPECT_EQ(r.exit_layer, clf.info().exits.front().layer) << policy_name(p);
    o.full_depth = true;
    for (const auto& r : clf.classify(texts, o)) {
      EXPECT_EQ(r.exit_layer, last) << policy_name(p);
      EXPECT_EQ(r.flops, r.full_depth_flops) << "only the last head runs";
    }
  }
}

TEST(CalibrateSteps, AStaticPointRunsAsTheSweepPredicts) {
  // "exit k alone": classify under Policy::Static gives the static point's predictions and
  // FLOPs exactly (one head runs), so a static exit can be chosen and stored like a threshold.
  const auto clf = Classifier::load(test::test_models_dir() + "/minilm-heads-mean");
  engine::SweepInput in = traced(clf, 48);
  const auto texts = dev_texts(48);
  ClassifyOptions base;
  base.max_length = 128;
  for (const auto& point : engine::static_points(in)) {
    const auto real = clf.classify(texts, steps::point_options(point, base));
    double flops = 0, full = 0;
    for (size_t i = 0; i < real.size(); ++i) {
      EXPECT_EQ(real[i].exit_layer, static_cast<int>(point.threshold));
      EXPECT_EQ(real[i].label_index, point.predictions[i]) << "input " << i;
      flops += real[i].flops, full += real[i].full_depth_flops;
    }
    EXPECT_NEAR(flops / full, point.relative_flops, 1e-12) << "exit " << point.threshold;
  }
  ClassifyOptions bad = base;
  bad.policy = Policy::Static, bad.exit_layer = 7;
  EXPECT_THROW(clf.classify(texts, bad), Error);
}

TEST(CalibrateSteps, TemperaturesSweepChoiceAndPointOptionsReproduceTheEngine) {
  const auto clf = Classifier::load(test::test_models_dir() + "/minilm-heads-mean");
  engine::SweepInput in = traced(clf, 64);
  const auto model_t = in.temperatures;
  // keep: the model's temperatures stay, and before == after.
  auto kept = steps::fit_temperatures(in, true);
  ASSERT_EQ(kept.size(), model_t.size());
  EXPECT_EQ(in.temperatures, model_t);
  for (const auto& f : kept) EXPECT_EQ(f.ece_before, f.ece_after);
  // fit: NLL never rises (the fit minimises it), and the replay uses the fitted values.
  const auto fits = steps::fit_temperatures(in, false);
  for (size_t e = 0; e < fits.size(); ++e) {
    EXPECT_LE(fits[e].nll_after, fits[e].nll_before + 1e-9) << "exit " << e;
    EXPECT_FLOAT_EQ(in.temperatures[e], static_cast<float>(fits[e].after));
  }
  steps::Curves curves = steps::sweep_all(in);
  ASSERT_EQ(curves.by_policy.size(), 3u);
  EXPECT_DOUBLE_EQ(curves.full.relative_flops, 1.0);
  ClassifyOptions base;
  base.max_length = 128, base.temperatures = in.temperatures;
  const auto texts = dev_texts(64);
  for (const char* name : {"max_prob", "patience"}) {
    // The point estimate: the cheapest of the policy's sweep and the static exits within 5 points.
    const steps::Choice ch = steps::choose(curves, name, {.max_drop = 5.0});
    ASSERT_NE(ch.point, nullptr);
    EXPECT_EQ(ch.method, "point estimate");
    EXPECT_GE(ch.point->accuracy, curves.full.accuracy - 0.05);
    ASSERT_NE(ch.adaptive, nullptr);
    EXPECT_GE(ch.adaptive->relative_flops, ch.point->relative_flops) << "the policy's own pick was cheaper";
    for (const auto& s : curves.statics) {
      if (&s != &curves.statics.back() && s.accuracy >= curves.full.accuracy - 0.05) {
        EXPECT_GE(s.relative_flops, ch.point->relative_flops) << "static exit " << s.threshold << " was cheaper";
      }
    }
    // The options that time a point give the exits and labels the sweep predicted for it.
    const auto real = clf.classify(texts, steps::point_options(*ch.point, base));
    std::vector<int> hist(in.exit_layers.size());
    for (size_t i = 0; i < real.size(); ++i) {
      ++hist[static_cast<size_t>(std::find(in.exit_layers.begin(), in.exit_layers.end(), real[i].exit_layer) -
                                 in.exit_layers.begin())];
      EXPECT_EQ(real[i].label_index, ch.point->predictions[i]);
    }
    EXPECT_EQ(hist, ch.point->exit_histogram) << name;
    // Every point carries a bootstrap interval around its accuracy.
    EXPECT_LE(ch.point->accuracy_low, ch.point->accuracy);
    EXPECT_GE(ch.point->accuracy_high, ch.point->accuracy);
    EXPECT_GT(ch.point->accuracy_high, ch.point->accuracy_low);
  }
  // Learn-then-Test on 64 inputs cannot certify a 1-point drop (betting needs 410, binomial 299):
  // full depth, saying so.
  const steps::Choice ltt = steps::choose(curves, "max_prob", {.max_drop = 1.0, .delta = 0.1});
  EXPECT_EQ(ltt.method, "Learn-then-Test");
  EXPECT_EQ(ltt.point, &curves.full);
  EXPECT_NE(ltt.statement.find("no setting could be certified on 64 dev inputs"), std::string::npos) << ltt.statement;
  EXPECT_NE(ltt.statement.find("at least 410"), std::string::npos) << ltt.statement;
  const steps::Choice exact =
      steps::choose(curves, "max_prob", {.max_drop = 1.0, .delta = 0.1, .bound = engine::RiskBound::Binomial});
  EXPECT_EQ(exact.point, &curves.full);
  EXPECT_NE(exact.statement.find("at least 299"), std::string::npos) << exact.statement;
  // A budget nothing fits says so.
  try {
    steps::choose(curves, "max_prob", {.budget = 1e-6});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fits the FLOPs budget"), std::string::npos) << e.what();
  }
  EXPECT_THROW(steps::choose(curves, "max_prob", {.budget = 0.5, .delta = 0.1}), Error);
}

TEST(CalibrateSteps, StoreWritesTemperaturesAndThePatienceOfThePick) {
  const std::string dir = model_copy("steps_store");
  const auto cfg = models::load_bert_config(dir + "/config.json");
  const size_t exits = models::load_offramp_config(dir + "/offramp.json", cfg).exits.size();
  std::vector<float> temps(exits);
  for (size_t e = 0; e < exits; ++e) temps[e] = 1.5f + 0.25f * static_cast<float>(e);
  engine::SweepPoint pick;
  pick.threshold = 3;  // patience k
  steps::store_in_model(dir, temps, Policy::Patience, pick);
  const auto oc = models::load_offramp_config(dir + "/offramp.json", cfg);
  EXPECT_EQ(oc.policy, "patience");
  EXPECT_EQ(oc.patience, 3);
  for (size_t e = 0; e < exits; ++e) EXPECT_FLOAT_EQ(oc.exits[e].temperature, temps[e]);
  EXPECT_THROW(steps::store_in_model(dir, {1.0f}, Policy::MaxProb, pick), Error);
}

namespace {

// Two exits (after layers 1 and 2), 2 labels, n inputs of 10 tokens, gold 0. Full depth is right
// with a clear margin on 85% of inputs. Exit 1 copies full depth, except on a `damaged` share of
// the inputs full depth gets right, where it says the wrong label with low confidence (0.6).
engine::SweepInput two_exit_set(size_t n, double damaged, uint64_t seed) {
  engine::SweepInput in;
  in.labels = 2, in.exit_layers = {1, 2};
  in.pooling = {kernels::Pooling::Cls, kernels::Pooling::Cls};
  in.hidden = 32, in.ffn = 64, in.temperatures = {1.0f, 1.0f};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (size_t i = 0; i < n; ++i) {
    const bool full_right = u(rng) < 0.85;
    const float z_full = full_right ? 3.0f : -3.0f;  // logit of label 0 minus label 1
    const float z_exit1 = full_right && u(rng) < damaged ? -0.4f : z_full;
    in.num_tokens.push_back(10), in.gold.push_back(0);
    for (float z : {z_exit1, z_full}) in.logits.insert(in.logits.end(), {z / 2, -z / 2});
  }
  return in;
}

}  // namespace

TEST(CalibrateSteps, ResplitsOfASetWhoseEarlyExitIsHarmlessChooseItEveryTime) {
  const auto set = two_exit_set(1200, 0.0, 5);
  const auto res = steps::validate_by_resplits(set, {.splits = 12});
  // Leaving at exit 1 is as accurate and the cheapest: "exit 1 alone", or any threshold under
  // exit 1's one confidence, cost the same. Learn-then-Test certifies it: no input of the 600 dev
  // inputs differs from full depth (betting needs 410 such inputs, binomial 299).
  const double exit1 = engine::static_points(set).front().relative_flops;
  for (const auto* r : {&res.point, &res.guaranteed}) {
    EXPECT_EQ(r->violations, 0) << r->method;
    EXPECT_NEAR(r->mean_test_drop, 0.0, 1e-12) << r->method;
    ASSERT_EQ(r->settings.size(), 12u);
    EXPECT_NEAR(r->mean_relative_flops, exit1, 1e-9) << r->method;
  }
  EXPECT_EQ(res.dev_inputs, 600);
}

TEST(CalibrateSteps, ResplitsKeepTheGuaranteeWhereTheEarlyExitHurts) {
  // Exit 1 alone loses 4 points; max_prob >= ~0.7 routes exactly its damaged inputs deeper.
  const auto res = steps::validate_by_resplits(two_exit_set(1600, 0.047, 9), {.splits = 30, .seed = 3});
  EXPECT_LE(res.guaranteed.violation_rate(30), 0.1 + 3 * std::sqrt(0.1 * 0.9 / 30));
  for (const auto& s : res.guaranteed.settings) EXPECT_NE(s, "exit 1 alone");
  EXPECT_LE(res.point.mean_relative_flops, res.guaranteed.mean_relative_flops + 1e-12);
  EXPECT_LT(res.guaranteed.mean_relative_flops, 1.0) << "the guarantee should not need full depth here";
}
