// Bad model directories and bad texts: each gives an offramp::Error naming the problem.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/safetensors.h"
#include "offramp/offramp.h"
#include "tests/support/fixtures.h"

using namespace offramp;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("offramp_bad_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d.parent_path());
  fs::copy(test::test_models_dir() + "/tiny", d, fs::copy_options::recursive);
  return d;
}

std::string load_error(const fs::path& dir) {
  try {
    Classifier::load(dir.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void edit_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto j = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  edit(j);
  std::ofstream(dir / "config.json") << j.dump();
}

#define EXPECT_MENTIONS(msg, ...)                                       \
  for (const char* part : {__VA_ARGS__}) EXPECT_NE((msg).find(part), std::string::npos) << "message: " << (msg)

}  // namespace

TEST(BadModel, MissingDirectoryAndFiles) {
  EXPECT_MENTIONS(load_error("/no/such/model"), "/no/such/model", "no such model directory");
  auto d = scratch("no_weights");
  fs::remove(d / "model.safetensors");
  EXPECT_MENTIONS(load_error(d), "model.safetensors", "missing");
  d = scratch("no_vocab");
  fs::remove(d / "vocab.txt");
  EXPECT_MENTIONS(load_error(d), "no tokenizer found");
  d = scratch("half_heads");
  fs::remove(d / "exits.safetensors");
  EXPECT_MENTIONS(load_error(d), "exits.safetensors", "missing");
}

TEST(BadModel, TruncatedAndCorruptWeights) {
  auto d = scratch("truncated");
  fs::resize_file(d / "model.safetensors", fs::file_size(d / "model.safetensors") - 100);
  EXPECT_MENTIONS(load_error(d), "model.safetensors", "outside");
  d = scratch("corrupt");
  {
    std::fstream f(d / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.write("#garbage#", 9);
  }
  EXPECT_MENTIONS(load_error(d), "model.safetensors", "not valid JSON");
  d = scratch("zero_bytes");
  std::ofstream(d / "exits.safetensors", std::ios::trunc).close();
  EXPECT_MENTIONS(load_error(d), "exits.safetensors", "truncated");
}

TEST(BadModel, FilesThatAreNotRegularFilesAreRefusedWithoutBlocking) {
  // A FIFO would block open(2) forever waiting for a writer; a directory would read as empty.
  auto d = scratch("fifo_weights");
  fs::remove(d / "model.safetensors");
  ASSERT_EQ(::mkfifo((d / "model.safetensors").c_str(), 0600), 0);
  EXPECT_MENTIONS(load_error(d), "model.safetensors", "not a regular file (a FIFO)");
  d = scratch("dir_config");
  fs::remove(d / "config.json");
  fs::create_directory(d / "config.json");
  EXPECT_MENTIONS(load_error(d), "config.json", "not a regular file (a directory)");
  d = scratch("fifo_vocab");
  fs::remove(d / "vocab.txt");
  ASSERT_EQ(::mkfifo((d / "vocab.txt").c_str(), 0600), 0);
  EXPECT_MENTIONS(load_error(d), "vocab.txt", "not a regular file (a FIFO)");
}

TEST(BadModel, NanOrInfinityInAWeightNamesTheTensor) {
  for (const auto& [file, bits] : {std::pair{"exits.safetensors", 0x7FC00000u}, {"model.safetensors", 0x7F800000u}}) {
    auto d = scratch(std::string("nonfinite_") + file);
    // Overwrite the first value of the file's last tensor (the data section ends the file).
    const auto f = models::SafetensorsFile::open((d / file).string());
    std::string last;
    uint64_t last_begin = 0;
    for (const auto& [name, info] : f.tensors())
      if (info.begin >= last_begin) last_begin = info.begin, last = name;
    ASSERT_EQ(f.tensors().at(last).dtype, models::DType::F32);
    std::fstream io(d / file, std::ios::in | std::ios::out | std::ios::binary);
    uint64_t header_len = 0;  // little-endian u64, then the JSON header, then the data section
    io.read(reinterpret_cast<char*>(&header_len), 8);
    io.seekp(static_cast<std::streamoff>(8 + header_len + last_begin));
    io.write(reinterpret_cast<const char*>(&bits), 4);
    io.close();
    const std::string tensor = "tensor '" + last + "'";
    EXPECT_MENTIONS(load_error(d), file, tensor.c_str(),
                    bits == 0x7FC00000u ? "holds NaN at element 0" : "holds an infinity at element 0");
  }
}

TEST(BadModel, LyingOffsetsWrongShapeAndDtype) {
  const auto tiny = models::SafetensorsFile::open(test::test_models_dir() + "/tiny/model.safetensors");
  // Rewrite the weights with one tensor changed, keeping everything else valid.
  auto rewrite = [&](const fs::path& dir, const std::string& name, std::vector<int64_t> shape) {
    std::vector<models::NamedTensor> ts;
    for (const auto& [n, info] : tiny.tensors()) {
      auto s = info.shape;
      if (n == name) s = shape;
      size_t numel = 1;
      for (auto x : s) numel *= size_t(x);
      ts.push_back({n, s, n == name ? std::vector<float>(numel, 0.1f) : tiny.read_f32(n, info.shape)});
    }
    models::write_safetensors((dir / "model.safetensors").string(), ts);
  };
  auto d = scratch("wrong_shape");
  rewrite(d, "encoder.layer.1.output.dense.weight", {32, 32});
  EXPECT_MENTIONS(load_error(d), "encoder.layer.1.output.dense.weight", "has shape [32, 32], expected [32, 64]");

  // A header whose offsets point beyond the data, and one declaring I32 for a weight.
  auto raw_weights = [](const fs::path& dir, const std::string& header, size_t data_bytes) {
    test::write_raw_safetensors((dir / "model.safetensors").string(), header, std::string(data_bytes, '\0'));
  };
  d = scratch("lying");
  raw_weights(d, R"({"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[73,32],"data_offsets":[0,999999]}})", 64);
  EXPECT_MENTIONS(load_error(d), "embeddings.word_embeddings.weight", "outside");
  d = scratch("int_weights");
  raw_weights(d, R"({"embeddings.word_embeddings.weight":{"dtype":"I32","shape":[73,32],"data_offsets":[0,9344]}})", 9344);
  EXPECT_MENTIONS(load_error(d), "embeddings.word_embeddings.weight", "dtype I32");
}

