// The exit head of an early-exit classifier, for every sequence of a packed batch:
// pool (the [CLS] row or the mean over tokens) -> dense + tanh -> linear -> softmax(z / T).
#pragma once

#include "kernels/device.h"

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
};

// hidden: [t, h] packed; offsets: [batch + 1]; logits, probs: [batch, labels] out
// (logits before the temperature). scratch: [2 * batch * h] floats.
void exit_head(Device dev, const float* hidden, const int* offsets, int batch, int h,
               const ExitHeadWeights& head, float* scratch, float* logits, float* probs);

// softmax(z / temperature) of one row on the host, in a fixed summation order. The CPU exit
// head uses it, and so does calibration when it replays exits offline, so both decide alike.
void temperature_softmax(const float* z, int labels, float temperature, float* p);

}  // namespace offramp::kernels
