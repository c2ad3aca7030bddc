// Dense layers: Y = X W^T + b, the shape every HF linear layer has.
#pragma once

#include "kernels/device.h"

namespace offramp::kernels {

// x: [m, k] row-major; w: [n, k] row-major (HF nn.Linear layout); bias: [n] or null;
// y: [m, n] row-major, overwritten. m may be 0.
void linear(Device dev, const float* x, const float* w, const float* bias, float* y, int m,
            int n, int k);

}  // namespace offramp::kernels
