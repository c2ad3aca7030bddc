// The `offramp` binary as a user runs it: exit codes, stdout and stderr.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/fixtures.h"

namespace fs = std::filesystem;

namespace {

using Run = offramp::test::CommandResult;

Run run(const std::string& args, const std::string& stdin_text = "") {
  return offramp::test::run_command(std::string(OFFRAMP_CLI) + " " + args, stdin_text);
}

std::string model(const char* name) { return offramp::test::test_models_dir() + "/" + name; }

}  // namespace

TEST(Cli, HelpForEverySubcommand) {
  for (const char* sub : {"", "info ", "classify ", "tokenize "}) {
    const auto r = run(std::string(sub) + "--help");
    EXPECT_EQ(r.rc, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
  }
  EXPECT_NE(run("classify --help").out.find("--threshold"), std::string::npos);
}

TEST(Cli, UnknownFlagsAndMissingArgumentsFail) {
  auto r = run("classify " + model("tiny") + " --bogus-flag");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("--bogus-flag"), std::string::npos) << r.err;
  EXPECT_NE(run("").rc, 0);
  EXPECT_NE(run("frobnicate").rc, 0);
  r = run("classify " + model("tiny") + " --threshold abc", "good\n");
  EXPECT_NE(r.rc, 0);
}

// --device / --precision in the flags' own terms. Without a GPU, asking for one fails before
// anything is printed; with one, the same commands run (and `info` names it).
TEST(Cli, DeviceAndPrecisionFlags) {
  const auto info = run("info " + model("tiny"));
  ASSERT_EQ(info.rc, 0) << info.err;
  const bool gpu = info.out.find("GPU           cuda: ") != std::string::npos;
  EXPECT_TRUE(gpu || info.out.find("GPU           none: ") != std::string::npos) << info.out;
  auto r = run("classify " + model("tiny") + " --device cuda", "good\n");
  if (gpu) {
    EXPECT_EQ(r.rc, 0) << r.err;
  } else {
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find("--device cuda"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--device cpu"), std::string::npos) << r.err;
  }
  r = run("classify " + model("tiny") + " --device cpu --precision fp16", "good\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--precision fp16 runs on the GPU only"), std::string::npos) << r.err;
  r = run("classify " + model("tiny") + " --device tpu", "good\n");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("tpu"), std::string::npos) << r.err;
  r = run("classify " + model("tiny") + " --device cpu --precision fp32", "good\n");
  EXPECT_EQ(r.rc, 0) << r.err;
}

TEST(Cli, InfoDescribesTheModel) {
  auto r = run("info " + model("minilm-heads"));
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* part : {"6 layers", "hidden 384", "12 heads", "wordpiece", "great, other", "after layer 6", "MFLOP per token"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  r = run("info --json " + model("minilm-heads"));
  ASSERT_EQ(r.rc, 0);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layers"], 6);
  EXPECT_EQ(j["exits"].size(), 6u);
  EXPECT_NEAR(j["flops_per_token_per_layer"].get<double>(), 2.0 * (4 * 384 * 384 + 2 * 384 * 1536), 1.0);
  r = run("info " + offramp::test::minilm_dir());
  ASSERT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("none: a plain checkpoint"), std::string::npos) << r.out;
}

TEST(Cli, ClassifyLabelledTsvPrintsJsonLinesAndSummary) {
  const std::string tsv = offramp::test::repo_dir() + "/data/fine_foods/test.tsv";
  // Head of the file through stdin keeps it quick.
  std::ifstream in(tsv);
  std::string text, line;
  for (int i = 0; i < 20 && std::getline(in, line); ++i) text += line + "\n";
  const auto r = run("classify " + model("minilm-heads") + " --max-length 64 --threshold 0.7", text);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::istringstream out(r.out);
  int rows = 0;
  while (std::getline(out, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["line"], rows + 1);
    for (const char* k : {"label", "confidence", "exit_layer", "flops", "gold", "tokens"}) EXPECT_TRUE(j.contains(k)) << k;
    ++rows;
  }
  EXPECT_EQ(rows, 20);
  for (const char* part : {"accuracy", "mean exit layer", "FLOPs relative to full depth"})
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
}

