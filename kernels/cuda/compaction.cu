// Stream compaction of a packed batch on the device: the sequences that stay move to the
// front, in order, by exclusive prefix sums (CUB) over the kept lengths and the kept flags,
// then a gather of their token rows into the other half of a ping-pong buffer.
// Batches of up to 4096 sequences plan in one block (cub::BlockScan over both sums packed in
// one 64-bit value: one launch, since an exit's fixed cost is launches); larger ones use
// cub::DeviceScan and three small kernels.
#include <cub/block/block_scan.cuh>
#include <cub/device/device_scan.cuh>

#include "kernels/cuda/common.cuh"
#include "kernels/gpu_shared.h"

namespace offramp::kernels::gpu {

namespace {

// lens[s] = kept length, flags[s] = kept, for s < batch; 0 at s = batch (the scans'
// totals land there).
__global__ void kept_lengths(const int* offsets, const unsigned char* keep, int batch, int* lens,
                             int* flags) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s > batch) return;
  const bool k = s < batch && keep[s];
  lens[s] = k ? offsets[s + 1] - offsets[s] : 0;
  flags[s] = k ? 1 : 0;
}

// new offsets and compacted per-sequence state (into state_tmp).
__global__ void scatter_offsets(const unsigned char* keep, int batch, const int* starts,
                                const int* slots, int* offsets_out, const int* state, int n_state,
                                int* state_tmp) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s == batch) offsets_out[slots[batch]] = starts[batch];
  if (s >= batch || !keep[s]) return;
  offsets_out[slots[s]] = starts[s];
  for (int i = 0; i < n_state; ++i) state_tmp[i * batch + slots[s]] = state[i * batch + s];
}

// state [n_state, batch] -> [n_state, kept]: row i of the compacted state starts at i * kept.
__global__ void copy_state_back(int* state, int n_state, const int* state_tmp, int batch,
                                const int* slots) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int kept = slots[batch];
  if (i >= n_state * kept) return;
  state[i] = state_tmp[(i / kept) * batch + i % kept];
}

// One block per source token row: find its sequence (binary search over offsets), copy the
// row when the sequence stays. Rows move as 16-byte vectors when the row size allows.
template <typename V>
__global__ void gather_rows(const V* x_in, V* x_out, int row_vecs, const int* offsets, int batch,
                            const unsigned char* keep, const int* starts) {
  const int row = blockIdx.x;
  int lo = 0, hi = batch - 1;  // last s with offsets[s] <= row
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (offsets[mid] <= row)
      lo = mid;
    else
      hi = mid - 1;
  }
  if (!keep[lo]) return;
  const size_t dst = static_cast<size_t>(starts[lo] + (row - offsets[lo]));
  for (int v = threadIdx.x; v < row_vecs; v += blockDim.x)
    x_out[dst * row_vecs + v] = x_in[static_cast<size_t>(row) * row_vecs + v];
}

constexpr int kPlanThreads = 1024, kPlanItems = 4, kFlagBits = 20;  // 4096 sequences < 2^20

// One block: starts [batch + 1] (new first row of each kept sequence), offsets_out, and the
// compacted state, in place.
__global__ void __launch_bounds__(kPlanThreads)
    compaction_plan(const int* offsets, const unsigned char* keep, int batch, int* starts,
                    int* offsets_out, int* state, int n_state, int* state_tmp) {
  using Scan = cub::BlockScan<long long, kPlanThreads>;
  __shared__ typename Scan::TempStorage temp;
  long long v[kPlanItems];  // (kept length << 20) | kept flag
#pragma unroll
  for (int j = 0; j < kPlanItems; ++j) {
    const int s = threadIdx.x * kPlanItems + j;
    const bool k = s < batch && keep[s];
    v[j] = k ? (static_cast<long long>(offsets[s + 1] - offsets[s]) << kFlagBits) | 1 : 0;
  }
  long long total = 0;
  Scan(temp).ExclusiveSum(v, v, total);
  const long long mask = (1LL << kFlagBits) - 1;
#pragma unroll
  for (int j = 0; j < kPlanItems; ++j) {
    const int s = threadIdx.x * kPlanItems + j;
    if (s >= batch) continue;
    const int start = static_cast<int>(v[j] >> kFlagBits), slot = static_cast<int>(v[j] & mask);
    starts[s] = start;
    if (!keep[s]) continue;
    offsets_out[slot] = start;
    for (int i = 0; i < n_state; ++i) state_tmp[i * batch + slot] = state[i * batch + s];
  }
  const int kept = static_cast<int>(total & mask);
  if (threadIdx.x == 0) offsets_out[kept] = static_cast<int>(total >> kFlagBits);
  __syncthreads();  // every state read above is done before the state is overwritten
  for (int i = threadIdx.x; i < n_state * kept; i += blockDim.x)
    state[i] = state_tmp[(i / kept) * batch + i % kept];
}

