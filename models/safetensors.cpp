#include "models/safetensors.h"
#include "models/model_file.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/model_error.h"

namespace offramp::models {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw ModelError(path + ": " + what);
}

DType parse_dtype(const std::string& s, size_t* bytes) {
  if (s == "F32") return *bytes = 4, DType::F32;
  if (s == "F16") return *bytes = 2, DType::F16;
  if (s == "BF16") return *bytes = 2, DType::BF16;
  if (s == "I8") return *bytes = 1, DType::I8;
  if (s == "I64") return *bytes = 8, DType::I64;
  if (s == "I32") return *bytes = 4, DType::I32;
  static const std::map<std::string, size_t> others = {
      {"F64", 8}, {"I16", 2}, {"I8", 1}, {"U8", 1}, {"BOOL", 1}, {"U16", 2}, {"U32", 4},
      {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  auto it = others.find(s);
  if (it == others.end()) return *bytes = 0, DType::Other;
  return *bytes = it->second, DType::Other;
}

size_t dtype_bytes(DType t) { return t == DType::F32 ? 4 : t == DType::I8 ? 1 : 2; }
const char* dtype_name_of(DType t) {
  return t == DType::F32 ? "F32" : t == DType::F16 ? "F16" : t == DType::BF16 ? "BF16" : "I8";
}

}  // namespace

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  std::ifstream in = open_model_file(path);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (size < 8) fail(path, "truncated: " + std::to_string(size) + " bytes, not even the 8-byte header length");
  uint8_t len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > size - 8)
    fail(path, "header length " + std::to_string(header_len) + " exceeds the file size " +
                   std::to_string(size) + " (truncated or not a safetensors file)");
  if (header_len > (100u << 20)) fail(path, "header length " + std::to_string(header_len) + " is implausibly large");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    fail(path, std::string("header is not valid JSON (corrupt file?): ") + e.what());
  }
  if (!j.is_object()) fail(path, "header is not a JSON object");

  SafetensorsFile f;
  f.path_ = path;
  const uint64_t data_size = size - 8 - header_len;
  for (auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, "__metadata__ is not a JSON object");
      for (auto& [key, value] : v.items())
        if (value.is_string()) f.metadata_[key] = value.get<std::string>();
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets") ||
        !v["dtype"].is_string() || !v["shape"].is_array() || !v["data_offsets"].is_array() ||
        v["data_offsets"].size() != 2)
      fail(path, where + ": header entry needs dtype, shape and data_offsets [begin, end]");
    TensorInfo t;
    size_t elem_bytes = 0;
    t.dtype_name = v["dtype"].get<std::string>();
    t.dtype = parse_dtype(t.dtype_name, &elem_bytes);
    if (elem_bytes == 0) fail(path, where + ": unknown dtype '" + t.dtype_name + "'");
    uint64_t numel = 1;
    for (auto& d : v["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) fail(path, where + ": shape has a negative or non-integer dimension");
      const auto dim = d.get<int64_t>();
      if (dim != 0 && numel > (uint64_t{1} << 50) / static_cast<uint64_t>(dim)) fail(path, where + ": shape is implausibly large");
      numel *= static_cast<uint64_t>(dim);
      t.shape.push_back(dim);
    }
    for (auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) fail(path, where + ": data_offsets must be non-negative integers");
    t.begin = v["data_offsets"][0].get<uint64_t>();
    t.end = v["data_offsets"][1].get<uint64_t>();
    if (t.begin > t.end || t.end > data_size)
      fail(path, where + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                     ") lie outside the " + std::to_string(data_size) + "-byte data section (truncated file?)");
    if (t.end - t.begin != numel * elem_bytes)
      fail(path, where + ": data_offsets span " + std::to_string(t.end - t.begin) + " bytes but " +
                     t.dtype_name + " " + shape_str(t.shape) + " needs " + std::to_string(numel * elem_bytes));
    f.tensors_.emplace(name, std::move(t));
  }
  // Tensors must not overlap (a lying header could alias one tensor's bytes as another's).
  std::vector<std::pair<uint64_t, const std::string*>> spans;
  for (auto& [name, t] : f.tensors_)
    if (t.end > t.begin) spans.push_back({t.begin, &name});
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    const auto& prev = f.tensors_.at(*spans[i - 1].second);
    if (spans[i].first < prev.end)
      fail(path, "tensors '" + *spans[i - 1].second + "' and '" + *spans[i].second + "' overlap in the data section");
  }
  f.data_.resize(data_size);
  in.read(reinterpret_cast<char*>(f.data_.data()), static_cast<std::streamsize>(data_size));
  if (static_cast<uint64_t>(in.gcount()) != data_size) fail(path, "short read of the data section");
  return f;
}

