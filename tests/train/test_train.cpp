// offramp-train end to end on a tiny from-scratch config: the loss falls, the saved model
// loads in the engine and reproduces LibTorch's logits on the same token ids (the
// engine-versus-LibTorch reference test), runs repeat under a seed, Ctrl-C checkpoints and
// --resume continues, and bad input is a clear error.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "engine/src/model_dir.h"
#include "engine/src/scheduler.h"
#include "offramp/offramp.h"
#include "tests/support/fixtures.h"
#include "tests/support/golden_file.h"

namespace fs = std::filesystem;
using offramp::test::CommandResult;

namespace {

struct Data {
  std::string dir, train, dev, tiny;
  explicit Data(const std::string& name) {
    dir = offramp::test::fresh_temp_dir(name);
    train = dir + "/train.tsv", dev = dir + "/dev.tsv";
    offramp::test::head_lines(offramp::test::repo_dir() + "/data/fine_foods/train.tsv", train, 192);
    offramp::test::head_lines(offramp::test::repo_dir() + "/data/fine_foods/dev.tsv", dev, 48);
    tiny = offramp::test::test_models_dir() + "/tiny-plain";  // config.json + a small WordPiece vocab
  }
  // From scratch: the tiny fixture's config (hidden 32, 2 layers) and tokenizer.
  std::string args(const std::string& out) const {
    return std::string(OFFRAMP_TRAIN) + " --config " + tiny + "/config.json --tokenizer " + tiny + " --train " + train +
           " --dev " + dev + " --out " + out + " --max-length 48 --batch-size 16 --lr 2e-3 --warmup 0.1 --threads 1" +
           " --offramp " + OFFRAMP_CLI;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(Train, LossFallsAndTheEngineReproducesLibTorchLogits) {
  Data d("train_smoke");
  const std::string out = d.dir + "/model";
  const auto r = offramp::test::run_command(d.args(out) + " --epochs 4 --dump-logits " + d.dir + "/logits.jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto log = nlohmann::json::parse(std::ifstream(out + "/train_log.json"));
  const auto& epochs = log["epochs"];
  ASSERT_EQ(epochs.size(), 5u);  // epoch 0 = before training
  EXPECT_LT(epochs[4]["train_loss"].get<double>(), epochs[1]["train_loss"].get<double>());
  EXPECT_LT(epochs[4]["train_loss"].get<double>(), 0.95 * epochs[0]["dev_loss"].get<double>());
  // Labels in order of first appearance in the training file.
  const auto rows = offramp::test::read_tsv(d.train);
  std::vector<std::string> labels{rows[0].first};
  for (const auto& [label, text] : rows)
    if (label != labels[0]) {
      labels.push_back(label);
      break;
    }
  EXPECT_EQ(log["labels"], labels);

  // The saved directory loads as an Offramp model...
  const auto clf = offramp::Classifier::load(out, {.device = offramp::Device::Cpu});
  EXPECT_EQ(clf.info().exits.size(), 2u);
  EXPECT_EQ(clf.info().labels, labels);
  EXPECT_EQ(clf.classify("Lovely tea, would buy again.").exit_layer > 0, true);

  // ...and on the trainer's own token ids gives LibTorch's logits at every exit.
  auto model = offramp::engine::load_model_dir(out);
  model.cpu = offramp::engine::prepare_cpu_weights(model.weights, model.config, offramp::kernels::GemmPrecision::F32);
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<std::vector<float>>> expected;
  std::ifstream dump(d.dir + "/logits.jsonl");
  for (std::string line; std::getline(dump, line);) {
    const auto j = nlohmann::json::parse(line);
    ids.push_back(j["ids"].get<std::vector<int32_t>>());
    expected.push_back(j["logits"].get<std::vector<std::vector<float>>>());
  }
  ASSERT_EQ(ids.size(), 48u);
  offramp::engine::BatchOptions bo;
  bo.record_heads = true;
  const auto got = offramp::engine::run_batch(model, offramp::kernels::Device::Cpu, ids, bo);
  double worst = 0;
  for (size_t i = 0; i < ids.size(); ++i)
    for (size_t e = 0; e < 2; ++e)
      for (size_t k = 0; k < 2; ++k)
        worst = std::max(worst, std::abs(static_cast<double>(got[i].head_logits[e * 2 + k]) - expected[i][e][k]));
  std::cout << "largest |engine - LibTorch| logit difference: " << worst << "\n";
  EXPECT_LT(worst, 1e-4);
  EXPECT_GT(worst, 0.0);  // the comparison saw real numbers from two implementations
}

// OUT/train_report.json: tokens seen and the analytic training FLOPs, recomputed here by hand
// from the token counts `offramp tokenize` gives the same texts.
TEST(Train, ReportCountsTokensAndTrainingFlops) {
  Data d("train_report");
  const std::string out = d.dir + "/model";
  const auto r = offramp::test::run_command(d.args(out) + " --epochs 2 --grid-intensity 400 --assumed-watts 10");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(std::ifstream(out + "/train_report.json"));
  // Token counts of each file at --max-length 48, [CLS] and [SEP] included.
  auto lengths = [&](const std::string& tsv) {
    const auto ids = offramp::test::run_command(std::string(OFFRAMP_CLI) + " tokenize --tsv --format ids --max-length 48 " +
                                                d.tiny + " " + tsv);
    std::vector<double> n;
    std::istringstream in(ids.out);
    for (std::string line; std::getline(in, line);)
      n.push_back(static_cast<double>(std::count(line.begin(), line.end(), ' ') + 1));
    return n;
  };
  const auto train = lengths(d.train), dev = lengths(d.dev);
  ASSERT_EQ(train.size(), 192u);
  // h 32, f 64, 2 layers, 2 labels, heads after both layers with mean pooling:
  //   layer 2n(4h^2 + 2hf) + 4n^2 h = 2n(4096 + 4096) + 128n^2;  head 2h^2 + 2hc + nh = 2048 + 128 + 32n
  auto forward = [](double n) { return 2 * (16384 * n + 128 * n * n) + 2 * (2176 + 32 * n); };
  double tokens = 0, train_fwd = 0, dev_fwd = 0;
  for (double n : train) tokens += n, train_fwd += forward(n);
  for (double n : dev) dev_fwd += forward(n);
  const auto& c = j["cost"];
  EXPECT_EQ(c["tokens_seen"].get<double>(), 2 * tokens);
  EXPECT_EQ(c["examples_seen"], 2 * 192);
  // 2 epochs of forward + backward (2x forward), and 3 dev evaluations (before, after each epoch).
  EXPECT_NEAR(c["training_flops"].get<double>(), 3 * 2 * train_fwd + 3 * dev_fwd, 1e-6 * train_fwd);
  EXPECT_EQ(j["model"]["parameters"], j["model"]["trainable_parameters"]);
  EXPECT_EQ(j["data"]["train_examples"], 192);
  EXPECT_EQ(j["hyperparameters"]["epochs"], 2);
  // Energy: RAPL when readable, else the --assumed-watts estimate; CO2e at the given intensity.
  const double kwh = c["energy_kwh"].get<double>();
  EXPECT_GT(kwh, 0);
  EXPECT_NEAR(c["co2e_g"].get<double>(), 400 * kwh, 1e-9);
  if (c["energy_note"].get<std::string>().rfind("estimated", 0) == 0) {
    EXPECT_NEAR(kwh, 10 * c["wall_clock_seconds"].get<double>() / 3.6e6, 1e-12);
  }
  const std::string md = slurp(out + "/train_report.md");
  for (const char* part : {"training FLOPs", "tokens seen", "CO2e", "400 g CO2e/kWh", "seed"})
    EXPECT_NE(md.find(part), std::string::npos) << part;
}

// scripts/random-search.sh: three seeded trials of the tiny model, each with its report, then
// `offramp report` over them; the same --seed draws the same trials.
TEST(Train, RandomSearchRunsItsTrialsAndReports) {
  Data d("train_search");
  const std::string script = offramp::test::repo_dir() + "/scripts/random-search.sh";
  const std::string bin = std::filesystem::path(OFFRAMP_TRAIN).parent_path().string();
  auto search = [&](const std::string& out) {
    return offramp::test::run_command(script + " --config " + d.tiny + "/config.json --tokenizer " + d.tiny + " --train " +
                                      d.train + " --dev " + d.dev + " --out " + out + " --trials 3 --seed 9 --epochs 1" +
                                      " --bin " + bin + " -- --max-length 48 --threads 1 --max-steps 4");
  };
  const auto r = search(d.dir + "/s1");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto s = nlohmann::json::parse(std::ifstream(d.dir + "/s1/search.json"));
  EXPECT_EQ(s["method"], "random search");
  ASSERT_EQ(s["draws"].size(), 3u);
  for (const auto& t : s["draws"]) {
    EXPECT_GE(t["lr"].get<double>(), 1e-5);
    EXPECT_LE(t["lr"].get<double>(), 5e-4);
    const std::string dir = d.dir + "/s1/trial-" + std::to_string(t["trial"].get<int>());
    const auto rep = nlohmann::json::parse(std::ifstream(dir + "/train_report.json"));
    EXPECT_DOUBLE_EQ(rep["hyperparameters"]["lr"].get<double>(), t["lr"].get<double>());
    EXPECT_EQ(rep["environment"]["seed"], t["seed"]);
  }
  const auto report = nlohmann::json::parse(std::ifstream(d.dir + "/s1/report/report.json"));
  EXPECT_EQ(report["evp"].size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(d.dir + "/s1/report/evp.png"));
  std::ifstream md(d.dir + "/s1/report/report.md");
  EXPECT_NE(std::string(std::istreambuf_iterator<char>(md), {}).find("Method of choosing hyperparameter values: random search with seed 9"),
            std::string::npos);
  // Seeded: a second search draws the same trials.
  ASSERT_EQ(search(d.dir + "/s2").rc, 0);
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(d.dir + "/s2/search.json"))["draws"], s["draws"]);
  EXPECT_NE(offramp::test::run_command(script + " --trials 0 --train x --dev y --out z --init w").rc, 0);
}

TEST(Train, SameSeedSameRun) {
  Data d("train_seed");
  for (const char* run : {"a", "b"}) {
    const auto r = offramp::test::run_command(d.args(d.dir + "/" + run) + " --epochs 1 --seed 5 --dump-logits " + d.dir +
                                              "/" + run + ".jsonl");
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  EXPECT_EQ(slurp(d.dir + "/a.jsonl"), slurp(d.dir + "/b.jsonl"));
  EXPECT_FALSE(slurp(d.dir + "/a.jsonl").empty());
}

TEST(Train, CtrlCSavesACheckpointThatResumeContinues) {
  Data d("train_sigint");
  const std::string out = d.dir + "/model", err = d.dir + "/stderr";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cmd = "exec " + d.args(out) + " --epochs 400 2> " + err;
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until training has started stepping, then press Ctrl-C.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (slurp(err).find("epoch 2/") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << slurp(err);
  EXPECT_EQ(WEXITSTATUS(status), 130) << slurp(err);
  EXPECT_NE(slurp(err).find("--resume"), std::string::npos);
  const std::string ckpt = out + "/checkpoint";
  ASSERT_TRUE(fs::exists(ckpt + "/state.json"));
  const auto state = nlohmann::json::parse(std::ifstream(ckpt + "/state.json"));
  const int64_t step = state["global_step"];
  EXPECT_GT(step, 0);

  const auto r = offramp::test::run_command(d.args(out) + " --epochs 400 --resume " + ckpt + " --max-steps " +
                                            std::to_string(step + 3));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("resuming from"), std::string::npos);
  EXPECT_FALSE(fs::exists(ckpt));  // a finished run cleans up its checkpoint
  const auto log = nlohmann::json::parse(std::ifstream(out + "/train_log.json"));
  EXPECT_EQ(log["epochs"].back()["steps"].get<int64_t>(), step + 3);
}

TEST(Train, BadInputIsAClearError) {
  Data d("train_bad");
  auto expect_error = [&](const std::string& args, const std::string& message) {
    const auto r = offramp::test::run_command(args);
    EXPECT_EQ(r.rc, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
  };
  std::ofstream(d.dir + "/dev-unknown.tsv") << "great\tNice.\nsuperb\tBest tea ever.\n";
  std::string args = d.args(d.dir + "/m1");
  expect_error(args.replace(args.find(d.dev), d.dev.size(), d.dir + "/dev-unknown.tsv"),
               "dev-unknown.tsv:2: unknown label 'superb'");
  std::ofstream(d.dir + "/empty.tsv") << "";
  args = d.args(d.dir + "/m2");
  expect_error(args.replace(args.find(d.train), d.train.size(), d.dir + "/empty.tsv"), "empty file");
  std::ofstream(d.dir + "/notab.tsv") << "great\tNice.\nother\tBad.\nthis line has no tab\n";
  args = d.args(d.dir + "/m3");
  expect_error(args.replace(args.find(d.train), d.train.size(), d.dir + "/notab.tsv"), "notab.tsv:3: expected 'label<TAB>text'");
  expect_error(d.args(d.dir + "/m4") + " --exits 1,5", "--exits: layer 5 outside 1..2");
  expect_error(std::string(OFFRAMP_TRAIN) + " --train " + d.train + " --dev " + d.dev + " --out " + d.dir + "/m5",
               "give --init");
  EXPECT_FALSE(fs::exists(d.dir + "/m1/offramp.json"));
}

// DeeBERT's second stage on Hugging Face *ForSequenceClassification checkpoints (the random
// family fixtures of tests/golden/families): the new exit trains, the checkpoint's own head stays
// the final exit, and the full-depth logits are the original model's to the bit.
class KeepHead : public ::testing::TestWithParam<std::string> {};

TEST_P(KeepHead, AddsExitsWithoutChangingFullDepthLogits) {
  Data d(std::string("train_keep_head_") + GetParam());
  const std::string ckpt = offramp::test::repo_dir() + "/tests/golden/families/" + GetParam() + "/task";
  // The checkpoint's labels are neg/pos/neutral (id2label).
  auto relabel = [&](const std::string& path, size_t n) {
    const auto rows = offramp::test::read_tsv(offramp::test::repo_dir() + "/data/fine_foods/" + path);
    std::ofstream out(d.dir + "/" + path);
    for (size_t i = 0; i < n; ++i) out << (rows[i].first == "great" ? "pos" : "neg") << "\t" << rows[i].second << "\n";
    return d.dir + "/" + path;
  };
  const std::string train = relabel("train.tsv", 160), dev = relabel("dev.tsv", 40);
  const std::string out = d.dir + "/model";
  const std::string args = std::string(OFFRAMP_TRAIN) + " --init " + ckpt + " --keep-head --train " + train + " --dev " +
                           dev + " --max-length 40 --batch-size 16 --lr 5e-3 --threads 1 --offramp " + OFFRAMP_CLI;
  const auto r = offramp::test::run_command(args + " --out " + out + " --epochs 3 --dump-logits " + d.dir + "/dump.jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto log = nlohmann::json::parse(std::ifstream(out + "/train_log.json"));
  const auto& epochs = log["epochs"];
  ASSERT_EQ(epochs.size(), 4u);
  EXPECT_LT(epochs[3]["train_loss"].get<double>(), epochs[1]["train_loss"].get<double>()) << "the new exit learns";
  EXPECT_EQ(log["labels"], nlohmann::json({"neg", "pos", "neutral"}));

  const auto original = offramp::Classifier::load(ckpt, {.device = offramp::Device::Cpu});
  const auto extended = offramp::Classifier::load(out, {.device = offramp::Device::Cpu});
  ASSERT_EQ(original.info().exits.size(), 1u);
  ASSERT_EQ(extended.info().exits.size(), 2u);  // the new exit after layer 1, the kept head after layer 2
  EXPECT_EQ(extended.info().exits[0].layer, 1);
  EXPECT_EQ(extended.info().exits[1].layer, 2);
  EXPECT_EQ(extended.info().exits[1].activation, original.info().exits[0].activation);
  EXPECT_EQ(extended.info().labels, original.info().labels);
  std::vector<std::string> texts;
  for (const auto& [label, text] : offramp::test::read_tsv(dev)) texts.push_back(text);
  const auto before = original.trace_exits(texts), after = extended.trace_exits(texts);
  ASSERT_EQ(before.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ(after[i].logits.size(), 2u);
    EXPECT_EQ(after[i].logits[1], before[i].logits[0]) << "full-depth logits moved for dev text " << i;
  }
  // The new exit's logits are the trained head's, not a copy of the final one, and the engine
  // computes them as LibTorch did in training (the family's positions, token types, projection).
  EXPECT_NE(after[0].logits[0], after[0].logits[1]);
  std::ifstream dump(d.dir + "/dump.jsonl");
  double worst = 0;
  size_t i = 0;
  for (std::string line; std::getline(dump, line); ++i) {
    const auto want = nlohmann::json::parse(line)["logits"][0].get<std::vector<float>>();
    ASSERT_LT(i, after.size());
    ASSERT_EQ(want.size(), after[i].logits[0].size());
    for (size_t k = 0; k < want.size(); ++k)
      worst = std::max(worst, std::abs(static_cast<double>(after[i].logits[0][k]) - want[k]));
  }
  EXPECT_EQ(i, texts.size());
  EXPECT_LT(worst, 1e-4) << "engine vs LibTorch, the new exit";

  // Then calibration gives the curve of the extended model.
  const auto cal = offramp::test::run_command(std::string(OFFRAMP_CLI) + " calibrate " + out + " " + dev + " --out " +
                                              d.dir + "/calibration");
  EXPECT_EQ(cal.rc, 0) << cal.err;
  EXPECT_TRUE(fs::exists(d.dir + "/calibration/sweep.json")) << cal.out << cal.err;

  // The kept head owns the last layer; a bare encoder has no head to keep.
  const auto last = offramp::test::run_command(args + " --out " + d.dir + "/m2 --exits 2");
  EXPECT_EQ(last.rc, 1);
  EXPECT_NE(last.err.find("--exits: layer 2 outside 1..1 (with --keep-head the checkpoint's head is the exit after layer 2)"),
            std::string::npos) << last.err;
  std::string bare = args;
  bare.replace(bare.find(ckpt), ckpt.size(), offramp::test::repo_dir() + "/tests/golden/families/" + GetParam() + "/bare");
  const auto no_head = offramp::test::run_command(bare + " --out " + d.dir + "/m3");
  EXPECT_EQ(no_head.rc, 1);
  EXPECT_NE(no_head.err.find("--keep-head needs a *ForSequenceClassification checkpoint"), std::string::npos) << no_head.err;
}

INSTANTIATE_TEST_SUITE_P(Families, KeepHead, ::testing::ValuesIn(offramp::test::family_fixtures()),
                         [](const auto& info) { return offramp::test::family_test_name(info.param); });