size_t scan_bytes(int max_batch) {
  size_t bytes = 0;
  cub::DeviceScan::ExclusiveSum(nullptr, bytes, static_cast<int*>(nullptr),
                                static_cast<int*>(nullptr), max_batch + 1);
  return bytes;
}

size_t align256(size_t b) { return (b + 255) / 256 * 256; }

}  // namespace

size_t compaction_scratch_bytes(int max_batch) {
  // lens, flags, starts, slots: 4 x [max_batch + 1] ints, then CUB's temporary storage.
  return 4 * align256((static_cast<size_t>(max_batch) + 1) * sizeof(int)) +
         align256(scan_bytes(max_batch));
}

void compact_sequences(Stream& s, DType dt, const void* x_in, void* x_out, int h,
                       const int* offsets_in, int batch, int tokens, const unsigned char* keep,
                       int* offsets_out, int* state, int n_state, int* state_tmp, void* scratch,
                       size_t scratch_bytes) {
  checks::compact_sequences(x_in, x_out, offsets_in, offsets_out, batch, tokens, h, n_state,
                            scratch_bytes);
  if (batch == 0) return;
  const size_t ints = align256((static_cast<size_t>(batch) + 1) * sizeof(int));
  char* base = static_cast<char*>(scratch);
  int* lens = reinterpret_cast<int*>(base);
  int* flags = reinterpret_cast<int*>(base + ints);
  int* starts = reinterpret_cast<int*>(base + 2 * ints);
  int* slots = reinterpret_cast<int*>(base + 3 * ints);
  void* cub_tmp = base + 4 * ints;
  size_t cub_bytes = scratch_bytes - 4 * ints;
  cudaStream_t st = raw(s);

  if (batch <= kPlanThreads * kPlanItems) {
    compaction_plan<<<1, kPlanThreads, 0, st>>>(offsets_in, keep, batch, starts, offsets_out, state,
                                                n_state, state_tmp);
    OFFRAMP_LAUNCHED("compact compaction_plan");
  } else {
    kept_lengths<<<blocks_for(batch + 1, 256), 256, 0, st>>>(offsets_in, keep, batch, lens, flags);
    OFFRAMP_LAUNCHED("compact kept_lengths");
    OFFRAMP_CUDA(cub::DeviceScan::ExclusiveSum(cub_tmp, cub_bytes, lens, starts, batch + 1, st));
    OFFRAMP_CUDA(cub::DeviceScan::ExclusiveSum(cub_tmp, cub_bytes, flags, slots, batch + 1, st));
    scatter_offsets<<<blocks_for(batch + 1, 256), 256, 0, st>>>(
        keep, batch, starts, slots, offsets_out, state, n_state, state_tmp);
    OFFRAMP_LAUNCHED("compact scatter_offsets");
    if (n_state > 0) {
      copy_state_back<<<blocks_for(static_cast<size_t>(n_state) * batch, 256), 256, 0, st>>>(
          state, n_state, state_tmp, batch, slots);
      OFFRAMP_LAUNCHED("compact copy_state_back");
    }
  }
  if (tokens == 0) return;
  const size_t row_bytes = static_cast<size_t>(h) * dtype_size(dt);
  if (row_bytes % 16 == 0) {
    gather_rows<uint4>
        <<<tokens, 128, 0, st>>>(static_cast<const uint4*>(x_in), static_cast<uint4*>(x_out),
                                 static_cast<int>(row_bytes / 16), offsets_in, batch, keep, starts);
  } else {
    gather_rows<unsigned short><<<tokens, 128, 0, st>>>(
        static_cast<const unsigned short*>(x_in), static_cast<unsigned short*>(x_out),
        static_cast<int>(row_bytes / 2), offsets_in, batch, keep, starts);
  }
  OFFRAMP_LAUNCHED("compact gather_rows");
}

}  // namespace offramp::kernels::gpu
