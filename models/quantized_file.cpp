#include "models/quantized_file.h"

#include <filesystem>
#include <set>

#include "kernels/dense_weight.h"
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
  std::set<std::string> scales;  // of the source's int8 tensors: read with them, rewritten with them
  for (const auto& [name, info] : src.tensors())
    if (info.dtype == DType::I8) scales.insert(name + "_scale");
  std::vector<NamedTensor> out;
  for (const auto& [name, info] : src.tensors()) {
    const bool floating =
        info.dtype == DType::F32 || info.dtype == DType::F16 || info.dtype == DType::BF16 || info.dtype == DType::I8;
    if (!floating || scales.count(name)) continue;
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
    // Int8, per row, by the quantizer the CPU's int8 path uses at load.
    const auto rows = static_cast<size_t>(info.shape[0]), cols = static_cast<size_t>(info.shape[1]);
    NamedTensor scale{name + "_scale", {info.shape[0]}, std::vector<float>(rows), DType::F32};
    std::vector<int8_t> q(t.values.size());
    kernels::quantize_rows_int8(t.values.data(), rows, cols, q.data(), scale.values.data());
    t.values.assign(q.begin(), q.end());
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
