#include "kernels/layer_norm.h"

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

void add_layer_norm(Device dev, float* x, const float* residual, const float* gamma,
                    const float* beta, int rows, int h, float eps) {
  check(rows >= 0 && h > 0, "add_layer_norm", "bad shape");
  check(rows == 0 || (x && gamma && beta), "add_layer_norm", "null buffer");
  check(eps > 0.0f, "add_layer_norm", "eps must be positive");
  if (dev == Device::Cuda) no_cuda("add_layer_norm");
  cpu::add_layer_norm(x, residual, gamma, beta, rows, h, eps);
}

}  // namespace offramp::kernels
