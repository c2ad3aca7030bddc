// Golden per model family: small random checkpoints of BERT, DistilBERT, RoBERTa, XLM-R and
// ELECTRA as HF's save_pretrained writes them (tests/golden/families, make_family_golden.py),
// loaded with and without the task prefix; the CPU encoder's hidden states after the
// embeddings and every layer against HF's, within the MiniLM golden's limit (1e-4 relative),
// and the checkpoint's own classification head as the final exit against HF's logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/src/early_exit.h"
#include "engine/src/encoder.h"
#include "engine/src/model_dir.h"
#include "engine/src/scheduler.h"
#include "models/bert_config.h"
#include "models/model_error.h"
#include "models/safetensors.h"
#include "models/task_head.h"
#include "offramp/offramp.h"
#include "tests/support/fixtures.h"
#include "tests/support/golden_file.h"

using namespace offramp;

namespace {

std::string family_dir(const std::string& family) { return test::repo_dir() + "/tests/golden/families/" + family; }

class FamilyGolden : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(FamilyGolden, HiddenStatesMatchHuggingFaceAtEveryLayer) {
  const std::string dir = family_dir(GetParam());
  const test::GoldenFile g = test::read_golden(dir + "/hidden.bin");
  for (const char* variant : {"task", "bare"}) {
    SCOPED_TRACE(GetParam() + "/" + variant);
    const std::string ck = dir + "/" + variant;
    const models::BertConfig c = models::load_bert_config(ck + "/config.json");
    // electra-projected: ELECTRA with embedding_size 16 < hidden 32 (embeddings_project).
    EXPECT_EQ(c.family->name, GetParam() == "electra-projected" ? "electra" : GetParam());
    EXPECT_EQ(c.projects_embeddings(), GetParam() == "electra-projected");
    models::BertWeights w = models::load_bert_weights(ck + "/model.safetensors", c);
    engine::use_cpu_weight_layout(w, c);
    ASSERT_EQ(g.tensors, uint32_t(c.layers + 1));
    ASSERT_EQ(g.hidden, uint32_t(c.hidden));
    const auto cpu = engine::prepare_cpu_weights(w, c, kernels::GemmPrecision::F32);
    const engine::Encoder enc(c, w, cpu, kernels::Device::Cpu);
    double worst = 0;
    for (const auto& s : g.sentences) {
      const int n = int(s.ids.size());
      const engine::PackedInputs in = engine::pack({s.ids}, {0, 1}, c.position_offset);
      std::vector<int> off = in.offsets;
      engine::Workspace ws;
      enc.embed(in.ids.data(), in.positions.data(), n, ws);
      for (uint32_t layer = 0; layer < g.tensors; ++layer) {
        if (layer > 0) enc.run_layer(int(layer) - 1, off.data(), 1, ws);
        for (int t = 0; t < n; ++t) {
          const double rel = test::relative_error(ws.x.data() + size_t(t) * g.hidden,
                                                  s.hidden.data() + (size_t(layer) * n + t) * g.hidden, g.hidden);
          worst = std::max(worst, rel);
          ASSERT_LE(rel, 1e-4) << "layer " << layer << " token " << t << " of a " << n << "-token input";
        }
      }
    }
    RecordProperty(GetParam() + "_" + variant + "_worst_relative_error", std::to_string(worst));
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyGolden, ::testing::ValuesIn(test::family_fixtures()),
                         [](const auto& info) { return test::family_test_name(info.param); });

// The checkpoint's own classification head as the final exit: HF's logits for every input,
// labels from id2label.
TEST_P(FamilyGolden, TaskHeadGivesHuggingFacesLogits) {
  const std::string dir = family_dir(GetParam());
  const auto golden = nlohmann::json::parse(std::ifstream(dir + "/logits.json"));
  engine::ModelDir m;
  m.config = models::load_bert_config(dir + "/task/config.json");
  const auto file = models::SafetensorsFile::open(dir + "/task/model.safetensors");
  auto head = models::load_task_head(dir + "/task/config.json", file, m.config);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->labels, (std::vector<std::string>{"neg", "pos", "neutral"}));
  EXPECT_EQ(head->exit.layer, m.config.layers);
  m.offramp = models::offramp_config_for(*head);
  m.heads = {head->params};
  m.weights = models::load_bert_weights(file, m.config);
  engine::use_cpu_weight_layout(m.weights, m.config);
  m.cpu = engine::prepare_cpu_weights(m.weights, m.config, kernels::GemmPrecision::F32);
  const auto ids = golden["ids"].get<engine::TokenIds>();
  const auto want = golden["logits"].get<std::vector<std::vector<float>>>();
  engine::BatchOptions opt;
  const auto got = engine::run_batch(m, kernels::Device::Cpu, ids, opt);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].exit_layer, m.config.layers);
    ASSERT_EQ(got[i].logits.size(), want[i].size());
    for (size_t k = 0; k < want[i].size(); ++k)
      EXPECT_NEAR(got[i].logits[k], want[i][k], 1e-4 * std::max(1.0f, std::fabs(want[i][k])))
          << GetParam() << " input " << i << " logit " << k;
  }
  // The bare encoder has no head.
  const auto bare = models::SafetensorsFile::open(dir + "/bare/model.safetensors");
  EXPECT_FALSE(models::load_task_head(dir + "/bare/config.json", bare, m.config).has_value());
}

