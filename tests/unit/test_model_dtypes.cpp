// fp16 and bf16 checkpoints: converted to fp32 at load, they must give exactly what an fp32
// checkpoint holding the same (rounded) values gives.
#include <gtest/gtest.h>

#include <filesystem>

#include "models/safetensors.h"
#include "offramp/offramp.h"
#include "tests/support/fixtures.h"

using namespace offramp;
namespace fs = std::filesystem;

namespace {

// Writes `src`'s tensors as `dtype` into dir/model.safetensors and, into ref_dir, an fp32
// copy holding the values the 16-bit file reads back as.
void write_16bit(const models::SafetensorsFile& src, models::DType dtype, const fs::path& dir, const fs::path& ref_dir) {
  std::vector<models::NamedTensor> tensors;
  for (const auto& [name, info] : src.tensors()) tensors.push_back({name, info.shape, src.read_f32(name, info.shape)});
  const auto path = (dir / "model.safetensors").string();
  models::write_safetensors(path, tensors, dtype);
  const auto half = models::SafetensorsFile::open(path);
  for (auto& t : tensors) {
    ASSERT_EQ(half.tensors().at(t.name).dtype, dtype);
    t.values = half.read_f32(t.name, t.shape);
  }
  models::write_safetensors((ref_dir / "model.safetensors").string(), tensors);
}

}  // namespace

TEST(ModelDtypes, Fp16AndBf16CheckpointsEqualTheirFp32Rounding) {
  const fs::path tiny = test::test_models_dir() + "/tiny";
  const auto src = models::SafetensorsFile::open((tiny / "model.safetensors").string());
  const std::vector<std::string> texts = {"the good taste", "not very tasty. bad bag!", "great"};
  for (const auto dtype : {models::DType::F16, models::DType::BF16}) {
    const std::string name = dtype == models::DType::F16 ? "F16" : "BF16";
    const fs::path base = fs::temp_directory_path() / ("offramp_dtype_" + std::to_string(::getpid()));
    const fs::path half = base / name, ref = base / (name + "_ref");
    for (const auto& d : {half, ref}) {
      fs::remove_all(d);
      fs::create_directories(d.parent_path());
      fs::copy(tiny, d, fs::copy_options::recursive);
    }
    write_16bit(src, dtype, half, ref);
    const auto a = Classifier::load(half.string()).classify(texts, {.full_depth = true});
    const auto b = Classifier::load(ref.string()).classify(texts, {.full_depth = true});
    const auto full = Classifier::load(tiny.string()).classify(texts, {.full_depth = true});
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(a[i].probabilities, b[i].probabilities) << name << " text " << i;
      // And the rounding changes results only slightly against the original fp32 weights.
      for (size_t k = 0; k < a[i].probabilities.size(); ++k)
        EXPECT_NEAR(a[i].probabilities[k], full[i].probabilities[k], dtype == models::DType::F16 ? 2e-2 : 5e-2) << name;
    }
    fs::remove_all(base);
  }
}
