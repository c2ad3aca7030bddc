// The GPU op interface (kernels/gpu.h) emulated on the host, for builds without CUDA.
//
// Off by default: device_count() is 0 and every op says the build has no CUDA. With
// OFFRAMP_GPU_EMULATION=1 in the environment there is one emulated device, so the GPU engine
// (engine/src/gpu_model.*, gpu_lane.*) and the CUDA tests run their host logic on machines
// without a GPU (CI, under ASan): workspace sizes, chunking, lanes, the compaction
// bookkeeping, graph keys, when results are read. The ops compute on the host in FP32 with
// the dtype's rounding on every store; they are not the CUDA kernels and say nothing about
// them (tests/cuda compares those with the CPU on a GPU).
//
// Written by hand because no library emulates a CUDA stream: it is the GPU's contract that
// is emulated, made strict where a real GPU would fail quietly:
//  - ops run only when the stream is synchronised (or a copy to pageable memory waits), as
//    on a GPU, so results read before synchronize() are stale here too;
//  - device memory is an exact-size host block in a registry: every op checks that its
//    pointers are device memory with room for the tensor (a host pointer handed to an op, or
//    a copy the wrong way round, faults on a GPU), that outputs do not overlap inputs, and
//    the alignment the CUDA backend assumes; ASan sees any overflow left;
//  - run_graph records the ops of a capture with their arguments and replays that record, so
//    a value missing from the key replays stale; synchronising, allocating, freeing or
//    copying pageable memory inside a capture is an error (the CUDA backend would silently
//    give up the graph), and so is nesting captures;
//  - contract violations that CUDA would turn into garbage (max_len below a sequence's
//    length, offsets that disagree with the token count) throw.
// Where it is more forgiving than a GPU: the queued ops run one stream at a time and only at
// synchronisation, so a race between two streams, or a host read of pinned memory that a
// later queued copy overwrites, passes here; pageable uploads are staged at the call.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kernels/gpu.h"

namespace offramp::kernels::gpu {

struct Stream::Impl {
  std::mutex mu;                                            // guards everything below
  std::vector<std::function<void()>> queue;                 // enqueued, not yet run
  std::vector<std::function<void()>>* recording = nullptr;  // run_graph's capture
  // run_graph's cache: nullopt = seen once (ran directly), else the captured ops.
  std::map<std::string, std::optional<std::vector<std::function<void()>>>> graphs;
  std::unique_ptr<unsigned char[]> pinned;  // pinned()'s block, exactly pinned_bytes long
  size_t pinned_bytes = 0;
  std::string error;  // an op's failure during a flush nobody waited for
};

namespace emulation {

// True when OFFRAMP_GPU_EMULATION=1 (read once).
bool enabled();
// Throws KernelError naming `op` when the emulation is off (as the no-CUDA build does).
void require(const char* op);

// Queues `op` on the stream (or into the capture being recorded).
void submit(Stream& s, std::function<void()> op);

// Graph captures (runtime.cpp): throws when this thread is recording one; break_capture
// notes an action that would invalidate it (run_graph then throws) where throwing cannot.
void not_while_capturing(const char* what);
void break_capture(const char* what);
// Runs every stream's queued ops, as cudaFree's implicit device synchronisation does.
void wait_all_streams();

// Pointer checks (memory.cpp), each throwing KernelError naming `op` and `what`: [p, p + bytes)
// lies inside one live Buffer; p is host memory; two ranges do not overlap; p is aligned.
void device(const void* p, size_t bytes, const char* op, const char* what);
void host(const void* p, const char* op, const char* what);
void disjoint(const void* a, size_t na, const void* b, size_t nb, const char* op, const char* what);
void aligned(const void* p, size_t alignment, const char* op, const char* what);

// Element i of a `dt` tensor as FP32, and the store that rounds to nearest even.
float load(DType dt, const void* p, size_t i);
void store(DType dt, void* p, size_t i, float v);
// v rounded to dt and back: what storing it in a dt tensor keeps.
float rounded(DType dt, float v);
std::vector<float> load_all(DType dt, const void* p, size_t n);
void store_all(DType dt, const std::vector<float>& v, void* p);

}  // namespace emulation
}  // namespace offramp::kernels::gpu
