// Every CUDA kernel against its CPU reference over a grid of shapes and the three dtypes.
// Outputs are poisoned (NaN) before each run, so an element a kernel fails to write fails the
// comparison. Inputs are rounded to the dtype first and the CPU reference runs in FP32 on
// those rounded values, so the tolerance covers only the kernel's own arithmetic and the
// rounding of its output. Without a GPU every test here skips, saying why.
#include <gtest/gtest.h>

#include <numeric>
#include <string>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/compaction.h"
#include "kernels/embedding.h"
#include "kernels/exit_head.h"
#include "kernels/gemm.h"
#include "kernels/layer_norm.h"
#include "tests/cuda/gpu_test_util.h"

namespace offramp::test {
namespace {

using gpu::DType;
using kernels::Device;

std::string name(DType dt) { return gpu::dtype_name(dt); }

TEST(CudaLinear, MatchesCpuOverShapesDtypesAndEpilogues) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  const std::vector<int> ms{1, 2, 63, 64, 65, 300, 511};
  const std::vector<std::pair<int, int>> nks{{384, 384}, {1152, 384}, {1536, 384}, {384, 1536},
                                             {768, 768}, {3072, 768}, {768, 3072}, {2, 768}};
  uint32_t seed = 1;
  for (DType dt : all_dtypes())
    for (auto [n, k] : nks)
      for (int m : ms) {
        const auto x = rounded(s, dt, random_vector(size_t(m) * k, seed++));
        const auto w = rounded(s, dt, random_vector(size_t(n) * k, seed++, -0.1f, 0.1f));
        const auto b = rounded(s, dt, random_vector(n, seed++));
        DevTensor dx(s, dt, x), dw(s, dt, w), db(s, dt, b);
        for (auto epi : {gpu::Epilogue::None, gpu::Epilogue::Bias, gpu::Epilogue::BiasGeluTanh}) {
          if (epi == gpu::Epilogue::None && m > 65)
            continue;  // the bias cases cover the large shapes
          std::vector<float> ref(size_t(m) * n);
          kernels::linear(Device::Cpu, x.data(), w.data(),
                          epi == gpu::Epilogue::None ? nullptr : b.data(), ref.data(), m, n, k);
          if (epi == gpu::Epilogue::BiasGeluTanh)
            kernels::activation(Device::Cpu, ref.data(), m, n, kernels::Activation::GeluTanh);
          DevTensor dy(s, dt, ref.size());
          gpu::linear(s, dt, dx.data(), dw.data(), db.data(), dy.data(), m, n, k, epi);
          const double err = scaled_error(dy.host(s), ref);
          // cuBLASLt's GELU epilogue may use a fast tanh (~1e-3 relative), exact enough for
          // FP16/BF16 storage but not for the FP32 tolerance.
          const double tol = epi == gpu::Epilogue::BiasGeluTanh ? std::max(tolerance(dt), 1e-3)
                                                                : tolerance(dt, 1e-5);
          EXPECT_LE(err, tol) << name(dt) << " m=" << m << " n=" << n << " k=" << k
                              << " epilogue=" << static_cast<int>(epi);
        }
      }
}

TEST(CudaLinear, ZeroRowsIsANoOpAndBadShapesThrow) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  DevTensor w(s, DType::F16, random_vector(64 * 32, 3)), b(s, DType::F16, random_vector(64, 4));
  DevTensor y(s, DType::F16, 64);
  gpu::linear(s, DType::F16, w.data(), w.data(), b.data(), y.data(), 0, 64, 32);
  for (float v : y.host(s)) EXPECT_TRUE(std::isnan(v));  // untouched
  EXPECT_THROW(gpu::linear(s, DType::F16, w.data(), w.data(), b.data(), y.data(), 1, 0, 32),
               kernels::KernelError);
  EXPECT_THROW(gpu::linear(s, DType::F16, w.data(), w.data(), nullptr, y.data(), 1, 64, 32,
                           gpu::Epilogue::Bias),
               kernels::KernelError);
}

