// The Open Inference Protocol's (KServe v2) infer request and response for an Offramp model,
// over HTTP/JSON with Triton's binary-data extension (what tritonclient sends by default).
//
// Request body: a JSON header, optionally followed by binary tensor data; the header's length
// is then in the `Inference-Header-Content-Length` HTTP header. The model's one input:
//   {"name": "text", "datatype": "BYTES", "shape": [n] or [n, 1],
//    "data": ["...", ...]                       (JSON; nested arrays allowed)
//    | "parameters": {"binary_data_size": B}}   (binary: n x (uint32 LE length, bytes))
// Request "parameters": threshold, policy, patience, exit_layer, full_depth (the exit options
// of ClassifyOptions), timeout (microseconds in the queue, Triton's), binary_data_output.
// Outputs: label BYTES [n], probabilities FP32 [n, labels], exit_layer INT32 [n], flops FP64 [n];
// each as JSON "data", or binary when asked (output "parameters": {"binary_data": true}).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "offramp/offramp.h"

namespace offramp::server {

// A request the server refuses, with the HTTP status to answer (400, 404, 413, 503, 504).
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The outputs every model has, in metadata order.
const std::vector<std::string>& output_names();

struct InferRequest {
  std::string id;  // echoed in the response when set
  std::vector<std::string> texts;
  ClassifyOptions options;
  std::optional<std::chrono::microseconds> timeout;
  struct Output {
    std::string name;
    bool binary = false;
  };
  std::vector<Output> outputs;  // the ones asked for, in order (all when the request names none)
};

// Parses an infer request; throws RequestError(400) naming the field at fault.
// header_length: the Inference-Header-Content-Length header (nullopt: the body is all JSON).
InferRequest parse_infer_request(std::string_view body, std::optional<size_t> header_length);

struct InferResponse {
  std::string body;
  std::optional<size_t> header_length;  // set when binary outputs follow the JSON header
};
InferResponse encode_infer_response(const std::string& model_name, const InferRequest& request,
                                    const std::vector<Result>& results, size_t labels);

// GET /v2/models/{name}: inputs and outputs with datatypes and shapes.
std::string model_metadata(const std::string& model_name, const ModelInfo& info);

// {"error": message}
std::string error_body(const std::string& message);

}  // namespace offramp::server
