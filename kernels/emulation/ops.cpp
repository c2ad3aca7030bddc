// The emulated device's ops (see emulation.h): the contract of kernels/gpu.h on the host, in
// FP32 with the dtype's rounding wherever the CUDA kernels store a tensor. Arguments are
// checked when the op is enqueued, as the CUDA backend does; device data (offsets, keep
// flags) when it runs, where a kernel would read it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/emulation/emulation.h"
#include "kernels/gemm.h"
#include "kernels/gpu_shared.h"
#include "kernels/layer_norm.h"

namespace offramp::kernels::gpu {

namespace {

using emulation::aligned;
using emulation::device;
using emulation::disjoint;
using emulation::load;
using emulation::load_all;
using emulation::rounded;
using emulation::store;
using emulation::store_all;

// Bytes of n elements of dt.
size_t nbytes(DType dt, size_t n) { return n * dtype_size(dt); }

// A read-only FP32 view of n elements of dt: the data itself when dt is FP32, else converted
// into `buf`.
const float* view(DType dt, const void* p, size_t n, std::vector<float>& buf) {
  if (dt == DType::F32) return static_cast<const float*>(p);
  buf = load_all(dt, p, n);
  return buf.data();
}

// Checks packed offsets [batch + 1] as a kernel would find them (sequences of at least
// `min_len` tokens); returns the longest length.
int check_offsets(const int* offsets, int batch, const char* op, int min_len = 0) {
  check(offsets[0] == 0, op, "offsets[0] must be 0");
  int longest = 0;
  for (int s = 0; s < batch; ++s) {
    const int n = offsets[s + 1] - offsets[s];
    check(n >= min_len, op,
          "sequence " + std::to_string(s) + " has " + std::to_string(n) + " tokens");
    longest = std::max(longest, n);
  }
  return longest;
}

}  // namespace

void linear(Stream& s, DType dt, const void* x, const void* w, const void* bias, void* y, int m,
            int n, int k, Epilogue epilogue) {
  checks::linear(x, w, bias, y, m, n, k, epilogue);
  if (m == 0) return;
  const char* op = "gpu::linear";
  const size_t xb = nbytes(dt, static_cast<size_t>(m) * k),
               wb = nbytes(dt, static_cast<size_t>(n) * k),
               yb = nbytes(dt, static_cast<size_t>(m) * n);
  device(x, xb, op, "x"), device(w, wb, op, "w"), device(y, yb, op, "y");
  if (epilogue != Epilogue::None)
    device(bias, nbytes(dt, n), op, "bias"), aligned(bias, 256, op, "bias");
  aligned(x, 256, op, "x"), aligned(w, 256, op, "w"), aligned(y, 256, op, "y");
  disjoint(y, yb, x, xb, op, "y and x"), disjoint(y, yb, w, wb, op, "y and w");
  emulation::submit(s, [=] {
    const size_t mn = static_cast<size_t>(m) * n;
    std::vector<float> xbuf, wbuf, yf(mn);
    kernels::linear(Device::Cpu, view(dt, x, static_cast<size_t>(m) * k, xbuf),
                    view(dt, w, static_cast<size_t>(n) * k, wbuf), nullptr, yf.data(), m, n, k);
    if (epilogue != Epilogue::None) {
      const auto b = load_all(dt, bias, static_cast<size_t>(n));
      for (size_t i = 0; i < mn; ++i) yf[i] += b[i % n];
    }
    if (epilogue == Epilogue::BiasGeluTanh)
      kernels::activation(Device::Cpu, yf.data(), m, n, Activation::GeluTanh);
    store_all(dt, yf, y);
  });
}

void embed_layer_norm(Stream& s, DType dt, const int32_t* ids, const int32_t* positions, int t,
                      const void* word, const void* pos, const void* type0, const void* gamma,
                      const void* beta, float eps, void* out, int h) {
  checks::rows("gpu::embed_layer_norm", t, h, "t", "h", true);
  if (t == 0) return;
  const char* op = "gpu::embed_layer_norm";
  const size_t row = nbytes(dt, static_cast<size_t>(h));
  device(ids, static_cast<size_t>(t) * 4, op, "ids"),
      device(positions, static_cast<size_t>(t) * 4, op, "positions");
  device(type0, row, op, "type0"), device(gamma, row, op, "gamma"), device(beta, row, op, "beta");
  device(out, static_cast<size_t>(t) * row, op, "out");
  emulation::submit(s, [=] {
    // The caller checked ids and positions against the tables; the tables must hold them.
    const int32_t max_id = *std::max_element(ids, ids + t),
                  max_pos = *std::max_element(positions, positions + t);
    device(word, (static_cast<size_t>(max_id) + 1) * row, op, "word embeddings at the largest id");
    device(pos, (static_cast<size_t>(max_pos) + 1) * row, op,
           "position embeddings at the largest position");
    const size_t hh = static_cast<size_t>(h);
    std::vector<float> x(static_cast<size_t>(t) * hh);
    for (int r = 0; r < t; ++r)
      for (size_t c = 0; c < hh; ++c)  // HF's order, as the CUDA kernel and the CPU sum
        x[r * hh + c] =
            (load(dt, word, static_cast<size_t>(ids[r]) * hh + c) + load(dt, type0, c)) +
            load(dt, pos, static_cast<size_t>(positions[r]) * hh + c);
    const auto g = load_all(dt, gamma, hh), b = load_all(dt, beta, hh);
    kernels::add_layer_norm(Device::Cpu, x.data(), nullptr, g.data(), b.data(), t, h, eps);
    store_all(dt, x, out);
  });
}

void add_layer_norm(Stream& s, DType dt, void* x, const void* residual, const void* gamma,
                    const void* beta, int rows, int h, float eps) {
  checks::rows("gpu::add_layer_norm", rows, h, "rows", "h", true);
  if (rows == 0) return;
  const char* op = "gpu::add_layer_norm";
  const size_t xb = nbytes(dt, static_cast<size_t>(rows) * h),
               row = nbytes(dt, static_cast<size_t>(h));
  device(x, xb, op, "x"), device(gamma, row, op, "gamma"), device(beta, row, op, "beta");
  if (residual)
    device(residual, xb, op, "residual"), disjoint(x, xb, residual, xb, op, "x and residual");
  if (h % 128 == 0 && h <= 1024)  // the warp-per-row kernel loads 4-element vectors
    for (auto [p, what] : {std::pair{static_cast<const void*>(x), "x"},
                           {residual, "residual"},
                           {gamma, "gamma"},
                           {beta, "beta"}})
      if (p) aligned(p, 4 * dtype_size(dt), op, what);
  emulation::submit(s, [=] {
    const size_t n = static_cast<size_t>(rows) * h;
    auto xf = load_all(dt, x, n);
    const auto g = load_all(dt, gamma, static_cast<size_t>(h)),
               b = load_all(dt, beta, static_cast<size_t>(h));
    std::vector<float> r;
    if (residual) r = load_all(dt, residual, n);
    kernels::add_layer_norm(Device::Cpu, xf.data(), residual ? r.data() : nullptr, g.data(),
                            b.data(), rows, h, eps);
    store_all(dt, xf, x);
  });
}

void bias_activation(Stream& s, DType dt, void* x, const void* bias, int rows, int n,
                     Activation act) {
  checks::rows("gpu::bias_activation", rows, n, "rows", "n", false);
  if (rows == 0) return;
  device(x, nbytes(dt, static_cast<size_t>(rows) * n), "gpu::bias_activation", "x");
  if (bias) device(bias, nbytes(dt, n), "gpu::bias_activation", "bias");
  emulation::submit(s, [=] {
    const size_t total = static_cast<size_t>(rows) * n;
    auto xf = load_all(dt, x, total);
    if (bias)
      for (size_t i = 0; i < total; ++i) xf[i] += load(dt, bias, i % n);
    kernels::activation(Device::Cpu, xf.data(), rows, n, act);
    store_all(dt, xf, x);
  });
}

void packed_attention(Stream& s, DType dt, const void* qkv, const int* offsets, int batch,
                      int max_len, int heads, int head_dim, void* ctx, bool force_simple) {
  checks::packed_attention(qkv, offsets, ctx, batch, max_len, heads, head_dim);
  if (batch == 0 || max_len == 0) return;
  // One host implementation stands for both kernels; the simple one's limit still applies.
  const bool tc = !force_simple && dt != DType::F32 && (head_dim == 32 || head_dim == 64);
  check(tc || head_dim <= 128, "gpu::packed_attention",
        "head_dim " + std::to_string(head_dim) + " above 128 is not supported");
  const char* op = "gpu::packed_attention";
  device(offsets, (static_cast<size_t>(batch) + 1) * 4, op, "offsets");
  if (tc) aligned(qkv, 16, op, "qkv");  // 16-byte loads
  emulation::submit(s, [=] {
    // The CUDA grid covers max_len rows per sequence: a longer sequence would lose rows.
    const int longest = check_offsets(offsets, batch, "gpu::packed_attention");
    check(longest <= max_len, "gpu::packed_attention",
          "a sequence of " + std::to_string(longest) + " tokens exceeds max_len " +
              std::to_string(max_len));
    const size_t t = static_cast<size_t>(offsets[batch]), h = static_cast<size_t>(heads) * head_dim;
    device(qkv, nbytes(dt, 3 * t * h), op, "qkv"), device(ctx, nbytes(dt, t * h), op, "ctx");
    disjoint(ctx, nbytes(dt, t * h), qkv, nbytes(dt, 3 * t * h), op, "ctx and qkv");
    std::vector<float> qbuf, c(t * h);
    kernels::packed_attention(Device::Cpu, view(dt, qkv, t * 3 * h, qbuf), offsets, batch, heads,
                              head_dim, c.data());
    store_all(dt, c, ctx);
  });
}

void exit_head(Stream& s, DType dt, const void* hidden, const int* offsets, int batch, int h,
               const ExitHeadDevice& head, const ExitRule& rule, void* pooled, void* dense,
               const ExitOutputs& out) {
  checks::exit_head(batch, h, head, pooled, dense);
  if (batch == 0) return;
  const bool fused = exit_head_fused(batch, h);
  const char* op = "gpu::exit_head";
  const size_t b = static_cast<size_t>(batch), hh = static_cast<size_t>(h),
               bl = b * static_cast<size_t>(head.labels) * 4;
  device(offsets, (b + 1) * 4, op, "offsets");
  device(head.dense_w, nbytes(dt, hh * hh), op, "dense_w"),
      device(head.dense_b, nbytes(dt, hh), op, "dense_b");
  device(head.cls_w, static_cast<size_t>(head.labels) * hh * 4, op, "cls_w");
  device(head.cls_b, static_cast<size_t>(head.labels) * 4, op, "cls_b");
  device(out.logits, bl, op, "logits"), device(out.probs, bl, op, "probs");
  device(out.confidence, b * 4, op, "confidence"), device(out.label, b * 4, op, "label");
  device(out.keep, b, op, "keep"), device(out.prev_argmax, b * 4, op, "prev_argmax");
  device(out.unchanged, b * 4, op, "unchanged");
  if (!fused) {  // pooling, then the dense layer through cuBLASLt
    device(pooled, nbytes(dt, b * hh), op, "pooled"),
        device(dense, nbytes(dt, b * hh), op, "dense");
    for (auto [p, what] : {std::pair{static_cast<const void*>(pooled), "pooled"},
                           {dense, "dense"},
                           {head.dense_w, "dense_w"},
                           {head.dense_b, "dense_b"}})
      aligned(p, 256, op, what);
  }
  emulation::submit(s, [=] {
    check_offsets(offsets, batch, op, 1);
    const size_t hidden_bytes = nbytes(dt, static_cast<size_t>(offsets[batch]) * hh);
    device(hidden, hidden_bytes, op, "hidden");
    if (!fused) disjoint(pooled, nbytes(dt, b * hh), hidden, hidden_bytes, op, "pooled and hidden");
    const int labels = head.labels;
    const float T = head.temperature;
    // Pooled rows and the dense layer's output are stored in dt (the fused kernel rounds
    // them the same way); the unfused path writes them into the caller's scratch.
    std::vector<float> p(static_cast<size_t>(batch) * hh);
    for (int q = 0; q < batch; ++q) {
      const int b0 = offsets[q], n = offsets[q + 1] - b0;
      for (size_t c = 0; c < hh; ++c) {
        float v = 0.0f;
        if (head.pooling == Pooling::Cls) {
          v = load(dt, hidden, static_cast<size_t>(b0) * hh + c);
        } else {
          for (int i = 0; i < n; ++i) v += load(dt, hidden, static_cast<size_t>(b0 + i) * hh + c);
          v /= static_cast<float>(n);
        }
        p[q * hh + c] = v;
      }
    }
    if (!fused) store_all(dt, p, pooled);
    for (auto& v : p) v = rounded(dt, v);
    std::vector<float> wbuf, d(p.size());
    kernels::linear(Device::Cpu, p.data(), view(dt, head.dense_w, hh * hh, wbuf), nullptr, d.data(),
                    batch, h, h);
    for (size_t i = 0; i < d.size(); ++i) {
      d[i] = rounded(dt, d[i] + load(dt, head.dense_b, i % hh));
      if (!fused) store(dt, dense, i, d[i]);
    }
    for (int q = 0; q < batch; ++q) {
      std::vector<float> act(hh), z(static_cast<size_t>(labels));
      for (size_t c = 0; c < hh; ++c) act[c] = d[q * hh + c];
      kernels::activation(Device::Cpu, act.data(), 1, h, head.activation);
      for (int k = 0; k < labels; ++k) {
        float v = 0.0f;
        for (size_t c = 0; c < hh; ++c) v += act[c] * head.cls_w[static_cast<size_t>(k) * hh + c];
        z[static_cast<size_t>(k)] = v + head.cls_b[k];
      }
      finish_exit(z.data(), labels, T, rule, out, q);
    }
  });
}

size_t compaction_scratch_bytes(int max_batch) {
  // starts and slots: 2 x [max_batch + 1] ints (the CUDA backend adds CUB's storage).
  return 2 * (static_cast<size_t>(max_batch) + 1) * sizeof(int);
}

void compact_sequences(Stream& s, DType dt, const void* x_in, void* x_out, int h,
                       const int* offsets_in, int batch, int tokens, const unsigned char* keep,
                       int* offsets_out, int* state, int n_state, int* state_tmp, void* scratch,
                       size_t scratch_bytes) {
  checks::compact_sequences(x_in, x_out, offsets_in, offsets_out, batch, tokens, h, n_state,
                            scratch_bytes);
  if (batch == 0) return;
  const char* op = "gpu::compact_sequences";
  const size_t b = static_cast<size_t>(batch), sb = static_cast<size_t>(n_state) * b * 4,
               row = nbytes(dt, static_cast<size_t>(h));
  device(offsets_in, (b + 1) * 4, op, "offsets_in"),
      device(offsets_out, (b + 1) * 4, op, "offsets_out");
  device(keep, b, op, "keep"), device(scratch, scratch_bytes, op, "scratch");
  device(state, sb, op, "state"), device(state_tmp, sb, op, "state_tmp");
  disjoint(state, sb, state_tmp, sb, op, "state and state_tmp");
  device(x_in, static_cast<size_t>(tokens) * row, op, "x_in");
  if (row % 16 == 0)
    aligned(x_in, 16, op, "x_in"), aligned(x_out, 16, op, "x_out");  // 16-byte rows
  emulation::submit(s, [=] {
    check_offsets(offsets_in, batch, "gpu::compact_sequences");
    check(offsets_in[batch] == tokens, "gpu::compact_sequences",
          "offsets end at " + std::to_string(offsets_in[batch]) +
              " but tokens = " + std::to_string(tokens));
    int* starts = static_cast<int*>(scratch);  // [batch + 1] exclusive sums of kept lengths
    int* slots = starts + batch + 1;           // [batch + 1] exclusive sums of kept flags
    starts[0] = 0, slots[0] = 0;
    for (int q = 0; q < batch; ++q) {
      const bool k = keep[q] != 0;
      starts[q + 1] = starts[q] + (k ? offsets_in[q + 1] - offsets_in[q] : 0);
      slots[q + 1] = slots[q] + (k ? 1 : 0);
    }
    const int kept = slots[batch];
    const size_t out_bytes = static_cast<size_t>(starts[batch]) * row;
    device(x_out, out_bytes, op, "x_out");
    disjoint(x_out, out_bytes, x_in, static_cast<size_t>(tokens) * row, op, "x_out and x_in");
    for (int q = 0; q < batch; ++q) {
      if (!keep[q]) continue;
      offsets_out[slots[q]] = starts[q];
      for (int i = 0; i < n_state; ++i) state_tmp[i * batch + slots[q]] = state[i * batch + q];
    }
    offsets_out[kept] = starts[batch];
    for (int i = 0; i < n_state * kept; ++i) state[i] = state_tmp[(i / kept) * batch + i % kept];
    for (int q = 0; q < batch; ++q)
      if (keep[q])
        std::memcpy(static_cast<char*>(x_out) + static_cast<size_t>(starts[q]) * row,
                    static_cast<const char*>(x_in) + static_cast<size_t>(offsets_in[q]) * row,
                    static_cast<size_t>(offsets_in[q + 1] - offsets_in[q]) * row);
  });
}

}  // namespace offramp::kernels::gpu
