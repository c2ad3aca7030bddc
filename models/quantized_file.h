// Offramp's quantized checkpoints (`offramp quantize`): model.safetensors with the encoder's
// big matrices (the six projection weights of every layer and the word embeddings) stored in
// int8 (per-row symmetric, "<name>_scale" beside each; safetensors.h dequantizes on read) or
// bf16, every other tensor F32, and the header's metadata saying so:
//   "offramp_weights": "int8" | "bf16",  "offramp_weights_version": "1".
// Row r of an int8 matrix: q = round(w / s), s = max |w[r, :]| / 127, exactly the scales the
// CPU's int8 path computes at load (kernels/dense_weight.h), so a quantized file and an FP32
// file quantized at load give the same int8 weights.
#pragma once

#include <string>

#include "models/bert_config.h"
#include "models/safetensors.h"

namespace offramp::models {

constexpr int kQuantizedFormatVersion = 1;

enum class StoredPrecision { F32, BF16, Int8 };
const char* stored_precision_name(StoredPrecision p);  // "fp32" / "bf16" / "int8"

// What a model.safetensors stores: F32 unless its metadata names a quantized format. Throws
// ModelError for an unknown format or a version newer than this build reads.
StoredPrecision stored_precision(const SafetensorsFile& f);

// Writes `src` (a checkpoint of config `c`) to `out_path` with its matrices at `p` (BF16 or
// Int8). Tensors that are not floating point (HF's position_ids buffers) are left out: the
// loader never reads them. Returns the bytes written.
size_t write_quantized(const SafetensorsFile& src, const BertConfig& c, StoredPrecision p, const std::string& out_path);

}  // namespace offramp::models
