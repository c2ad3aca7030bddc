#include "kernels/compaction.h"

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

int compact_sequences(Device dev, float* x, int* offsets, const unsigned char* keep, int batch,
                      int h) {
  check(batch >= 0 && h > 0, "compact_sequences", "bad shape");
  if (dev == Device::Cuda) no_cuda("compact_sequences");
  return cpu::compact_sequences(x, offsets, keep, batch, h);
}

}  // namespace offramp::kernels
