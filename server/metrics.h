// Prometheus metrics of the server (GET /metrics, text format), named after Triton's
// (nv_inference_* becomes offramp_inference_*), one series per model:
//   offramp_inference_request_success / _failure{reason}  requests answered / refused
//   offramp_inference_count, offramp_inference_exec_count  inputs answered, engine batches run
//   offramp_inference_request_duration_us, _queue_duration_us, _compute_duration_us
//                                                           histograms: per request; per input
//   offramp_batch_size, offramp_batch_tokens               histograms: per engine batch
//   offramp_exit_layer_total{layer}                        inputs that left after each layer
//   offramp_flops_total, offramp_flops_saved_total         analytic FLOPs spent, and saved
//                                                           against full depth
//   offramp_inputs_queued, offramp_inputs_running          gauges, read from the batcher at scrape
// prometheus-cpp (Debian's prometheus-cpp-dev, core only: the HTTP front serves the text).
#pragma once

#include <map>
#include <memory>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <string>

#include "offramp/batcher.h"

namespace offramp::server {

class Metrics {
 public:
  Metrics();

  // One model's series; every call is thread-safe.
  class Model {
   public:
    Model(Metrics& m, const std::string& name, int layers);
    void request_succeeded(double seconds);
    void request_failed(const std::string& reason);  // "bad_request", "unavailable", "timeout", "engine"
    void input_answered(const Outcome& o);
    void batch_started(int inputs, int tokens);

   private:
    Metrics& m_;
    std::string name_;
    prometheus::Counter &success_, &inputs_, &execs_, &flops_, &saved_;
    prometheus::Histogram &request_us_, &queue_us_, &compute_us_, &batch_size_, &batch_tokens_;
    std::vector<prometheus::Counter*> exit_layer_;  // [layers]
    friend class Metrics;
  };

  // Registers a model's series; `batcher` (read at each scrape for the gauges) must outlive this.
  Model& add_model(const std::string& name, int layers, const Batcher* batcher);

  // The text exposition format of every series.
  std::string text() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& success_;
  prometheus::Family<prometheus::Counter>& failure_;
  prometheus::Family<prometheus::Counter>& inputs_;
  prometheus::Family<prometheus::Counter>& execs_;
  prometheus::Family<prometheus::Counter>& flops_;
  prometheus::Family<prometheus::Counter>& saved_;
  prometheus::Family<prometheus::Counter>& exit_layer_;
  prometheus::Family<prometheus::Histogram>& request_us_;
  prometheus::Family<prometheus::Histogram>& queue_us_;
  prometheus::Family<prometheus::Histogram>& compute_us_;
  prometheus::Family<prometheus::Histogram>& batch_size_;
  prometheus::Family<prometheus::Histogram>& batch_tokens_;
  prometheus::Family<prometheus::Gauge>& queued_;
  prometheus::Family<prometheus::Gauge>& running_;
  std::map<std::string, std::unique_ptr<Model>> models_;
  std::map<std::string, std::pair<const Batcher*, std::pair<prometheus::Gauge*, prometheus::Gauge*>>> gauges_;
};

}  // namespace offramp::server
