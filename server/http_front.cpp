// serve() (server/server.h): the HTTP routes over the model endpoints, and the signal handling
// that drains them. HTTP from cpp-httplib (Debian's libcpp-httplib-dev): small, a
// thread pool, keep-alive, a body-size limit, and nothing else to pull in.
#include <httplib.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/endpoint.h"
#include "server/kserve_codec.h"
#include "server/server.h"
#include "server/stop_signals.h"

namespace offramp::server {

namespace {

void reply(httplib::Response& res, const Reply& r) {
  res.status = r.status;
  if (r.header_length) res.set_header("Inference-Header-Content-Length", std::to_string(*r.header_length));
  res.set_content(r.body, r.content_type.c_str());
}

void error(httplib::Response& res, int status, const std::string& message) {
  reply(res, {status, error_body(message), "application/json", {}});
}

// The Inference-Header-Content-Length header, if any; throws RequestError for a malformed one.
std::optional<size_t> header_length(const httplib::Request& req) {
  if (!req.has_header("Inference-Header-Content-Length")) return std::nullopt;
  const std::string v = req.get_header_value("Inference-Header-Content-Length");
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos)
    throw RequestError(400, "Inference-Header-Content-Length must be a byte count (got '" + v + "')");
  return static_cast<size_t>(std::stoull(v));
}

class Front {
 public:
  Front(std::vector<std::unique_ptr<ModelEndpoint>>& endpoints, Metrics& metrics, const ServerOptions& o)
      : endpoints_(endpoints), metrics_(metrics) {
    const int threads = o.http_threads;
    http_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    http_.set_payload_max_length(o.max_request_bytes);
    // httplib writes a response's headers and body in two sends: with Nagle's algorithm and the
    // client's delayed ACK that cost 40 ms per request (measured: 27 ms mean at 2 connections).
    http_.set_tcp_nodelay(true);
    http_.set_keep_alive_max_count(1000);  // httplib's default closes a connection every 5 requests
    // Every error has a JSON body naming it, also those httplib answers itself (404, 413, ...).
    http_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      std::string why = res.status == 404   ? "no such endpoint: " + req.method + " " + req.path
                        : res.status == 413 ? "the request body is larger than the server's limit (--max-request-bytes)"
                                            : "HTTP " + std::to_string(res.status);
      res.set_content(error_body(why), "application/json");
    });
    routes();
  }

  httplib::Server& http() { return http_; }
  std::atomic<bool> draining{false};

 private:
  // The endpoint named in the URL (and version "1" or none), or a 404 reply.
  ModelEndpoint* find(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const std::string version = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
    for (auto& e : endpoints_)
      if (e->name() == name) {
        if (!version.empty() && version != "1") {
          error(res, 404, "model '" + name + "' has no version '" + version + "' (it has version 1)");
          return nullptr;
        }
        return e.get();
      }
    std::string names;
    for (auto& e : endpoints_) names += (names.empty() ? "" : ", ") + e->name();
    error(res, 404, "unknown model '" + name + "' (this server has: " + names + ")");
    return nullptr;
  }

  void routes() {
    http_.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
    http_.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
      if (draining) error(res, 503, "the server is draining (SIGTERM) and takes no new requests");
    });
    http_.Get("/v2", [this](const httplib::Request&, httplib::Response& res) {
      nlohmann::json models = nlohmann::json::array();
      for (auto& e : endpoints_) models.push_back(e->name());
      reply(res, {200,
                  nlohmann::json{{"name", "offramp"},
                                 {"version", "0.1.0"},
                                 {"extensions", {"binary_tensor_data", "parameters"}},
                                 {"models", models}}
                      .dump(),
                  "application/json",
                  {}});
    });
    const std::string model = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
    http_.Get(model, [this](const httplib::Request& req, httplib::Response& res) {
      if (ModelEndpoint* e = find(req, res)) reply(res, {200, e->metadata(), "application/json", {}});
    });
    http_.Get(model + "/ready", [this](const httplib::Request& req, httplib::Response& res) {
      if (ModelEndpoint* e = find(req, res)) {
        if (draining) return error(res, 503, "the server is draining (SIGTERM)");
        reply(res, {200, nlohmann::json{{"name", e->name()}, {"ready", true}}.dump(), "application/json", {}});
      }
    });
    http_.Post(model + "/infer", [this](const httplib::Request& req, httplib::Response& res) {
      ModelEndpoint* e = find(req, res);
      if (!e) return;
      try {
        reply(res, e->infer(req.body, header_length(req)));
      } catch (const RequestError& err) {
        error(res, err.status(), err.what());
      }
    });
    http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_.text(), "text/plain; version=0.0.4");
    });
  }

  std::vector<std::unique_ptr<ModelEndpoint>>& endpoints_;
  Metrics& metrics_;
  httplib::Server http_;
};