TEST(CudaEmbedding, GatherPlusLayerNormMatchesCpu) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  const int vocab = 1000, max_pos = 512;
  for (DType dt : all_dtypes())
    for (int h : {384, 768})
      for (int t : {1, 2, 63, 65, 512, 2000}) {
        std::mt19937 rng(static_cast<uint32_t>(t * 7 + h));
        std::vector<int32_t> ids(t), pos(t);
        for (int i = 0; i < t; ++i)
          ids[i] = static_cast<int32_t>(rng() % vocab),
          pos[i] = static_cast<int32_t>(rng() % max_pos);
        const auto word = rounded(s, dt, random_vector(size_t(vocab) * h, 11));
        const auto posv = rounded(s, dt, random_vector(size_t(max_pos) * h, 12));
        const auto type0 = rounded(s, dt, random_vector(h, 13));
        const auto g = rounded(s, dt, random_vector(h, 14, 0.5f, 1.5f)),
                   b = rounded(s, dt, random_vector(h, 15));
        std::vector<float> ref(size_t(t) * h);
        kernels::embed(Device::Cpu, ids.data(), pos.data(), t, word.data(), vocab, posv.data(),
                       max_pos, type0.data(), ref.data(), h);
        kernels::add_layer_norm(Device::Cpu, ref.data(), nullptr, g.data(), b.data(), t, h, 1e-12f);
        DevTensor dword(s, dt, word), dpos(s, dt, posv), dtype0(s, dt, type0), dg(s, dt, g),
            db(s, dt, b);
        DevTensor out(s, dt, ref.size());
        auto did = upload_raw(s, ids), dpid = upload_raw(s, pos);
        gpu::embed_layer_norm(s, dt, did.as<int32_t>(), dpid.as<int32_t>(), t, dword.data(),
                              dpos.data(), dtype0.data(), dg.data(), db.data(), 1e-12f, out.data(),
                              h);
        EXPECT_LE(scaled_error(out.host(s), ref), tolerance(dt))
            << name(dt) << " t=" << t << " h=" << h;
      }
}

// h = 384 and 768 take the warp-per-row kernel, h = 200 the block-per-row one.
TEST(CudaLayerNorm, ResidualAddPlusLayerNormMatchesCpu) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  for (DType dt : all_dtypes())
    for (int h : {384, 768, 200})
      for (int rows : {1, 2, 65, 511})
        for (bool residual : {false, true}) {
          const auto x = rounded(s, dt, random_vector(size_t(rows) * h, 21, -3.0f, 3.0f));
          const auto r = rounded(s, dt, random_vector(size_t(rows) * h, 22));
          const auto g = rounded(s, dt, random_vector(h, 23, 0.5f, 1.5f)),
                     b = rounded(s, dt, random_vector(h, 24));
          std::vector<float> ref = x;
          kernels::add_layer_norm(Device::Cpu, ref.data(), residual ? r.data() : nullptr, g.data(),
                                  b.data(), rows, h, 1e-12f);
          DevTensor dx(s, dt, x), dr(s, dt, r), dg(s, dt, g), db(s, dt, b);
          gpu::add_layer_norm(s, dt, dx.data(), residual ? dr.data() : nullptr, dg.data(),
                              db.data(), rows, h, 1e-12f);
          EXPECT_LE(scaled_error(dx.host(s), ref), tolerance(dt))
              << name(dt) << " rows=" << rows << " h=" << h << " residual=" << residual;
        }
}

// With a bias the scalar kernel runs; without one (the engine's case) the 16-byte vector
// kernel, and n = 1531 (not a multiple of the vector width) takes the scalar path again.
TEST(CudaActivation, BiasPlusEachActivationMatchesCpu) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  using kernels::Activation;
  for (DType dt : all_dtypes())
    for (auto act : {Activation::GeluErf, Activation::GeluTanh, Activation::Relu, Activation::Tanh})
      for (int rows : {1, 65, 300})
        for (int n : {1536, 1531})
          for (bool with_bias : {true, false}) {
            const auto x = rounded(s, dt, random_vector(size_t(rows) * n, 31, -4.0f, 4.0f));
            const auto b = rounded(s, dt, random_vector(n, 32));
            std::vector<float> ref = x;
            if (with_bias)
              for (int r = 0; r < rows; ++r)
                for (int c = 0; c < n; ++c) ref[size_t(r) * n + c] += b[c];
            kernels::activation(Device::Cpu, ref.data(), rows, n, act);
            DevTensor dx(s, dt, x), db(s, dt, b);
            gpu::bias_activation(s, dt, dx.data(), with_bias ? db.data() : nullptr, rows, n, act);
            EXPECT_LE(scaled_error(dx.host(s), ref), tolerance(dt))
                << name(dt) << " act=" << static_cast<int>(act) << " rows=" << rows << " n=" << n
                << " bias=" << with_bias;
          }
}

