// The exit decision at one head for one input, for each policy.
#pragma once

#include "offramp/offramp.h"

namespace offramp::engine {

struct PolicyParams {
  Policy policy = Policy::MaxProb;
  double threshold = 0.9;
  int patience = 2;
};

// Per-input state carried across heads (PABEE's counter).
struct ExitState {
  int prev_argmax = -1;
  int unchanged = 0;  // consecutive heads after the first whose argmax equals the previous one
};

struct ExitDecision {
  bool exit;
  int argmax;
  float confidence;  // max probability (MaxProb, Patience) or 1 - H/log(labels) (Entropy)
};

// probs: [labels] softmax output of the head.
ExitDecision decide_exit(const PolicyParams& p, const float* probs, int labels, ExitState& state);

}  // namespace offramp::engine
