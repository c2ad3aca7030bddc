// Shared by the .cu files: error checks that throw KernelError naming the call and the
// reason, the Stream's private state, dtype conversions and the dispatch on dtype.
#pragma once

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <map>
#include <string>
#include <tuple>

#include "kernels/gpu.h"

namespace offramp::kernels::gpu {

[[noreturn]] void throw_cuda(cudaError_t e, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas(cublasStatus_t s, const char* call, const char* file, int line);

}  // namespace offramp::kernels::gpu

#define OFFRAMP_CUDA(call)                                                        \
  do {                                                                            \
    const cudaError_t offramp_e_ = (call);                                        \
    if (offramp_e_ != cudaSuccess)                                                \
      ::offramp::kernels::gpu::throw_cuda(offramp_e_, #call, __FILE__, __LINE__); \
  } while (0)
#define OFFRAMP_CUBLAS(call)                                                        \
  do {                                                                              \
    const cublasStatus_t offramp_s_ = (call);                                       \
    if (offramp_s_ != CUBLAS_STATUS_SUCCESS)                                        \
      ::offramp::kernels::gpu::throw_cublas(offramp_s_, #call, __FILE__, __LINE__); \
  } while (0)
// After a <<<...>>> launch: configuration errors show up here, not at the launch. `name` is a
// string literal naming the kernel, so the error says which launch failed.
#define OFFRAMP_LAUNCHED(name)                                                                    \
  do {                                                                                            \
    const cudaError_t offramp_e_ = cudaGetLastError();                                            \
    if (offramp_e_ != cudaSuccess)                                                                \
      ::offramp::kernels::gpu::throw_cuda(offramp_e_, "the launch of " name, __FILE__, __LINE__); \
  } while (0)

namespace offramp::kernels::gpu {

// One cached cuBLASLt plan: descriptors and the heuristic's algorithm for one GEMM shape.
struct GemmPlan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
};
// Destroys what a plan holds (null members are skipped); never throws.
void destroy_plan(GemmPlan& p) noexcept;

struct Stream::Impl {
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  Buffer gemm_workspace;  // cuBLASLt scratch (32 MiB, NVIDIA's advice for Hopper)
  void* pinned = nullptr;
  size_t pinned_bytes = 0;
  // (dtype, m, n, k, epilogue) -> plan; shapes repeat across requests, so the heuristic runs
  // once per shape.
  std::map<std::tuple<int, int, int, int, int>, GemmPlan> plans;
  std::map<std::string, cudaGraphExec_t> graphs;  // run_graph's cache
  ~Impl();
};

inline cudaStream_t raw(Stream& s) { return s.impl().stream; }

// FP32 <-> storage type, on the device.
__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T>
__device__ __forceinline__ T from_f(float x);
template <>
__device__ __forceinline__ float from_f<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __half from_f<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// Calls f(T{}) with T the storage type of dt.
template <typename F>
void dispatch(DType dt, F&& f) {
  switch (dt) {
    case DType::F32:
      return f(float{});
    case DType::F16:
      return f(__half{});
    case DType::BF16:
      return f(__nv_bfloat16{});
  }
}

// The activations of kernels/activation.h on one FP32 value (the layers' FFN and the exit heads).
__device__ __forceinline__ float activate(float v, Activation act) {
  switch (act) {
    case Activation::GeluErf:
      return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case Activation::GeluTanh:
      return 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    case Activation::Relu:
      return fmaxf(v, 0.0f);
    case Activation::Tanh:
      break;
  }
  return tanhf(v);
}

// Sum / max over a warp, every lane gets the result.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread gets the result.
// shm: [32] floats. Contains __syncthreads: call from every thread.
__device__ __forceinline__ float block_sum(float v, float* shm) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) shm[warp] = v;
  __syncthreads();
  v = threadIdx.x < warps ? shm[threadIdx.x] : 0.0f;
  if (warp == 0) v = warp_sum(v);
  if (threadIdx.x == 0) shm[0] = v;
  __syncthreads();
  v = shm[0];
  __syncthreads();
  return v;
}

inline unsigned blocks_for(size_t n, unsigned threads, unsigned cap = 65535u * 8u) {
  const size_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > cap ? cap : b));
}

}  // namespace offramp::kernels::gpu
