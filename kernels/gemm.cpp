#include "kernels/gemm.h"

#include <cblas.h>
#include <omp.h>

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

void linear(Device dev, const float* x, const float* w, const float* bias, float* y, int m,
            int n, int k) {
  check(m >= 0 && n > 0 && k > 0, "linear", "bad shape");
  check(m == 0 || (x && w && y), "linear", "null buffer");
  if (dev == Device::Cuda) no_cuda("linear");
  cpu::linear(x, w, bias, y, m, n, k);
}

void set_cpu_threads(int threads) {
  const int n = threads > 0 ? threads : omp_get_num_procs();
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}

int cpu_threads() { return openblas_get_num_threads(); }

}  // namespace offramp::kernels
