// The BF16 and INT8 GEMMs of dense_weight.h on oneDNN's matmul primitive (Debian's libdnnl
// 2.6) with the weights reordered once, at load, into the blocked layout it picks: on this
// project's CPUs that selects its brgemm kernels (AMX tiles where the CPU has them, else
// AVX-512 VNNI / BF16), measured 4-9x its u8s8s32 GEMM function and its run-time-M matmul,
// which keep the weights plain (bench/RESULTS.md, 2026-12-05). The activations' per-row scales
// cannot be folded into a 2.6 output scale (per output channel only), so the dequantization
// (and the bias) is our own pass over the s32 / f32 output. INT8 pads the rows to a bucket
// (its int32 sums are exact, so the bucket cannot change a result); BF16 runs fixed chunks.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#ifdef OFFRAMP_HAVE_DNNL
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#endif

#include "kernels/cpu/cpu_ops.h"
#include "kernels/dense_weight.h"

namespace offramp::kernels::cpu {

#ifdef OFFRAMP_HAVE_DNNL

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// INT8 chunks hold at most 64 rows, padded up to a multiple of 16: four primitives per shape
// serve every batch.
int bucket_rows(int m) { return (m + 15) / 16 * 16; }

// One matmul primitive per (input type, n, k, bucket): src [M, k] plain, weights [k, n] in the
// blocked layout oneDNN picks ("any": AMX or VNNI tiles on CPUs that have them), dst [M, n]
// plain s32 / f32. Built on first use (about 0.2 ms); executing one from several threads at
// once is safe in oneDNN.
struct Gemm {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

std::unique_ptr<Gemm> make_gemm(dt src_type, int n, int k, int rows) {
  const bool int8 = src_type == dt::u8;
  const dnnl::memory::desc src({rows, k}, src_type, tag::ab), wei({k, n}, int8 ? dt::s8 : dt::bf16, tag::any),
      dst({rows, n}, int8 ? dt::s32 : dt::f32, tag::ab);
  // A user scratchpad: the library's is shared between calls and not safe for concurrent ones.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), attr, cpu_engine());
  return std::make_unique<Gemm>(Gemm{pd, dnnl::matmul(pd)});
}

// Weights are packed once, in the layout of the 16-row primitive; a primitive for another row
// count is checked to take that same layout when it is built (never on the call path).
constexpr int kPackRows = 16;

const Gemm& gemm_for(dt src_type, int n, int k, int rows) {
  static std::mutex mu;
  static std::map<std::tuple<dt, int, int, int>, std::unique_ptr<Gemm>> cache;
  const std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[{src_type, n, k, rows}];
  if (!slot) {
    auto& packing = cache[{src_type, n, k, kPackRows}];
    if (!packing) packing = make_gemm(src_type, n, k, kPackRows);
    auto g = rows == kPackRows ? nullptr : make_gemm(src_type, n, k, rows);
    check(!g || g->pd.weights_desc() == packing->pd.weights_desc(), "linear",
          "oneDNN wants another weight layout for " + std::to_string(rows) + " rows (internal error)");
    if (g) slot = std::move(g);
  }
  return *slot;
}

// The blocked weight layout for (type, n, k): the same for every row count (gemm_for checks).
dnnl::memory::desc packed_desc(dt src_type, int n, int k) {
  return gemm_for(src_type, n, k, kPackRows).pd.weights_desc();
}

// plain [k, n] -> the blocked layout, by a oneDNN reorder.
template <typename T>
std::vector<T> pack(dt src_type, dt wei_type, const T* plain, int n, int k) {
  const dnnl::memory::desc to = packed_desc(src_type, n, k);
  std::vector<T> out((to.get_size() + sizeof(T) - 1) / sizeof(T));
  dnnl::memory from_mem({{k, n}, wei_type, tag::ab}, cpu_engine(), const_cast<T*>(plain));
  dnnl::memory to_mem(to, cpu_engine(), out.data());
  dnnl::stream s(cpu_engine());
  dnnl::reorder(from_mem, to_mem).execute(s, from_mem, to_mem);
  s.wait();
  return out;
}

// dst [rows, n] = src [rows, k] . packed weights, on the calling thread's OpenMP threads.
void run_gemm(dt src_type, const void* src, const void* packed, void* dst, int rows, int n, int k) {
  const Gemm& g = gemm_for(src_type, n, k, rows);
  const bool int8 = src_type == dt::u8;
  dnnl::engine& e = cpu_engine();
  thread_local dnnl::stream stream(cpu_engine());
  // const_cast: oneDNN's memory objects take void*; a matmul never writes its inputs.
  dnnl::memory src_mem({{rows, k}, src_type, tag::ab}, e, const_cast<void*>(src));
  dnnl::memory wei_mem(g.pd.weights_desc(), e, const_cast<void*>(packed));
  dnnl::memory dst_mem({{rows, n}, int8 ? dt::s32 : dt::f32, tag::ab}, e, dst);
  thread_local std::vector<uint8_t> pad;  // the caller's scratchpad
  const dnnl::memory::desc pad_desc = g.pd.scratchpad_desc();
  if (pad.size() < pad_desc.get_size()) pad.resize(pad_desc.get_size());
  dnnl::memory pad_mem(pad_desc, e, pad.data());
  g.prim.execute(stream, {{DNNL_ARG_SRC, src_mem},
                          {DNNL_ARG_WEIGHTS, wei_mem},
                          {DNNL_ARG_DST, dst_mem},
                          {DNNL_ARG_SCRATCHPAD, pad_mem}});
  stream.wait();
}

// Per thread (the caller, or the OpenMP worker running a chunk): the quantized or rounded
// activations and the GEMM's output, grown on demand.
struct Scratch {
  std::vector<uint8_t> src;  // [rows, k] u8 or bf16
  std::vector<int32_t> out;  // [rows, n] s32 or f32 (same size)
  std::vector<float> sx;     // [rows] row scales
  std::vector<int32_t> zx;   // [rows] row zero points
};
Scratch& scratch(size_t src_bytes, size_t out_elems, size_t rows) {
  thread_local Scratch s;
  if (s.src.size() < src_bytes) s.src.resize(src_bytes);
  if (s.out.size() < out_elems) s.out.resize(out_elems);
  if (s.sx.size() < rows) s.sx.resize(rows), s.zx.resize(rows);
  return s;
}

}  // namespace

std::vector<int8_t> pack_int8_weights(const int8_t* q_kn, int n, int k) { return pack(dt::u8, dt::s8, q_kn, n, k); }
std::vector<uint16_t> pack_bf16_weights(const uint16_t* w_kn, int n, int k) {
  return pack(dt::bf16, dt::bf16, w_kn, n, k);
}

namespace {

// Runs body(first_row, rows) over chunks of at most `chunk` rows. With one chunk, on the
// caller, and oneDNN spreads its GEMM over the process's threads. With more, the chunks go to
// those threads, each running a whole chunk (oneDNN runs single-threaded inside an OpenMP
// region): the chunk's activations and GEMM output stay in its core's L2, where one pass
// over the whole [m, n] output would stream it through memory twice (measured: the
// quantization and dequantization passes cost more than the AMX GEMM when run over all rows).
template <typename F>
void over_row_chunks(int m, int chunk, F&& body) {
  const int chunks = (m + chunk - 1) / chunk, threads = cpu_threads();
  omp_set_num_threads(threads);
  if (chunks == 1) return body(0, m);
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::min(threads, chunks))
  for (int c = 0; c < chunks; ++c) body(c * chunk, std::min(chunk, m - c * chunk));
}

// x [m, k] -> xq [m, k] u8, per row: the range [min(x, 0), max(x, 0)] onto 0..levels; the
// row's scale and zero point go to sx, zx. Written so GCC vectorises it: the min/max as an
// OpenMP simd reduction over 16 lanes, one zmm register (a plain float min/max reduction
// stays scalar without -ffast-math, and 16 hand-split lanes came out as scalar registers:
// perf annotate, 2026-12-06; min and max are exact in any order, so the result does not
// change), and rounding by the 1.5 * 2^23 trick (to nearest even, exact for |v| < 2^22; here
// |v| <= 2 * levels) instead of nearbyint, which GCC leaves scalar.
void quantize_rows(const float* x, int m, int k, int levels, uint8_t* xq, float* sx, int32_t* zx) {
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  for (int i = 0; i < m; ++i) {
    const float* xr = x + static_cast<size_t>(i) * k;
    float lo = 0.0f, hi = 0.0f;
#pragma omp simd simdlen(16) reduction(min : lo) reduction(max : hi)
    for (int c = 0; c < k; ++c) {
      lo = xr[c] < lo ? xr[c] : lo;
      hi = xr[c] > hi ? xr[c] : hi;
    }
    const float sc = hi > lo ? (hi - lo) / static_cast<float>(levels) : 1.0f;
    const float inv = 1.0f / sc;
    const int z = std::clamp(static_cast<int>(std::nearbyint(-lo * inv)), 0, levels);
    uint8_t* qr = xq + static_cast<size_t>(i) * k;
    const float zf = static_cast<float>(z), top = static_cast<float>(levels);
    for (int c = 0; c < k; ++c) {
      float v = (xr[c] * inv + kRound) - kRound + zf;
      v = v < 0.0f ? 0.0f : v;
      v = v > top ? top : v;
      qr[c] = static_cast<uint8_t>(static_cast<int>(v));
    }
    sx[i] = sc, zx[i] = z;
  }
}

}  // namespace

