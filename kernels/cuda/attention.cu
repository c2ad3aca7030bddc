// Attention over packed variable-length sequences (layout in kernels/attention.h): each
// block works inside one (sequence, head) and only ever sees that sequence's keys, so no
// score matrix is padded to the longest input. Softmax is computed online (running max and
// sum per query row, FlashAttention's recurrence), so scores never reach device memory.
//
// Two kernels:
//  - attention_tc: tensor cores (WMMA 16x16x16) for F16/BF16 with head_dim 32 or 64: a block
//    of 4 warps takes 64 query rows; per chunk of 64 keys each warp computes its 16 x 64
//    score strip S = Q K^T, updates the softmax state, and accumulates P V.
//  - attention_simple: any dtype and head_dim <= 128, FP32 math on CUDA cores; the reference
//    path for FP32 and the fallback for other head sizes.
#include <mma.h>

#include <atomic>
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "kernels/gpu_shared.h"

namespace offramp::kernels::gpu {

namespace {

constexpr float kLog2e = 1.4426950408889634f;

// ---- simple kernel ---------------------------------------------------------------------
constexpr int kSimpleWarps = 4, kSimpleRows = 4, kSimpleKeys = 32, kMaxDimSimple = 128;

// grid: (batch * heads, ceil(max_len / 16)); block: 128 threads. Warp w handles query rows
// q0 + w*4 .. +3; lane j scores key k0 + j of each 32-key chunk; lane owns output dims
// lane, lane + 32, ... Shared: K, V chunks [32, d+1] and Q rows [16, d+1], FP32.
template <typename T>
__global__ void attention_simple(const T* qkv, const int* offsets, int heads, int d, float scale,
                                 T* ctx) {
  extern __shared__ float sm[];
  const int seq = blockIdx.x / heads, head = blockIdx.x % heads;
  const int begin = offsets[seq], n = offsets[seq + 1] - begin;
  const int q0 = blockIdx.y * kSimpleWarps * kSimpleRows;
  if (q0 >= n) return;  // uniform over the block
  const int h = heads * d, ld = d + 1;
  const size_t row_stride = 3 * static_cast<size_t>(h);
  float* ks = sm;
  float* vs = ks + kSimpleKeys * ld;
  float* qs = vs + kSimpleKeys * ld;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int i = threadIdx.x; i < kSimpleWarps * kSimpleRows * d; i += blockDim.x) {
    const int r = i / d, c = i % d, q = q0 + r;
    qs[r * ld + c] = q < n ? to_f(qkv[(begin + q) * row_stride + head * d + c]) * scale : 0.0f;
  }
  float m[kSimpleRows], l[kSimpleRows], acc[kSimpleRows][kMaxDimSimple / 32];
#pragma unroll
  for (int r = 0; r < kSimpleRows; ++r) {
    m[r] = -INFINITY, l[r] = 0.0f;
#pragma unroll
    for (int j = 0; j < kMaxDimSimple / 32; ++j) acc[r][j] = 0.0f;
  }
  for (int k0 = 0; k0 < n; k0 += kSimpleKeys) {
    __syncthreads();  // the previous chunk is consumed (and the Q rows are written)
    for (int i = threadIdx.x; i < kSimpleKeys * d; i += blockDim.x) {
      const int r = i / d, c = i % d, key = k0 + r;
      const bool ok = key < n;
      const size_t base = (begin + key) * row_stride + head * d + c;
      ks[r * ld + c] = ok ? to_f(qkv[base + h]) : 0.0f;
      vs[r * ld + c] = ok ? to_f(qkv[base + 2 * h]) : 0.0f;
    }
    __syncthreads();
    const bool valid = k0 + lane < n;
#pragma unroll
    for (int r = 0; r < kSimpleRows; ++r) {
      const float* q = qs + (warp * kSimpleRows + r) * ld;
      float sc = -INFINITY;
      if (valid) {
        sc = 0.0f;
        for (int c = 0; c < d; ++c) sc += q[c] * ks[lane * ld + c];
      }
      const float mnew = fmaxf(m[r], warp_max(sc));  // finite: the chunk has a valid key
      const float p = valid ? expf(sc - mnew) : 0.0f;
      const float corr = expf(m[r] - mnew);
      l[r] = l[r] * corr + warp_sum(p);
      m[r] = mnew;
#pragma unroll
      for (int j = 0; j < kMaxDimSimple / 32; ++j) acc[r][j] *= corr;
      for (int key = 0; key < kSimpleKeys; ++key) {
        const float pk = __shfl_sync(0xffffffffu, p, key);
#pragma unroll
        for (int j = 0; j < kMaxDimSimple / 32; ++j) {
          const int c = lane + 32 * j;
          if (c < d) acc[r][j] += pk * vs[key * ld + c];
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kSimpleRows; ++r) {
    const int q = q0 + warp * kSimpleRows + r;
    if (q >= n) continue;
    const float inv = 1.0f / l[r];
#pragma unroll
    for (int j = 0; j < kMaxDimSimple / 32; ++j) {
      const int c = lane + 32 * j;
      if (c < d)
        ctx[static_cast<size_t>(begin + q) * h + head * d + c] = from_f<T>(acc[r][j] * inv);
    }
  }
}

// ---- tensor-core kernel ------------------------------------------------------------------
namespace wmma = nvcuda::wmma;
constexpr int kTcWarps = 4, kTcRows = 16 * kTcWarps, kTcKeys = 64;
constexpr int kPadT = 8, kPadF = 4;  // keep rows 32-byte aligned, as WMMA loads need

template <int D>
struct TcSmem {
  static constexpr int ldt = D + kPadT;        // Q, K, V rows (T)
  static constexpr int lds = kTcKeys + kPadF;  // S / PV strips (float), per warp [16, lds]
  static constexpr int ldp = kTcKeys + kPadT;  // P strips (T), per warp [16, ldp]
  static constexpr size_t q = size_t{kTcRows} * ldt * 2, k = size_t{kTcKeys} * ldt * 2, v = k;
  static constexpr size_t s = size_t{kTcWarps} * 16 * lds * 4, p = size_t{kTcWarps} * 16 * ldp * 2;
  static constexpr size_t bytes = q + k + v + s + p;
};

// Copies `rows` rows of D elements (16-byte vectors) of one head's Q, K or V into shared
// memory (stride ldt), zero beyond the sequence end.
template <typename T, int D>
__device__ void load_rows(T* dst, const T* qkv, size_t row_stride, int begin, int first, int rows,
                          int n, int col) {
  constexpr int kVec = 8;  // 8 x 16-bit = 16 bytes
  constexpr int per_row = D / kVec;
  for (int i = threadIdx.x; i < rows * per_row; i += blockDim.x) {
    const int r = i / per_row, v = i % per_row, row = first + r;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (row < n)
      val = *reinterpret_cast<const uint4*>(qkv + (begin + row) * row_stride + col + v * kVec);
    *reinterpret_cast<uint4*>(dst + r * TcSmem<D>::ldt + v * kVec) = val;
  }
}

// grid: (batch * heads, ceil(max_len / 64)); block: 128 threads.
template <typename T, int D>
__global__ void __launch_bounds__(128)
    attention_tc(const T* qkv, const int* offsets, int heads, float scale_log2, T* ctx) {
  using S = TcSmem<D>;
  extern __shared__ __align__(128) unsigned char smem[];
  T* qs = reinterpret_cast<T*>(smem);
  T* ks = reinterpret_cast<T*>(smem + S::q);
  T* vs = reinterpret_cast<T*>(smem + S::q + S::k);
  float* ss = reinterpret_cast<float*>(smem + S::q + S::k + S::v);
  T* ps = reinterpret_cast<T*>(smem + S::q + S::k + S::v + S::s);

  const int seq = blockIdx.x / heads, head = blockIdx.x % heads;
  const int begin = offsets[seq], n = offsets[seq + 1] - begin;
  const int q0 = blockIdx.y * kTcRows;
  if (q0 >= n) return;  // uniform over the block
  const int h = heads * D;
  const size_t row_stride = 3 * static_cast<size_t>(h);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float* s_w = ss + warp * 16 * S::lds;  // this warp's [16, 64] score strip, later its P V
  T* p_w = ps + warp * 16 * S::ldp;      // this warp's [16, 64] probabilities

  load_rows<T, D>(qs, qkv, row_stride, begin, q0, kTcRows, n, head * D);
  // Lane owns query row r = lane / 2 of the warp's strip and the columns 2j + half.
  const int r = lane >> 1, half = lane & 1;
  float m = -INFINITY, l = 0.0f, o[D / 2];
#pragma unroll
  for (int j = 0; j < D / 2; ++j) o[j] = 0.0f;

  wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> qa[D / 16];
  bool q_loaded = false;

  for (int k0 = 0; k0 < n; k0 += kTcKeys) {
    __syncthreads();  // previous chunk consumed; Q rows written
    load_rows<T, D>(ks, qkv, row_stride, begin, k0, kTcKeys, n, h + head * D);
    load_rows<T, D>(vs, qkv, row_stride, begin, k0, kTcKeys, n, 2 * h + head * D);
    __syncthreads();
    if (!q_loaded) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk)
        wmma::load_matrix_sync(qa[kk], qs + warp * 16 * S::ldt + kk * 16, S::ldt);
      q_loaded = true;
    }
    // S [16, 64] = Q_w [16, D] . K^T [D, 64]; K rows are keys, so K^T is column-major.
#pragma unroll
    for (int kt = 0; kt < kTcKeys / 16; ++kt) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> kb;
        wmma::load_matrix_sync(kb, ks + kt * 16 * S::ldt + kk * 16, S::ldt);
        wmma::mma_sync(acc, qa[kk], kb, acc);
      }
      wmma::store_matrix_sync(s_w + kt * 16, acc, S::lds, wmma::mem_row_major);
    }
    __syncwarp();
    // Online softmax on row r, columns 2j + half (a lane pair shares the row).
    float x[kTcKeys / 2];
    float cmax = -INFINITY;
#pragma unroll
    for (int j = 0; j < kTcKeys / 2; ++j) {
      const int col = 2 * j + half;
      x[j] = k0 + col < n ? s_w[r * S::lds + col] * scale_log2 : -INFINITY;
      cmax = fmaxf(cmax, x[j]);
    }
    cmax = fmaxf(cmax, __shfl_xor_sync(0xffffffffu, cmax, 1));
    const float mnew = fmaxf(m, cmax);  // finite: key k0 is valid
    const float corr = exp2f(m - mnew);
    float sum = 0.0f;
#pragma unroll
    for (int j = 0; j < kTcKeys / 2; ++j) {
      const float p = exp2f(x[j] - mnew);
      const T pt = from_f<T>(p);
      sum += to_f(pt);  // the sum uses the rounded P that P V uses
      p_w[r * S::ldp + 2 * j + half] = pt;
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * corr + sum;
    m = mnew;
    __syncwarp();
    // P V [16, D] = P [16, 64] . V [64, D], written over the score strip (already read).
#pragma unroll
    for (int dt = 0; dt < D / 16; ++dt) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kt = 0; kt < kTcKeys / 16; ++kt) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> pa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> vb;
        wmma::load_matrix_sync(pa, p_w + kt * 16, S::ldp);
        wmma::load_matrix_sync(vb, vs + kt * 16 * S::ldt + dt * 16, S::ldt);
        wmma::mma_sync(acc, pa, vb, acc);
      }
      wmma::store_matrix_sync(s_w + dt * 16, acc, S::lds, wmma::mem_row_major);
    }
    __syncwarp();
