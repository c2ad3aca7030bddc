// Row-wise and elementwise ops: embeddings + LayerNorm, residual add + LayerNorm, bias +
// activation. LayerNorm is two-pass mean/variance in FP32 like the CPU kernel: one warp per
// row with the row in registers for hidden sizes 128..1024 (multiples of 128), otherwise one
// block per row with the row staged in shared memory. Grid-stride loops elsewhere.
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "kernels/gpu_shared.h"

namespace offramp::kernels::gpu {

namespace {

constexpr int kRowThreads = 256;

// v: the row [h] in shared FP32 (already holding x (+ residual)); writes LN(v) to out as T.
template <typename T>
__device__ void layer_norm_row(const float* v, int h, const T* gamma, const T* beta, float eps,
                               T* out, float* red) {
  float s = 0.0f;
  for (int c = threadIdx.x; c < h; c += blockDim.x) s += v[c];
  const float mean = block_sum(s, red) / static_cast<float>(h);
  float q = 0.0f;
  for (int c = threadIdx.x; c < h; c += blockDim.x) q += (v[c] - mean) * (v[c] - mean);
  const float var = block_sum(q, red) / static_cast<float>(h);
  const float rstd = 1.0f / sqrtf(var + eps);
  for (int c = threadIdx.x; c < h; c += blockDim.x)
    out[c] = from_f<T>((v[c] - mean) * rstd * to_f(gamma[c]) + to_f(beta[c]));
}

// grid: t rows. out [t, h].
template <typename T>
__global__ void embed_ln_kernel(const int32_t* ids, const int32_t* positions, const T* word,
                                const T* pos, const T* type0, const T* gamma, const T* beta,
                                float eps, T* out, int h) {
  extern __shared__ float row[];  // [h] then 32 for reductions
  float* red = row + h;
  const size_t r = blockIdx.x;
  const T* w = word + static_cast<size_t>(ids[r]) * h;
  const T* p = pos + static_cast<size_t>(positions[r]) * h;
  for (int c = threadIdx.x; c < h; c += blockDim.x)
    row[c] = (to_f(w[c]) + to_f(type0[c])) + to_f(p[c]);  // HF's order, as the CPU
  __syncthreads();
  layer_norm_row(row, h, gamma, beta, eps, out + r * h, red);
}

// grid: rows. x [rows, h] in place.
template <typename T>
__global__ void add_ln_kernel(T* x, const T* residual, const T* gamma, const T* beta, float eps,
                              int h) {
  extern __shared__ float row[];
  float* red = row + h;
  const size_t r = blockIdx.x;
  T* xr = x + r * h;
  for (int c = threadIdx.x; c < h; c += blockDim.x)
    row[c] = to_f(xr[c]) + (residual ? to_f(residual[r * h + c]) : 0.0f);
  __syncthreads();
  layer_norm_row(row, h, gamma, beta, eps, xr, red);
}

// Four values of T as one aligned vector (8 bytes for FP16/BF16, 16 for FP32).
template <typename T>
struct alignas(4 * sizeof(T)) Vec4 {
  T v[4];
};

// Residual add + LayerNorm with one warp per row for h = 128 * N (N = 1..8): each lane keeps
// 4N values in registers, loaded as Vec4 (coalesced across the warp), so the row is read
// and written once and no block-wide barrier is needed. 8 rows per 256-thread block.
template <typename T, int N>
__global__ void add_ln_warp_kernel(T* x, const T* residual, const T* gamma, const T* beta,
                                   float eps, int rows) {
  constexpr int h = 128 * N;
  const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  T* xr = x + static_cast<size_t>(row) * h;
  const T* rr = residual ? residual + static_cast<size_t>(row) * h : nullptr;
  float v[N][4];
  float sum = 0.0f;
#pragma unroll
  for (int n = 0; n < N; ++n) {
    const int col = (n * 32 + lane) * 4;
    const Vec4<T> a = *reinterpret_cast<const Vec4<T>*>(xr + col);
    Vec4<T> b{};
    if (rr) b = *reinterpret_cast<const Vec4<T>*>(rr + col);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      v[n][j] = to_f(a.v[j]) + (rr ? to_f(b.v[j]) : 0.0f);
      sum += v[n][j];
    }
  }
  const float mean = warp_sum(sum) / static_cast<float>(h);
  float q = 0.0f;
#pragma unroll
  for (int n = 0; n < N; ++n)
#pragma unroll
    for (int j = 0; j < 4; ++j) q += (v[n][j] - mean) * (v[n][j] - mean);
  const float rstd = 1.0f / sqrtf(warp_sum(q) / static_cast<float>(h) + eps);
#pragma unroll
  for (int n = 0; n < N; ++n) {
    const int col = (n * 32 + lane) * 4;
    const Vec4<T> g = *reinterpret_cast<const Vec4<T>*>(gamma + col);
    const Vec4<T> b = *reinterpret_cast<const Vec4<T>*>(beta + col);
    Vec4<T> o;
#pragma unroll
    for (int j = 0; j < 4; ++j)
      o.v[j] = from_f<T>((v[n][j] - mean) * rstd * to_f(g.v[j]) + to_f(b.v[j]));
    *reinterpret_cast<Vec4<T>*>(xr + col) = o;
  }
}

// Launches add_ln_warp_kernel<T, N> for the n = h / 128 in 1..8 (N is a template parameter so
// the row lives in registers).
template <typename T, int N = 1>
void launch_add_ln_warp(int n, cudaStream_t st, void* x, const void* residual, const void* gamma,
                        const void* beta, float eps, int rows) {
  if constexpr (N < 8) {
    if (n != N) return launch_add_ln_warp<T, N + 1>(n, st, x, residual, gamma, beta, eps, rows);
  }
  add_ln_warp_kernel<T, N><<<(rows + 7) / 8, 256, 0, st>>>(
      static_cast<T*>(x), static_cast<const T*>(residual), static_cast<const T*>(gamma),
      static_cast<const T*>(beta), eps, rows);
}

// x [rows, n] in place.
template <typename T>
__global__ void bias_act_kernel(T* x, const T* bias, size_t total, int n, Activation act) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    float v = to_f(x[i]);
    if (bias) v += to_f(bias[i % n]);
    x[i] = from_f<T>(activate(v, act));
  }
}