TEST(CudaAttention, PackedVariableLengthMatchesCpuOnBothKernels) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  for (DType dt : all_dtypes())
    for (auto [heads, d] : grid(std::vector{std::pair{12, 32}, std::pair{12, 64}, std::pair{2, 48}}))
      for (const auto& lengths : grid(length_grid()))
        for (bool simple : {false, true}) {
          if (dt == DType::F32 && simple) continue;  // FP32 always takes the simple kernel
          const int h = heads * d, batch = static_cast<int>(lengths.size());
          const auto offsets = offsets_of(lengths);
          const int t = offsets.back(), max_len = *std::max_element(lengths.begin(), lengths.end());
          const auto qkv = rounded(s, dt, random_vector(size_t(t) * 3 * h, 41 + t, -2.0f, 2.0f));
          std::vector<float> ref(size_t(t) * h);
          kernels::packed_attention(Device::Cpu, qkv.data(), offsets.data(), batch, heads, d,
                                    ref.data());
          DevTensor dqkv(s, dt, qkv), ctx(s, dt, ref.size());
          auto doff = upload_raw(s, offsets);
          gpu::packed_attention(s, dt, dqkv.data(), doff.as<int>(), batch, max_len, heads, d,
                                ctx.data(), simple);
          EXPECT_LE(scaled_error(ctx.host(s), ref), tolerance(dt, 1e-5))
              << name(dt) << " heads=" << heads << " d=" << d << " batch=" << batch
              << " max_len=" << max_len << (simple ? " simple" : " tensor-core");
        }
}

TEST(CudaAttention, HeadDimAbove128IsAClearError) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  DevTensor qkv(s, DType::F32, random_vector(3 * 256, 1)), ctx(s, DType::F32, 256);
  auto off = upload_raw(s, std::vector<int>{0, 1});
  EXPECT_THROW(
      gpu::packed_attention(s, DType::F32, qkv.data(), off.as<int>(), 1, 1, 1, 256, ctx.data()),
      kernels::KernelError);
}

