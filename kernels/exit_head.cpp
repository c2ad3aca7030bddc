#include "kernels/exit_head.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

void exit_head(Device dev, const float* hidden, const int* offsets, int batch, int h,
               const ExitHeadWeights& head, float* scratch, float* logits, float* probs) {
  check(batch >= 0 && h > 0 && head.labels > 0, "exit_head", "bad shape");
  check(head.temperature > 0.0f, "exit_head", "temperature must be positive");
  check(head.dense_w && head.dense_b && head.cls_w && head.cls_b, "exit_head", "missing weights");
  for (int s = 0; s < batch; ++s)
    check(offsets[s + 1] > offsets[s], "exit_head", "a sequence has no tokens");
  if (dev == Device::Cuda) no_cuda("exit_head");
  if (batch == 0) return;
  cpu::exit_head(hidden, offsets, batch, h, head, scratch, logits, probs);
}

void temperature_softmax(const float* z, int labels, float temperature, float* p) {
  float mx = z[0] / temperature, sum = 0.0f;
  for (int k = 1; k < labels; ++k) mx = std::max(mx, z[k] / temperature);
  for (int k = 0; k < labels; ++k) sum += (p[k] = std::exp(z[k] / temperature - mx));
  for (int k = 0; k < labels; ++k) p[k] /= sum;
}

}  // namespace offramp::kernels
