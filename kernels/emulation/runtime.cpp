// The emulated device (see emulation.h): streams, graphs, copies, conversions (memory.cpp has
// the device memory).
#include <Eigen/Core>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>

#include "kernels/emulation/emulation.h"

namespace offramp::kernels::gpu {

namespace {

// Every live stream, so freeing device memory can wait for them (cudaFree synchronises the
// device) and copies can tell pinned host memory from pageable.
std::mutex g_streams_mu;
std::set<Stream::Impl*> g_streams;

// Set while run_graph records a capture on this thread, and what broke it.
thread_local bool t_capturing = false;
thread_local std::string t_broken;

// Runs the stream's queued ops in order. The first failure drops the rest (the stream is
// broken, as after a CUDA error) and is rethrown, or kept for the next synchronisation when
// `rethrow` is false.
void flush(Stream::Impl& im, bool rethrow) {
  const std::lock_guard<std::mutex> lock(im.mu);
  std::string err = std::move(im.error);
  im.error.clear();
  std::vector<std::function<void()>> ops;
  ops.swap(im.queue);
  if (err.empty()) {
    try {
      for (auto& op : ops) op();
    } catch (const std::exception& e) {
      err = e.what();
    } catch (...) {
      err = "an emulated op failed";
    }
  }
  if (err.empty()) return;
  if (!rethrow) {
    im.error = err;
    return;
  }
  throw KernelError(err);
}

bool is_pinned(const void* p) {
  const std::lock_guard<std::mutex> lock(g_streams_mu);
  const auto* c = static_cast<const unsigned char*>(p);
  for (const Stream::Impl* im : g_streams)
    if (im->pinned && c >= im->pinned.get() && c < im->pinned.get() + im->pinned_bytes) return true;
  return false;
}

}  // namespace

namespace emulation {

bool enabled() {
  static const bool on = [] {
    const char* v = std::getenv("OFFRAMP_GPU_EMULATION");
    return v && std::strcmp(v, "1") == 0;
  }();
  return on;
}

void require(const char* op) {
  if (!enabled()) no_cuda(op);
}

void not_while_capturing(const char* what) {
  if (t_capturing)
    throw KernelError(std::string(what) +
                      " inside a CUDA graph capture: run_graph's enqueue must not synchronise, "
                      "allocate, free or copy pageable host memory");
}

void break_capture(const char* what) {
  if (t_capturing && t_broken.empty()) t_broken = what;
}

void wait_all_streams() {
  const std::lock_guard<std::mutex> lock(g_streams_mu);
  for (Stream::Impl* im : g_streams) flush(*im, false);
}

void submit(Stream& s, std::function<void()> op) {
  Stream::Impl& im = s.impl();
  const std::lock_guard<std::mutex> lock(im.mu);
  (im.recording ? *im.recording : im.queue).push_back(std::move(op));
}

float load(DType dt, const void* p, size_t i) {
  switch (dt) {
    case DType::F32:
      return static_cast<const float*>(p)[i];
    case DType::F16:
      return static_cast<float>(static_cast<const Eigen::half*>(p)[i]);
    case DType::BF16:
      return static_cast<float>(static_cast<const Eigen::bfloat16*>(p)[i]);
  }
  return 0.0f;
}

void store(DType dt, void* p, size_t i, float v) {
  switch (dt) {
    case DType::F32:
      static_cast<float*>(p)[i] = v;
      break;
    case DType::F16:
      static_cast<Eigen::half*>(p)[i] = Eigen::half(v);
      break;
    case DType::BF16:
      static_cast<Eigen::bfloat16*>(p)[i] = Eigen::bfloat16(v);
      break;
  }
}

float rounded(DType dt, float v) {
  switch (dt) {
    case DType::F32:
      return v;
    case DType::F16:
      return static_cast<float>(Eigen::half(v));
    case DType::BF16:
      return static_cast<float>(Eigen::bfloat16(v));
  }
  return v;
}

std::vector<float> load_all(DType dt, const void* p, size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = load(dt, p, i);
  return v;
}

void store_all(DType dt, const std::vector<float>& v, void* p) {
  for (size_t i = 0; i < v.size(); ++i) store(dt, p, i, v[i]);
}

}  // namespace emulation

int device_count() { return emulation::enabled() ? 1 : 0; }

std::string device_description() {
  emulation::require("gpu::device_description");
  return "host emulation of the GPU interface (OFFRAMP_GPU_EMULATION=1; no CUDA in this build)";
}

Stream::Stream() : impl_(std::make_unique<Impl>()) {
  emulation::require("gpu::Stream");
  const std::lock_guard<std::mutex> lock(g_streams_mu);
  g_streams.insert(impl_.get());
}
Stream::~Stream() {
  flush(*impl_, false);
  const std::lock_guard<std::mutex> lock(g_streams_mu);
  g_streams.erase(impl_.get());
}

void Stream::synchronize() {
  emulation::not_while_capturing("Stream::synchronize");
  flush(*impl_, true);
}

void run_graph(Stream& s, const std::string& key, const std::function<void()>& enqueue) {
  Stream::Impl& im = s.impl();
  std::unique_lock<std::mutex> lock(im.mu);
  // CUDA would record an inner graph as a child node; nothing here nests them.
  check(im.recording == nullptr, "gpu::run_graph", "run_graph inside a capture");
  auto it = im.graphs.find(key);
  if (it == im.graphs.end()) {
    if (im.graphs.size() >= 1024) im.graphs.clear();  // as the CUDA backend bounds its cache
    im.graphs.emplace(key, std::nullopt);
    lock.unlock();
    enqueue();
    return;
  }
  if (!it->second) {
    // Second sighting: record the ops with the arguments they were given now.
    std::vector<std::function<void()>> ops;
    im.recording = &ops;
    t_capturing = true, t_broken.clear();
    lock.unlock();
    auto end_capture = [&] {
      lock.lock();
      im.recording = nullptr;
      t_capturing = false;
    };
    try {
      enqueue();
    } catch (...) {
      end_capture();
      throw;
    }
    end_capture();
    if (!t_broken.empty())
      throw KernelError("gpu::run_graph: " + t_broken +
                        " inside a CUDA graph capture breaks it (the CUDA backend would then "
                        "run this work without a graph from now on)");
    it->second = std::move(ops);
  }
  // Launch: the recorded ops, as recorded, go on the queue.
  for (const auto& op : *it->second) im.queue.push_back(op);
}

void copy_to_device(Stream& s, void* dst, const void* src, size_t bytes) {
  emulation::require("gpu::copy_to_device");
  if (!bytes) return;
  emulation::device(dst, bytes, "gpu::copy_to_device", "the destination");
  emulation::host(src, "gpu::copy_to_device", "the source");
  if (is_pinned(src)) {
    emulation::submit(s, [=] { std::memcpy(dst, src, bytes); });
    return;
  }
  // Pageable: the copy is staged before the call returns, so `src` may change afterwards.
  emulation::not_while_capturing("a copy from pageable host memory");
  auto staged = std::make_shared<std::vector<unsigned char>>(
      static_cast<const unsigned char*>(src), static_cast<const unsigned char*>(src) + bytes);
  emulation::submit(s, [=] { std::memcpy(dst, staged->data(), bytes); });
}

void copy_to_host(Stream& s, void* dst, const void* src, size_t bytes) {
  emulation::require("gpu::copy_to_host");
  if (!bytes) return;
  emulation::host(dst, "gpu::copy_to_host", "the destination");
  emulation::device(src, bytes, "gpu::copy_to_host", "the source");
  if (is_pinned(dst)) {
    emulation::submit(s, [=] { std::memcpy(dst, src, bytes); });
    return;
  }
  // Pageable: the call returns when the copy (and everything before it) is done.
  emulation::not_while_capturing("a copy to pageable host memory");
  emulation::submit(s, [=] { std::memcpy(dst, src, bytes); });
  flush(s.impl(), true);
}

void* pinned(Stream& s, size_t bytes) {
  Stream::Impl& im = s.impl();
  if (im.pinned_bytes < bytes) {
    emulation::not_while_capturing("reallocating pinned host memory");
    flush(im, true);  // the old block may still be a queued copy's target
    const std::lock_guard<std::mutex> lock(g_streams_mu);
    const size_t want = bytes < 4096 ? 4096 : bytes * 2;  // the CUDA backend's growth rule
    im.pinned = std::make_unique<unsigned char[]>(want);
    im.pinned_bytes = want;
    std::memset(im.pinned.get(), 0xa5, want);
  }
  return im.pinned.get();
}

void convert_from_f32(Stream& s, DType dt, const float* x, void* y, size_t n) {
  emulation::device(x, n * sizeof(float), "gpu::convert_from_f32", "x");
  emulation::device(y, n * dtype_size(dt), "gpu::convert_from_f32", "y");
  emulation::submit(s, [=] {
    for (size_t i = 0; i < n; ++i) emulation::store(dt, y, i, x[i]);
  });
}

void convert_to_f32(Stream& s, DType dt, const void* x, float* y, size_t n) {
  emulation::device(x, n * dtype_size(dt), "gpu::convert_to_f32", "x");
  emulation::device(y, n * sizeof(float), "gpu::convert_to_f32", "y");
  emulation::submit(s, [=] {
    for (size_t i = 0; i < n; ++i) y[i] = emulation::load(dt, x, i);
  });
}

void poison(Stream& s, DType dt, void* x, size_t n) {
  emulation::device(x, n * dtype_size(dt), "gpu::poison", "x");
  emulation::submit(s, [=] { std::memset(x, 0xff, n * dtype_size(dt)); });
}

}  // namespace offramp::kernels::gpu