TEST(BadModel, ConfigProblems) {
  auto d = scratch("missing_field");
  edit_config(d, [](auto& j) { j.erase("num_attention_heads"); });
  EXPECT_MENTIONS(load_error(d), "config.json", "missing field 'num_attention_heads'");
  d = scratch("gpt2");
  edit_config(d, [](auto& j) { j["model_type"] = "gpt2"; });
  EXPECT_MENTIONS(load_error(d), "unsupported architecture", "gpt2");
  d = scratch("bad_heads");
  edit_config(d, [](auto& j) { j["num_attention_heads"] = 5; });
  EXPECT_MENTIONS(load_error(d), "not divisible");
  d = scratch("not_json");
  std::ofstream(d / "config.json", std::ios::trunc) << "{\"model_type\": ";
  EXPECT_MENTIONS(load_error(d), "config.json", "not valid JSON");
  d = scratch("bad_offramp_json");
  std::ofstream(d / "offramp.json", std::ios::trunc) << R"({"format_version": 1, "labels": ["a","b"], "exits": [{"layer": 9}]})";
  EXPECT_MENTIONS(load_error(d), "offramp.json", "exit layer", "1..");
  d = scratch("huge_exit_layer");  // found by fuzz_config: a 130-digit layer was cast to int
  std::ofstream(d / "offramp.json", std::ios::trunc) << R"({"format_version": 1, "labels": ["a","b"], "exits": [{"layer": 9e130}]})";
  EXPECT_MENTIONS(load_error(d), "offramp.json", "exit layer must be an integer");
  d = scratch("future_format");
  std::ofstream(d / "offramp.json", std::ios::trunc) << R"({"format_version": 7, "labels": ["a","b"], "exits": []})";
  EXPECT_MENTIONS(load_error(d), "format_version 7");
}

TEST(BadText, EmptyInvalidAndHugeTexts) {
  const auto clf = Classifier::load(test::test_models_dir() + "/tiny");
  try {
    clf.classify(std::vector<std::string>{"good", "   "});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_MENTIONS(std::string(e.what()), "text 1 is empty");
  }
  EXPECT_THROW(clf.classify(""), Error);
  // Invalid UTF-8 is classified (bad bytes dropped), never a crash.
  const auto r = clf.classify("good \xFF\xFE\xC3 taste");
  EXPECT_EQ(r.num_tokens, clf.classify("good taste").num_tokens);
  // 1 MB: truncated to max_length (128 for this model).
  std::string big;
  while (big.size() < (1u << 20)) big += "the good taste ";
  const auto rb = clf.classify(big);
  EXPECT_EQ(rb.num_tokens, 128);
  EXPECT_THROW(clf.classify("good", {.max_length = 4096}), Error);
  EXPECT_THROW(clf.classify("good", {.threshold = -1.0}), Error);
}

TEST(BadText, PlainCheckpointCannotClassifyButLoads) {
  const auto clf = Classifier::load(test::test_models_dir() + "/tiny-plain");
  EXPECT_TRUE(clf.info().exits.empty());
  try {
    clf.classify("good");
    FAIL();
  } catch (const Error& e) {
    EXPECT_MENTIONS(std::string(e.what()), "no exit heads", "offramp-train");
  }
}

TEST(BadModel, CudaDeviceWithoutBackend) {
  try {
    Classifier::load(test::test_models_dir() + "/tiny", {.device = Device::Cuda});
    FAIL();
  } catch (const Error& e) {
    EXPECT_MENTIONS(std::string(e.what()), "CUDA");
  }
}
