// The parts of the GPU interface that need no GPU (shared by the CUDA and the stub builds).
#include "kernels/gpu.h"

namespace offramp::kernels::gpu {

size_t dtype_size(DType dt) { return dt == DType::F32 ? 4 : 2; }

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::F32: return "fp32";
    case DType::F16: return "fp16";
    case DType::BF16: return "bf16";
  }
  return "?";
}

}  // namespace offramp::kernels::gpu