std::vector<float> SafetensorsFile::read_f32(const std::string& name,
                                             const std::vector<int64_t>& shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail(path_, "missing tensor '" + name + "'");
  const TensorInfo& t = it->second;
  if (t.shape != shape)
    fail(path_, "tensor '" + name + "' has shape " + shape_str(t.shape) + ", expected " + shape_str(shape));
  const uint8_t* p = data_.data() + t.begin;
  const size_t n = (t.end - t.begin) / dtype_bytes(t.dtype);
  std::vector<float> out(n);
  switch (t.dtype) {
    case DType::F32:
      if (n > 0) std::memcpy(out.data(), p, n * 4);  // an empty tensor's out.data() may be null
      break;
    case DType::F16:
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, p + 2 * i, 2);
        out[i] = t.dtype == DType::F16 ? static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(v))
                                       : static_cast<float>(Eigen::numext::bit_cast<Eigen::bfloat16>(v));
      }
      break;
    case DType::I8: {
      // Dequantized with its per-row scales, checked first: a bad scale must not become a
      // silently wrong weight.
      const std::string sname = name + "_scale";
      auto s = tensors_.find(sname);
      if (s == tensors_.end())
        fail(path_, "int8 tensor '" + name + "' has no '" + sname + "' (one F32 scale per row) beside it");
      const int64_t rows = shape.empty() ? 1 : shape[0];
      if (s->second.dtype != DType::F32 || s->second.shape != std::vector<int64_t>{rows})
        fail(path_, "'" + sname + "' is " + s->second.dtype_name + " " + shape_str(s->second.shape) + "; expected F32 [" +
                        std::to_string(rows) + "] (one scale per row of '" + name + "')");
      std::vector<float> scale(static_cast<size_t>(rows));
      if (rows > 0) std::memcpy(scale.data(), data_.data() + s->second.begin, scale.size() * 4);
      for (size_t r = 0; r < scale.size(); ++r)
        if (!(std::isfinite(scale[r]) && scale[r] > 0))
          fail(path_, "'" + sname + "' holds " + std::to_string(scale[r]) + " at row " + std::to_string(r) +
                          ": a scale must be finite and positive");
      const size_t per_row = rows > 0 ? n / static_cast<size_t>(rows) : 0;
      for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<float>(static_cast<int8_t>(p[i])) * scale[per_row ? i / per_row : 0];
      break;
    }
    default:
      fail(path_, "tensor '" + name + "' has dtype " + t.dtype_name + "; expected F32, F16, BF16 or I8");
  }
  // A NaN or infinity in a weight would make every result NaN or a silent wrong label.
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(out[i]))
      fail(path_, "tensor '" + name + "' holds " + (std::isnan(out[i]) ? "NaN" : "an infinity") + " at element " +
                      std::to_string(i) + " (of " + std::to_string(n) + "): the checkpoint is corrupt or diverged");
  return out;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors, DType dtype,
                       const std::map<std::string, std::string>& metadata) {
  const auto type_of = [&](const NamedTensor& t) { return t.dtype == DType::Other ? dtype : t.dtype; };
  // {"format": "pt"}: what torch-written checkpoints carry; HF transformers refuses files without it.
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
  for (const auto& [key, value] : metadata) header["__metadata__"][key] = value;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const DType ty = type_of(t);
    if (ty != DType::F32 && ty != DType::F16 && ty != DType::BF16 && ty != DType::I8)
      throw ModelError(path + ": can only write F32, F16, BF16 or I8 tensors");
    uint64_t numel = 1;
    for (auto d : t.shape) numel *= static_cast<uint64_t>(d);
    if (numel != t.values.size())
      throw ModelError(path + ": tensor '" + t.name + "' has " + std::to_string(t.values.size()) +
                       " values for shape " + shape_str(t.shape));
    if (ty == DType::I8)  // checked before anything is written
      for (float v : t.values)
        if (!(v >= -127 && v <= 127 && v == std::nearbyint(v)))
          throw ModelError(path + ": tensor '" + t.name + "': I8 values must be integers in [-127, 127]");
    const uint64_t bytes = numel * dtype_bytes(ty);
    header[t.name] = {{"dtype", dtype_name_of(ty)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
  // Write to a temporary name and rename, so a failure never leaves a half-written file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError(path + ": cannot write (directory missing or not writable)");
    uint64_t len = h.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    std::vector<uint16_t> half;
    std::vector<int8_t> bytes;
    for (const auto& t : tensors) {
      const DType ty = type_of(t);
      if (ty == DType::I8) {
        bytes.resize(t.values.size());
        for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<int8_t>(t.values[i]);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        continue;
      }
      if (ty == DType::F32) {
        out.write(reinterpret_cast<const char*>(t.values.data()), static_cast<std::streamsize>(t.values.size() * 4));
        continue;
      }
      // Round to nearest even (Eigen's conversions).
      half.resize(t.values.size());
      for (size_t i = 0; i < half.size(); ++i)
        half[i] = ty == DType::F16 ? Eigen::numext::bit_cast<uint16_t>(Eigen::half(t.values[i]))
                                      : Eigen::numext::bit_cast<uint16_t>(Eigen::bfloat16(t.values[i]));
      out.write(reinterpret_cast<const char*>(half.data()), static_cast<std::streamsize>(half.size() * 2));
    }
    if (!out) throw ModelError(path + ": write failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw ModelError(path + ": cannot rename " + tmp);
}

}  // namespace offramp::models