TEST(Cli, ClassifyRejectsBadInputWithLineNumbers) {
  auto r = run("classify " + model("tiny") + " -", "great\tgood\nawful\tbad\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("<stdin>:2: unknown label 'awful'"), std::string::npos) << r.err;
  r = run("classify " + model("tiny") + " --format tsv -", "great\tgood\nno tab here\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("<stdin>:2: expected 'label<TAB>text'"), std::string::npos) << r.err;
  r = run("classify " + model("tiny"), "good\n\nbad\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("<stdin>:2: empty text"), std::string::npos) << r.err;
  r = run("classify " + model("tiny"), "");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;
  r = run("classify " + model("tiny") + " /no/such/file.txt");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("/no/such/file.txt: cannot open"), std::string::npos) << r.err;
  r = run("classify /no/such/model", "good\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no such model directory"), std::string::npos) << r.err;
  r = run("classify " + offramp::test::minilm_dir(), "good\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no exit heads"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "nothing half-done on stdout";
}

TEST(Cli, ClassifyInvalidUtf8AndHugeLine) {
  std::string big = "good ";
  while (big.size() < (1u << 20)) big += "taste good ";
  const auto r = run("classify " + model("tiny"), "good \xFF\xFE taste\n" + big + "\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::istringstream out(r.out);
  std::string l1, l2;
  std::getline(out, l1);
  std::getline(out, l2);
  EXPECT_EQ(nlohmann::json::parse(l2)["tokens"], 128);
}

TEST(Cli, ByteOrderMarkIsSkippedAndOverlongLinesAreRefused) {
  // A TSV saved with a UTF-8 BOM: the first label is "great", not "\ufeffgreat".
  auto r = run("classify " + model("tiny") + " -", "\xEF\xBB\xBFgreat\tgood tea\nother\tbad tea\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  const auto with_bom = run("tokenize " + model("tiny"), "\xEF\xBB\xBFgood tea\n");
  EXPECT_EQ(with_bom.out, run("tokenize " + model("tiny"), "good tea\n").out);
  // Over the 256 MiB line limit: an error naming the line, read no further than the limit.
  const std::string dir = offramp::test::fresh_temp_dir("cli_long_line");
  {
    std::ofstream f(dir + "/long.txt", std::ios::binary);
    f << "good tea\n";
    const std::string block(1 << 20, 'a');
    for (int i = 0; i < 257; ++i) f << block;
    f << "\n";
  }
  r = run("tokenize " + model("tiny") + " " + dir + "/long.txt");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("long.txt:2: line longer than 256 MiB"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(Cli, PlotOnJsonOfTheWrongShapeSaysWhatIsWrong) {
  const std::string dir = offramp::test::fresh_temp_dir("cli_plot_shape");
  std::ofstream(dir + "/bad.json") << R"({"benchmarks": [{"name": "Classify/real/b1/t2/full/cpu", "accuracy": "high",
                                          "relative_flops": 1, "inputs_per_s": 3}]})";
  const auto r = run("plot " + dir + "/bad.json");
  if (r.err.find("gnuplot") != std::string::npos && r.rc == 1 && r.err.find("not the shape") == std::string::npos)
    GTEST_SKIP() << "gnuplot missing: " << r.err;
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("bad.json: not the shape of offramp-bench's JSON output"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(Cli, TokenizeMatchesTheLibrary) {
  const auto r = run("tokenize " + offramp::test::minilm_dir(), "Hello, world!\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"], (std::vector<int>{101, 7592, 1010, 2088, 999, 102}));
  EXPECT_EQ(j["tokens"][1], "hello");
  const auto ids = run("tokenize --format ids --max-length 4 " + offramp::test::minilm_dir(), "Hello, world!\n");
  EXPECT_EQ(ids.out, "101 7592 1010 102\n");
}

// OMP_THREAD_LIMIT below the engine's thread count once made oneDNN split its GEMMs for
// threads the parallel region never got, leaving part of each output unwritten: different
// exits and logits without an error. The engine now keeps within the limit.
TEST(Cli, AnOpenMpThreadLimitGivesTheSameResults) {
  std::ifstream in(offramp::test::repo_dir() + "/data/fine_foods/test.tsv");
  std::string text, line;
  for (int i = 0; i < 32 && std::getline(in, line); ++i) text += line.substr(line.find('\t') + 1) + "\n";
  const std::string args = "classify " + model("minilm-heads") + " --threshold 0.8 --logits --threads 2";
  const auto free_run = run(args, text);
  const auto limited = offramp::test::run_command("OMP_THREAD_LIMIT=1 " + std::string(OFFRAMP_CLI) + " " + args, text);
  ASSERT_EQ(free_run.rc, 0) << free_run.err;
  ASSERT_EQ(limited.rc, 0) << limited.err;
  std::istringstream a(free_run.out), b(limited.out);
  std::string la, lb;
  int rows = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {
    const auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
    EXPECT_EQ(ja["exit_layer"], jb["exit_layer"]) << "line " << ja["line"];
    const auto xa = ja["logits"].get<std::vector<double>>(), xb = jb["logits"].get<std::vector<double>>();
    for (size_t k = 0; k < xa.size(); ++k) EXPECT_NEAR(xa[k], xb[k], 1e-4) << "line " << ja["line"];
    ++rows;
  }
  EXPECT_EQ(rows, 32);
}
