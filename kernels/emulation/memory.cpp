// The emulated device memory (see emulation.h): exact-size, 256-byte aligned host blocks in a
// registry, so the ops can tell device pointers from host ones and check every extent.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "kernels/emulation/emulation.h"

namespace offramp::kernels::gpu {

namespace {

// The host's RAM bounds the emulated device: allocations beyond this fail as cudaMalloc would.
constexpr size_t kDeviceBytes = size_t{16} << 30;

struct Registry {
  std::mutex mu;
  size_t in_use = 0;
  std::map<const unsigned char*, size_t> blocks;  // start -> bytes
};

// Leaked on purpose: Buffers with static lifetime may outlive any other static.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

// The block holding p, or blocks.end().
std::map<const unsigned char*, size_t>::const_iterator find_block(const Registry& r,
                                                                  const void* p) {
  const auto* c = static_cast<const unsigned char*>(p);
  auto it = r.blocks.upper_bound(c);
  if (it == r.blocks.begin()) return r.blocks.end();
  --it;
  return c < it->first + it->second ? it : r.blocks.end();
}

}  // namespace

namespace emulation {

void device(const void* p, size_t bytes, const char* op, const char* what) {
  if (bytes == 0) return;
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mu);
  const auto it = find_block(r, p);
  check(it != r.blocks.end(), op,
        std::string(what) + " is not device memory (a host pointer, or a freed Buffer)");
  const size_t offset = static_cast<size_t>(static_cast<const unsigned char*>(p) - it->first);
  check(offset + bytes <= it->second, op,
        std::string(what) + ": " + std::to_string(bytes) + " bytes from offset " +
            std::to_string(offset) + " overrun its " + std::to_string(it->second) +
            "-byte device buffer");
}

void host(const void* p, const char* op, const char* what) {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mu);
  check(find_block(r, p) == r.blocks.end(), op,
        std::string(what) + " must be host memory, not a device pointer");
}

void disjoint(const void* a, size_t na, const void* b, size_t nb, const char* op,
              const char* what) {
  if (!a || !b || na == 0 || nb == 0) return;
  const auto *x = static_cast<const char*>(a), *y = static_cast<const char*>(b);
  check(x + na <= y || y + nb <= x, op, std::string(what) + " overlap");
}

void aligned(const void* p, size_t alignment, const char* op, const char* what) {
  check(reinterpret_cast<uintptr_t>(p) % alignment == 0, op,
        std::string(what) + " is not " + std::to_string(alignment) +
            "-byte aligned (the CUDA backend's vector loads and cuBLASLt assume it)");
}

}  // namespace emulation

Buffer::Buffer(size_t bytes, const char* what) : bytes_(bytes) {
  emulation::require("gpu::Buffer");
  emulation::not_while_capturing("allocating device memory");
  if (bytes == 0) return;
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mu);
  // 256-byte aligned like cudaMalloc; exactly `bytes` long, so ASan sees overflows.
  if (bytes > kDeviceBytes - r.in_use || posix_memalign(&p_, 256, bytes) != 0) {
    p_ = nullptr;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "cudaMalloc (emulated) of %.1f MiB for %s failed: out of memory (%.1f MiB free "
                  "of %.1f MiB)",
                  static_cast<double>(bytes) / 1048576.0, what,
                  static_cast<double>(kDeviceBytes - r.in_use) / 1048576.0,
                  static_cast<double>(kDeviceBytes) / 1048576.0);
    throw KernelError(buf);
  }
  std::memset(p_, 0xa5, bytes);  // fresh device memory is garbage, not zeros
  r.blocks.emplace(static_cast<const unsigned char*>(p_), bytes);
  r.in_use += bytes;
}
Buffer::Buffer(Buffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    Buffer old(std::move(*this));
    p_ = o.p_, bytes_ = o.bytes_;
    o.p_ = nullptr, o.bytes_ = 0;
  }
  return *this;
}
Buffer::~Buffer() {
  if (!p_) return;
  // cudaFree synchronises the device (and so breaks a capture): queued ops run first.
  emulation::break_capture("freeing device memory");
  emulation::wait_all_streams();
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mu);
  r.blocks.erase(static_cast<const unsigned char*>(p_));
  r.in_use -= bytes_;
  std::free(p_);
}

}  // namespace offramp::kernels::gpu