// Exit heads: logits, probabilities and decisions against the CPU head (both end in the one
// exit rule, kernels/exit_rule.h, on their own logits).
TEST(CudaExitHead, LogitsProbabilitiesAndDecisionsMatchCpu) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  uint32_t seed = 50;
  for (DType dt : all_dtypes())
    for (int h : {384, 768})
      for (int labels : {2, 5})
        for (auto pooling : {kernels::Pooling::Cls, kernels::Pooling::Mean})
          for (auto policy : {kernels::ExitPolicy::MaxProb, kernels::ExitPolicy::Entropy,
                              kernels::ExitPolicy::Patience})
            for (const auto& lengths :
                 grid(std::vector{std::vector<int>{1}, std::vector<int>{3, 64, 1, 65, 2, 17, 9},
                                  length_grid().back()})) {
              const int batch = static_cast<int>(lengths.size());
              const auto offsets = offsets_of(lengths);
              const int t = offsets.back();
              const auto hidden = rounded(s, dt, random_vector(size_t(t) * h, seed++));
              const auto dw = rounded(s, dt, random_vector(size_t(h) * h, seed++, -0.1f, 0.1f));
              const auto dbias = rounded(s, dt, random_vector(h, seed++));
              const auto cw = random_vector(size_t(labels) * h, seed++, -0.3f, 0.3f),
                         cb = random_vector(labels, seed++);
              const float temperature = 1.7f;
              // CPU reference: the head in FP32 on the dt-rounded inputs (the GPU also rounds the
              // pooled rows and the dense output to dt, hence the wider tolerance below).
              DevTensor dh(s, dt, hidden), ddw(s, dt, dw), ddb(s, dt, dbias),
                  pooled(s, dt, size_t(batch) * h), dense(s, dt, size_t(batch) * h);
              auto dcw = upload_raw(s, cw), dcb = upload_raw(s, cb), doff = upload_raw(s, offsets);
              gpu::Buffer logits(size_t(batch) * labels * 4), probs(size_t(batch) * labels * 4),
                  conf(size_t(batch) * 4), label(size_t(batch) * 4),
                  keep(static_cast<size_t>(batch));
              std::vector<int> prev(batch), unchanged(batch);
              std::mt19937 rng(seed);
              for (int i = 0; i < batch; ++i)
                prev[i] = static_cast<int>(rng() % labels) - (i % 3 == 0), unchanged[i] = i % 2;
              auto dprev = upload_raw(s, prev), dunch = upload_raw(s, unchanged);
              const float threshold = policy == kernels::ExitPolicy::Entropy ? 0.2f : 0.6f;
              const kernels::ExitRule rule{policy, threshold, 1, false, false};
              std::vector<float> scratch(2 * size_t(batch) * h), ref_logits(size_t(batch) * labels),
                  ref_probs(size_t(batch) * labels), ref_conf(batch);
              std::vector<int> ref_label(batch), ref_prev = prev, ref_unch = unchanged;
              std::vector<unsigned char> ref_keep(batch);
              const kernels::ExitHeadWeights cpu_head{
                  dw.data(), dbias.data(), cw.data(), cb.data(), labels, pooling, temperature};
              kernels::exit_head(Device::Cpu, hidden.data(), offsets.data(), batch, h, cpu_head,
                                 rule, scratch.data(),
                                 {ref_logits.data(), ref_probs.data(), ref_conf.data(),
                                  ref_label.data(), ref_keep.data(), ref_prev.data(),
                                  ref_unch.data()});

              gpu::poison(s, DType::F32, logits.data(), size_t(batch) * labels);
              gpu::poison(s, DType::F32, probs.data(), size_t(batch) * labels);
              const gpu::ExitOutputs out{
                  logits.as<float>(),       probs.as<float>(), conf.as<float>(), label.as<int>(),
                  keep.as<unsigned char>(), dprev.as<int>(),   dunch.as<int>()};
              gpu::exit_head(s, dt, dh.data(), doff.as<int>(), batch, h,
                             {ddw.data(), ddb.data(), dcw.as<float>(), dcb.as<float>(), labels,
                              pooling, temperature},
                             rule, pooled.data(), dense.data(), out);
              const auto g_logits = download_raw<float>(s, logits, size_t(batch) * labels);
              const auto g_probs = download_raw<float>(s, probs, size_t(batch) * labels);
              const auto g_conf = download_raw<float>(s, conf, batch);
              const auto g_label = download_raw<int>(s, label, batch);
              const auto g_keep = download_raw<unsigned char>(s, keep, batch);
              const auto g_unch = download_raw<int>(s, dunch, batch);
              const std::string where =
                  name(dt) + " h=" + std::to_string(h) + " labels=" + std::to_string(labels) +
                  " policy=" + std::to_string(static_cast<int>(policy)) +
                  " batch=" + std::to_string(batch);
              // The dense output is stored in dt before tanh: the logit error scales with it.
              EXPECT_LE(scaled_error(g_logits, ref_logits), 5 * tolerance(dt, 1e-5)) << where;
              EXPECT_LE(scaled_error(g_probs, ref_probs), 5 * tolerance(dt, 1e-5)) << where;
              for (int i = 0; i < batch; ++i) {
                std::vector<float> sorted(ref_probs.begin() + i * labels,
                                          ref_probs.begin() + (i + 1) * labels);
                std::sort(sorted.rbegin(), sorted.rend());
                // Too close to call in this dtype: confidence at the threshold or two labels tied
                // (BF16's rounding of the dense output moves probabilities by up to ~5e-3).
                const double margin = dt == DType::BF16 ? 3e-2 : 1e-2;
                if (std::fabs(ref_conf[i] - threshold) < margin || sorted[0] - sorted[1] < margin)
                  continue;
                EXPECT_EQ(g_label[i], ref_label[i]) << where << " input " << i;
                EXPECT_NEAR(g_conf[i], ref_conf[i], 5 * tolerance(dt, 1e-5))
                    << where << " input " << i;
                EXPECT_EQ(g_keep[i], ref_keep[i]) << where << " input " << i;
                if (policy == kernels::ExitPolicy::Patience) {
                  EXPECT_EQ(g_unch[i], ref_unch[i]) << where << " input " << i;
                }
              }
            }
}

TEST(CudaExitHead, FinalHeadAndRecordModeSetKeepFlags) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  const int h = 384, labels = 2, batch = 5;
  const auto offsets = offsets_of({4, 4, 4, 4, 4});
  DevTensor dh(s, DType::F16, random_vector(20 * h, 1)),
      dw(s, DType::F16, random_vector(h * h, 2, -0.05f, 0.05f)),
      db(s, DType::F16, random_vector(h, 3)), pooled(s, DType::F16, batch * h),
      dense(s, DType::F16, batch * h);
  auto cw = upload_raw(s, random_vector(labels * h, 4)),
       cb = upload_raw(s, random_vector(labels, 5)), off = upload_raw(s, offsets),
       prev = upload_raw(s, std::vector<int>(batch, -1)),
       unch = upload_raw(s, std::vector<int>(batch, 0));
  gpu::Buffer logits(batch * labels * 4), probs(batch * labels * 4), conf(batch * 4),
      label(batch * 4), keep(batch);
  const gpu::ExitOutputs out{logits.as<float>(), probs.as<float>(),        conf.as<float>(),
                             label.as<int>(),    keep.as<unsigned char>(), prev.as<int>(),
                             unch.as<int>()};
  const gpu::ExitHeadDevice head{
      dw.data(), db.data(), cw.as<float>(), cb.as<float>(), labels, kernels::Pooling::Cls, 1.0f};
  gpu::exit_head(s, DType::F16, dh.data(), off.as<int>(), batch, h, head,
                 {kernels::ExitPolicy::MaxProb, 0.0, 0, true, false},
                 pooled.data(), dense.data(), out);
  for (auto k : download_raw<unsigned char>(s, keep, batch))
    EXPECT_EQ(k, 1);  // record mode: threshold 0 ignored
  gpu::exit_head(s, DType::F16, dh.data(), off.as<int>(), batch, h, head,
                 {kernels::ExitPolicy::MaxProb, 2.0, 0, false, true},
                 pooled.data(), dense.data(), out);
  for (auto k : download_raw<unsigned char>(s, keep, batch))
    EXPECT_EQ(k, 0);  // the final head: everyone leaves
}

