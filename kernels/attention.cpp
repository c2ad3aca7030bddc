#include "kernels/attention.h"

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

void packed_attention(Device dev, const float* qkv, const int* offsets, int batch, int heads,
                      int head_dim, float* ctx) {
  check(batch >= 0 && heads > 0 && head_dim > 0, "packed_attention", "bad shape");
  check(batch == 0 || (qkv && offsets && ctx), "packed_attention", "null buffer");
  check(batch == 0 || offsets[0] == 0, "packed_attention", "offsets[0] must be 0");
  for (int s = 0; s < batch; ++s)
    check(offsets[s + 1] >= offsets[s], "packed_attention", "offsets must not decrease");
  if (dev == Device::Cuda) no_cuda("packed_attention");
  cpu::packed_attention(qkv, offsets, batch, heads, head_dim, ctx);
}

}  // namespace offramp::kernels
