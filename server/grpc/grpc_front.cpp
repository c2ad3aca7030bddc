// offramp-grpc-front: the Open Inference Protocol's gRPC service (inference.proto) in a
// process of its own, which `offramp serve --grpc-port` starts beside its HTTP front and which
// forwards every call to it on 127.0.0.1 (binary tensor data both ways).
//
// Why a process of its own: Debian's gRPC (protobuf 3.21) and libsentencepiece (bundled
// protobuf-lite 3.14) abort before main in one binary (docs/architecture.md, Pitfalls). This
// binary links gRPC and no libofframp; the engine's binary links no gRPC. The semantics are
// the HTTP front's by construction (one codec, one batcher per model), and the errors map to
// gRPC codes: 400 INVALID_ARGUMENT, 404 NOT_FOUND, 413 RESOURCE_EXHAUSTED, 503 UNAVAILABLE,
// 504 DEADLINE_EXCEEDED, else INTERNAL.
//
// Usage: offramp-grpc-front --port P --http-port H [--host ADDR]; prints "port N" on stdout
// once it listens (P = 0: any free port). SIGTERM / SIGINT: finishes the calls in flight, exits 0.
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "inference.grpc.pb.h"
#include "server/bytes_tensor.h"
#include "server/stop_signals.h"

namespace {

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
using nlohmann::json;

int http_port = 0;

// The HTTP front's answer to one call (a client per call: httplib's client is not shared
// between threads).
httplib::Result http_call(const std::string& method, const std::string& path, const std::string& body = {},
                          const httplib::Headers& headers = {}) {
  httplib::Client c("127.0.0.1", http_port);
  c.set_tcp_nodelay(true);
  c.set_read_timeout(3600, 0);
  if (method == "GET") return c.Get(path.c_str());
  return c.Post(path.c_str(), headers, body, "application/octet-stream");
}

Status to_status(const httplib::Result& r) {
  if (!r) return Status(StatusCode::UNAVAILABLE, "the HTTP front of offramp serve does not answer");
  if (r->status == 200) return Status::OK;
  const json j = json::parse(r->body, nullptr, false);
  const std::string message =
      j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : r->body;
  const StatusCode code = r->status == 400   ? StatusCode::INVALID_ARGUMENT
                          : r->status == 404 ? StatusCode::NOT_FOUND
                          : r->status == 413 ? StatusCode::RESOURCE_EXHAUSTED
                          : r->status == 503 ? StatusCode::UNAVAILABLE
                          : r->status == 504 ? StatusCode::DEADLINE_EXCEEDED
                                             : StatusCode::INTERNAL;
  return Status(code, message);
}

std::string model_path(const std::string& name, const std::string& version) {
  if (name.empty() || name.find('/') != std::string::npos || version.find('/') != std::string::npos)
    return "/v2/models/%2F";  // answered 404 by the HTTP front, naming the model
  return "/v2/models/" + name + (version.empty() ? "" : "/versions/" + version);
}

json parameter_json(const inference::InferParameter& p) {
  switch (p.parameter_choice_case()) {
    case inference::InferParameter::kBoolParam: return p.bool_param();
    case inference::InferParameter::kInt64Param: return p.int64_param();
    case inference::InferParameter::kStringParam: return p.string_param();
    case inference::InferParameter::kDoubleParam: return p.double_param();
    case inference::InferParameter::kUint64Param: return p.uint64_param();
    default: return nullptr;
  }
}

// The binary form of a BYTES tensor: its elements one after another (bytes_tensor.h).
std::string serialize_bytes(const google::protobuf::RepeatedPtrField<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) offramp::server::append_bytes_element(out, e);
  return out;
}

class Service final : public inference::GRPCInferenceService::Service {
  Status ServerLive(ServerContext*, const inference::ServerLiveRequest*, inference::ServerLiveResponse* out) override {
    const auto r = http_call("GET", "/v2/health/live");
    out->set_live(r && r->status == 200);
    return Status::OK;
  }
  Status ServerReady(ServerContext*, const inference::ServerReadyRequest*, inference::ServerReadyResponse* out) override {
    const auto r = http_call("GET", "/v2/health/ready");
    out->set_ready(r && r->status == 200);
    return Status::OK;
  }
  Status ModelReady(ServerContext*, const inference::ModelReadyRequest* in, inference::ModelReadyResponse* out) override {
    const auto r = http_call("GET", model_path(in->name(), in->version()) + "/ready");
    if (r && r->status == 404) return to_status(r);
    out->set_ready(r && r->status == 200);
    return Status::OK;
  }
  Status ServerMetadata(ServerContext*, const inference::ServerMetadataRequest*,
                        inference::ServerMetadataResponse* out) override {
    const auto r = http_call("GET", "/v2");
    if (Status s = to_status(r); !s.ok()) return s;
    const json j = json::parse(r->body);
    out->set_name(j.value("name", ""));
    out->set_version(j.value("version", ""));
    for (const auto& e : j.value("extensions", json::array())) out->add_extensions(e.get<std::string>());
    return Status::OK;
  }
  Status ModelMetadata(ServerContext*, const inference::ModelMetadataRequest* in,
                       inference::ModelMetadataResponse* out) override {
    const auto r = http_call("GET", model_path(in->name(), in->version()));
    if (Status s = to_status(r); !s.ok()) return s;
    const json j = json::parse(r->body);
    out->set_name(j["name"].get<std::string>());
    out->set_platform(j["platform"].get<std::string>());
    for (const auto& v : j["versions"]) out->add_versions(v.get<std::string>());
    auto tensors = [](const json& list, auto add) {
      for (const auto& t : list) {
        auto* m = add();
        m->set_name(t["name"].get<std::string>());
        m->set_datatype(t["datatype"].get<std::string>());
        for (const auto& d : t["shape"]) m->add_shape(d.get<int64_t>());
      }
    };
    tensors(j["inputs"], [&] { return out->add_inputs(); });
    tensors(j["outputs"], [&] { return out->add_outputs(); });
    return Status::OK;
  }

