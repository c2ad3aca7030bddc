// Every model family on the GPU backend: the small random checkpoints of tests/golden/families
// (HF's save_pretrained output, make_family_golden.py) uploaded to the GPU in FP32, one packed
// batch of all golden inputs, hidden states after the embeddings and every layer against HF's
// within the CPU golden's limit, and the checkpoints' own classification heads against HF's
// logits. Runs on a GPU, and on the host emulation in CPU-only builds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/src/early_exit.h"
#include "engine/src/gpu_model.h"
#include "models/bert_config.h"
#include "models/safetensors.h"
#include "models/task_head.h"
#include "tests/cuda/gpu_test_util.h"
#include "tests/support/fixtures.h"
#include "tests/support/golden_file.h"

using namespace offramp;

namespace {
class CudaFamily : public ::testing::TestWithParam<std::string> {};
}  // namespace

TEST_P(CudaFamily, HiddenStatesMatchHuggingFaceAtEveryLayer) {
  OFFRAMP_REQUIRE_GPU();
  const std::string dir = test::repo_dir() + "/tests/golden/families/" + GetParam();
  const test::GoldenFile g = test::read_golden(dir + "/hidden.bin");
  const models::BertConfig c = models::load_bert_config(dir + "/task/config.json");
  const models::BertWeights w = models::load_bert_weights(dir + "/task/model.safetensors", c);
  engine::TokenIds ids;
  for (const auto& s : g.sentences) ids.push_back(s.ids);
  engine::GpuOptions go;
  go.dtype = kernels::gpu::DType::F32;
  go.max_batch_tokens = std::max(c.max_position, 512);
  const engine::GpuModel model(c, w, models::OfframpConfig{}, {}, go);
  const std::vector<int> offsets = engine::pack(ids, {0, ids.size()}, c.position_offset).offsets;
  for (uint32_t layer = 0; layer < g.tensors; ++layer) {
    const std::vector<float> got = model.hidden(ids, int(layer));
    for (size_t s = 0; s < g.sentences.size(); ++s) {
      const int n = int(g.sentences[s].ids.size());
      for (int t = 0; t < n; ++t)
        ASSERT_LE(test::relative_error(got.data() + size_t(offsets[s] + t) * g.hidden,
                                       g.sentences[s].hidden.data() + (size_t(layer) * n + t) * g.hidden, g.hidden),
                  1e-4)
            << GetParam() << " layer " << layer << " input " << s << " token " << t;
    }
  }
}

// The checkpoint's own classification head as the final exit, on the GPU: HF's logits.
TEST_P(CudaFamily, TaskHeadGivesHuggingFacesLogits) {
  OFFRAMP_REQUIRE_GPU();
  const std::string dir = test::repo_dir() + "/tests/golden/families/" + GetParam();
  const auto golden = nlohmann::json::parse(std::ifstream(dir + "/logits.json"));
  const models::BertConfig c = models::load_bert_config(dir + "/task/config.json");
  const auto file = models::SafetensorsFile::open(dir + "/task/model.safetensors");
  const auto head = models::load_task_head(dir + "/task/config.json", file, c);
  ASSERT_TRUE(head.has_value());
  engine::GpuOptions go;
  go.dtype = kernels::gpu::DType::F32;
  go.max_batch_tokens = std::max(c.max_position, 512);
  const engine::GpuModel model(c, models::load_bert_weights(file, c), models::offramp_config_for(*head),
                               {head->params}, go);
  const auto ids = golden["ids"].get<engine::TokenIds>();
  const auto want = golden["logits"].get<std::vector<std::vector<float>>>();
  const auto got = model.run(ids, engine::BatchOptions{});
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].exit_layer, c.layers);
    ASSERT_EQ(got[i].logits.size(), want[i].size());
    for (size_t k = 0; k < want[i].size(); ++k)
      EXPECT_NEAR(got[i].logits[k], want[i][k], 1e-4 * std::max(1.0f, std::fabs(want[i][k])))
          << GetParam() << " input " << i << " logit " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, CudaFamily, ::testing::ValuesIn(test::family_fixtures()),
                         [](const auto& info) { return test::family_test_name(info.param); });
