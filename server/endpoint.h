// One served model: its Classifier, its Batcher and its metrics, and the infer call of the
// protocol from request body to response body (no HTTP here: server/http_front.cpp routes).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "offramp/batcher.h"
#include "offramp/offramp.h"
#include "server/metrics.h"
#include "server/server.h"

namespace offramp::server {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::optional<size_t> header_length;  // Inference-Header-Content-Length, with binary outputs
};

class ModelEndpoint {
 public:
  ModelEndpoint(const ServedModel& model, const ServerOptions& options, Metrics& metrics);

  const std::string& name() const { return name_; }
  const Classifier& classifier() const { return classifier_; }
  // Parses, queues and waits for every input's answer; never throws (errors are replies).
  Reply infer(std::string_view body, std::optional<size_t> header_length);
  std::string metadata() const;
  // Refuses new requests and answers the queued ones (SIGTERM).
  void stop() { batcher_.stop(); }

 private:
  std::string name_;
  Classifier classifier_;
  std::chrono::milliseconds timeout_;
  Metrics::Model* metrics_ = nullptr;  // set before the batcher starts
  Batcher batcher_;
};

}  // namespace offramp::server
