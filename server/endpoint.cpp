#include "server/endpoint.h"

#include <condition_variable>
#include <mutex>

#include "server/kserve_codec.h"

namespace offramp::server {

namespace {

// Collects a request's answers from the batcher's worker and wakes the handler when all are in.
struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Outcome> outcomes;
  size_t left = 0;
};

Reply error_reply(int status, const std::string& message) { return {status, error_body(message), "application/json", {}}; }

BatcherOptions with_metrics(BatcherOptions o, Metrics::Model* metrics) {
  o.on_batch = [metrics](int inputs, int tokens) { metrics->batch_started(inputs, tokens); };
  return o;
}

}  // namespace

ModelEndpoint::ModelEndpoint(const ServedModel& model, const ServerOptions& options, Metrics& metrics)
    : name_(model.name),
      classifier_(Classifier::load(model.dir, options.load)),
      timeout_(options.request_timeout),
      metrics_(&metrics.add_model(model.name, classifier_.info().layers, &batcher_)),
      batcher_(classifier_, with_metrics(options.batcher, metrics_)) {}

Reply ModelEndpoint::infer(std::string_view body, std::optional<size_t> header_length) {
  const auto started = Batcher::Clock::now();
  InferRequest request;
  auto answers = std::make_shared<Answers>();
  try {
    request = parse_infer_request(body, header_length);
    std::optional<Batcher::Clock::time_point> deadline;
    if (request.timeout)
      deadline = started + *request.timeout;
    else if (timeout_.count() > 0)
      deadline = started + timeout_;
    answers->outcomes.resize(request.texts.size());
    answers->left = request.texts.size();
    Metrics::Model* metrics = metrics_;
    batcher_.submit(request.texts, request.options,
                    [answers, metrics](Outcome&& o) {
                      metrics->input_answered(o);
                      const std::lock_guard<std::mutex> lock(answers->mu);
                      const size_t i = o.index;
                      answers->outcomes[i] = std::move(o);
                      if (--answers->left == 0) answers->cv.notify_all();
                    },
                    deadline);
  } catch (const RequestError& e) {
    metrics_->request_failed("bad_request");
    return error_reply(e.status(), e.what());
  } catch (const Unavailable& e) {
    metrics_->request_failed("unavailable");
    return error_reply(503, e.what());
  } catch (const Error& e) {  // an empty text, an option the model refuses
    metrics_->request_failed("bad_request");
    return error_reply(400, e.what());
  }
  std::unique_lock<std::mutex> lock(answers->mu);
  answers->cv.wait(lock, [&] { return answers->left == 0; });
  std::vector<Result> results;
  results.reserve(answers->outcomes.size());
  for (auto& o : answers->outcomes) {
    if (o.failure == Failure::TimedOut) {
      metrics_->request_failed("timeout");
      return error_reply(504, "input " + std::to_string(o.index) + ": " + o.error);
    }
    if (o.failure == Failure::Engine) {
      metrics_->request_failed("engine");
      return error_reply(500, "input " + std::to_string(o.index) + ": " + o.error);
    }
    results.push_back(std::move(o.result));
  }
  InferResponse response = encode_infer_response(name_, request, results, classifier_.info().labels.size());
  metrics_->request_succeeded(std::chrono::duration<double>(Batcher::Clock::now() - started).count());
  Reply r;
  r.body = std::move(response.body);
  r.header_length = response.header_length;
  if (r.header_length) r.content_type = "application/octet-stream";
  return r;
}

std::string ModelEndpoint::metadata() const { return model_metadata(name_, classifier_.info()); }

}  // namespace offramp::server