TEST(CudaCompaction, PrefixSumCompactionMatchesCpu) {
  OFFRAMP_REQUIRE_GPU();
  gpu::Stream s;
  // Up to 4096 sequences plan in one block; 5000 short ones take the DeviceScan path.
  auto grids = length_grid();
  std::mt19937 len_rng(11);
  grids.emplace_back(5000);
  for (auto& l : grids.back()) l = 1 + static_cast<int>(len_rng() % 6);
  for (DType dt : all_dtypes())
    for (int h : {384, 768, 33})
      for (const auto& lengths : grids) {
        const int batch = static_cast<int>(lengths.size());
        auto offsets = offsets_of(lengths);
        const int t = offsets.back();
        std::mt19937 rng(static_cast<uint32_t>(batch * 31 + h));
        std::vector<unsigned char> keep(batch);
        for (auto& k : keep) k = rng() % 3 != 0;
        const auto x = rounded(s, dt, random_vector(size_t(t) * h, 61));
        std::vector<int> state(2 * size_t(batch));
        std::iota(state.begin(), state.end(), 100);
        DevTensor dx(s, dt, x), dout(s, dt, size_t(t) * h);
        auto doff = upload_raw(s, offsets), dkeep = upload_raw(s, keep),
             dstate = upload_raw(s, state);
        gpu::Buffer off_out((size_t(batch) + 1) * 4), tmp(2 * size_t(batch) * 4),
            scratch(gpu::compaction_scratch_bytes(batch));
        gpu::compact_sequences(s, dt, dx.data(), dout.data(), h, doff.as<int>(), batch, t,
                               dkeep.as<unsigned char>(), off_out.as<int>(), dstate.as<int>(), 2,
                               tmp.as<int>(), scratch.data(), scratch.bytes());
        // CPU reference.
        std::vector<float> ref = x;
        const int kept = kernels::compact_sequences(Device::Cpu, ref.data(), offsets.data(),
                                                    keep.data(), batch, h);
        const auto g_off = download_raw<int>(s, off_out, size_t(kept) + 1);
        const auto g_state = download_raw<int>(s, dstate, 2 * size_t(kept));
        ASSERT_EQ(g_off, std::vector<int>(offsets.begin(), offsets.begin() + kept + 1))
            << name(dt) << " h=" << h;
        const size_t rows = size_t(offsets[kept]);
        auto g_x = dout.host(s);
        g_x.resize(rows * h), ref.resize(rows * h);
        EXPECT_EQ(g_x, ref) << name(dt) << " h=" << h << " batch=" << batch;  // a copy: bit-exact
        std::vector<int> ref_state;
        for (int i = 0; i < 2; ++i)
          for (int b = 0; b < batch; ++b)
            if (keep[b]) ref_state.push_back(state[size_t(i) * batch + b]);
        EXPECT_EQ(g_state, ref_state) << name(dt) << " h=" << h << " batch=" << batch;
      }
}

TEST(CudaMemory, AnImpossibleAllocationSaysHowMuch) {
  OFFRAMP_REQUIRE_GPU();
  try {
    gpu::Buffer b(size_t{1} << 52, "a test tensor");
    FAIL() << "allocating 4 PiB succeeded";
  } catch (const kernels::KernelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("a test tensor"), std::string::npos) << msg;
    EXPECT_NE(msg.find("MiB free"), std::string::npos) << msg;
  }
}

TEST(CudaBuild, NoDeviceMeansNoGpuAndAClearError) {
  if (gpu::device_count() > 0) GTEST_SKIP() << "a GPU is present; this checks the no-GPU path";
  EXPECT_THROW(gpu::Stream s, kernels::KernelError);
}

}  // namespace
}  // namespace offramp::test
