// `offramp serve`: the Open Inference Protocol (KServe v2) over HTTP for one or more models,
// each behind its own offramp::Batcher, with Prometheus metrics at /metrics.
//
// Endpoints: GET /v2/health/live, /v2/health/ready, /v2, /v2/models/{name}[/versions/1],
// /v2/models/{name}[/versions/1]/ready, /metrics; POST /v2/models/{name}[/versions/1]/infer
// (server/kserve_codec.h). Errors answer {"error": "..."}: 400 bad request, 404 unknown model
// or path, 413 body over --max-request-bytes, 503 queue full or draining, 504 a request's
// timeout passed while it was queued, 500 the engine failed.
// SIGTERM or SIGINT: /v2/health/ready turns 503, the listening socket closes, requests in
// flight are answered, and serve() returns 0. With a gRPC port, the gRPC front drains first.
#pragma once

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "offramp/batcher.h"
#include "offramp/offramp.h"

namespace offramp::server {

struct ServedModel {
  std::string name;  // the {name} in the URLs
  std::string dir;
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  int http_port = 8000;  // 0: any free port (the log line "listening on" names it)
  LoadOptions load;
  BatcherOptions batcher;  // per model
  // A request's inputs still queued after this fail with 504 (0: no limit). A request's
  // "timeout" parameter (microseconds) overrides it.
  std::chrono::milliseconds request_timeout{0};
  size_t max_request_bytes = 8u << 20;  // larger bodies get 413
  int http_threads = 64;                // connections served at once (each waits for its answers)
  // gRPC (inference.GRPCInferenceService) on this port, -1: none, 0: any free port. Served by
  // `grpc_front` (offramp-grpc-front, server/grpc), a process of its own that forwards to the
  // HTTP front: Debian's gRPC and libsentencepiece cannot share a process.
  int grpc_port = -1;
  std::string grpc_front;
};

// Loads the models, serves until SIGTERM / SIGINT, drains, and returns 0. Progress and the
// listening address go to `log`. Throws offramp::Error (a model that fails to load, a port
// that cannot be bound).
int serve(const std::vector<ServedModel>& models, const ServerOptions& options, std::ostream& log);

}  // namespace offramp::server
