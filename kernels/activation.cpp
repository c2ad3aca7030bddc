#include "kernels/activation.h"

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

void activation(Device dev, float* x, int rows, int n, Activation act) {
  check(rows >= 0 && n > 0, "activation", "bad shape");
  check(rows == 0 || x, "activation", "null buffer");
  if (dev == Device::Cuda) no_cuda("activation");
  cpu::activation(x, rows, n, act);
}

}  // namespace offramp::kernels
