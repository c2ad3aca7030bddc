#include "server/kserve_codec.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "server/bytes_tensor.h"

namespace offramp::server {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& message) { throw RequestError(400, message); }

// Appends the strings of a (possibly nested) JSON array in row-major order.
void flatten_strings(const json& data, std::vector<std::string>& out) {
  if (data.is_array()) {
    for (const auto& d : data) flatten_strings(d, out);
    return;
  }
  if (!data.is_string()) bad("input 'text': every element of \"data\" must be a string (got " + std::string(data.type_name()) + ")");
  out.push_back(data.get<std::string>());
}

// n x (uint32 little-endian length, bytes), exactly filling `raw`.
std::vector<std::string> decode_bytes(std::string_view raw, size_t expected) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < raw.size()) {
    if (raw.size() - at < 4) bad("input 'text': binary data ends inside an element's 4-byte length");
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data() + at);
    const uint32_t n = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                       static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    at += 4;
    if (n > raw.size() - at)
      bad("input 'text': binary element " + std::to_string(out.size()) + " says " + std::to_string(n) +
          " bytes, only " + std::to_string(raw.size() - at) + " remain");
    if (out.size() == expected)
      bad("input 'text': binary data holds more elements than its shape's " + std::to_string(expected));
    out.emplace_back(raw.substr(at, n));
    at += n;
  }
  return out;
}

size_t element_count(const json& shape) {
  if (!shape.is_array() || shape.empty() || shape.size() > 2)
    bad("input 'text': \"shape\" must be [n] or [n, 1]");
  size_t count = 1;
  for (const auto& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) bad("input 'text': \"shape\" must hold non-negative integers");
    count *= static_cast<size_t>(d.get<int64_t>());
  }
  if (shape.size() == 2 && shape[1].get<int64_t>() != 1) bad("input 'text': \"shape\" must be [n] or [n, 1]");
  return count;
}

template <typename T>
T parameter(const json& params, const char* name, bool (json::*is)() const noexcept, const char* what) {
  const json& v = params.at(name);
  if (!(v.*is)()) bad(std::string("parameter '") + name + "' must be " + what);
  return v.get<T>();
}

void read_parameters(const json& params, InferRequest& r, bool& binary_output) {
  if (!params.is_object()) bad("\"parameters\" must be an object");
  ClassifyOptions& o = r.options;
  if (params.contains("threshold"))
    o.threshold = parameter<double>(params, "threshold", &json::is_number, "a number");
  if (params.contains("policy")) {
    try {
      o.policy = parse_policy(parameter<std::string>(params, "policy", &json::is_string, "a string"));
    } catch (const Error& e) {
      bad(std::string("parameter 'policy': ") + e.what());
    }
  }
  if (params.contains("patience"))
    o.patience = parameter<int>(params, "patience", &json::is_number_integer, "an integer");
  if (params.contains("exit_layer"))
    o.exit_layer = parameter<int>(params, "exit_layer", &json::is_number_integer, "an integer");
  if (params.contains("full_depth"))
    o.full_depth = parameter<bool>(params, "full_depth", &json::is_boolean, "true or false");
  if (params.contains("timeout")) {
    const auto us = parameter<int64_t>(params, "timeout", &json::is_number_integer, "an integer (microseconds)");
    if (us < 0) bad("parameter 'timeout' must be >= 0 microseconds");
    if (us > 0) r.timeout = std::chrono::microseconds(us);
  }
  if (params.contains("binary_data_output"))
    binary_output = parameter<bool>(params, "binary_data_output", &json::is_boolean, "true or false");
}

}  // namespace

const std::vector<std::string>& output_names() {
  static const std::vector<std::string> names = {"label", "probabilities", "exit_layer", "flops"};
  return names;
}

