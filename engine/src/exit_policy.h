// The user's exit setting (policy, threshold, patience) and its translation into the exit rule
// every backend evaluates (kernels/exit_rule.h).
#pragma once

#include "kernels/exit_rule.h"
#include "offramp/offramp.h"

namespace offramp::engine {

struct PolicyParams {
  Policy policy = Policy::MaxProb;
  double threshold = 0.9;
  int patience = 2;
  int exit_layer = 0;  // Static: the exit layer every input leaves at
};

kernels::ExitPolicy exit_policy(Policy p);

// The rule of exit head `head` of `heads`: the last head lets every sequence leave;
// `record_heads` (trace_exits) lets none leave before it. Static runs one head only
// (ExitPlan::one_head), which is then the last: everyone leaves there.
kernels::ExitRule exit_rule(const PolicyParams& p, bool record_heads, size_t head, size_t heads);

}  // namespace offramp::engine
