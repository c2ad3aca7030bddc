// LayerNorm over the last dimension, optionally fused with the residual add of post-LN
// BERT blocks: x = LayerNorm(x + residual) * gamma + beta.
#pragma once

#include "kernels/device.h"

namespace offramp::kernels {

// x: [rows, h] in place; residual: [rows, h] or null; gamma, beta: [h].
void add_layer_norm(Device dev, float* x, const float* residual, const float* gamma,
                    const float* beta, int rows, int h, float eps);

}  // namespace offramp::kernels
