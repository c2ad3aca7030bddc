// Dense layers through cuBLASLt: y [m, n] = x [m, k] . w^T (+ bias, + GELU), FP32 accumulation.
//
// Row-major y = x w^T is, in cuBLAS's column-major terms, y^T [n, m] = w [n, k] . x^T [k, m]:
// A = w seen as column-major [k, n] with op T, B = x as column-major [k, m], C = y as
// column-major [n, m]. The bias then runs along C's rows (length n), which is what the
// BIAS epilogues add.
#include "kernels/cuda/common.cuh"
#include "kernels/gpu_shared.h"

namespace offramp::kernels::gpu {

namespace {

cudaDataType_t cuda_type(DType dt) {
  switch (dt) {
    case DType::F32:
      return CUDA_R_32F;
    case DType::F16:
      return CUDA_R_16F;
    case DType::BF16:
      return CUDA_R_16BF;
  }
  return CUDA_R_32F;
}

cublasLtEpilogue_t lt_epilogue(Epilogue e) {
  switch (e) {
    case Epilogue::None:
      return CUBLASLT_EPILOGUE_DEFAULT;
    case Epilogue::Bias:
      return CUBLASLT_EPILOGUE_BIAS;
    case Epilogue::BiasGeluTanh:
      return CUBLASLT_EPILOGUE_GELU_BIAS;  // tanh approximation
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

// The heuristic reads the bias pointer's alignment, so it gets the first call's bias (every
// Buffer starts 256-byte aligned, as gpu.h requires of the operands).
GemmPlan make_plan(Stream::Impl& im, DType dt, int m, int n, int k, Epilogue e, const void* bias) {
  GemmPlan p;
  cublasLtMatmulPreference_t pref = nullptr;
  try {
    const cudaDataType_t t = cuda_type(dt);
    // FP32 storage computes in plain FP32 (no TF32), so the FP32 path matches the CPU to ~1e-6.
    OFFRAMP_CUBLAS(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    OFFRAMP_CUBLAS(
        cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    OFFRAMP_CUBLAS(
        cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    const cublasLtEpilogue_t epi = lt_epilogue(e);
    OFFRAMP_CUBLAS(
        cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (e != Epilogue::None) {
      const cudaDataType_t bt = t;
      OFFRAMP_CUBLAS(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt,
                                                    sizeof bt));
      OFFRAMP_CUBLAS(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                    sizeof bias));
    }
    OFFRAMP_CUBLAS(cublasLtMatrixLayoutCreate(&p.a, t, k, n, k));  // w: column-major [k, n]
    OFFRAMP_CUBLAS(cublasLtMatrixLayoutCreate(&p.b, t, k, m, k));  // x: column-major [k, m]
    OFFRAMP_CUBLAS(cublasLtMatrixLayoutCreate(&p.c, t, n, m, n));  // y: column-major [n, m]

    OFFRAMP_CUBLAS(cublasLtMatmulPreferenceCreate(&pref));
    const size_t ws = im.gemm_workspace.bytes();
    OFFRAMP_CUBLAS(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t st =
        cublasLtMatmulAlgoGetHeuristic(im.lt, p.op, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
    if (st != CUBLAS_STATUS_SUCCESS || found == 0)
      throw KernelError(
          std::string("cuBLASLt has no algorithm for a ") + dtype_name(dt) + " GEMM of m=" +
          std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) +
          (st != CUBLAS_STATUS_SUCCESS ? std::string(": ") + cublasLtGetStatusString(st)
                                       : std::string()));
    cublasLtMatmulPreferenceDestroy(pref);
    p.algo = result.algo;
    return p;
  } catch (...) {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    destroy_plan(p);
    throw;
  }
}

}  // namespace

void destroy_plan(GemmPlan& p) noexcept {
  if (p.a) cublasLtMatrixLayoutDestroy(p.a);
  if (p.b) cublasLtMatrixLayoutDestroy(p.b);
  if (p.c) cublasLtMatrixLayoutDestroy(p.c);
  if (p.op) cublasLtMatmulDescDestroy(p.op);
  p = GemmPlan{};
}

void linear(Stream& s, DType dt, const void* x, const void* w, const void* bias, void* y, int m,
            int n, int k, Epilogue epilogue) {
  checks::linear(x, w, bias, y, m, n, k, epilogue);
  if (m == 0) return;
  auto& im = s.impl();
  const auto key = std::make_tuple(static_cast<int>(dt), m, n, k, static_cast<int>(epilogue));
  auto it = im.plans.find(key);
  if (it == im.plans.end()) {
    if (im.plans.size() > 4096) {  // token counts vary per request; keep the cache bounded
      for (auto& [kk, p] : im.plans) destroy_plan(p);
      im.plans.clear();
    }
    it = im.plans.emplace(key, make_plan(im, dt, m, n, k, epilogue, bias)).first;
  }
  GemmPlan& p = it->second;
  if (epilogue != Epilogue::None)
    OFFRAMP_CUBLAS(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                  sizeof bias));
  const float alpha = 1.0f, beta = 0.0f;
  OFFRAMP_CUBLAS(cublasLtMatmul(im.lt, p.op, &alpha, w, p.a, x, p.b, &beta, y, p.c, y, p.c, &p.algo,
                                im.gemm_workspace.data(), im.gemm_workspace.bytes(), im.stream));
}

}  // namespace offramp::kernels::gpu
