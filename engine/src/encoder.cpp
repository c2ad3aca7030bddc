#include "engine/src/encoder.h"

#include <chrono>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/layer_norm.h"

namespace offramp::engine {

void Workspace::reserve(int tokens, const models::BertConfig& c) {
  const size_t t = static_cast<size_t>(tokens), h = static_cast<size_t>(c.hidden);
  if (x.size() < t * h) {
    x.resize(t * h), qkv.resize(t * 3 * h), ctx.resize(t * h), tmp.resize(t * h);
    ffn.resize(t * static_cast<size_t>(std::max(c.ffn, c.embedding_width())));
  }
}

void use_cpu_weight_layout(models::BertWeights& w, const models::BertConfig& c) {
  const kernels::WeightLayout layout = kernels::preferred_weight_layout(kernels::Device::Cpu);
  if (w.layout == layout || layout != kernels::WeightLayout::KN) return;
  for (auto& L : w.layers) {
    L.qkv_w = kernels::transpose(L.qkv_w, 3 * c.hidden, c.hidden);
    L.attn_out_w = kernels::transpose(L.attn_out_w, c.hidden, c.hidden);
    L.ffn_in_w = kernels::transpose(L.ffn_in_w, c.ffn, c.hidden);
    L.ffn_out_w = kernels::transpose(L.ffn_out_w, c.hidden, c.ffn);
  }
  if (c.projects_embeddings()) w.emb_project_w = kernels::transpose(w.emb_project_w, c.hidden, c.embedding_width());
  w.layout = layout;
}

size_t CpuWeights::bytes() const {
  size_t b = word.bytes();
  for (const auto& L : layers) b += L.qkv.bytes() + L.attn_out.bytes() + L.ffn_in.bytes() + L.ffn_out.bytes();
  return b;
}

CpuWeights prepare_cpu_weights(models::BertWeights& w, const models::BertConfig& c, kernels::GemmPrecision p) {
  const int h = c.hidden, f = c.ffn;
  CpuWeights out;
  for (auto& L : w.layers) {
    const auto prep = [&](std::vector<float>& m, int n, int k) {
      kernels::DenseWeight d = kernels::prepare_weight(p, m.data(), n, k, w.layout);
      if (p != kernels::GemmPrecision::F32) std::vector<float>().swap(m);  // release the FP32 copy
      return d;
    };
    out.layers.push_back(
        {prep(L.qkv_w, 3 * h, h), prep(L.attn_out_w, h, h), prep(L.ffn_in_w, f, h), prep(L.ffn_out_w, h, f)});
  }
  const int e = c.embedding_width();
  if (p == kernels::GemmPrecision::Int8) {
    out.word = kernels::quantize_word_table(w.word.data(), c.vocab_size, e);
    std::vector<float>().swap(w.word);
  } else {
    // BF16 rounds the word embeddings to bfloat16 too (kept in FP32 storage), so a bf16 file
    // (`offramp quantize`, which stores them in bf16) and an FP32 file run at bf16 agree.
    if (p == kernels::GemmPrecision::BF16)
      for (float& v : w.word) v = kernels::from_bf16(kernels::to_bf16(v));
    out.word = kernels::borrow_word_table(w.word.data(), c.vocab_size, e);
  }
  return out;
}

void Encoder::embed(const int32_t* ids, const int32_t* positions, int t, Workspace& ws) const {
  ws.reserve(t, c_);
  const int e = c_.embedding_width();
  float* emb = c_.projects_embeddings() ? ws.ffn.data() : ws.x.data();  // [t, e]
  kernels::embed(dev_, ids, positions, t, cpu_.word, w_.position.data(), c_.max_position, w_.token_type.data(), emb);
  kernels::add_layer_norm(dev_, emb, nullptr, w_.emb_ln_g.data(), w_.emb_ln_b.data(), t, e, c_.layer_norm_eps);
  if (c_.projects_embeddings())  // [t, e] . [e, h] + b -> x [t, h]
    kernels::linear(dev_, emb, w_.emb_project_w.data(), w_.emb_project_b.data(), ws.x.data(), t, c_.hidden, e,
                    w_.layout);
}

namespace {

// Runs `op`, adding its wall-clock time to `profile` when one is attached.
template <typename F>
void timed(OpProfile* profile, OpProfile::Op which, F&& op) {
  if (profile == nullptr) return op();
  const auto start = std::chrono::steady_clock::now();
  op();
  profile->seconds[which] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void Encoder::run_layer(int layer, const int* offsets, int batch, Workspace& ws) const {
  const auto& L = w_.layers[static_cast<size_t>(layer)];
  const LayerGemms& G = cpu_.layers[static_cast<size_t>(layer)];
  const int t = offsets[batch], h = c_.hidden, f = c_.ffn;
  float* x = ws.x.data();
  OpProfile* p = ws.profile;
  // Self-attention: qkv [t, 3h] -> ctx [t, h] -> tmp [t, h]; x = LN(x + tmp).
  timed(p, OpProfile::kQkv, [&] { kernels::linear(dev_, x, G.qkv, L.qkv_b.data(), ws.qkv.data(), t); });
  timed(p, OpProfile::kAttention, [&] {
    kernels::packed_attention(dev_, ws.qkv.data(), offsets, batch, c_.heads, c_.head_dim(), ws.ctx.data());
  });
  timed(p, OpProfile::kAttnOut, [&] {
    kernels::linear(dev_, ws.ctx.data(), G.attn_out, L.attn_out_b.data(), ws.tmp.data(), t);
  });
  timed(p, OpProfile::kLayerNorm, [&] {
    kernels::add_layer_norm(dev_, x, ws.tmp.data(), L.ln1_g.data(), L.ln1_b.data(), t, h, c_.layer_norm_eps);
  });
  // Feed-forward: ffn [t, f] -> act -> tmp [t, h]; x = LN(x + tmp).
  timed(p, OpProfile::kFfnIn, [&] { kernels::linear(dev_, x, G.ffn_in, L.ffn_in_b.data(), ws.ffn.data(), t); });
  timed(p, OpProfile::kActivation, [&] { kernels::activation(dev_, ws.ffn.data(), t, f, c_.activation); });
  timed(p, OpProfile::kFfnOut, [&] {
    kernels::linear(dev_, ws.ffn.data(), G.ffn_out, L.ffn_out_b.data(), ws.tmp.data(), t);
  });
  timed(p, OpProfile::kLayerNorm, [&] {
    kernels::add_layer_norm(dev_, x, ws.tmp.data(), L.ln2_g.data(), L.ln2_b.data(), t, h, c_.layer_norm_eps);
  });
}

}  // namespace offramp::engine