#pragma unroll
    for (int j = 0; j < D / 2; ++j) o[j] = o[j] * corr + s_w[r * S::lds + 2 * j + half];
    __syncwarp();
  }
  const int q = q0 + warp * 16 + r;
  if (q < n) {
    const float inv = 1.0f / l;
    T* out = ctx + static_cast<size_t>(begin + q) * h + head * D;
#pragma unroll
    for (int j = 0; j < D / 2; ++j) out[2 * j + half] = from_f<T>(o[j] * inv);
  }
}

template <typename T, int D>
void launch_tc(Stream& s, const void* qkv, const int* offsets, int batch, int max_len, int heads,
               void* ctx) {
  using S = TcSmem<D>;
  // Above 48 KB of dynamic shared memory needs the attribute, once per (T, D) and device.
  static std::atomic<unsigned> attribute_set{0};
  int device = 0;
  OFFRAMP_CUDA(cudaGetDevice(&device));
  const unsigned bit = 1u << (device & 31);
  if (!(attribute_set.load() & bit)) {
    OFFRAMP_CUDA(cudaFuncSetAttribute(attention_tc<T, D>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(S::bytes)));
    attribute_set.fetch_or(bit);
  }
  const dim3 grid(static_cast<unsigned>(batch * heads),
                  static_cast<unsigned>((max_len + kTcRows - 1) / kTcRows));
  const float scale_log2 = kLog2e / sqrtf(static_cast<float>(D));
  attention_tc<T, D><<<grid, 128, S::bytes, raw(s)>>>(static_cast<const T*>(qkv), offsets, heads,
                                                      scale_log2, static_cast<T*>(ctx));
}

}  // namespace

