// `offramp serve MODEL_DIR... [options]`: the Open Inference Protocol (KServe v2) over HTTP
// (server/server.h), one batcher per model.
#include <filesystem>
#include <iostream>

#include "offramp/error.h"
#include "tools/offramp/commands.h"

#ifndef OFFRAMP_HAVE_SERVER
namespace offramp::cli {
// This build found no cpp-httplib or prometheus-cpp (server/CMakeLists.txt): the command says so.
Run add_serve(CLI::App& app) {
  app.allow_extras();
  return []() -> int {
    throw offramp::Error("this build of offramp has no server: install libcpp-httplib-dev and prometheus-cpp-dev "
                "(scripts/setup.sh does), then rebuild");
  };
}
}  // namespace offramp::cli
#else
#include "server/server.h"
#include "tools/offramp/device_flags.h"

namespace offramp::cli {

namespace {

struct ServeArgs {
  std::vector<std::string> models;
  server::ServerOptions options;
  DeviceFlags device;
  int threads = 0;
  long max_queue_delay_us = 0;
  long request_timeout_ms = 0;
  std::string answer = "per-input";
};

// "NAME=DIR", or DIR (named by its last path component).
server::ServedModel served_model(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq != std::string::npos && eq > 0 && !std::filesystem::exists(arg)) {
    const std::string name = arg.substr(0, eq);
    if (name.find('/') != std::string::npos) throw Error("model name '" + name + "' may not contain '/'");
    return {name, arg.substr(eq + 1)};
  }
  std::string name = std::filesystem::path(arg).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(arg).lexically_normal().parent_path().filename().string();
  return {name, arg};
}

}  // namespace

Run add_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto& o = a->options;
  app.add_option("MODEL", a->models,
                 "Model directories to serve, each as DIR (named by its folder: /v2/models/NAME) or NAME=DIR")
      ->required();
  app.add_option("--host", o.host, "Address to listen on")->capture_default_str();
  app.add_option("--http-port", o.http_port, "HTTP port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--grpc-port", o.grpc_port,
                 "Also serve gRPC (inference.GRPCInferenceService) on this port (0: any free port; default: none)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--max-batch-tokens", o.batcher.max_batch_tokens,
                 "Tokens in the engine at once per model, over every batch in flight")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-queue-delay-us", a->max_queue_delay_us,
                 "With nothing running, how long the first queued input waits for others (microseconds; "
                 "Triton's max_queue_delay_microseconds)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-batches", o.batcher.max_batches,
                 "Batches in flight at once per model (per-input answers): a new batch starts beside deeper ones "
                 "while fewer run; past it arrivals gather into one larger batch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-queue-tokens", o.batcher.max_queue_tokens,
                 "Queued tokens per model past which requests get 503 at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--answer", a->answer,
                 "per-input: each input answered as it exits, freed room refilled from the queue; whole-batch: "
                 "a batch answered when its last input is done (Triton's dynamic batcher)")
      ->check(CLI::IsMember({"per-input", "whole-batch"}))
      ->capture_default_str();
  app.add_option("--request-timeout-ms", a->request_timeout_ms,
                 "Inputs still queued after this fail with 504 (0: no limit; a request's \"timeout\" parameter, in "
                 "microseconds, overrides it)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-request-bytes", o.max_request_bytes, "Larger request bodies get 413")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--http-threads", o.http_threads, "Connections served at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--threads", a->threads, "CPU threads for the engine (0 = all cores)")->check(CLI::NonNegativeNumber);
  add_device_flags(app, a->device);
  app.footer(
      "HTTP endpoints (KServe v2 / Open Inference Protocol): GET /v2/health/live, /v2/health/ready, /v2,\n"
      "/v2/models/NAME[/versions/1], /v2/models/NAME/ready, /metrics (Prometheus); POST /v2/models/NAME/infer with\n"
      "the BYTES input 'text' (JSON or Triton's binary data). Outputs: label, probabilities, exit_layer, flops.\n"
      "Request parameters: threshold, policy, patience, exit_layer, full_depth, timeout (us).\n"
      "--grpc-port: the same over gRPC (inference.GRPCInferenceService), by offramp-grpc-front in a process of its own.\n"
      "SIGTERM / SIGINT: stop accepting, answer what is in flight, exit 0.");
  return [a] {
    auto options = a->options;
    options.load = load_options(a->device, a->threads);
    options.batcher.max_queue_delay = std::chrono::microseconds(a->max_queue_delay_us);
    options.batcher.answer = a->answer == "whole-batch" ? Answer::WholeBatch : Answer::PerInput;
    options.request_timeout = std::chrono::milliseconds(a->request_timeout_ms);
    // The gRPC front is installed beside this binary.
    options.grpc_front = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "offramp-grpc-front").string();
    std::vector<server::ServedModel> models;
    for (const auto& m : a->models) models.push_back(served_model(m));
    return server::serve(models, options, std::cerr);
  };
}

}  // namespace offramp::cli
#endif  // OFFRAMP_HAVE_SERVER
