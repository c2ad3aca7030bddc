// The exit head of an early-exit classifier, for every sequence of a packed batch:
// pool (the [CLS] row or the mean over tokens) -> dense + activation (tanh for Offramp's
// heads; Hugging Face's classification heads use tanh, ReLU or GELU) -> linear -> softmax(z / T)
// -> the exit rule (kernels/exit_rule.h). The CUDA version is gpu::exit_head (kernels/gpu.h).
#pragma once

#include "kernels/activation.h"
#include "kernels/device.h"
#include "kernels/exit_rule.h"

namespace offramp::kernels {

enum class Pooling { Cls, Mean };

struct ExitHeadWeights {
  const float* dense_w;  // [h, h]
  const float* dense_b;  // [h]
  const float* cls_w;    // [labels, h]
  const float* cls_b;    // [labels]
  int labels;
  Pooling pooling;
  float temperature;     // > 0
  Activation activation = Activation::Tanh;  // after the dense layer
};

// hidden: [t, h] packed; offsets: [batch + 1]; scratch: [2 * batch * h] floats. Writes every
// field of `out` for the batch's sequences (kernels/exit_rule.h: logits before the
// temperature, probabilities, confidence, label, keep flag, and the patience state it reads).
void exit_head(Device dev, const float* hidden, const int* offsets, int batch, int h,
               const ExitHeadWeights& head, const ExitRule& rule, float* scratch,
               const ExitOutputs& out);

}  // namespace offramp::kernels