InferRequest parse_infer_request(std::string_view body, std::optional<size_t> header_length) {
  if (header_length && *header_length > body.size())
    bad("Inference-Header-Content-Length " + std::to_string(*header_length) + " is larger than the body (" +
        std::to_string(body.size()) + " bytes)");
  const std::string_view header = header_length ? body.substr(0, *header_length) : body;
  std::string_view binary = header_length ? body.substr(*header_length) : std::string_view{};
  const json j = json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) bad("the request is not valid JSON");
  if (!j.is_object()) bad("the request must be a JSON object");

  InferRequest r;
  if (j.contains("id")) {
    if (!j["id"].is_string()) bad("\"id\" must be a string");
    r.id = j["id"].get<std::string>();
  }
  bool binary_output = false;
  if (j.contains("parameters")) read_parameters(j["parameters"], r, binary_output);

  if (!j.contains("inputs") || !j["inputs"].is_array()) bad("the request needs \"inputs\": an array with the input 'text'");
  const json& inputs = j["inputs"];
  if (inputs.size() != 1) bad("the model takes one input, 'text'; the request has " + std::to_string(inputs.size()));
  const json& in = inputs[0];
  if (!in.is_object() || !in.contains("name") || !in["name"].is_string()) bad("an input needs a \"name\"");
  if (in["name"] != "text") bad("unknown input '" + in["name"].get<std::string>() + "' (the model's input is 'text')");
  if (!in.contains("datatype") || in["datatype"] != "BYTES")
    bad("input 'text' must have datatype BYTES (got " + (in.contains("datatype") ? in["datatype"].dump() : "none") + ")");
  if (!in.contains("shape")) bad("input 'text' needs a \"shape\"");
  const size_t count = element_count(in["shape"]);

  const bool in_binary = in.contains("parameters") && in["parameters"].is_object() &&
                         in["parameters"].contains("binary_data_size");
  if (in_binary) {
    const json& size = in["parameters"]["binary_data_size"];
    if (!size.is_number_integer() || size.get<int64_t>() < 0) bad("input 'text': binary_data_size must be a non-negative integer");
    const auto n = static_cast<size_t>(size.get<int64_t>());
    if (n > binary.size())
      bad("input 'text': binary_data_size " + std::to_string(n) + " but only " + std::to_string(binary.size()) +
          " bytes follow the JSON header");
    r.texts = decode_bytes(binary.substr(0, n), count);
    binary.remove_prefix(n);
  } else {
    if (!in.contains("data")) bad("input 'text' has neither \"data\" nor binary_data_size");
    flatten_strings(in["data"], r.texts);
  }
  if (!binary.empty()) bad(std::to_string(binary.size()) + " bytes of binary data follow the inputs that no input claims");
  if (r.texts.size() != count)
    bad("input 'text': shape says " + std::to_string(count) + " elements, the data holds " + std::to_string(r.texts.size()));
  if (r.texts.empty()) bad("input 'text' is empty: nothing to classify");

  if (j.contains("outputs")) {
    if (!j["outputs"].is_array()) bad("\"outputs\" must be an array");
    for (const json& o : j["outputs"]) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) bad("a requested output needs a \"name\"");
      InferRequest::Output out{o["name"].get<std::string>(), binary_output};
      const auto& names = output_names();
      if (std::find(names.begin(), names.end(), out.name) == names.end())
        bad("unknown output '" + out.name + "' (outputs: label, probabilities, exit_layer, flops)");
      if (o.contains("parameters") && o["parameters"].is_object() && o["parameters"].contains("binary_data")) {
        if (!o["parameters"]["binary_data"].is_boolean()) bad("output '" + out.name + "': binary_data must be true or false");
        out.binary = o["parameters"]["binary_data"].get<bool>();
      }
      r.outputs.push_back(out);
    }
  }
  if (r.outputs.empty())
    for (const auto& name : output_names()) r.outputs.push_back({name, binary_output});
  return r;
}

namespace {

template <typename T>
void append_raw(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64), as Triton
  out.append(b, sizeof(T));
}

}  // namespace

InferResponse encode_infer_response(const std::string& model_name, const InferRequest& request,
                                    const std::vector<Result>& results, size_t labels) {
  json j;
  j["model_name"] = model_name;
  j["model_version"] = "1";
  if (!request.id.empty()) j["id"] = request.id;
  j["outputs"] = json::array();
  std::string binary;
  const size_t n = results.size();
  for (const auto& out : request.outputs) {
    json o;
    o["name"] = out.name;
    json data = json::array();
    std::string raw;
    if (out.name == "label") {
      o["datatype"] = "BYTES", o["shape"] = {n};
      for (const auto& r : results) {
        data.push_back(r.label);
        append_bytes_element(raw, r.label);
      }
    } else if (out.name == "probabilities") {
      o["datatype"] = "FP32", o["shape"] = {n, labels};
      for (const auto& r : results)
        for (float p : r.probabilities) data.push_back(p), append_raw(raw, p);
    } else if (out.name == "exit_layer") {
      o["datatype"] = "INT32", o["shape"] = {n};
      for (const auto& r : results) data.push_back(r.exit_layer), append_raw(raw, static_cast<int32_t>(r.exit_layer));
    } else {  // flops
      o["datatype"] = "FP64", o["shape"] = {n};
      for (const auto& r : results) data.push_back(r.flops), append_raw(raw, r.flops);
    }
    if (out.binary) {
      o["parameters"] = {{"binary_data_size", raw.size()}};
      binary += raw;
    } else {
      o["data"] = std::move(data);
    }
    j["outputs"].push_back(std::move(o));
  }
  InferResponse resp;
  resp.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!binary.empty()) {
    resp.header_length = resp.body.size();
    resp.body += binary;
  }
  return resp;
}

std::string model_metadata(const std::string& model_name, const ModelInfo& info) {
  const json j = {
      {"name", model_name},
      {"versions", {"1"}},
      {"platform", "offramp"},
      {"inputs", {{{"name", "text"}, {"datatype", "BYTES"}, {"shape", {-1}}}}},
      {"outputs",
       {{{"name", "label"}, {"datatype", "BYTES"}, {"shape", {-1}}},
        {{"name", "probabilities"}, {"datatype", "FP32"}, {"shape", {-1, static_cast<int>(info.labels.size())}}},
        {{"name", "exit_layer"}, {"datatype", "INT32"}, {"shape", {-1}}},
        {{"name", "flops"}, {"datatype", "FP64"}, {"shape", {-1}}}}},
      {"parameters",
       {{"labels", info.labels},
        {"policy", info.policy},
        {"threshold", info.threshold},
        {"layers", info.layers},
        {"precision", info.precision},
        {"device", info.device}}}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_body(const std::string& message) { return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace offramp::server
