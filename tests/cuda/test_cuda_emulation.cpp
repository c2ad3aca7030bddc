// The host emulation of the GPU interface (kernels/emulation, OFFRAMP_GPU_EMULATION=1 in a
// build without CUDA) is only worth its tests if it is as strict as a GPU where the engine
// could go wrong: work runs at synchronisation, not at the call; a graph replays what it
// captured; a capture may not synchronise, allocate or free; ops take device memory only,
// with room for their tensors. Elsewhere (no emulation, or a real CUDA build) these skip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>

#include "tests/cuda/gpu_test_util.h"

namespace offramp::test {
namespace {

using gpu::DType;

#define OFFRAMP_REQUIRE_EMULATION()                                                    \
  do {                                                                                 \
    if (kernels::cuda_compiled() || gpu::device_count() == 0)                          \
      GTEST_SKIP() << "the host emulation runs only in builds without CUDA, with "     \
                      "OFFRAMP_GPU_EMULATION=1 (ctest's *.emulated_gpu tests set it)"; \
  } while (0)

// EXPECT_THROW plus: the message contains `part`.
template <typename F>
void expect_error(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one saying \"" << part << "\"";
  } catch (const kernels::KernelError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(CudaEmulation, OpsRunWhenTheStreamIsSynchronisedNotWhenCalled) {
  OFFRAMP_REQUIRE_EMULATION();
  gpu::Stream s;
  gpu::Buffer d(4 * sizeof(float), "test");
  auto* h = static_cast<float*>(gpu::pinned(s, 4 * sizeof(float)));
  const float v[4] = {1, 2, 3, 4};
  gpu::copy_to_device(s, d.data(), v, sizeof v);  // pageable: staged now
  std::memset(h, 0, 4 * sizeof(float));
  gpu::copy_to_host(s, h, d.data(), 4 * sizeof(float));  // pinned: queued
  EXPECT_EQ(h[2], 0.0f) << "a queued copy landed before synchronize()";
  s.synchronize();
  EXPECT_EQ(h[2], 3.0f);
}

TEST(CudaEmulation, AGraphReplaysTheArgumentsItCaptured) {
  OFFRAMP_REQUIRE_EMULATION();
  gpu::Stream s;
  DevTensor x(s, DType::F32, std::vector<float>(8, 1.0f));
  // The key leaves out n, as a buggy caller might: the third call replays the capture's n.
  auto poison_first = [&](size_t n) {
    gpu::run_graph(s, "poison x", [&] { gpu::poison(s, DType::F32, x.data(), n); });
  };
  poison_first(2);  // direct
  EXPECT_FALSE(std::isnan(x.host(s)[5]));
  poison_first(6);  // captured with n = 6, then launched
  EXPECT_TRUE(std::isnan(x.host(s)[5]));
  const std::vector<float> ones(8, 1.0f);
  gpu::copy_to_device(s, x.data(), ones.data(), 8 * sizeof(float));
  poison_first(1);  // replayed: still n = 6
  EXPECT_TRUE(std::isnan(x.host(s)[5])) << "the replay used the new n, as no GPU graph would";
}

TEST(CudaEmulation, ACaptureMayNotSynchroniseAllocateOrFree) {
  OFFRAMP_REQUIRE_EMULATION();
  gpu::Stream s;
  auto capture = [&](const std::string& key, const std::function<void()>& f) {
    gpu::run_graph(s, key, f);  // first sighting: direct, allowed
    gpu::run_graph(s, key, f);  // second: captured
  };
  expect_error([&] { capture("sync", [&] { s.synchronize(); }); }, "inside a CUDA graph capture");
  expect_error([&] { capture("alloc", [&] { gpu::Buffer b(64, "test"); }); },
               "inside a CUDA graph capture");
  expect_error([&] { capture("nested", [&] { gpu::run_graph(s, "inner", [] {}); }); },
               "run_graph inside a capture");
  std::vector<float> host(4);
  gpu::Buffer d(16, "test");
  expect_error(
      [&] { capture("pageable", [&] { gpu::copy_to_host(s, host.data(), d.data(), 16); }); },
      "pageable");
  // A Buffer freed in the capture (allocated outside it): the destructor cannot throw, so
  // run_graph reports it.
  std::vector<gpu::Buffer> pool;
  pool.emplace_back(64, "test"), pool.emplace_back(64, "test");
  expect_error([&] { capture("free", [&] { pool.pop_back(); }); }, "freeing device memory");
}

TEST(CudaEmulation, OpsTakeDeviceMemoryWithRoomForTheirTensors) {
  OFFRAMP_REQUIRE_EMULATION();
  gpu::Stream s;
  DevTensor x(s, DType::F16, std::vector<float>(64 * 32, 0.5f)), w(s, DType::F16, 64 * 32);
  DevTensor b(s, DType::F16, 64), y(s, DType::F16, 64 * 64);
  std::vector<float> host(64 * 64);
  expect_error(
      [&] { gpu::linear(s, DType::F16, host.data(), w.data(), b.data(), y.data(), 64, 64, 32); },
      "x is not device memory");
  expect_error(
      [&] { gpu::linear(s, DType::F16, x.data(), w.data(), b.data(), y.data(), 65, 64, 32); },
      "overrun");
  expect_error([&] { gpu::copy_to_host(s, y.data(), x.data(), 64); }, "must be host memory");
  expect_error([&] { gpu::copy_to_device(s, host.data(), x.data(), 64); }, "not device memory");
  // The GEMM itself works on the same tensors.
  gpu::linear(s, DType::F16, x.data(), w.data(), b.data(), y.data(), 64, 64, 32);
  s.synchronize();
}

}  // namespace
}  // namespace offramp::test
