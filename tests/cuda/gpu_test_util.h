// Helpers for the CUDA tests: skipping without a GPU, host <-> device tensors in a dtype,
// and error measures against the CPU references.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/gpu.h"

namespace offramp::test {

namespace gpu = kernels::gpu;

// Skips the test, saying why, when no GPU can run it.
#define OFFRAMP_REQUIRE_GPU()                                                                    \
  do {                                                                                           \
    if (::offramp::kernels::gpu::device_count() == 0)                                            \
      GTEST_SKIP()                                                                               \
          << (::offramp::kernels::cuda_compiled()                                                \
                  ? "no CUDA device present (cudaGetDeviceCount found none): GPU test not run"   \
                  : "this build has no CUDA backend (OFFRAMP_WITH_CUDA=OFF): GPU test not run"); \
  } while (0)

inline std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A device tensor of `dt` made from FP32 host values (rounded to dt on the device).
struct DevTensor {
  gpu::DType dt;
  size_t n;
  gpu::Buffer buf;
  DevTensor(gpu::Stream& s, gpu::DType dtype, const std::vector<float>& host)
      : dt(dtype),
        n(host.size()),
        buf(std::max<size_t>(host.size(), 1) * gpu::dtype_size(dtype), "test tensor") {
    gpu::Buffer staging(std::max<size_t>(n, 1) * sizeof(float), "test staging");
    gpu::copy_to_device(s, staging.data(), host.data(), n * sizeof(float));
    gpu::convert_from_f32(s, dt, staging.as<float>(), buf.data(), n);
    s.synchronize();
  }
  DevTensor(gpu::Stream& s, gpu::DType dtype, size_t count)
      : dt(dtype),
        n(count),
        buf(std::max<size_t>(count, 1) * gpu::dtype_size(dtype), "test tensor") {
    gpu::poison(s, dt, buf.data(), n);
  }
  std::vector<float> host(gpu::Stream& s) const {
    gpu::Buffer staging(std::max<size_t>(n, 1) * sizeof(float), "test staging");
    gpu::convert_to_f32(s, dt, buf.data(), staging.as<float>(), n);
    std::vector<float> out(n);
    gpu::copy_to_host(s, out.data(), staging.data(), n * sizeof(float));
    s.synchronize();
    return out;
  }
  void* data() const { return buf.data(); }
};

// The values as the GPU sees them after rounding to dt (so references start from the same inputs).
inline std::vector<float> rounded(gpu::Stream& s, gpu::DType dt, const std::vector<float>& v) {
  return DevTensor(s, dt, v).host(s);
}

template <typename T>
gpu::Buffer upload_raw(gpu::Stream& s, const std::vector<T>& v) {
  gpu::Buffer b(std::max<size_t>(v.size(), 1) * sizeof(T), "test data");
  gpu::copy_to_device(s, b.data(), v.data(), v.size() * sizeof(T));
  s.synchronize();
  return b;
}

template <typename T>
std::vector<T> download_raw(gpu::Stream& s, const gpu::Buffer& b, size_t n) {
  std::vector<T> v(n);
  gpu::copy_to_host(s, v.data(), b.data(), n * sizeof(T));
  s.synchronize();
  return v;
}

// max |a - b| / max(1, max |b|); NaN (an unwritten, poisoned element) gives infinity.
inline double scaled_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double err = 0, scale = 1;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    err = std::max(err, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return err / scale;
}

// Tolerance of an op's output in dt, relative to the output's scale: FP32 accumulation
// everywhere, so the storage rounding of inputs and output dominates.
inline double tolerance(gpu::DType dt, double fp32 = 2e-5) {
  switch (dt) {
    case gpu::DType::F32:
      return fp32;
    case gpu::DType::F16:
      return 4e-3;
    case gpu::DType::BF16:
      return 3e-2;
  }
  return 0;
}

inline const std::vector<gpu::DType>& all_dtypes() {
  static const std::vector<gpu::DType> d{gpu::DType::F32, gpu::DType::F16, gpu::DType::BF16};
  return d;
}

// Sequence lengths for packed batches: the grid the issue names plus a mixed batch of 300.
inline std::vector<std::vector<int>> length_grid() {
  std::vector<std::vector<int>> g{{1},  {2},   {63},  {64},
                                  {65}, {511}, {512}, {1, 512, 2, 64, 65, 63}};
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> len(1, 140);
  std::vector<int> mixed(300);
  for (auto& l : mixed) l = len(rng);
  g.push_back(mixed);
  return g;
}

// True when the tests run on the host emulation (a build without CUDA, OFFRAMP_GPU_EMULATION=1),
// which computes with the CPU's own ops: there a test checks the engine's logic, the tests'
// buffers and the ops' contracts, not the kernels' numerics, so grids of shapes and long input
// lists shrink (this run is CI's, under ASan); a GPU runs them whole.
inline bool on_emulation() { return !kernels::cuda_compiled(); }

// A grid of cases: whole on a GPU; its first and last entries on the emulation.
template <class T>
std::vector<T> grid(std::vector<T> all) {
  if (on_emulation() && all.size() > 2) all = {all.front(), all.back()};
  return all;
}

inline std::vector<int> offsets_of(const std::vector<int>& lengths) {
  std::vector<int> o{0};
  for (int l : lengths) o.push_back(o.back() + l);
  return o;
}

}  // namespace offramp::test
