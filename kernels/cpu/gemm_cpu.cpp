// GEMMs go to oneDNN's sgemm when the build has it (Debian's libdnnl-dev), else to OpenBLAS.
// oneDNN's JIT kernels use the widest ISA the CPU has (AVX-512 on the dev machine), while
// OpenBLAS is held to the kernels OPENBLAS_CORETYPE names (Haswell/AVX2 in this project's
// environment); on the encoder's shapes oneDNN measured 1.6-4.7x OpenBLAS's rate with the
// same threads (bench/RESULTS.md, 2026-11-28).
#include <algorithm>
#include <cstring>
#include <string>

#ifdef OFFRAMP_HAVE_DNNL
#include <dnnl.h>
#include <omp.h>
#else
#include <cblas.h>
#endif

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels::cpu {

void linear(const float* x, const float* w, const float* bias, float* y, int m, int n, int k, bool w_kn) {
  if (m == 0 || n == 0) return;
  float beta = 0.0f;
  if (bias != nullptr) {
    // Seed every output row with the bias and let the GEMM accumulate onto it (beta = 1).
    for (int i = 0; i < m; ++i) std::memcpy(y + static_cast<size_t>(i) * n, bias, n * sizeof(float));
    beta = 1.0f;
  }
  // y[m, n] = x[m, k] * w[n, k]^T, or x[m, k] * w[k, n] when the weight is stored transposed
#ifdef OFFRAMP_HAVE_DNNL
  // oneDNN (OpenMP runtime) runs omp_get_max_threads() threads of the calling thread, so the
  // process-wide thread count is applied to the caller before each call.
  omp_set_num_threads(cpu_threads());
  const dnnl_status_t st = w_kn ? dnnl_sgemm('N', 'N', m, n, k, 1.0f, x, k, w, n, beta, y, n)
                                : dnnl_sgemm('N', 'T', m, n, k, 1.0f, x, k, w, k, beta, y, n);
  check(st == dnnl_success, "linear", "oneDNN sgemm failed (status " + std::to_string(static_cast<int>(st)) + ")");
#else
  cblas_sgemm(CblasRowMajor, CblasNoTrans, w_kn ? CblasNoTrans : CblasTrans, m, n, k, 1.0f, x, k, w, w_kn ? n : k, beta,
              y, n);
#endif
}

}  // namespace offramp::kernels::cpu
