#include "engine/src/exit_policy.h"

namespace offramp::engine {

kernels::ExitPolicy exit_policy(Policy p) {
  switch (p) {
    case Policy::MaxProb: return kernels::ExitPolicy::MaxProb;
    case Policy::Entropy: return kernels::ExitPolicy::Entropy;
    case Policy::Patience: return kernels::ExitPolicy::Patience;
    case Policy::Static: return kernels::ExitPolicy::MaxProb;  // its one head is the last: the confidence reported
  }
  throw Error("unknown exit policy");
}

kernels::ExitRule exit_rule(const PolicyParams& p, bool record_heads, size_t head, size_t heads) {
  kernels::ExitRule r;
  r.policy = exit_policy(p.policy);
  r.threshold = p.threshold;
  r.patience = p.patience;
  r.never_exit = record_heads;
  r.final_head = head + 1 == heads;
  return r;
}

}  // namespace offramp::engine
