// The exit rule (kernels/exit_rule.h) on hand-made head outputs: the one copy that the CPU
// head, the GPU kernels, the emulation and the offline sweep all call.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/src/exit_policy.h"

using namespace offramp;
using namespace offramp::engine;

namespace {

// One sequence through finish_exit; its patience state lives in the struct across heads.
struct OneSequence {
  std::vector<float> logits, probs;
  float confidence = 0;
  int label = -1, prev_argmax = -1, unchanged = 0;
  unsigned char keep = 2;

  // Head with probabilities p (given as logits log p, so softmax at T = 1 gives p back).
  bool leaves(const kernels::ExitRule& rule, const std::vector<float>& p, float temperature = 1) {
    std::vector<float> z;
    for (float v : p) z.push_back(std::log(v));
    logits.assign(p.size(), NAN), probs.assign(p.size(), NAN);
    const kernels::ExitOutputs out{logits.data(), probs.data(), &confidence, &label,
                                   &keep,         &prev_argmax, &unchanged};
    kernels::finish_exit(z.data(), static_cast<int>(z.size()), temperature, rule, out, 0);
    return keep == 0;
  }
};

kernels::ExitRule rule(Policy policy, double threshold, int patience) {
  return exit_rule({policy, threshold, patience}, false, 0, 100);
}

// First head index (0-based) at which the policy exits for this sequence of head outputs, or -1.
int first_exit(const kernels::ExitRule& r, const std::vector<std::vector<float>>& heads) {
  OneSequence seq;
  for (size_t i = 0; i < heads.size(); ++i)
    if (seq.leaves(r, heads[i])) return int(i);
  return -1;
}

}  // namespace

TEST(ExitPolicy, MaxProbExitsAtFirstConfidentHead) {
  const std::vector<std::vector<float>> heads = {{0.6f, 0.4f}, {0.2f, 0.8f}, {0.05f, 0.95f}};
  EXPECT_EQ(first_exit(rule(Policy::MaxProb, 0.9, 0), heads), 2);
  EXPECT_EQ(first_exit(rule(Policy::MaxProb, 0.79, 0), heads), 1);
  EXPECT_EQ(first_exit(rule(Policy::MaxProb, 0.0, 0), heads), 0);
  EXPECT_EQ(first_exit(rule(Policy::MaxProb, 1.01, 0), heads), -1);
}

TEST(ExitPolicy, EntropyIsNormalisedToConfidence) {
  OneSequence seq;
  seq.leaves(rule(Policy::Entropy, 0.5, 0), {0.25f, 0.25f, 0.25f, 0.25f});
  EXPECT_NEAR(seq.confidence, 0.0, 1e-6);
  seq.leaves(rule(Policy::Entropy, 0.5, 0), {1.0f, 0.0f, 0.0f, 0.0f});
  EXPECT_NEAR(seq.confidence, 1.0, 1e-6);
  // p = (0.9, 0.1): H = 0.325083 nats, log 2 = 0.693147 -> confidence 0.531004.
  EXPECT_TRUE(seq.leaves(rule(Policy::Entropy, 0.53, 0), {0.9f, 0.1f}));
  EXPECT_NEAR(seq.confidence, 0.531004, 1e-5);
  EXPECT_FALSE(seq.leaves(rule(Policy::Entropy, 0.54, 0), {0.9f, 0.1f}));
}

TEST(ExitPolicy, PatienceCountsUnchangedPredictions) {
  // argmax per head: 0, 1, 1, 1, 0, 0
  const std::vector<std::vector<float>> heads = {{0.9f, 0.1f}, {0.4f, 0.6f}, {0.3f, 0.7f},
                                                 {0.45f, 0.55f}, {0.8f, 0.2f}, {0.7f, 0.3f}};
  EXPECT_EQ(first_exit(rule(Policy::Patience, 0, 0), heads), 0);  // patience 0: the first head decides
  EXPECT_EQ(first_exit(rule(Policy::Patience, 0, 1), heads), 2);  // head 2 repeats head 1
  EXPECT_EQ(first_exit(rule(Policy::Patience, 0, 2), heads), 3);  // heads 1, 2, 3 agree
  EXPECT_EQ(first_exit(rule(Policy::Patience, 0, 3), heads), -1);  // never 4 in a row
  // Confidence of a patience exit is the max probability.
  OneSequence seq;
  seq.leaves(rule(Policy::Patience, 0, 0), heads[3]);
  EXPECT_FLOAT_EQ(seq.confidence, 0.55f);
}

TEST(ExitPolicy, OutputsTemperatureFinalHeadAndRecordMode) {
  // z = (0, ln 3): p = (1/4, 3/4) at T = 1; at T = 2, p ∝ (1, sqrt 3) = (0.366025, 0.633975).
  OneSequence seq;
  EXPECT_FALSE(seq.leaves(rule(Policy::MaxProb, 0.7, 0), {0.25f, 0.75f}, 2.0f));
  EXPECT_NEAR(seq.probs[1], 0.633975, 1e-6);
  EXPECT_NEAR(seq.logits[1], std::log(0.75f), 1e-7);  // logits kept before the temperature
  EXPECT_EQ(seq.label, 1);
  EXPECT_EQ(seq.keep, 1);
  // A confidence equal to the threshold exits (compared in double).
  EXPECT_TRUE(seq.leaves(rule(Policy::MaxProb, seq.probs[1], 0), {0.25f, 0.75f}, 2.0f));
  // The last head lets everyone leave; record mode lets no one leave before it.
  const kernels::ExitRule last = exit_rule({Policy::MaxProb, 1.5, 0}, false, 5, 6);
  EXPECT_TRUE(last.final_head);
  EXPECT_TRUE(seq.leaves(last, {0.5f, 0.5f}));
  const kernels::ExitRule record = exit_rule({Policy::MaxProb, 0.0, 0}, true, 0, 6);
  EXPECT_FALSE(seq.leaves(record, {0.01f, 0.99f}));
  EXPECT_TRUE(seq.leaves(exit_rule({Policy::MaxProb, 0.0, 0}, true, 5, 6), {0.01f, 0.99f}));
}
