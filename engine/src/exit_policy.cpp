#include "engine/src/exit_policy.h"

#include <cmath>

namespace offramp::engine {

ExitDecision decide_exit(const PolicyParams& p, const float* probs, int labels, ExitState& state) {
  int arg = 0;
  for (int i = 1; i < labels; ++i)
    if (probs[i] > probs[arg]) arg = i;
  ExitDecision d{false, arg, probs[arg]};
  switch (p.policy) {
    case Policy::MaxProb:
      d.exit = d.confidence >= p.threshold;
      break;
    case Policy::Entropy: {
      double h = 0;
      for (int i = 0; i < labels; ++i)
        if (probs[i] > 0) h -= static_cast<double>(probs[i]) * std::log(static_cast<double>(probs[i]));
      d.confidence = static_cast<float>(1.0 - h / std::log(static_cast<double>(labels)));
      d.exit = d.confidence >= p.threshold;
      break;
    }
    case Policy::Patience:
      state.unchanged = (state.prev_argmax == arg) ? state.unchanged + 1 : 0;
      d.exit = state.unchanged >= p.patience;
      break;
  }
  state.prev_argmax = arg;
  return d;
}

}  // namespace offramp::engine