void packed_attention(Stream& s, DType dt, const void* qkv, const int* offsets, int batch,
                      int max_len, int heads, int head_dim, void* ctx, bool force_simple) {
  checks::packed_attention(qkv, offsets, ctx, batch, max_len, heads, head_dim);
  if (batch == 0 || max_len == 0) return;
  const bool tc = !force_simple && dt != DType::F32 && (head_dim == 32 || head_dim == 64);
  if (tc) {
    dispatch(dt, [&](auto z) {
      using T = decltype(z);
      if constexpr (!std::is_same_v<T, float>) {
        if (head_dim == 32)
          launch_tc<T, 32>(s, qkv, offsets, batch, max_len, heads, ctx);
        else
          launch_tc<T, 64>(s, qkv, offsets, batch, max_len, heads, ctx);
      }
    });
  } else {
    check(head_dim <= kMaxDimSimple, "gpu::packed_attention",
          "head_dim " + std::to_string(head_dim) + " above " + std::to_string(kMaxDimSimple) +
              " is not supported");
    const int rows = kSimpleWarps * kSimpleRows;
    const dim3 grid(static_cast<unsigned>(batch * heads),
                    static_cast<unsigned>((max_len + rows - 1) / rows));
    const size_t shm = static_cast<size_t>(2 * kSimpleKeys + rows) * (head_dim + 1) * sizeof(float);
    const float scale = 1.0f / sqrtf(static_cast<float>(head_dim));
    dispatch(dt, [&](auto z) {
      using T = decltype(z);
      attention_simple<T><<<grid, 32 * kSimpleWarps, shm, raw(s)>>>(
          static_cast<const T*>(qkv), offsets, heads, head_dim, scale, static_cast<T*>(ctx));
    });
  }
  OFFRAMP_LAUNCHED("packed_attention");
}

}  // namespace offramp::kernels::gpu
