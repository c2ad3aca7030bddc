// Exit heads on the GPU. Two paths, chosen by the work of the dense layer:
//  - small batches (batch * h * h <= 64 * 768 * 768): one kernel per head does everything, a
//    block per sequence: pooling, dense + activation (the [h, h] weights stream through L2 once per
//    sequence), the classifier, the temperature softmax, the policy's confidence and the exit
//    decision. One launch instead of three plus a cuBLASLt call: small batches are bound by
//    launches, not FLOPs.
//  - larger batches: pooling kernel, the dense layer through cuBLASLt (a real GEMM now), then
//    one kernel for the activation, classifier, softmax, confidence and decision.
// Either way only the results return to the host.
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "kernels/gpu_shared.h"

namespace offramp::kernels::gpu {

namespace {

// Pooled row of sequence s into p [h] (FP32): the [CLS] row or the mean over its tokens,
// summed in token order in FP32 as the CPU kernel does.
template <typename T>
__device__ void pool_row(const T* hidden, const int* offsets, int s, int h, bool mean, float* p) {
  const int begin = offsets[s], n = offsets[s + 1] - begin;
  for (int c = threadIdx.x; c < h; c += blockDim.x) {
    float v;
    if (!mean) {
      v = to_f(hidden[static_cast<size_t>(begin) * h + c]);
    } else {
      v = 0.0f;
      for (int i = 0; i < n; ++i) v += to_f(hidden[static_cast<size_t>(begin + i) * h + c]);
      v /= static_cast<float>(n);
    }
    p[c] = v;
  }
}

// act [h] = activation(dense) already in shared memory: the classifier (block sums), then the
// softmax, confidence and exit decision for sequence s on thread 0 (finish_exit, shared with
// the host emulation). z: [labels] shared, red: [32] shared. Called by the whole block.
__device__ void finish_head(const float* act, int h, const float* cls_w, const float* cls_b,
                            int labels, float temperature, const ExitRule& rule,
                            const ExitOutputs& out, int s, float* z, float* red) {
  for (int k = 0; k < labels; ++k) {
    float v = 0.0f;
    for (int c = threadIdx.x; c < h; c += blockDim.x)
      v += act[c] * cls_w[static_cast<size_t>(k) * h + c];
    v = block_sum(v, red);
    if (threadIdx.x == 0) z[k] = v + cls_b[k];
  }
  __syncthreads();
  if (threadIdx.x == 0) finish_exit(z, labels, temperature, rule, out, s);
}

// The whole head in one kernel. grid: batch; block: 256. Shared: pooled [h], act [h],
// z [labels], red [32] (FP32). Warp w computes dense outputs j = w, w + 8, ...; its lanes
// stride over row j of dense_w (coalesced).
template <typename T>
__global__ void head_fused_kernel(const T* hidden, const int* offsets, int h, bool mean,
                                  const T* dense_w, const T* dense_b, Activation act_fn,
                                  const float* cls_w, const float* cls_b, int labels,
                                  float temperature, ExitRule rule, ExitOutputs out) {
  extern __shared__ float sm[];
  float* pooled = sm;
  float* act = pooled + h;
  float* z = act + h;
  float* red = z + labels;
  const int s = blockIdx.x;
  pool_row(hidden, offsets, s, h, mean, pooled);
  // Rounded to T, as the unfused path stores them, so a sequence's result does not depend
  // on which path its batch size picks.
  for (int c = threadIdx.x; c < h; c += blockDim.x) pooled[c] = to_f(from_f<T>(pooled[c]));
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  for (int j = warp; j < h; j += warps) {
    const T* w = dense_w + static_cast<size_t>(j) * h;
    float v = 0.0f;
    for (int c = lane; c < h; c += 32) v += pooled[c] * to_f(w[c]);
    v = warp_sum(v);
    if (lane == 0) act[j] = activate(to_f(from_f<T>(v + to_f(dense_b[j]))), act_fn);
  }
  __syncthreads();
  finish_head(act, h, cls_w, cls_b, labels, temperature, rule, out, s, z, red);
}

// grid: batch; pooled [batch, h] of T.
template <typename T>
__global__ void pool_kernel(const T* hidden, const int* offsets, int h, bool mean, T* pooled) {
  extern __shared__ float p[];
  pool_row(hidden, offsets, blockIdx.x, h, mean, p);
  for (int c = threadIdx.x; c < h; c += blockDim.x)
    pooled[static_cast<size_t>(blockIdx.x) * h + c] = from_f<T>(p[c]);
}

// grid: batch; dense [batch, h] (the dense GEMM's output, bias included). Shared: act [h],
// z [labels], red [32].
template <typename T>
__global__ void head_finish_kernel(const T* dense, int h, Activation act_fn, const float* cls_w,
                                   const float* cls_b, int labels, float temperature, ExitRule rule,
                                   ExitOutputs out) {
  extern __shared__ float sm[];
  float* act = sm;
  float* z = sm + h;
  float* red = z + labels;
  const int s = blockIdx.x;
  for (int c = threadIdx.x; c < h; c += blockDim.x)
    act[c] = activate(to_f(dense[static_cast<size_t>(s) * h + c]), act_fn);
  __syncthreads();
  finish_head(act, h, cls_w, cls_b, labels, temperature, rule, out, s, z, red);
}

}  // namespace

void exit_head(Stream& s, DType dt, const void* hidden, const int* offsets, int batch, int h,
               const ExitHeadDevice& head, const ExitRule& rule, void* pooled, void* dense,
               const ExitOutputs& out) {
  checks::exit_head(batch, h, head, pooled, dense);
  if (batch == 0) return;
  const bool mean = head.pooling == Pooling::Mean;
  const bool fused = exit_head_fused(batch, h);
  const size_t shm = (2 * static_cast<size_t>(h) + head.labels + 32) * sizeof(float);
  dispatch(dt, [&](auto z) {
    using T = decltype(z);
    if (fused) {
      head_fused_kernel<T><<<batch, 256, shm, raw(s)>>>(
          static_cast<const T*>(hidden), offsets, h, mean, static_cast<const T*>(head.dense_w),
          static_cast<const T*>(head.dense_b), head.activation, head.cls_w, head.cls_b, head.labels,
          head.temperature, rule, out);
    } else {
      pool_kernel<T><<<batch, 256, h * sizeof(float), raw(s)>>>(
          static_cast<const T*>(hidden), offsets, h, mean, static_cast<T*>(pooled));
    }
  });
  OFFRAMP_LAUNCHED("exit_head");
  if (fused) return;
  linear(s, dt, pooled, head.dense_w, head.dense_b, dense, batch, h, h, Epilogue::Bias);
  dispatch(dt, [&](auto z) {
    using T = decltype(z);
    head_finish_kernel<T><<<batch, 128, shm, raw(s)>>>(static_cast<const T*>(dense), h,
                                                       head.activation, head.cls_w, head.cls_b,
                                                       head.labels, head.temperature, rule, out);
  });
  OFFRAMP_LAUNCHED("exit_head finish");
}

}  // namespace offramp::kernels::gpu
