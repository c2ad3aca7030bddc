#include "kernels/device.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>

namespace offramp::kernels {

#ifdef OFFRAMP_HAVE_CUDA
bool cuda_compiled() { return true; }

void no_cuda(const char* op) {
  throw KernelError(
      std::string(op) +
      ": this interface runs on the CPU; the GPU ops are in kernels/gpu.h (engine::GpuModel)");
}
#else
bool cuda_compiled() { return false; }

void no_cuda(const char* op) {
  throw KernelError(std::string(op) +
                    ": the CUDA backend is not part of this build; use Device::Cpu "
                    "(or Device::Auto, which falls back to the CPU)");
}
#endif

namespace {
std::atomic<int> g_cpu_threads{0};  // 0: not set, use all cores
}  // namespace

namespace {
// Never more than OMP_THREAD_LIMIT: oneDNN splits a GEMM for omp_get_max_threads() threads
// and assumes the parallel region gets them all; under a lower limit the region gets fewer
// and part of the output is never computed (a silent wrong answer, seen with
// OMP_THREAD_LIMIT=1 and the default 2 threads).
int within_thread_limit(int n) { return std::max(1, std::min(n, omp_get_thread_limit())); }
}  // namespace

void set_cpu_threads(int threads) {
  const int n = within_thread_limit(threads > 0 ? threads : omp_get_num_procs());
  g_cpu_threads.store(n);
  openblas_set_num_threads(n);  // OpenBLAS keeps its own global count
}

int cpu_threads() {
  const int n = g_cpu_threads.load();
  return n > 0 ? n : within_thread_limit(omp_get_num_procs());
}

}  // namespace offramp::kernels
