#include "server/metrics.h"

#include <prometheus/text_serializer.h>

namespace offramp::server {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Microseconds from 100 us to 10 s, about three buckets per decade.
prometheus::Histogram::BucketBoundaries duration_buckets() {
  return {100, 250, 500, 1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 1e7};
}
prometheus::Histogram::BucketBoundaries powers_of_two(double top) {
  prometheus::Histogram::BucketBoundaries b;
  for (double v = 1; v <= top; v *= 2) b.push_back(v);
  return b;
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      success_(BuildCounter().Name("offramp_inference_request_success").Help("Infer requests answered").Register(*registry_)),
      failure_(BuildCounter()
                   .Name("offramp_inference_request_failure")
                   .Help("Infer requests refused or failed, by reason (bad_request, unavailable, timeout, engine)")
                   .Register(*registry_)),
      inputs_(BuildCounter().Name("offramp_inference_count").Help("Inputs (texts) answered").Register(*registry_)),
      execs_(BuildCounter().Name("offramp_inference_exec_count").Help("Engine batches started").Register(*registry_)),
      flops_(BuildCounter().Name("offramp_flops_total").Help("Analytic FLOPs the answered inputs cost").Register(*registry_)),
      saved_(BuildCounter()
                 .Name("offramp_flops_saved_total")
                 .Help("Analytic FLOPs early exits saved against running every input to full depth")
                 .Register(*registry_)),
      exit_layer_(BuildCounter().Name("offramp_exit_layer_total").Help("Inputs that left after each layer").Register(*registry_)),
      request_us_(BuildHistogram()
                      .Name("offramp_inference_request_duration_us")
                      .Help("Infer request time in the server, from parsed to answered (microseconds)")
                      .Register(*registry_)),
      queue_us_(BuildHistogram()
                    .Name("offramp_inference_queue_duration_us")
                    .Help("Per input: time queued before its batch started (microseconds)")
                    .Register(*registry_)),
      compute_us_(BuildHistogram()
                      .Name("offramp_inference_compute_duration_us")
                      .Help("Per input: time from its batch's start to its answer (microseconds)")
                      .Register(*registry_)),
      batch_size_(BuildHistogram().Name("offramp_batch_size").Help("Inputs per engine batch").Register(*registry_)),
      batch_tokens_(BuildHistogram().Name("offramp_batch_tokens").Help("Tokens per engine batch").Register(*registry_)),
      queued_(BuildGauge().Name("offramp_inputs_queued").Help("Inputs accepted and not yet started").Register(*registry_)),
      running_(BuildGauge().Name("offramp_inputs_running").Help("Inputs in an engine batch, not yet answered").Register(*registry_)) {}

Metrics::Model::Model(Metrics& m, const std::string& name, int layers)
    : m_(m),
      name_(name),
      success_(m.success_.Add({{"model", name}})),
      inputs_(m.inputs_.Add({{"model", name}})),
      execs_(m.execs_.Add({{"model", name}})),
      flops_(m.flops_.Add({{"model", name}})),
      saved_(m.saved_.Add({{"model", name}})),
      request_us_(m.request_us_.Add({{"model", name}}, duration_buckets())),
      queue_us_(m.queue_us_.Add({{"model", name}}, duration_buckets())),
      compute_us_(m.compute_us_.Add({{"model", name}}, duration_buckets())),
      batch_size_(m.batch_size_.Add({{"model", name}}, powers_of_two(4096))),
      batch_tokens_(m.batch_tokens_.Add({{"model", name}}, powers_of_two(1 << 20))) {
  for (int l = 1; l <= layers; ++l) exit_layer_.push_back(&m.exit_layer_.Add({{"model", name}, {"layer", std::to_string(l)}}));
}

void Metrics::Model::request_succeeded(double seconds) {
  success_.Increment();
  request_us_.Observe(seconds * 1e6);
}

void Metrics::Model::request_failed(const std::string& reason) {
  m_.failure_.Add({{"model", name_}, {"reason", reason}}).Increment();  // Add returns the existing series
}

void Metrics::Model::input_answered(const Outcome& o) {
  if (o.failure != Failure::None) return;
  inputs_.Increment();
  queue_us_.Observe(o.queue_seconds * 1e6);
  compute_us_.Observe(o.compute_seconds * 1e6);
  flops_.Increment(o.result.flops);
  saved_.Increment(std::max(0.0, o.result.full_depth_flops - o.result.flops));
  const size_t l = static_cast<size_t>(o.result.exit_layer);
  if (l >= 1 && l <= exit_layer_.size()) exit_layer_[l - 1]->Increment();
}

void Metrics::Model::batch_started(int inputs, int tokens) {
  execs_.Increment();
  batch_size_.Observe(inputs);
  batch_tokens_.Observe(tokens);
}

Metrics::Model& Metrics::add_model(const std::string& name, int layers, const Batcher* batcher) {
  auto& model = models_[name];
  model = std::make_unique<Model>(*this, name, layers);
  gauges_[name] = {batcher, {&queued_.Add({{"model", name}}), &running_.Add({{"model", name}})}};
  return *model;
}

std::string Metrics::text() const {
  for (const auto& [name, g] : gauges_) {
    const Batcher::Stats s = g.first->stats();
    g.second.first->Set(static_cast<double>(s.queued_inputs));
    g.second.second->Set(static_cast<double>(s.running_inputs));
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace offramp::server
