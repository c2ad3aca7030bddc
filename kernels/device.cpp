#include "kernels/device.h"

namespace offramp::kernels {

bool cuda_compiled() { return false; }

void no_cuda(const char* op) {
  throw KernelError(std::string(op) +
                    ": the CUDA backend is not part of this build; use Device::Cpu "
                    "(or Device::Auto, which falls back to the CPU)");
}

}  // namespace offramp::kernels
