// Device discovery, memory, streams, copies and dtype conversion for the GPU backend.
#include <cstdio>
#include <string>

#include "kernels/cuda/common.cuh"

namespace offramp::kernels::gpu {

namespace {
// run_graph's marker for work whose capture failed (it then runs directly): the address of a
// private object, never a real graph.
char uncapturable_tag;
const cudaGraphExec_t kUncapturable = reinterpret_cast<cudaGraphExec_t>(&uncapturable_tag);
}  // namespace

void throw_cuda(cudaError_t e, const char* call, const char* file, int line) {
  // Clears a launch-configuration error so the next call reports its own. A fault inside a
  // kernel (an illegal address) is sticky: every later call fails with it, named after that
  // call, so find the kernel with CUDA_LAUNCH_BLOCKING=1 or compute-sanitizer.
  (void)cudaGetLastError();
  throw KernelError(std::string("CUDA error in ") + call + " (" + file + ":" +
                    std::to_string(line) + "): " + cudaGetErrorName(e) + ": " +
                    cudaGetErrorString(e));
}

void throw_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  throw KernelError(std::string("cuBLAS error in ") + call + " (" + file + ":" +
                    std::to_string(line) + "): " + cublasLtGetStatusName(s) + ": " +
                    cublasLtGetStatusString(s));
}

int device_count() {
  int n = 0;
  // No driver, an old driver or no device: the CPU backend takes over, so this never throws.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

std::string device_description() {
  if (device_count() == 0)
    throw KernelError("no CUDA device is present (cudaGetDeviceCount found none)");
  cudaDeviceProp p{};
  OFFRAMP_CUDA(cudaGetDeviceProperties(&p, 0));
  char buf[96];
  std::snprintf(buf, sizeof buf, " (sm_%d%d, %.0f GiB, %d SMs)", p.major, p.minor,
                static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024 * 1024),
                p.multiProcessorCount);
  return std::string(p.name) + buf;
}

Buffer::Buffer(size_t bytes, const char* what) : bytes_(bytes) {
  if (bytes == 0) return;
  const cudaError_t e = cudaMalloc(&p_, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    p_ = nullptr;
    char buf[320];
    std::snprintf(
        buf, sizeof buf, "cudaMalloc of %.1f MiB for %s failed: %s (%.1f MiB free of %.1f MiB)",
        static_cast<double>(bytes) / 1048576.0, what, cudaGetErrorString(e),
        static_cast<double>(free_b) / 1048576.0, static_cast<double>(total_b) / 1048576.0);
    throw KernelError(buf);
  }
}
Buffer::Buffer(Buffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_, bytes_ = o.bytes_;
    o.p_ = nullptr, o.bytes_ = 0;
  }
  return *this;
}
Buffer::~Buffer() {
  if (p_) cudaFree(p_);
}

Stream::Impl::~Impl() {
  // Queued work may still read the pinned block and the GEMM workspace freed below; an error
  // here was already reported by the call that caused it.
  if (stream) (void)cudaStreamSynchronize(stream);
  for (auto& [key, exec] : graphs)
    if (exec && exec != kUncapturable) cudaGraphExecDestroy(exec);
  for (auto& [key, plan] : plans) destroy_plan(plan);
  if (pinned) cudaFreeHost(pinned);
  if (lt) cublasLtDestroy(lt);
  if (stream) cudaStreamDestroy(stream);
}

Stream::Stream() : impl_(std::make_unique<Impl>()) {
  if (device_count() == 0)
    throw KernelError("no CUDA device is present: cannot create a GPU stream");
  OFFRAMP_CUDA(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking));
  OFFRAMP_CUBLAS(cublasLtCreate(&impl_->lt));
  impl_->gemm_workspace = Buffer(32u << 20, "the cuBLASLt workspace");
}
Stream::~Stream() = default;

void Stream::synchronize() { OFFRAMP_CUDA(cudaStreamSynchronize(impl_->stream)); }

