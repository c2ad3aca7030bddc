// Quantized model files (`offramp quantize`, models/quantized_file.h): a round trip gives what
// quantizing at load gives, the files are smaller by what their dtypes say, and bad scale
// tensors, mismatched shapes and unknown formats are clear errors naming the tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "models/bert_config.h"
#include "models/model_error.h"
#include "models/quantized_file.h"
#include "models/safetensors.h"
#include "offramp/offramp.h"
#include "tests/support/fixtures.h"

using namespace offramp;
namespace fs = std::filesystem;

namespace {

// A copy of `src` with model.safetensors quantized to `p`.
fs::path quantized_copy(const fs::path& src, models::StoredPrecision p, const std::string& name) {
  const fs::path dir = test::fresh_temp_dir(name);
  fs::copy(src, dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const auto cfg = models::load_bert_config((src / "config.json").string());
  models::write_quantized(models::SafetensorsFile::open((src / "model.safetensors").string()), cfg, p,
                          (dir / "model.safetensors").string());
  return dir;
}

std::vector<std::string> texts() {
  std::vector<std::string> t;
  for (const auto& [label, text] : test::read_tsv(test::repo_dir() + "/data/fine_foods/dev.tsv")) {
    if (t.size() == 24) break;
    t.push_back(text);
  }
  return t;
}

// An I8 tensor "w" [2, 3] with its scale tensor given by header/data pieces.
std::string expect_read_error(const std::string& scale_entry, const std::string& scale_bytes, const std::string& name) {
  const fs::path dir = test::fresh_temp_dir(name);
  const std::string q = std::string("\x01\x02\x03\xff\xfe\x7f", 6);
  const std::string header = R"({"w":{"dtype":"I8","shape":[2,3],"data_offsets":[0,6]})" +
                             (scale_entry.empty() ? "" : "," + scale_entry) + "}";
  test::write_raw_safetensors((dir / "m.safetensors").string(), header, q + scale_bytes);
  try {
    models::SafetensorsFile::open((dir / "m.safetensors").string()).read_f32("w", {2, 3});
  } catch (const models::ModelError& e) {
    return e.what();
  }
  return "no error";
}

std::string floats(std::initializer_list<float> v) {
  std::string s;
  for (float f : v) s.append(reinterpret_cast<const char*>(&f), 4);
  return s;
}

}  // namespace

TEST(QuantizedFile, RoundTripGivesWhatQuantizingAtLoadGives) {
  const fs::path src = test::test_models_dir() + "/minilm-heads-mean";
  const auto all = texts();
  const ClassifyOptions opt{.max_length = 64, .full_depth = true};
  for (const auto& [stored, precision] :
       {std::pair{models::StoredPrecision::Int8, Precision::Int8}, {models::StoredPrecision::BF16, Precision::BF16}}) {
    const std::string name = models::stored_precision_name(stored);
    SCOPED_TRACE(name);
    const fs::path q = quantized_copy(src, stored, "quantized_" + name);
    // The file loads at its stored precision by default, and gives what the FP32 file gives
    // quantized at load (int8: the same int8 weights, scales within a rounding of each other).
    const auto from_file = Classifier::load(q.string(), {.device = Device::Cpu});
    EXPECT_EQ(from_file.info().precision, name);
    const auto at_load = Classifier::load(src.string(), {.device = Device::Cpu, .precision = precision});
    const auto a = from_file.classify(all, opt), b = at_load.classify(all, opt);
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(a[i].label, b[i].label);
      for (size_t k = 0; k < a[i].probabilities.size(); ++k)
        EXPECT_NEAR(a[i].probabilities[k], b[i].probabilities[k], 1e-5) << "text " << i;
    }
    // The size: int8 matrices take a byte per weight (+ a scale per row), bf16 two.
    const double ratio = static_cast<double>(fs::file_size(q / "model.safetensors")) /
                         static_cast<double>(fs::file_size(src / "model.safetensors"));
    if (stored == models::StoredPrecision::Int8) {
      EXPECT_LT(ratio, 0.30);
      EXPECT_LT(from_file.info().weight_bytes, at_load.info().weight_bytes + 1);
      EXPECT_LT(static_cast<double>(from_file.info().weight_bytes),
                0.35 * static_cast<double>(Classifier::load(src.string(), {.device = Device::Cpu}).info().weight_bytes));
    } else {
      EXPECT_LT(ratio, 0.55);
      EXPECT_GT(ratio, 0.45);
    }
    // Asking for another precision still works (the stored values read as FP32).
    EXPECT_EQ(Classifier::load(q.string(), {.device = Device::Cpu, .precision = Precision::F32}).info().precision, "fp32");
  }
}

