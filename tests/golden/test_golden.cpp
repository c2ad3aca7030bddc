// Golden end-to-end: the encoder's hidden states after the embeddings and after every layer
// against HF transformers' on real sentences (tests/golden/minilm_l6_hidden.bin, written by
// make_hidden_golden.py). fp32, relative error <= 1e-4 per token and layer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "engine/src/early_exit.h"
#include "engine/src/encoder.h"
#include "engine/src/model_dir.h"
#include "tests/support/fixtures.h"

using namespace offramp;

namespace {

struct GoldenSentence {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<float> hidden;  // [layers + 1, n, h]
};

template <typename T>
T read_pod(std::ifstream& in) {
  T v;
  in.read(reinterpret_cast<char*>(&v), sizeof(T));
  if (!in) throw std::runtime_error("golden file truncated");
  return v;
}

std::vector<GoldenSentence> read_golden(const std::string& path, uint32_t& tensors, uint32_t& h) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  char magic[8];
  in.read(magic, 8);
  if (std::memcmp(magic, "OFRGOLD1", 8) != 0) throw std::runtime_error(path + ": bad magic");
  if (read_pod<uint32_t>(in) != 1) throw std::runtime_error(path + ": unsupported version");
  const auto count = read_pod<uint32_t>(in);
  tensors = read_pod<uint32_t>(in);
  h = read_pod<uint32_t>(in);
  std::vector<GoldenSentence> out(count);
  for (auto& s : out) {
    s.text.resize(read_pod<uint32_t>(in));
    in.read(s.text.data(), static_cast<std::streamsize>(s.text.size()));
    s.ids.resize(read_pod<uint32_t>(in));
    in.read(reinterpret_cast<char*>(s.ids.data()), static_cast<std::streamsize>(s.ids.size() * 4));
    s.hidden.resize(size_t(tensors) * s.ids.size() * h);
    in.read(reinterpret_cast<char*>(s.hidden.data()), static_cast<std::streamsize>(s.hidden.size() * 4));
    if (!in) throw std::runtime_error(path + ": truncated");
  }
  return out;
}

}  // namespace

TEST(Golden, MiniLmMatchesHuggingFaceAtEveryLayer) {
  uint32_t tensors = 0, h = 0;
  const auto golden = read_golden(test::repo_dir() + "/tests/golden/minilm_l6_hidden.bin", tensors, h);
  ASSERT_GE(golden.size(), 32u);
  auto model = engine::load_model_dir(test::minilm_dir());
  engine::use_cpu_weight_layout(model.weights, model.config);  // as Classifier::load does
  ASSERT_EQ(tensors, uint32_t(model.config.layers + 1));
  ASSERT_EQ(h, uint32_t(model.config.hidden));
  const engine::Encoder enc(model.config, model.weights, kernels::Device::Cpu);
  double worst = 0;
  for (const auto& s : golden) {
    // Our tokenizer must produce the ids HF used.
    ASSERT_EQ(model.tokenizer->encode(s.text, 512), s.ids) << s.text;
    const int n = int(s.ids.size());
    const engine::PackedInputs in = engine::pack({s.ids}, {0, 1}, model.config.position_offset());
    std::vector<int> off = in.offsets;
    engine::Workspace ws;
    enc.embed(in.ids.data(), in.positions.data(), n, ws);
    for (uint32_t layer = 0; layer < tensors; ++layer) {
      if (layer > 0) enc.run_layer(int(layer) - 1, off.data(), 1, ws);
      for (int t = 0; t < n; ++t) {
        const float* want = s.hidden.data() + (size_t(layer) * n + t) * h;
        const float* got = ws.x.data() + size_t(t) * h;
        double diff = 0, norm = 0;
        for (uint32_t j = 0; j < h; ++j) {
          diff += double(got[j] - want[j]) * (got[j] - want[j]);
          norm += double(want[j]) * want[j];
        }
        const double rel = std::sqrt(diff / norm);
        worst = std::max(worst, rel);
        ASSERT_LE(rel, 1e-4) << "layer " << layer << " token " << t << " of \"" << s.text << "\"";
      }
    }
  }
  std::cout << "worst relative error over " << golden.size() << " sentences and " << tensors
            << " layers: " << worst << "\n";
}
