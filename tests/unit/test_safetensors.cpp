// The safetensors reader: round trips, fp16/bf16 conversion, and every malformed file it
// must reject with a message naming the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "models/model_error.h"
#include "models/safetensors.h"
#include "tests/support/fixtures.h"

using namespace offramp::models;
namespace fs = std::filesystem;

namespace {

fs::path tmp_dir() {
  auto d = fs::temp_directory_path() / ("offramp_st_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// Writes a file with a raw header string and raw data bytes.
std::string write_raw(const std::string& name, const std::string& header, const std::string& data) {
  const auto p = (tmp_dir() / name).string();
  offramp::test::write_raw_safetensors(p, header, data);
  return p;
}

std::string error_of(const std::string& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, RoundTripF32) {
  const auto p = (tmp_dir() / "rt.safetensors").string();
  write_safetensors(p, {{"a", {2, 3}, {1, 2, 3, 4, 5, 6}}, {"b", {1}, {-7.5f}}});
  const auto f = SafetensorsFile::open(p);
  EXPECT_EQ(f.read_f32("a", {2, 3}), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(f.read_f32("b", {1}), (std::vector<float>{-7.5f}));
}

TEST(Safetensors, WritesF16AndBf16RoundedToNearestEven) {
  const auto p = (tmp_dir() / "w16.safetensors").string();
  // 1 + 2^-11 lies halfway between fp16 1.0 and 1 + 2^-10: nearest even is 1.0.
  const std::vector<float> v = {1.0f, -2.5f, 1.0f + std::ldexp(1.0f, -11), 3.0f};
  write_safetensors(p, {{"h", {4}, v}}, DType::F16);
  EXPECT_EQ(SafetensorsFile::open(p).read_f32("h", {4}), (std::vector<float>{1.0f, -2.5f, 1.0f, 3.0f}));
  write_safetensors(p, {{"b", {4}, v}}, DType::BF16);
  const auto f = SafetensorsFile::open(p);
  EXPECT_EQ(f.tensors().at("b").dtype_name, "BF16");
  EXPECT_EQ(f.read_f32("b", {4}), (std::vector<float>{1.0f, -2.5f, 1.0f, 3.0f}));
}

TEST(Safetensors, HalfAndBfloatConvertExactly) {
  // fp16: 1.0 = 0x3C00, -2.5 = 0xC100, 65504 = 0x7BFF, smallest subnormal 2^-24 = 0x0001.
  const uint16_t f16[] = {0x3C00, 0xC100, 0x7BFF, 0x0001};
  // bf16: 1.0 = 0x3F80, -3.0 = 0xC040.
  const uint16_t bf16[] = {0x3F80, 0xC040};
  std::string data(reinterpret_cast<const char*>(f16), 8);
  data.append(reinterpret_cast<const char*>(bf16), 4);
  const auto p = write_raw("half.safetensors",
                           R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}})",
                           data);
  const auto f = SafetensorsFile::open(p);
  EXPECT_EQ(f.read_f32("h", {4}), (std::vector<float>{1.0f, -2.5f, 65504.0f, std::ldexp(1.0f, -24)}));
  EXPECT_EQ(f.read_f32("b", {2}), (std::vector<float>{1.0f, -3.0f}));
}

TEST(Safetensors, RejectsMalformedFiles) {
  const std::string ok_data(8, '\0');
  struct Case {
    const char* name;
    std::string header, data, expect;
  };
  const Case cases[] = {
      {"corrupt_json", "{not json", ok_data, "not valid JSON"},
      {"offsets_past_end", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", ok_data, "outside"},
      {"offsets_disagree_with_shape", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", ok_data, "needs 12"},
      {"reversed_offsets", R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", ok_data, "outside"},
      {"overlap", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", ok_data, "overlap"},
      {"unknown_dtype", R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", ok_data, "unknown dtype"},
      {"missing_fields", R"({"a":{"shape":[2]}})", ok_data, "needs dtype"},
      {"negative_dim", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", ok_data, "negative"},
  };
  for (const auto& c : cases) {
    const auto msg = error_of(write_raw(std::string(c.name) + ".safetensors", c.header, c.data));
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(c.name), std::string::npos) << "error should name the file: " << msg;
  }
}

TEST(Safetensors, RejectsTruncatedAndMissingFiles) {
  EXPECT_NE(error_of("/nonexistent/x.safetensors").find("cannot open"), std::string::npos);
  const auto tiny = (tmp_dir() / "tiny.safetensors").string();
  std::ofstream(tiny) << "abc";
  EXPECT_NE(error_of(tiny).find("truncated"), std::string::npos);
  // A valid file cut in half: the header's length now exceeds what remains, or the data does.
  const auto full = (tmp_dir() / "full.safetensors").string();
  write_safetensors(full, {{"w", {64, 64}, std::vector<float>(64 * 64, 1.0f)}});
  const auto cut = (tmp_dir() / "cut.safetensors").string();
  fs::copy_file(full, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(full) / 2);
  EXPECT_NE(error_of(cut).find("outside"), std::string::npos) << error_of(cut);
  fs::resize_file(cut, 20);
  EXPECT_NE(error_of(cut).find("exceeds the file size"), std::string::npos) << error_of(cut);
}

TEST(Safetensors, ReadChecksShapeDtypeAndName) {
  const auto p = write_raw("ints.safetensors", R"({"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0'));
  const auto f = SafetensorsFile::open(p);
  auto msg = [&](const std::string& name, std::vector<int64_t> shape) {
    try {
      f.read_f32(name, shape);
    } catch (const ModelError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg("i", {1}).find("dtype I64"), std::string::npos);
  EXPECT_NE(msg("i", {2}).find("has shape [1], expected [2]"), std::string::npos);
  EXPECT_NE(msg("nope", {1}).find("missing tensor 'nope'"), std::string::npos);
}

TEST(Safetensors, WriterNeverLeavesAHalfWrittenFile) {
  EXPECT_THROW(write_safetensors("/nonexistent-dir/x.safetensors", {{"a", {1}, {1.0f}}}), ModelError);
  EXPECT_FALSE(fs::exists("/nonexistent-dir/x.safetensors"));
}