void run_graph(Stream& s, const std::string& key, const std::function<void()>& enqueue) {
  auto& im = s.impl();
  auto it = im.graphs.find(key);
  if (it == im.graphs.end()) {
    // First sighting: run directly and remember the key. Capturing and instantiating costs
    // more than launching once, so only a shape seen again becomes a graph.
    if (im.graphs.size() >= 1024) {  // shapes vary per request; keep the cache bounded
      for (auto& [k, exec] : im.graphs)
        if (exec && exec != kUncapturable) cudaGraphExecDestroy(exec);
      im.graphs.clear();
    }
    im.graphs.emplace(key, nullptr);
    enqueue();
    return;
  }
  if (it->second == kUncapturable) {
    enqueue();
    return;
  }
  if (it->second == nullptr) {
    // Relaxed: cuBLASLt's heuristic and cudaFuncSetAttribute may run during a capture.
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    bool captured = false;
    if (cudaStreamBeginCapture(im.stream, cudaStreamCaptureModeRelaxed) == cudaSuccess) {
      try {
        enqueue();
        captured = cudaStreamEndCapture(im.stream, &graph) == cudaSuccess &&
                   cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess;
      } catch (...) {
        cudaStreamCaptureStatus status{};
        if (cudaStreamIsCapturing(im.stream, &status) == cudaSuccess &&
            status != cudaStreamCaptureStatusNone)
          (void)cudaStreamEndCapture(im.stream, &graph);
      }
      if (graph) cudaGraphDestroy(graph);
    }
    (void)cudaGetLastError();
    if (!captured) {
      // This work cannot be a graph here: run it directly from now on (a genuine error in
      // it then surfaces from the direct run).
      it->second = kUncapturable;
      enqueue();
      return;
    }
    it->second = exec;
  }
  OFFRAMP_CUDA(cudaGraphLaunch(it->second, im.stream));
}

void copy_to_device(Stream& s, void* dst, const void* src, size_t bytes) {
  if (bytes) OFFRAMP_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, raw(s)));
}
void copy_to_host(Stream& s, void* dst, const void* src, size_t bytes) {
  if (bytes) OFFRAMP_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, raw(s)));
}

void* pinned(Stream& s, size_t bytes) {
  auto& im = s.impl();
  if (im.pinned_bytes < bytes) {
    // The old block may still be the target of a queued copy.
    OFFRAMP_CUDA(cudaStreamSynchronize(im.stream));
    void* old = im.pinned;
    im.pinned = nullptr, im.pinned_bytes = 0;  // never freed twice, even if the free fails
    if (old) OFFRAMP_CUDA(cudaFreeHost(old));
    const size_t want = bytes < 4096 ? 4096 : bytes * 2;
    OFFRAMP_CUDA(cudaMallocHost(&im.pinned, want));
    im.pinned_bytes = want;
  }
  return im.pinned;
}

namespace {

template <typename T>
__global__ void from_f32_kernel(const float* x, T* y, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    y[i] = from_f<T>(x[i]);
}

template <typename T>
__global__ void to_f32_kernel(const T* x, float* y, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    y[i] = to_f(x[i]);
}

}  // namespace

void convert_from_f32(Stream& s, DType dt, const float* x, void* y, size_t n) {
  if (n == 0) return;
  dispatch(dt, [&](auto t) {
    using T = decltype(t);
    from_f32_kernel<T><<<blocks_for(n, 256), 256, 0, raw(s)>>>(x, static_cast<T*>(y), n);
  });
  OFFRAMP_LAUNCHED("convert_from_f32");
}

void convert_to_f32(Stream& s, DType dt, const void* x, float* y, size_t n) {
  if (n == 0) return;
  dispatch(dt, [&](auto t) {
    using T = decltype(t);
    to_f32_kernel<T><<<blocks_for(n, 256), 256, 0, raw(s)>>>(static_cast<const T*>(x), y, n);
  });
  OFFRAMP_LAUNCHED("convert_to_f32");
}

void poison(Stream& s, DType dt, void* x, size_t n) {
  // All-ones bits are a NaN in FP32, FP16 and BF16 alike.
  if (n) OFFRAMP_CUDA(cudaMemsetAsync(x, 0xff, n * dtype_size(dt), raw(s)));
}

}  // namespace offramp::kernels::gpu
