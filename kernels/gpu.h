// The GPU op interface: device memory, a stream with its cuBLASLt handle, and every op the
// encoder and the exit heads need, typed on (dtype) and launched asynchronously on a stream.
//
// No CUDA type appears here, so the engine compiles against it in every build. With the CUDA
// backend compiled in (kernels/cuda/*.cu) the ops run on the GPU; without it
// (kernels/emulation/*.cpp) device_count() is 0 and every op throws KernelError saying the
// build has no CUDA, unless OFFRAMP_GPU_EMULATION=1 turns on a host emulation for tests.
// All pointers passed to ops are device pointers unless a comment says "host".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kernels/activation.h"
#include "kernels/device.h"
#include "kernels/exit_head.h"
#include "kernels/exit_rule.h"

namespace offramp::kernels::gpu {

// Storage type of activations and weights; every op accumulates in FP32.
enum class DType { F32, F16, BF16 };
size_t dtype_size(DType dt);
const char* dtype_name(DType dt);

// GPUs usable by this process: 0 without the CUDA backend, without a driver or without a
// device (never throws: the caller falls back to the CPU).
int device_count();
// "NVIDIA H200 (sm_90, 139 GiB, 132 SMs)" for device 0; throws KernelError when there is none.
std::string device_description();

// Device memory, freed on destruction. alloc() throws KernelError saying how many bytes were
// asked for and how many were free.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t bytes, const char* what = "buffer");
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();
  void* data() const { return p_; }
  size_t bytes() const { return bytes_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

// A CUDA stream with its cuBLASLt handle, the GEMM workspace, pinned host staging memory and
// an event; one per concurrent caller (the engine serialises callers on one, see
// engine/src/gpu_model.h).
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  void synchronize();
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// CUDA graphs: the work `enqueue` puts on the stream runs directly the first time `key` is
// seen, is captured the second time and replayed from then on, so a repeated group of layers
// costs one launch instead of tens (what small batches are bound by) while one-off shapes
// never pay for a capture. The key must name everything baked into the launches: shapes,
// device and host pointers, scalars. enqueue must not synchronise or allocate.
void run_graph(Stream& s, const std::string& key, const std::function<void()>& enqueue);

// Copies; host pointers may be any memory (the copy waits when they are pageable).
void copy_to_device(Stream& s, void* dst, const void* host_src, size_t bytes);
void copy_to_host(Stream& s, void* host_dst, const void* src, size_t bytes);
// Pinned host memory owned by the stream, at least `bytes` long (reallocated when too small;
// valid until the next call). Asynchronous copies to it overlap nothing but avoid a staging copy.
void* pinned(Stream& s, size_t bytes);

// x: [n] FP32 -> y: [n] of `dt` (round to nearest even). Used once per weight at load.
void convert_from_f32(Stream& s, DType dt, const float* x, void* y, size_t n);
// x: [n] of `dt` -> y: [n] FP32 (tests and the exit heads' readback).
void convert_to_f32(Stream& s, DType dt, const void* x, float* y, size_t n);

// Epilogues fused into the GEMM by cuBLASLt.
enum class Epilogue { None, Bias, BiasGeluTanh };

// y [m, n] = x [m, k] . w^T + bias, with w [n, k] row-major (HF's nn.Linear layout), all of
// `dt`, FP32 accumulation (FP32 inputs: TF32 is not used, so FP32 stays exact to ~1e-6).
// bias: [n] of `dt`, required unless epilogue is None. m may be 0. Every pointer must be
// 256-byte aligned (Buffer starts are): cuBLASLt's heuristic assumes it.
void linear(Stream& s, DType dt, const void* x, const void* w, const void* bias, void* y, int m,
            int n, int k, Epilogue epilogue = Epilogue::Bias);

// out [t, h] = LayerNorm(word[ids] + pos[positions] + type0) * gamma + beta. ids, positions:
// [t] device int32, checked on the host by the caller (ids < vocab, positions < max_pos).
void embed_layer_norm(Stream& s, DType dt, const int32_t* ids, const int32_t* positions, int t,
                      const void* word, const void* pos, const void* type0, const void* gamma,
                      const void* beta, float eps, void* out, int h);

// x [rows, h] = LayerNorm(x + residual) * gamma + beta (residual may be null).
void add_layer_norm(Stream& s, DType dt, void* x, const void* residual, const void* gamma,
                    const void* beta, int rows, int h, float eps);

// x [rows, n] = act(x + bias) in place (bias [n] may be null).
void bias_activation(Stream& s, DType dt, void* x, const void* bias, int rows, int n,
                     Activation act);

// Attention over packed variable-length sequences (see kernels/attention.h for the layout):
// qkv [t, 3h], offsets [batch + 1] on the device, ctx [t, h]. max_len: the longest sequence
// (host value, sizes the grid). Tensor-core tiles for F16/BF16 with head_dim 32 or 64, a
// plain FP32-accumulating kernel otherwise (and when `force_simple`, which the tests use to
// check both paths).
void packed_attention(Stream& s, DType dt, const void* qkv, const int* offsets, int batch,
                      int max_len, int heads, int head_dim, void* ctx, bool force_simple = false);

// Exit heads on the GPU. The dense layer runs through linear(); the rest is two kernels.
struct ExitHeadDevice {
  const void* dense_w;  // [h, h] of dt
  const void* dense_b;  // [h]
  const float* cls_w;   // [labels, h] FP32 (small; keeps the logits FP32-exact given the input)
  const float* cls_b;   // [labels]
  int labels;
  Pooling pooling;
  float temperature;
  Activation activation = Activation::Tanh;  // after the dense layer
};

// The exit rule and the per-sequence outputs of a head: kernels/exit_rule.h, shared with the
// CPU exit head and the offline sweep.
using kernels::ExitOutputs;
using kernels::ExitRule;

// hidden [t, h] of dt, offsets [batch + 1] (every sequence non-empty) -> ExitOutputs. Small batches run the whole head in
// one kernel; larger ones pool into `pooled` [batch, h] of dt and run the dense layer as a
// GEMM into `dense` [batch, h] of dt (both caller-owned scratch).
void exit_head(Stream& s, DType dt, const void* hidden, const int* offsets, int batch, int h,
               const ExitHeadDevice& head, const ExitRule& rule, void* pooled, void* dense,
               const ExitOutputs& out);

// Stream compaction by prefix sum (CUB): the sequences with keep[s] = 1 move to the front in
// order. x_in [t, h] of dt -> x_out [t', h] (t = tokens = offsets_in[batch]); offsets_in
// [batch + 1] -> offsets_out [b' + 1], a different buffer (the kernels read offsets_in after
// writing offsets_out);
// per-sequence int state [n_state, batch] compacted in place to [n_state, b'] through
// state_tmp ([n_state * batch] ints). scratch: at least compaction_scratch_bytes(batch) bytes.
// No host round trip: the caller learns b' and t' from the keep flags it copies back anyway.
size_t compaction_scratch_bytes(int max_batch);
void compact_sequences(Stream& s, DType dt, const void* x_in, void* x_out, int h,
                       const int* offsets_in, int batch, int tokens, const unsigned char* keep,
                       int* offsets_out, int* state, int n_state, int* state_tmp, void* scratch,
                       size_t scratch_bytes);

// Fills `n` elements of `dt` at x with a NaN pattern (tests poison outputs before each run).
void poison(Stream& s, DType dt, void* x, size_t n);

}  // namespace offramp::kernels::gpu
