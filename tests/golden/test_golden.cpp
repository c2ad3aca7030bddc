// Golden end-to-end: the encoder's hidden states after the embeddings and after every layer
// against HF transformers' on real sentences (tests/golden/minilm_l6_hidden.bin, written by
// make_hidden_golden.py). fp32, relative error <= 1e-4 per token and layer.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "engine/src/early_exit.h"
#include "engine/src/encoder.h"
#include "engine/src/model_dir.h"
#include "tests/support/fixtures.h"
#include "tests/support/golden_file.h"

using namespace offramp;

TEST(Golden, MiniLmMatchesHuggingFaceAtEveryLayer) {
  const test::GoldenFile file = test::read_golden(test::repo_dir() + "/tests/golden/minilm_l6_hidden.bin");
  const uint32_t tensors = file.tensors, h = file.hidden;
  const auto& golden = file.sentences;
  ASSERT_GE(golden.size(), 32u);
  auto model = engine::load_model_dir(test::minilm_dir());
  engine::use_cpu_weight_layout(model.weights, model.config);  // as Classifier::load does
  ASSERT_EQ(tensors, uint32_t(model.config.layers + 1));
  ASSERT_EQ(h, uint32_t(model.config.hidden));
  const auto cpu = engine::prepare_cpu_weights(model.weights, model.config, kernels::GemmPrecision::F32);
  const engine::Encoder enc(model.config, model.weights, cpu, kernels::Device::Cpu);
  double worst = 0;
  for (const auto& s : golden) {
    // Our tokenizer must produce the ids HF used.
    ASSERT_EQ(model.tokenizer->encode(s.text, 512), s.ids) << s.text;
    const int n = int(s.ids.size());
    const engine::PackedInputs in = engine::pack({s.ids}, {0, 1}, model.config.position_offset);
    std::vector<int> off = in.offsets;
    engine::Workspace ws;
    enc.embed(in.ids.data(), in.positions.data(), n, ws);
    for (uint32_t layer = 0; layer < tensors; ++layer) {
      if (layer > 0) enc.run_layer(int(layer) - 1, off.data(), 1, ws);
      for (int t = 0; t < n; ++t) {
        const float* want = s.hidden.data() + (size_t(layer) * n + t) * h;
        const float* got = ws.x.data() + size_t(t) * h;
        const double rel = test::relative_error(got, want, h);
        worst = std::max(worst, rel);
        ASSERT_LE(rel, 1e-4) << "layer " << layer << " token " << t << " of \"" << s.text << "\"";
      }
    }
  }
  std::cout << "worst relative error over " << golden.size() << " sentences and " << tensors
            << " layers: " << worst << "\n";
}
