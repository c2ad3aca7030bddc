// The parts of the GPU interface that need no GPU (shared by the CUDA backend and the host
// emulation): dtype names and the ops' argument checks (gpu_shared.h).
#include <string>

#include "kernels/gpu_shared.h"

namespace offramp::kernels::gpu {

size_t dtype_size(DType dt) { return dt == DType::F32 ? 4 : 2; }

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::F32:
      return "fp32";
    case DType::F16:
      return "fp16";
    case DType::BF16:
      return "bf16";
  }
  return "?";
}

namespace checks {

void linear(const void* x, const void* w, const void* bias, const void* y, int m, int n, int k,
            Epilogue epilogue) {
  check(m >= 0 && n > 0 && k > 0, "gpu::linear",
        "bad shape m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
  check(x && w && y, "gpu::linear", "null tensor");
  check(epilogue == Epilogue::None || bias, "gpu::linear", "this epilogue needs a bias");
}

void rows(const char* op, int rows, int h, const char* rows_name, const char* h_name,
          bool row_in_smem) {
  check(rows >= 0 && h > 0, op,
        std::string("bad shape ") + rows_name + "=" + std::to_string(rows) + " " + h_name + "=" +
            std::to_string(h));
  check(!row_in_smem || (static_cast<size_t>(h) + 32) * sizeof(float) <= 48 * 1024, op,
        "hidden size " + std::to_string(h) +
            " above 12256 (a row must fit one block's shared memory)");
}

void packed_attention(const void* qkv, const int* offsets, const void* ctx, int batch, int max_len,
                      int heads, int head_dim) {
  check(batch >= 0 && heads > 0 && head_dim > 0 && max_len >= 0, "gpu::packed_attention",
        "bad shape");
  check(qkv && offsets && ctx, "gpu::packed_attention", "null tensor");
  check(static_cast<long long>(batch) * heads <= 0x7fffffffLL, "gpu::packed_attention",
        "too many sequences");
}

void exit_head(int batch, int h, const ExitHeadDevice& head, const void* pooled,
               const void* dense) {
  check(batch >= 0 && h > 0 && head.labels > 0, "gpu::exit_head", "bad shape");
  check(head.temperature > 0.0f, "gpu::exit_head", "temperature must be > 0");
  check((2 * static_cast<size_t>(h) + head.labels + 32) * sizeof(float) <= 48 * 1024,
        "gpu::exit_head", "hidden size plus labels too large for one block");
  check(exit_head_fused(batch, h) || (pooled && dense), "gpu::exit_head",
        "a batch this large needs the pooled and dense scratch buffers");
}

void compact_sequences(const void* x_in, const void* x_out, const int* offsets_in,
                       const int* offsets_out, int batch, int tokens, int h, int n_state,
                       size_t scratch_bytes) {
  check(batch >= 0 && tokens >= 0 && h > 0 && n_state >= 0, "gpu::compact_sequences", "bad shape");
  check(x_in != x_out, "gpu::compact_sequences", "x_in and x_out must differ (ping-pong buffers)");
  check(offsets_in != offsets_out, "gpu::compact_sequences",
        "offsets_in and offsets_out must differ (ping-pong buffers)");
  check(scratch_bytes >= compaction_scratch_bytes(batch), "gpu::compact_sequences",
        "scratch too small");
}

}  // namespace checks

}  // namespace offramp::kernels::gpu