void linear_int8(const float* x, const int8_t* packed, const float* scale, const int32_t* q_sum, const float* bias,
                 float* y, int m, int n, int k, int levels) {
  if (m == 0) return;
  // Chunks of at most 64 rows (acc: 64 x 1536 x 4 B = 384 KiB), fewer where that gives every
  // thread one. The int32 sums are exact, so no chunking or bucketing changes a result.
  const int per_thread = (m + cpu_threads() - 1) / cpu_threads();
  const int chunk = std::clamp((per_thread + 15) / 16 * 16, 16, 64);
  over_row_chunks(m, chunk, [&](int r0, int mc) {
    const int rows = bucket_rows(mc);
    Scratch& s = scratch(static_cast<size_t>(rows) * k, static_cast<size_t>(rows) * n, static_cast<size_t>(mc));
    const float* xc = x + static_cast<size_t>(r0) * k;
    quantize_rows(xc, mc, k, levels, s.src.data(), s.sx.data(), s.zx.data());
    // acc [rows, n] = xq [rows, k] . q [k, n], exact in int32 (|acc| <= k * 255 * 127 < 2^31
    // for k < 66000); the padding rows' outputs are never read.
    run_gemm(dt::u8, s.src.data(), packed, s.out.data(), rows, n, k);
    // y = sx[i] * scale[j] * (acc - zx[i] * q_sum[j]) + b[j]
    for (int i = 0; i < mc; ++i) {
      const int32_t* a = s.out.data() + static_cast<size_t>(i) * n;
      float* yr = y + static_cast<size_t>(r0 + i) * n;
      const float sxi = s.sx[static_cast<size_t>(i)];
      const int32_t z = s.zx[static_cast<size_t>(i)];
      if (bias)
        for (int j = 0; j < n; ++j) yr[j] = sxi * scale[j] * static_cast<float>(a[j] - z * q_sum[j]) + bias[j];
      else
        for (int j = 0; j < n; ++j) yr[j] = sxi * scale[j] * static_cast<float>(a[j] - z * q_sum[j]);
    }
  });
}

