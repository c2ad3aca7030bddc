// Dense layers: Y = X W^T + b, the shape every HF linear layer has.
#pragma once

#include <vector>

#include "kernels/device.h"

namespace offramp::kernels {

// How a weight matrix is stored: NK is [n, k] (HF nn.Linear), KN the transpose [k, n].
enum class WeightLayout { NK, KN };

// The layout this build's GEMM runs fastest with on `dev`; models convert their weights once
// at load. (oneDNN's sgemm: KN, measured 1.6x NK per encoder layer at 85 x 384 tokens x h.)
WeightLayout preferred_weight_layout(Device dev);
// w [n, k] -> [k, n].
std::vector<float> transpose(const std::vector<float>& w, int n, int k);

// x: [m, k] row-major; w: [n, k] (NK) or [k, n] (KN) row-major; bias: [n] or null;
// y: [m, n] row-major, overwritten. m may be 0.
void linear(Device dev, const float* x, const float* w, const float* bias, float* y, int m,
            int n, int k, WeightLayout layout = WeightLayout::NK);

}  // namespace offramp::kernels