  // The request as the HTTP front's JSON header plus binary data, and its answer back: every
  // output comes back raw (raw_output_contents, as Triton's gRPC answers).
  Status ModelInfer(ServerContext*, const inference::ModelInferRequest* in, inference::ModelInferResponse* out) override {
    json header = json::object();
    if (!in->id().empty()) header["id"] = in->id();
    json params = json::object();
    for (const auto& [k, v] : in->parameters()) params[k] = parameter_json(v);
    if (in->outputs_size() == 0) params["binary_data_output"] = true;
    if (!params.empty()) header["parameters"] = params;
    if (in->raw_input_contents_size() > 0 && in->raw_input_contents_size() != in->inputs_size())
      return Status(StatusCode::INVALID_ARGUMENT, "raw_input_contents has " + std::to_string(in->raw_input_contents_size()) +
                                                      " entries for " + std::to_string(in->inputs_size()) + " inputs");
    std::string binary;
    header["inputs"] = json::array();
    for (int i = 0; i < in->inputs_size(); ++i) {
      const auto& t = in->inputs(i);
      json ti = {{"name", t.name()}, {"datatype", t.datatype()}, {"shape", json::array()}};
      for (int64_t d : t.shape()) ti["shape"].push_back(d);
      const std::string data =
          in->raw_input_contents_size() > 0 ? in->raw_input_contents(i) : serialize_bytes(t.contents().bytes_contents());
      ti["parameters"] = {{"binary_data_size", data.size()}};
      binary += data;
      header["inputs"].push_back(std::move(ti));
    }
    if (in->outputs_size() > 0) {
      header["outputs"] = json::array();
      for (const auto& o : in->outputs()) header["outputs"].push_back({{"name", o.name()}, {"parameters", {{"binary_data", true}}}});
    }
    const std::string head = header.dump(-1, ' ', false, json::error_handler_t::replace);
    const auto r = http_call("POST", model_path(in->model_name(), in->model_version()) + "/infer", head + binary,
                             {{"Inference-Header-Content-Length", std::to_string(head.size())}});
    if (Status s = to_status(r); !s.ok()) return s;
    const std::string& body = r->body;
    const size_t json_len = r->has_header("Inference-Header-Content-Length")
                                ? std::stoul(r->get_header_value("Inference-Header-Content-Length"))
                                : body.size();
    const json j = json::parse(body.substr(0, json_len));
    out->set_model_name(j["model_name"].get<std::string>());
    out->set_model_version(j["model_version"].get<std::string>());
    if (j.contains("id")) out->set_id(j["id"].get<std::string>());
    size_t at = json_len;
    for (const auto& o : j["outputs"]) {
      auto* t = out->add_outputs();
      t->set_name(o["name"].get<std::string>());
      t->set_datatype(o["datatype"].get<std::string>());
      for (const auto& d : o["shape"]) t->add_shape(d.get<int64_t>());
      const size_t n = o["parameters"]["binary_data_size"].get<size_t>();
      out->add_raw_output_contents(body.substr(at, n));
      at += n;
    }
    return Status::OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  int port = -1;
  std::string host = "0.0.0.0";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port") port = std::atoi(argv[i + 1]);
    else if (flag == "--http-port") http_port = std::atoi(argv[i + 1]);
    else if (flag == "--host") host = argv[i + 1];
  }
  if (port < 0 || port > 65535 || http_port <= 0 || http_port > 65535) {
    std::cerr << "usage: offramp-grpc-front --port P --http-port H [--host ADDR] (started by offramp serve --grpc-port)\n";
    return 1;
  }
  const sigset_t stop_signals = offramp::server::block_stop_signals();

  Service service;
  grpc::ServerBuilder builder;
  int selected = 0;
  builder.AddListeningPort(host + ":" + std::to_string(port), grpc::InsecureServerCredentials(), &selected);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(64 << 20);
  // gRPC sets SO_REUSEPORT by default: a second server would share the port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || selected == 0) {
    std::cerr << "offramp-grpc-front: cannot listen on " << host << ":" << port << " (in use?)\n";
    return 1;
  }
  std::cout << "port " << selected << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server->Shutdown();  // waits for the calls in flight
  return 0;
}
