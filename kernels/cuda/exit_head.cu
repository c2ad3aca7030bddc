// Exit heads on the GPU: pooling, then (after the dense GEMM through linear()) one fused
// kernel per sequence for tanh, the classifier, the temperature softmax, the policy's
// confidence and the exit decision, so nothing but the results ever returns to the host.
#include <cmath>

#include "kernels/cuda/common.cuh"

namespace offramp::kernels::gpu {

namespace {

// grid: batch; pooled [batch, h]: the [CLS] row or the mean over the sequence's tokens
// (summed in token order in FP32, as the CPU kernel does).
template <typename T>
__global__ void pool_kernel(const T* hidden, const int* offsets, int h, bool mean, T* pooled) {
  const int s = blockIdx.x, begin = offsets[s], n = offsets[s + 1] - begin;
  for (int c = threadIdx.x; c < h; c += blockDim.x) {
    float v;
    if (!mean) {
      v = to_f(hidden[static_cast<size_t>(begin) * h + c]);
    } else {
      v = 0.0f;
      for (int i = 0; i < n; ++i) v += to_f(hidden[static_cast<size_t>(begin + i) * h + c]);
      v /= static_cast<float>(n);
    }
    pooled[static_cast<size_t>(s) * h + c] = from_f<T>(v);
  }
}

// grid: batch; dense [batch, h] (dense layer output before tanh). Shared: tanh(dense[s]) [h]
// FP32, the logits [labels] and 32 floats for reductions.
template <typename T>
__global__ void head_finish_kernel(const T* dense, int h, const float* cls_w, const float* cls_b, int labels,
                                   float temperature, ExitRule rule, ExitOutputs out) {
  extern __shared__ float sm[];
  float* act = sm;
  float* z = sm + h;
  float* red = z + labels;
  const int s = blockIdx.x;
  for (int c = threadIdx.x; c < h; c += blockDim.x) act[c] = tanhf(to_f(dense[static_cast<size_t>(s) * h + c]));
  __syncthreads();
  for (int k = 0; k < labels; ++k) {
    float v = 0.0f;
    for (int c = threadIdx.x; c < h; c += blockDim.x) v += act[c] * cls_w[static_cast<size_t>(k) * h + c];
    v = block_sum(v, red);
    if (threadIdx.x == 0) z[k] = v + cls_b[k];
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  // softmax(z / T) in the order of kernels::temperature_softmax, then engine::decide_exit.
  float* lg = out.logits + static_cast<size_t>(s) * labels;
  float* p = out.probs + static_cast<size_t>(s) * labels;
  float mx = z[0] / temperature, sum = 0.0f;
  for (int k = 1; k < labels; ++k) mx = fmaxf(mx, z[k] / temperature);
  for (int k = 0; k < labels; ++k) sum += (p[k] = expf(z[k] / temperature - mx));
  for (int k = 0; k < labels; ++k) p[k] /= sum, lg[k] = z[k];
  int arg = 0;
  for (int k = 1; k < labels; ++k)
    if (p[k] > p[arg]) arg = k;
  float conf = p[arg];
  bool leave = false;
  if (rule.policy == 0) {
    leave = conf >= rule.threshold;
  } else if (rule.policy == 1) {
    double ent = 0;
    for (int k = 0; k < labels; ++k)
      if (p[k] > 0) ent -= static_cast<double>(p[k]) * log(static_cast<double>(p[k]));
    conf = static_cast<float>(1.0 - ent / log(static_cast<double>(labels)));
    leave = conf >= rule.threshold;
  } else {
    const int unchanged = out.prev_argmax[s] == arg ? out.unchanged[s] + 1 : 0;
    out.unchanged[s] = unchanged;
    leave = unchanged >= rule.patience;
  }
  out.prev_argmax[s] = arg;
  if (rule.never_exit) leave = false;
  out.label[s] = arg;
  out.confidence[s] = conf;
  out.keep[s] = (leave || rule.final_head) ? 0 : 1;
}

}  // namespace

void exit_head(Stream& s, DType dt, const void* hidden, const int* offsets, int batch, int h,
               const ExitHeadDevice& head, const ExitRule& rule, void* pooled, void* dense, const ExitOutputs& out) {
  check(batch >= 0 && h > 0 && head.labels > 0, "gpu::exit_head", "bad shape");
  check(head.temperature > 0.0f, "gpu::exit_head", "temperature must be > 0");
  if (batch == 0) return;
  const size_t shm = (static_cast<size_t>(h) + head.labels + 32) * sizeof(float);
  check(shm <= 48 * 1024, "gpu::exit_head", "hidden size plus labels too large for one block");
  dispatch(dt, [&](auto z) {
    using T = decltype(z);
    pool_kernel<T><<<batch, 256, 0, raw(s)>>>(static_cast<const T*>(hidden), offsets, h,
                                              head.pooling == Pooling::Mean, static_cast<T*>(pooled));
  });
  OFFRAMP_LAUNCHED("exit_head pool");
  linear(s, dt, pooled, head.dense_w, head.dense_b, dense, batch, h, h, Epilogue::Bias);
  dispatch(dt, [&](auto z) {
    using T = decltype(z);
    head_finish_kernel<T><<<batch, 128, shm, raw(s)>>>(static_cast<const T*>(dense), h, head.cls_w, head.cls_b,
                                                        head.labels, head.temperature, rule, out);
  });
  OFFRAMP_LAUNCHED("exit_head finish");
}

}  // namespace offramp::kernels::gpu
