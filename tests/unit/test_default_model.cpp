// The embedded default model (models/fine-foods-minilm-int8): it loads from a fresh clone at the
// precision it stores, and its calibrated exits really spread the inputs over the layers at an
// accuracy near full depth's, which is what the demo is there to show.
#include <gtest/gtest.h>

#include <map>

#include "offramp/offramp.h"
#include "tests/support/fixtures.h"

using namespace offramp;

TEST(DefaultModel, RunsAtInt8AndItsExitsSpreadTheInputs) {
  const auto clf = Classifier::load(test::repo_dir() + "/models/fine-foods-minilm-int8", {.device = Device::Cpu});
  EXPECT_EQ(clf.info().precision, "int8");
  EXPECT_EQ(clf.info().policy, "max_prob");
  EXPECT_FALSE(clf.info().calibration.empty());
  std::vector<std::string> texts;
  std::vector<std::string> gold;
  for (const auto& [label, text] : test::read_tsv(test::repo_dir() + "/data/fine_foods/test.tsv")) {
    if (texts.size() == 300) break;
    texts.push_back(text), gold.push_back(label);
  }
  const auto calibrated = clf.classify(texts);
  const auto full = clf.classify(texts, {.full_depth = true});
  std::map<int, int> exits;
  int right = 0, right_full = 0;
  double flops = 0, full_flops = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    ++exits[calibrated[i].exit_layer];
    right += calibrated[i].label == gold[i];
    right_full += full[i].label == gold[i];
    flops += calibrated[i].flops, full_flops += calibrated[i].full_depth_flops;
  }
  // Inputs leave at several layers, most early, and the FLOPs fall by more than half...
  EXPECT_GE(exits.size(), 4u);
  EXPECT_GT(exits[1], 150);
  EXPECT_GT(exits[6], 0);
  EXPECT_LT(flops / full_flops, 0.5);
  // ...for a few points at most (the full test set: 82.0% against 82.9%).
  EXPECT_GT(right_full, 230);  // > 76.7%; 65.8% is the majority class
  EXPECT_GE(right, right_full - 9);
}