// No bias, 16-byte vectors (8 FP16/BF16 or 4 FP32 values per load): the FFN activation
// [t, f] is the largest tensor a layer writes, and this pass is bound by memory.
template <typename T>
__global__ void act_vec_kernel(uint4* x, size_t vecs, Activation act) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < vecs;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    uint4 v = x[i];
    T* e = reinterpret_cast<T*>(&v);
#pragma unroll
    for (int j = 0; j < static_cast<int>(16 / sizeof(T)); ++j)
      e[j] = from_f<T>(activate(to_f(e[j]), act));
    x[i] = v;
  }
}

}  // namespace

void embed_layer_norm(Stream& s, DType dt, const int32_t* ids, const int32_t* positions, int t,
                      const void* word, const void* pos, const void* type0, const void* gamma,
                      const void* beta, float eps, void* out, int h) {
  checks::rows("gpu::embed_layer_norm", t, h, "t", "h", true);
  if (t == 0) return;
  const size_t shm = (static_cast<size_t>(h) + 32) * sizeof(float);
  dispatch(dt, [&](auto z) {
    using T = decltype(z);
    embed_ln_kernel<T><<<t, kRowThreads, shm, raw(s)>>>(
        ids, positions, static_cast<const T*>(word), static_cast<const T*>(pos),
        static_cast<const T*>(type0), static_cast<const T*>(gamma), static_cast<const T*>(beta),
        eps, static_cast<T*>(out), h);
  });
  OFFRAMP_LAUNCHED("embed_layer_norm");
}

void add_layer_norm(Stream& s, DType dt, void* x, const void* residual, const void* gamma,
                    const void* beta, int rows, int h, float eps) {
  checks::rows("gpu::add_layer_norm", rows, h, "rows", "h", true);
  if (rows == 0) return;
  if (h % 128 == 0 && h <= 1024) {  // the common sizes (128 ... 1024): warp per row
    dispatch(dt, [&](auto z) {
      using T = decltype(z);
      cudaStream_t st = raw(s);
      launch_add_ln_warp<T>(h / 128, st, x, residual, gamma, beta, eps, rows);
    });
    OFFRAMP_LAUNCHED("add_layer_norm");
    return;
  }
  const size_t shm = (static_cast<size_t>(h) + 32) * sizeof(float);
  dispatch(dt, [&](auto z) {
    using T = decltype(z);
    add_ln_kernel<T><<<rows, kRowThreads, shm, raw(s)>>>(
        static_cast<T*>(x), static_cast<const T*>(residual), static_cast<const T*>(gamma),
        static_cast<const T*>(beta), eps, h);
  });
  OFFRAMP_LAUNCHED("add_layer_norm");
}

void bias_activation(Stream& s, DType dt, void* x, const void* bias, int rows, int n,
                     Activation act) {
  checks::rows("gpu::bias_activation", rows, n, "rows", "n", false);
  const size_t total = static_cast<size_t>(rows) * n;
  if (total == 0) return;
  const size_t per_vec = 16 / dtype_size(dt);
  if (bias == nullptr && total % per_vec == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0) {
    dispatch(dt, [&](auto z) {
      using T = decltype(z);
      act_vec_kernel<T><<<blocks_for(total / per_vec, 256), 256, 0, raw(s)>>>(
          static_cast<uint4*>(x), total / per_vec, act);
    });
    OFFRAMP_LAUNCHED("bias_activation");
    return;
  }
  dispatch(dt, [&](auto z) {
    using T = decltype(z);
    bias_act_kernel<T><<<blocks_for(total, 256), 256, 0, raw(s)>>>(
        static_cast<T*>(x), static_cast<const T*>(bias), total, n, act);
  });
  OFFRAMP_LAUNCHED("bias_activation");
}

}  // namespace offramp::kernels::gpu
