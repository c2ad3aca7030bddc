// Where an op runs. Every op interface (kernels/<op>.h) checks its arguments, then
// dispatches once on the device; a CPU-only build raises a clear error for Device::Cuda.
#pragma once

#include <stdexcept>
#include <string>

namespace offramp::kernels {

enum class Device { Cpu, Cuda };

// True when this build has the CUDA backend compiled in.
bool cuda_compiled();

// Thrown by kernel interfaces on bad arguments (wrong shapes, null buffers) or when an op
// is asked for on a device this build lacks. The engine turns it into offramp::Error.
struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws KernelError naming `op` unless `cond` holds.
inline void check(bool cond, const char* op, const std::string& what) {
  if (!cond) throw KernelError(std::string(op) + ": " + what);
}

// Throws the standard "no CUDA here" error for `op`.
[[noreturn]] void no_cuda(const char* op);

// Threads the CPU kernels use (OpenBLAS GEMMs and our OpenMP loops); 0 = all cores.
// Process-wide: every calling thread sees it (omp_set_num_threads alone would only change
// the caller's own OpenMP setting, not a service's other threads').
void set_cpu_threads(int threads);
int cpu_threads();

}  // namespace offramp::kernels