void linear_bf16(const float* x, const uint16_t* packed, const float* bias, float* y, int m, int n, int k) {
  if (m == 0) return;
  // FP32 sums of bf16 products come out of oneDNN's kernels in an order that depends on the
  // row count and the threads, so a row's result would depend on its batch (up to 7e-5 in the
  // probabilities, enough to move an exit). Fixed chunks of kChunk rows, one primitive, give
  // every row the same arithmetic whatever the batch (oneDNN splits a chunk's work over
  // threads by output blocks, not along k: BatchInvariance's bf16 case checks it).
  constexpr int kChunk = 32;
  over_row_chunks(m, kChunk, [&](int r0, int mc) {
    Scratch& s = scratch(static_cast<size_t>(kChunk) * k * 2, static_cast<size_t>(kChunk) * n, 0);
    auto* const xb = reinterpret_cast<uint16_t*>(s.src.data());  // [kChunk, k] bfloat16
    auto* const out = reinterpret_cast<float*>(s.out.data());     // [kChunk, n]
    const float* xc = x + static_cast<size_t>(r0) * k;
    for (size_t i = 0; i < static_cast<size_t>(mc) * k; ++i) xb[i] = to_bf16(xc[i]);
    run_gemm(dt::bf16, xb, packed, out, kChunk, n, k);
    for (int i = 0; i < mc; ++i) {
      const float* o = out + static_cast<size_t>(i) * n;
      float* yr = y + static_cast<size_t>(r0 + i) * n;
      if (bias)
        for (int j = 0; j < n; ++j) yr[j] = o[j] + bias[j];
      else
        std::memcpy(yr, o, static_cast<size_t>(n) * sizeof(float));
    }
  });
}

// The ISA oneDNN dispatches to (the CPU's, unless ONEDNN_MAX_CPU_ISA lowers it), so a user who
// caps it gets the path that suits what oneDNN will really run.
bool dnnl_has_isa(int isa_bits) {
  return (static_cast<int>(dnnl_get_effective_cpu_isa()) & isa_bits) == isa_bits;
}
bool dnnl_has_vnni() { return dnnl_has_isa(dnnl_cpu_isa_avx512_core_vnni) || dnnl_has_isa(dnnl_cpu_isa_avx2_vnni); }
bool dnnl_has_bf16() { return dnnl_has_isa(dnnl_cpu_isa_avx512_core_bf16); }
bool dnnl_has_amx() { return dnnl_has_isa(dnnl_cpu_isa_avx512_core_amx); }

#else

void linear_int8(const float*, const int8_t*, const float*, const int32_t*, const float*, float*, int, int, int, int) {
  throw KernelError("linear: INT8 GEMMs need oneDNN, and this build has none (install libdnnl-dev and rebuild)");
}
void linear_bf16(const float*, const uint16_t*, const float*, float*, int, int, int) {
  throw KernelError("linear: BF16 GEMMs need oneDNN, and this build has none (install libdnnl-dev and rebuild)");
}
std::vector<int8_t> pack_int8_weights(const int8_t*, int, int) {
  throw KernelError("INT8 weights need oneDNN, and this build has none");
}
std::vector<uint16_t> pack_bf16_weights(const uint16_t*, int, int) {
  throw KernelError("BF16 weights need oneDNN, and this build has none");
}
bool dnnl_has_vnni() { return false; }
bool dnnl_has_bf16() { return false; }
bool dnnl_has_amx() { return false; }

#endif

}  // namespace offramp::kernels::cpu
