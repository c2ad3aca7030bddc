// std::vector with 64-byte aligned storage for the engine's activation buffers.
//
// Why: Eigen peels elementwise loops to the destination's alignment, handling the first
// elements with scalar code (e.g. scalar vs SIMD erf), so a buffer's address could change
// the last bits of a result. With every buffer 64-byte aligned, the same call gives the same
// bits whichever allocation it got (test_model_dtypes compares two models bit for bit).
// Across batch sizes results still differ in the last bits: OpenBLAS may sum a row in
// another order for another number of rows.
#pragma once

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace offramp::engine {

template <typename T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

// The same alignment, but resize() leaves new elements default-initialised (floats: not
// zeroed): for scratch that every op writes before it reads (Workspace). Zeroing a batch's
// workspace, 15 KB per token for MiniLM, was 4-5% of serving time in a perf profile.
template <typename T>
struct UninitializedAlignedAllocator : AlignedAllocator<T> {
  UninitializedAlignedAllocator() = default;
  template <typename U>
  UninitializedAlignedAllocator(const UninitializedAlignedAllocator<U>&) {}
  template <typename U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <typename T>
using ScratchVector = std::vector<T, UninitializedAlignedAllocator<T>>;

}  // namespace offramp::engine
