// fp16 and bf16 checkpoints: converted to fp32 at load, they must give exactly what an fp32
// checkpoint holding the same (rounded) values gives.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/safetensors.h"
#include "offramp/offramp.h"
#include "tests/support/fixtures.h"

using namespace offramp;
namespace fs = std::filesystem;

namespace {

uint16_t to_half_bits(float f) {
  const _Float16 h = static_cast<_Float16>(f);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}

uint16_t to_bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);  // round to nearest even
}

float half_value(uint16_t b) {
  _Float16 h;
  std::memcpy(&h, &b, 2);
  return static_cast<float>(h);
}

float bf16_value(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Writes `src`'s tensors as 16-bit `dtype` into dir/model.safetensors and, into ref_dir,
// an fp32 copy holding the rounded values.
void write_16bit(const models::SafetensorsFile& src, const std::string& dtype, const fs::path& dir, const fs::path& ref_dir) {
  nlohmann::json header;
  std::string data;
  std::vector<models::NamedTensor> ref;
  for (const auto& [name, info] : src.tensors()) {
    const auto v = src.read_f32(name, info.shape);
    std::vector<float> rounded(v.size());
    const size_t begin = data.size();
    for (size_t i = 0; i < v.size(); ++i) {
      const uint16_t b = dtype == "F16" ? to_half_bits(v[i]) : to_bf16_bits(v[i]);
      rounded[i] = dtype == "F16" ? half_value(b) : bf16_value(b);
      data.append(reinterpret_cast<const char*>(&b), 2);
    }
    header[name] = {{"dtype", dtype}, {"shape", info.shape}, {"data_offsets", {begin, data.size()}}};
    ref.push_back({name, info.shape, rounded});
  }
  const std::string h = header.dump();
  std::ofstream out(dir / "model.safetensors", std::ios::binary | std::ios::trunc);
  const uint64_t n = h.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << h << data;
  out.close();
  models::write_safetensors_f32((ref_dir / "model.safetensors").string(), ref);
}

}  // namespace

TEST(ModelDtypes, Fp16AndBf16CheckpointsEqualTheirFp32Rounding) {
  const fs::path tiny = test::test_models_dir() + "/tiny";
  const auto src = models::SafetensorsFile::open((tiny / "model.safetensors").string());
  const std::vector<std::string> texts = {"the good taste", "not very tasty. bad bag!", "great"};
  for (const std::string dtype : {"F16", "BF16"}) {
    const fs::path base = fs::temp_directory_path() / ("offramp_dtype_" + std::to_string(::getpid()));
    const fs::path half = base / dtype, ref = base / (dtype + "_ref");
    for (const auto& d : {half, ref}) {
      fs::remove_all(d);
      fs::create_directories(d.parent_path());
      fs::copy(tiny, d, fs::copy_options::recursive);
    }
    write_16bit(src, dtype, half, ref);
    const auto a = Classifier::load(half.string()).classify(texts, {.threshold = 2.0});
    const auto b = Classifier::load(ref.string()).classify(texts, {.threshold = 2.0});
    const auto full = Classifier::load(tiny.string()).classify(texts, {.threshold = 2.0});
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(a[i].probabilities, b[i].probabilities) << dtype << " text " << i;
      // And the rounding changes results only slightly against the original fp32 weights.
      for (size_t k = 0; k < a[i].probabilities.size(); ++k)
        EXPECT_NEAR(a[i].probabilities[k], full[i].probabilities[k], dtype == "F16" ? 2e-2 : 5e-2) << dtype;
    }
    fs::remove_all(base);
  }
}
