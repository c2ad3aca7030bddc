#include "models/quantized_file.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "models/family.h"
#include "models/model_error.h"

namespace offramp::models {

const char* stored_precision_name(StoredPrecision p) {
  return p == StoredPrecision::Int8 ? "int8" : p == StoredPrecision::BF16 ? "bf16" : "fp32";
}

StoredPrecision stored_precision(const SafetensorsFile& f) {
  const auto& meta = f.metadata();
  const auto w = meta.find("offramp_weights");
  if (w == meta.end()) return StoredPrecision::F32;
  const auto v = meta.find("offramp_weights_version");
  int version = 0;
  try {
    version = v == meta.end() ? 0 : std::stoi(v->second);
  } catch (const std::exception&) {
  }
  if (version < 1)
    throw ModelError(f.path() + ": metadata offramp_weights_version is missing or not a positive integer");
  if (version > kQuantizedFormatVersion)
    throw ModelError(f.path() + ": quantized format version " + std::to_string(version) + " is newer than this build reads (" +
                     std::to_string(kQuantizedFormatVersion) + "); update Offramp or quantize the FP32 model again");
  if (w->second == "int8") return StoredPrecision::Int8;
  if (w->second == "bf16") return StoredPrecision::BF16;
  throw ModelError(f.path() + ": unknown offramp_weights '" + w->second + "' (int8 or bf16)");
}

size_t write_quantized(const SafetensorsFile& src, const BertConfig& c, StoredPrecision p, const std::string& out_path) {
  if (p == StoredPrecision::F32) throw ModelError(out_path + ": quantize to int8 or bf16");
  const FamilyDescription& fam = *c.family;
  const std::string prefix = src.has(fam.task_prefix + fam.name_of(EncoderTensor::Word)) ? fam.task_prefix : "";
  // The matrices stored at `p`: the layers' projections and the word embeddings.
  std::set<std::string> matrices;
  using T = EncoderTensor;
  for (const TensorSpec& t : encoder_tensors(fam, c))
    if (t.role == T::Word || t.role == T::QueryW || t.role == T::KeyW || t.role == T::ValueW ||
        t.role == T::AttnOutW || t.role == T::FfnInW || t.role == T::FfnOutW)
      matrices.insert(prefix + t.name);
  std::vector<NamedTensor> out;
  for (const auto& [name, info] : src.tensors()) {
    if (info.dtype != DType::F32 && info.dtype != DType::F16 && info.dtype != DType::BF16 && info.dtype != DType::I8)
      continue;
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_scale") == 0 && src.has(name.substr(0, name.size() - 6)) &&
        src.tensors().at(name.substr(0, name.size() - 6)).dtype == DType::I8)
      continue;  // an int8 tensor's scales: rewritten with it
    NamedTensor t{name, info.shape, src.read_f32(name, info.shape)};
    if (!matrices.count(name) || info.shape.size() != 2) {
      out.push_back(std::move(t));
      continue;
    }
    if (p == StoredPrecision::BF16) {
      t.dtype = DType::BF16;
      out.push_back(std::move(t));
      continue;
    }
    // Int8, per row: q = round(w / s), s = max |w[r, :]| / 127 (1 for a zero row).
    const auto rows = static_cast<size_t>(info.shape[0]), cols = static_cast<size_t>(info.shape[1]);
    NamedTensor scale{name + "_scale", {info.shape[0]}, std::vector<float>(rows), DType::F32};
    for (size_t r = 0; r < rows; ++r) {
      float* row = t.values.data() + r * cols;
      float amax = 0;
      for (size_t k = 0; k < cols; ++k) amax = std::max(amax, std::fabs(row[k]));
      const float s = amax > 0 ? amax / 127.0f : 1.0f;
      scale.values[r] = s;
      for (size_t k = 0; k < cols; ++k) row[k] = std::clamp(std::nearbyint(row[k] / s), -127.0f, 127.0f);
    }
    t.dtype = DType::I8;
    out.push_back(std::move(t));
    out.push_back(std::move(scale));
  }
  write_safetensors(out_path, out, DType::F32,
                    {{"offramp_weights", stored_precision_name(p)},
                     {"offramp_weights_version", std::to_string(kQuantizedFormatVersion)}});
  return static_cast<size_t>(std::filesystem::file_size(out_path));
}

}  // namespace offramp::models