TEST(QuantizedFile, BadScalesAndShapesAreClearErrors) {
  const std::string scale_ok = R"("w_scale":{"dtype":"F32","shape":[2],"data_offsets":[6,14]})";
  EXPECT_EQ(expect_read_error(scale_ok, floats({0.5f, 0.25f}), "q_ok"), "no error");
  EXPECT_NE(expect_read_error("", "", "q_missing").find("no 'w_scale'"), std::string::npos);
  EXPECT_NE(expect_read_error(scale_ok, floats({-0.5f, 0.25f}), "q_negative").find("finite and positive"),
            std::string::npos);
  EXPECT_NE(expect_read_error(scale_ok, floats({std::numeric_limits<float>::quiet_NaN(), 1.0f}), "q_nan")
                .find("finite and positive"),
            std::string::npos);
  EXPECT_NE(expect_read_error(R"("w_scale":{"dtype":"F32","shape":[3],"data_offsets":[6,18]})",
                              floats({1.0f, 1.0f, 1.0f}), "q_shape")
                .find("expected F32 [2]"),
            std::string::npos);
  EXPECT_NE(expect_read_error(R"("w_scale":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]})", std::string(4, '\0'),
                              "q_dtype")
                .find("expected F32 [2]"),
            std::string::npos);
  // The values: q times the row's scale.
  const fs::path dir = test::fresh_temp_dir("q_values");
  test::write_raw_safetensors((dir / "m.safetensors").string(),
                              R"({"w":{"dtype":"I8","shape":[2,3],"data_offsets":[0,6]},)" + scale_ok + "}",
                              std::string("\x01\x02\x03\xff\xfe\x7f", 6) + floats({0.5f, 0.25f}));
  const auto v = models::SafetensorsFile::open((dir / "m.safetensors").string()).read_f32("w", {2, 3});
  EXPECT_EQ(v, (std::vector<float>{0.5f, 1.0f, 1.5f, -0.25f, -0.5f, 31.75f}));
  // A shape the model does not expect is the loader's usual error.
  EXPECT_THROW(models::SafetensorsFile::open((dir / "m.safetensors").string()).read_f32("w", {3, 2}), models::ModelError);
  // The writer refuses I8 values that are not int8 integers, before writing anything.
  EXPECT_THROW(models::write_safetensors((dir / "bad.safetensors").string(),
                                         {{"w", {2}, {1.5f, 2.0f}, models::DType::I8}}),
               models::ModelError);
  EXPECT_FALSE(fs::exists(dir / "bad.safetensors"));
}

TEST(QuantizedFile, UnknownFormatsAndNewerVersionsAreClearErrors) {
  const fs::path dir = test::fresh_temp_dir("q_meta");
  const auto meta_error = [&](const std::map<std::string, std::string>& meta) -> std::string {
    models::write_safetensors((dir / "m.safetensors").string(), {{"x", {1}, {1.0f}}}, models::DType::F32, meta);
    try {
      (void)models::stored_precision(models::SafetensorsFile::open((dir / "m.safetensors").string()));
    } catch (const models::ModelError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(meta_error({}), "no error");
  EXPECT_EQ(meta_error({{"offramp_weights", "int8"}, {"offramp_weights_version", "1"}}), "no error");
  EXPECT_NE(meta_error({{"offramp_weights", "int8"}, {"offramp_weights_version", "2"}}).find("newer than this build"),
            std::string::npos);
  EXPECT_NE(meta_error({{"offramp_weights", "int4"}, {"offramp_weights_version", "1"}}).find("unknown offramp_weights"),
            std::string::npos);
  EXPECT_NE(meta_error({{"offramp_weights", "int8"}}).find("offramp_weights_version"), std::string::npos);
}

TEST(QuantizedFile, TheCliWritesALoadableCopyAndRefusesToOverwrite) {
  const std::string src = test::test_models_dir() + "/minilm-heads-mean";
  const fs::path out = fs::path(test::fresh_temp_dir("q_cli")) / "int8";
  const auto r = test::run_command(std::string(OFFRAMP_CLI) + " quantize " + src + " --precision int8 --out " +
                                   out.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("loads as int8"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(out / "offramp.json"));
  EXPECT_TRUE(fs::exists(out / "exits.safetensors"));
  // Into a directory that holds something: refused, and what is there is untouched.
  const auto size = fs::file_size(out / "model.safetensors");
  const auto again = test::run_command(std::string(OFFRAMP_CLI) + " quantize " + src +
                                       " --precision bf16 --out " + out.string());
  EXPECT_EQ(again.rc, 1);
  EXPECT_NE(again.err.find("not an empty directory"), std::string::npos) << again.err;
  EXPECT_EQ(fs::file_size(out / "model.safetensors"), size);
  EXPECT_NE(test::run_command(std::string(OFFRAMP_CLI) + " quantize " + src + " --precision int4 --out " +
                              out.string() + "x")
                .rc,
            0);
}
