// A validating reader for the safetensors format
// (8-byte little-endian header length, JSON header, raw tensor bytes).
//
// Every tensor's dtype, shape and [begin, end) data offsets are checked against each other
// and against the file size; overlapping tensors are rejected. fp16 and bf16 tensors are
// converted to fp32 when read, and so are int8 tensors, which Offramp's quantized files
// (`offramp quantize`) store with one scale per row beside them: I8 "<name>" [rows, ...] and
// F32 "<name>_scale" [rows], value = q * scale of its row.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace offramp::models {

enum class DType { F32, F16, BF16, I8, I64, I32, Other };

struct TensorInfo {
  DType dtype;
  std::string dtype_name;      // as written in the header ("F32", ...)
  std::vector<int64_t> shape;
  uint64_t begin, end;         // byte offsets into the data section
};

class SafetensorsFile {
 public:
  // Reads and validates the whole file. Throws ModelError naming the file and the problem.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  // The header's "__metadata__" (string values; empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor converted to fp32. Throws unless it exists, is F32/F16/BF16 (or I8 with a valid
  // "<name>_scale": F32, one finite positive scale per row) and has exactly `shape`.
  std::vector<float> read_f32(const std::string& name, const std::vector<int64_t>& shape) const;

 private:
  std::string path_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  std::vector<uint8_t> data_;  // the data section
};

// Writes tensors (name -> shape, fp32 values) as a safetensors file of `dtype` (F32, F16 or
// BF16; 16-bit values rounded to nearest even). Used for exit heads, fp16 copies of models
// and by tests. Atomic (write, then rename); throws ModelError when it cannot write.
// A tensor's `dtype` (F32, F16, BF16 or I8) overrides the file's; I8 values must be integers
// in [-127, 127] (the caller writes "<name>_scale" beside them). `metadata` joins
// {"format": "pt"} in the header.
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
  DType dtype = DType::Other;  // Other: the file's dtype
};
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       DType dtype = DType::F32, const std::map<std::string, std::string>& metadata = {});

std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace offramp::models
