#include "kernels/gemm.h"

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

void linear(Device dev, const float* x, const float* w, const float* bias, float* y, int m,
            int n, int k) {
  check(m >= 0 && n > 0 && k > 0, "linear", "bad shape");
  check(m == 0 || (x && w && y), "linear", "null buffer");
  if (dev == Device::Cuda) no_cuda("linear");
  cpu::linear(x, w, bias, y, m, n, k);
}

}  // namespace offramp::kernels
