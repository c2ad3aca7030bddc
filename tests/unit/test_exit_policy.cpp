// Exit decisions on hand-made head outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/src/exit_policy.h"

using namespace offramp;
using namespace offramp::engine;

namespace {
// First head index (0-based) at which the policy exits for this sequence of head outputs, or -1.
int first_exit(const PolicyParams& p, const std::vector<std::vector<float>>& heads) {
  ExitState st;
  for (size_t i = 0; i < heads.size(); ++i)
    if (decide_exit(p, heads[i].data(), int(heads[i].size()), st).exit) return int(i);
  return -1;
}
}  // namespace

TEST(ExitPolicy, MaxProbExitsAtFirstConfidentHead) {
  const std::vector<std::vector<float>> heads = {{0.6f, 0.4f}, {0.2f, 0.8f}, {0.05f, 0.95f}};
  EXPECT_EQ(first_exit({Policy::MaxProb, 0.9, 0}, heads), 2);
  EXPECT_EQ(first_exit({Policy::MaxProb, 0.8, 0}, heads), 1);  // >= threshold exits
  EXPECT_EQ(first_exit({Policy::MaxProb, 0.0, 0}, heads), 0);
  EXPECT_EQ(first_exit({Policy::MaxProb, 1.01, 0}, heads), -1);
}

TEST(ExitPolicy, EntropyIsNormalisedToConfidence) {
  ExitState st;
  const float uniform[] = {0.25f, 0.25f, 0.25f, 0.25f}, sure[] = {1.0f, 0.0f, 0.0f, 0.0f};
  EXPECT_NEAR(decide_exit({Policy::Entropy, 0.5, 0}, uniform, 4, st).confidence, 0.0, 1e-6);
  EXPECT_NEAR(decide_exit({Policy::Entropy, 0.5, 0}, sure, 4, st).confidence, 1.0, 1e-6);
  // p = (0.9, 0.1): H = 0.325083 nats, log 2 = 0.693147 -> confidence 0.531004.
  const float p[] = {0.9f, 0.1f};
  const auto d = decide_exit({Policy::Entropy, 0.53, 0}, p, 2, st);
  EXPECT_NEAR(d.confidence, 0.531004, 1e-5);
  EXPECT_TRUE(d.exit);
  EXPECT_FALSE(decide_exit({Policy::Entropy, 0.54, 0}, p, 2, st).exit);
}

TEST(ExitPolicy, PatienceCountsUnchangedPredictions) {
  // argmax per head: 0, 1, 1, 1, 0, 0
  const std::vector<std::vector<float>> heads = {{0.9f, 0.1f}, {0.4f, 0.6f}, {0.3f, 0.7f},
                                                 {0.45f, 0.55f}, {0.8f, 0.2f}, {0.7f, 0.3f}};
  EXPECT_EQ(first_exit({Policy::Patience, 0, 0}, heads), 0);  // patience 0: the first head decides
  EXPECT_EQ(first_exit({Policy::Patience, 0, 1}, heads), 2);  // head 2 repeats head 1
  EXPECT_EQ(first_exit({Policy::Patience, 0, 2}, heads), 3);  // heads 1, 2, 3 agree
  EXPECT_EQ(first_exit({Policy::Patience, 0, 3}, heads), -1);  // never 4 in a row
  // Confidence of a patience exit is the max probability.
  ExitState st;
  EXPECT_FLOAT_EQ(decide_exit({Policy::Patience, 0, 0}, heads[3].data(), 2, st).confidence, 0.55f);
}