// Starts offramp-grpc-front on `grpc_port`, forwarding to 127.0.0.1:http_port; returns its pid
// once it listens, and the port it took (through `grpc_port`). Throws Error if it cannot.
pid_t start_grpc_front(const ServerOptions& o, int http_port, int& grpc_port) {
  if (o.grpc_front.empty() || access(o.grpc_front.c_str(), X_OK) != 0)
    throw Error("--grpc-port needs offramp-grpc-front beside offramp, and this build has none (" +
                (o.grpc_front.empty() ? std::string("not set") : o.grpc_front) +
                "): install libgrpc++-dev and protobuf-compiler-grpc, then rebuild");
  int out[2];
  if (pipe(out) != 0) throw Error("cannot start the gRPC front: pipe failed");
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&files, out[0]);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const std::string port = std::to_string(grpc_port), http = std::to_string(http_port);
  const char* argv[] = {o.grpc_front.c_str(), "--port", port.c_str(), "--http-port", http.c_str(),
                        "--host", o.host.c_str(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, o.grpc_front.c_str(), &files, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    throw Error("cannot start " + o.grpc_front);
  }
  // It prints "port N" once it listens; anything else (it exited: the port is taken) is an error.
  std::string line;
  pollfd p{out[0], POLLIN, 0};
  char c = 0;
  while (poll(&p, 1, 30000) == 1 && read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  if (line.rfind("port ", 0) != 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    throw Error("the gRPC front could not listen on " + o.host + ":" + std::to_string(grpc_port) + " (in use?)");
  }
  grpc_port = std::stoi(line.substr(5));
  return pid;
}

}  // namespace

int serve(const std::vector<ServedModel>& models, const ServerOptions& options, std::ostream& log) {
  if (models.empty()) throw Error("serve needs at least one model directory");
  for (size_t i = 0; i < models.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (models[i].name == models[j].name)
        throw Error("two models are named '" + models[i].name + "' (" + models[j].dir + ", " + models[i].dir +
                    "); name them with NAME=DIR");
  const sigset_t stop_signals = block_stop_signals();  // before any thread starts

  Metrics metrics;
  std::vector<std::unique_ptr<ModelEndpoint>> endpoints;
  for (const auto& m : models) {
    endpoints.push_back(std::make_unique<ModelEndpoint>(m, options, metrics));
    const ModelInfo& i = endpoints.back()->classifier().info();
    log << "offramp serve: model '" << m.name << "' from " << m.dir << ": " << i.layers << " layers, " << i.device
        << " " << i.precision << ", policy " << i.policy << " " << i.threshold << std::endl;
  }
  Front front(endpoints, metrics, options);
  int port = options.http_port;
  if (port == 0) {
    port = front.http().bind_to_any_port(options.host);
  } else if (!front.http().bind_to_port(options.host, port)) {
    port = -1;
  }
  if (port < 0)
    throw Error("cannot listen on " + options.host + ":" + std::to_string(options.http_port) +
                " (in use, or not an address of this machine?)");
  log << "offramp serve: listening on http://" << options.host << ":" << port << " (KServe v2; metrics at /metrics)"
      << std::endl;
  pid_t grpc_pid = 0;
  if (options.grpc_port >= 0) {
    int grpc_port = options.grpc_port;
    grpc_pid = start_grpc_front(options, port, grpc_port);
    log << "offramp serve: gRPC on " << options.host << ":" << grpc_port
        << " (inference.GRPCInferenceService, offramp-grpc-front pid " << grpc_pid << ")" << std::endl;
  }

  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    front.draining = true;
    log << "offramp serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
        << ": no new connections; answering the requests in flight" << std::endl;
    if (grpc_pid > 0) {  // its calls in flight go through the HTTP front: it drains first
      kill(grpc_pid, SIGTERM);
      waitpid(grpc_pid, nullptr, 0);
    }
    front.http().stop();
  });
  const bool listened = front.http().listen_after_bind();
  if (!front.draining) kill(getpid(), SIGTERM);  // listening failed: wake the signal thread
  signals.join();
  for (auto& e : endpoints) e->stop();
  log << "offramp serve: stopped" << std::endl;
  return listened || front.draining ? 0 : 1;
}

}  // namespace offramp::server
