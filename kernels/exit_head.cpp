#include "kernels/exit_head.h"

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

void exit_head(Device dev, const float* hidden, const int* offsets, int batch, int h,
               const ExitHeadWeights& head, const ExitRule& rule, float* scratch,
               const ExitOutputs& out) {
  check(batch >= 0 && h > 0 && head.labels > 0, "exit_head", "bad shape");
  check(head.temperature > 0.0f, "exit_head", "temperature must be positive");
  check(head.dense_w && head.dense_b && head.cls_w && head.cls_b, "exit_head", "missing weights");
  check(out.logits && out.probs && out.confidence && out.label && out.keep && out.prev_argmax &&
            out.unchanged,
        "exit_head", "missing outputs");
  for (int s = 0; s < batch; ++s)
    check(offsets[s + 1] > offsets[s], "exit_head", "a sequence has no tokens");
  if (dev == Device::Cuda) no_cuda("exit_head");
  if (batch == 0) return;
  cpu::exit_head(hidden, offsets, batch, h, head, rule, scratch, out);
}

}  // namespace offramp::kernels