// The whole library path: Classifier::load on the task checkpoint (no offramp.json) with its
// own tokenizer (WordPiece; byte-level BPE for RoBERTa; sentencepiece with fairseq ids for
// XLM-R), HF's token ids and logits for real sentences.
TEST(FamilyGoldenLibrary, TaskCheckpointsClassifyThroughTheLibrary) {
  const std::map<std::string, std::string> activation = {{"bert", "tanh"}, {"distilbert", "relu"}, {"roberta", "tanh"},
                                                         {"xlm-roberta", "tanh"}, {"electra", "gelu"},
                                                         {"electra-projected", "gelu"}};
  for (const auto& [family, act] : activation) {
    SCOPED_TRACE(family);
    const auto golden = nlohmann::json::parse(std::ifstream(family_dir(family) + "/logits.json"));
    const auto clf = Classifier::load(family_dir(family) + "/task", {.device = Device::Cpu});
    EXPECT_EQ(clf.info().architecture, family == "electra-projected" ? "electra" : family);
    EXPECT_EQ(clf.info().labels, (std::vector<std::string>{"neg", "pos", "neutral"}));
    ASSERT_EQ(clf.info().exits.size(), 1u);  // the checkpoint's own head, after the last layer
    EXPECT_EQ(clf.info().exits[0].layer, clf.info().layers);
    EXPECT_TRUE(clf.info().exits[0].checkpoint_head);
    EXPECT_EQ(clf.info().exits[0].activation, act);
    EXPECT_EQ(clf.info().embedding_size, family == "electra-projected" ? 16 : clf.info().hidden);
    EXPECT_EQ(clf.info().max_tokens, 40);  // every fixture: 40 positions of input (RoBERTa's table has 42 rows)
    ASSERT_FALSE(golden["texts"].empty());
    for (const auto& t : golden["texts"]) {
      const std::string text = t["text"];
      EXPECT_EQ(clf.tokenize(text), t["ids"].get<std::vector<int>>()) << text;
      const Result r = clf.classify(text);
      const auto want = t["logits"].get<std::vector<float>>();
      ASSERT_EQ(r.logits.size(), want.size());
      for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(r.logits[k], want[k], 1e-5) << text << " logit " << k;
      const size_t arg = size_t(std::max_element(want.begin(), want.end()) - want.begin());
      EXPECT_EQ(r.label, clf.info().labels[arg]) << text;
      EXPECT_EQ(r.exit_layer, clf.info().layers);
    }
  }
}

TEST(FamilyDetection, PositionsTokenTypesAndConfigKeysFollowTheFamily) {
  const auto roberta = models::load_bert_config(family_dir("roberta") + "/task/config.json");
  EXPECT_EQ(roberta.position_offset, 2);  // pad_token_id 1 + 1
  EXPECT_EQ(roberta.max_tokens(), roberta.max_position - 2);
  const auto distil = models::load_bert_config(family_dir("distilbert") + "/task/config.json");
  EXPECT_EQ(distil.hidden, 32);  // from "dim"
  EXPECT_EQ(distil.ffn, 64);     // from "hidden_dim"
  EXPECT_EQ(distil.type_vocab_size, 0);
  EXPECT_EQ(distil.position_offset, 0);
}

TEST(FamilyDetection, UnknownModelTypeListsTheSupportedOnes) {
  const std::string dir = test::fresh_temp_dir("family_unknown");
  std::ofstream(dir + "/config.json") << R"({"model_type": "gpt2", "vocab_size": 10})";
  try {
    models::load_bert_config(dir + "/config.json");
    FAIL() << "gpt2 loaded";
  } catch (const models::ModelError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model_type='gpt2'"), std::string::npos) << m;
    for (const char* t : {"bert", "distilbert", "roberta", "xlm-roberta", "electra"})
      EXPECT_NE(m.find(t), std::string::npos) << t << " missing from: " << m;
  }
}

TEST(FamilyDetection, TensorsOfAnotherFamilySayWhichFamilyTheyLookLike) {
  // A RoBERTa task checkpoint whose config.json claims BERT.
  const std::string dir = test::fresh_temp_dir("family_mismatch");
  const auto c = models::load_bert_config(family_dir("bert") + "/task/config.json");
  try {
    models::load_bert_weights(family_dir("roberta") + "/task/model.safetensors", c);
    FAIL() << "a RoBERTa checkpoint loaded as BERT";
  } catch (const models::ModelError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("not a bert checkpoint"), std::string::npos) << m;
    EXPECT_NE(m.find("look like a roberta checkpoint"), std::string::npos) << m;
  }
  // DistilBERT's tensors under a BERT config.
  try {
    models::load_bert_weights(family_dir("distilbert") + "/bare/model.safetensors", c);
    FAIL() << "a DistilBERT checkpoint loaded as BERT";
  } catch (const models::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("look like a distilbert checkpoint"), std::string::npos) << e.what();
  }
}
