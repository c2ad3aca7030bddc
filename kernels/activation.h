// Elementwise activations, in place, with the bias of the preceding linear layer fused in.
#pragma once

#include "kernels/device.h"

namespace offramp::kernels {

enum class Activation {
  GeluErf,   // HF "gelu": 0.5 x (1 + erf(x / sqrt 2))
  GeluTanh,  // HF "gelu_new" / "gelu_pytorch_tanh"
  Relu,
  Tanh,
};

// x: [rows, n] in place. Activations are applied elementwise.
void activation(Device dev, float* x, int rows, int n, Activation act);

}  // namespace offramp::kernels
