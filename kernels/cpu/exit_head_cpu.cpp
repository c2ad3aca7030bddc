#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels::cpu {

void exit_head(const float* hidden, const int* offsets, int batch, int h,
               const ExitHeadWeights& head, const ExitRule& rule, float* scratch,
               const ExitOutputs& out) {
  float* pooled = scratch;                               // [batch, h]
  float* dense = scratch + static_cast<size_t>(batch) * h;  // [batch, h]
  for (int s = 0; s < batch; ++s) {
    Eigen::Map<Eigen::ArrayXf> p(pooled + static_cast<size_t>(s) * h, h);
    const int begin = offsets[s], n = offsets[s + 1] - begin;
    if (head.pooling == Pooling::Cls) {
      p = Eigen::Map<const Eigen::ArrayXf>(hidden + static_cast<size_t>(begin) * h, h);
    } else {
      // Mean over the sequence's tokens: [n, h] -> [h]; summed in token order.
      p.setZero();
      for (int i = 0; i < n; ++i)
        p += Eigen::Map<const Eigen::ArrayXf>(hidden + static_cast<size_t>(begin + i) * h, h);
      p /= static_cast<float>(n);
    }
  }
  linear(pooled, head.dense_w, head.dense_b, dense, batch, h, h);
  activation(dense, batch, h, head.activation);
  linear(dense, head.cls_w, head.cls_b, out.logits, batch, head.labels, h);
  // The exit rule per sequence, on its logits in place (the rule every backend shares).
  for (int s = 0; s < batch; ++s)
    finish_exit(out.logits + static_cast<size_t>(s) * head.labels, head.labels, head.temperature,
                rule, out, s);
}

int compact_sequences(float* x, int* offsets, const unsigned char* keep, int batch, int h) {
  // Survivors keep their order; rows only ever move towards the front, so memmove in place.
  int out_seq = 0, out_row = 0;
  for (int s = 0; s < batch; ++s) {
    const int begin = offsets[s], n = offsets[s + 1] - begin;
    if (!keep[s]) continue;
    if (out_row != begin)
      std::memmove(x + static_cast<size_t>(out_row) * h, x + static_cast<size_t>(begin) * h,
                   static_cast<size_t>(n) * h * sizeof(float));
    offsets[out_seq] = out_row;
    out_row += n;
    ++out_seq;
  }
  offsets[out_seq] = out_row;
  return out_seq;
}

}  // namespace offramp::kernels::cpu
