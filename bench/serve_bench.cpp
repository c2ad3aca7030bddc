// offramp-serve-bench: latency and throughput of serving under an offered load, and the HTTP
// server's own overhead (bench/RESULTS.md).
//
// Latency: an open-loop generator sends single-text requests at Poisson arrival times of the
// offered rate; a request's latency runs from its scheduled arrival to its answer, so a
// backlog counts. Three ways to serve them, in the same run:
//   per-input    offramp::Batcher, Answer::PerInput: each input answered as it exits, freed
//                room refilled from the queue at the next layer step
//   whole-batch  the same Batcher answering whole batches (Triton's dynamic batcher)
//   serial       one request at a time through Classifier::classify, in arrival order
// On the CPU or the GPU (--device). Overhead (built with the server only): POST
// /v2/models/NAME/infer of a batch through a spawned `offramp serve` against
// Classifier::classify of the same texts in this process, alternating, sequential.
#ifdef OFFRAMP_HAVE_SERVER
#include <httplib.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "offramp/batcher.h"
#include "offramp/offramp.h"
#include "tools/offramp/device_flags.h"
#include "tools/offramp/input.h"

using namespace offramp;
using Clock = std::chrono::steady_clock;

namespace {

struct Row {
  std::string mode;
  double offered = 0, achieved = 0, p50_ms = 0, p99_ms = 0, mean_exit = 0;
  // The Batcher's split of a request's time (0 for serial): its median wait in the queue and
  // its median time from its batch's start to its answer.
  double queue_p50_ms = 0, compute_p50_ms = 0;
  size_t requests = 0;
};

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

// Arrival times of `n` requests at `rate` per second (Poisson), from `start`.
std::vector<Clock::time_point> arrivals(size_t n, double rate, Clock::time_point start, unsigned seed) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> gap(rate);
  std::vector<Clock::time_point> t;
  double s = 0;
  for (size_t i = 0; i < n; ++i) {
    s += gap(rng);
    t.push_back(start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)));
  }
  return t;
}

// How every load is served: the Batcher's knobs and the exit options each request carries.
struct LoadConfig {
  double seconds = 4;
  int budget = 4096, max_batches = BatcherOptions{}.max_batches;
  ClassifyOptions options;  // unset: the model's stored policy and threshold
};

Row run_load(const Classifier& clf, const std::string& mode, double rate, const LoadConfig& cfg,
             const std::vector<std::string>& texts) {
  const size_t n = std::max<size_t>(20, static_cast<size_t>(rate * cfg.seconds));
  const auto start = Clock::now() + std::chrono::milliseconds(50);
  const auto when = arrivals(n, rate, start, 7);
  std::vector<double> latency(n), queue_ms(n), compute_ms(n);
  std::vector<int> exits(n);
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;
  auto finished = [&](size_t i, int exit_layer) {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - when[i]).count();
    const std::lock_guard<std::mutex> lock(mu);
    latency[i] = ms, exits[i] = exit_layer;
    if (++done == n) cv.notify_all();
  };
  if (mode == "serial") {
    std::deque<size_t> queue;
    std::thread worker([&] {
      for (size_t k = 0; k < n; ++k) {
        size_t i;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return !queue.empty(); });
          i = queue.front();
          queue.pop_front();
        }
        finished(i, clf.classify(texts[i % texts.size()], cfg.options).exit_layer);
      }
    });
    for (size_t i = 0; i < n; ++i) {
      std::this_thread::sleep_until(when[i]);
      {
        const std::lock_guard<std::mutex> lock(mu);
        queue.push_back(i);
      }
      cv.notify_all();
    }
    worker.join();
  } else {
    Batcher batcher(clf, {.max_batch_tokens = cfg.budget,
                          .answer = mode == "whole-batch" ? Answer::WholeBatch : Answer::PerInput,
                          .max_batches = cfg.max_batches});
    for (size_t i = 0; i < n; ++i) {
      std::this_thread::sleep_until(when[i]);
      batcher.submit({texts[i % texts.size()]}, cfg.options, [&, i](Outcome&& o) {
        queue_ms[i] = 1000 * o.queue_seconds, compute_ms[i] = 1000 * o.compute_seconds;
        finished(i, o.result.exit_layer);
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == n; });
  }
  Row r;
  r.mode = mode, r.offered = rate, r.requests = n;
  Clock::time_point last = start;
  for (size_t i = 0; i < n; ++i)
    last = std::max(last, when[i] + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double, std::milli>(latency[i])));
  r.achieved = static_cast<double>(n) / std::chrono::duration<double>(last - start).count();
  r.p50_ms = percentile(latency, 0.5), r.p99_ms = percentile(latency, 0.99);
  r.queue_p50_ms = percentile(queue_ms, 0.5), r.compute_p50_ms = percentile(compute_ms, 0.5);
  double e = 0;
  for (int x : exits) e += x;
  r.mean_exit = e / static_cast<double>(n);
  return r;
}

#ifdef OFFRAMP_HAVE_SERVER
struct Overhead {
  double server_ms = 1e30, batcher_ms = 1e30, library_ms = 1e30;  // per batch, best of the rounds
};

// The server's overhead at one batch size: the batch through HTTP, through a Batcher in this
// process, and through Classifier::classify, in alternating rounds.
Overhead overhead(const Classifier& clf, const std::string& offramp_bin, const std::string& model,
                                   const std::vector<std::string>& batch, int rounds) {
  const int port = 18000 + static_cast<int>(getpid() % 1000);
  const std::string model_arg = "bench=" + model, port_arg = std::to_string(port);
  const char* argv[] = {offramp_bin.c_str(), "serve", model_arg.c_str(), "--host", "127.0.0.1", "--http-port",
                        port_arg.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, offramp_bin.c_str(), nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0)
    throw Error("cannot start " + offramp_bin);
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(60, 0);
  for (int i = 0; i < 200 && !http.Get("/v2/health/ready"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string body = nlohmann::json{{"inputs", {{{"name", "text"}, {"datatype", "BYTES"},
                                                        {"shape", {batch.size()}}, {"data", batch}}}}}
                               .dump();
  Overhead o;
  Batcher batcher(clf, {.max_batch_tokens = 1 << 16});
  auto ms_since = [](Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); };
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    auto res = http.Post("/v2/models/bench/infer", body, "application/json");
    if (!res || res->status != 200) throw Error("the server did not answer the overhead request");
    o.server_ms = std::min(o.server_ms, ms_since(t0));
    t0 = Clock::now();
    for (auto& f : batcher.submit(batch)) f.get();
    o.batcher_ms = std::min(o.batcher_ms, ms_since(t0));
    t0 = Clock::now();
    (void)clf.classify(batch);
    o.library_ms = std::min(o.library_ms, ms_since(t0));
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  return o;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"offramp-serve-bench: serving latency under an offered load (per-input answers with refill, "
               "whole batches, one at a time) and the HTTP server's overhead"};
  std::string model = std::string(OFFRAMP_REPO_DIR) + "/models/fine-foods-minilm-int8";
  std::string texts_path = std::string(OFFRAMP_REPO_DIR) + "/data/fine_foods/test.tsv";
  std::string offramp_bin, json_out;
  std::vector<double> rates = {100, 200, 400, 800};
  std::vector<std::string> modes = {"per-input", "whole-batch", "serial"};
  LoadConfig cfg;
  int threads = 2, overhead_batch = 32, rounds = 20;
  app.add_option("--model", model, "Model directory")->capture_default_str();
  app.add_option("--texts", texts_path, "TSV (label<TAB>text) whose texts are sent in turn")->capture_default_str();
  app.add_option("--rates", rates, "Offered loads, requests per second")->delimiter(',')->capture_default_str();
  app.add_option("--modes", modes, "per-input, whole-batch, serial")->delimiter(',')->capture_default_str();
  app.add_option("--seconds", cfg.seconds, "Duration of each load")->capture_default_str();
  app.add_option("--max-batch-tokens", cfg.budget, "The batcher's token budget")->capture_default_str();
  app.add_option("--max-batches", cfg.max_batches, "The batcher's batches in flight at once")->capture_default_str();
  app.add_option("--threshold", cfg.options.threshold,
                 "Exit threshold every request carries (its policy: the model's); default: the model's stored one")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--threads", threads, "CPU threads for the engine")->capture_default_str();
  cli::DeviceFlags device{.device = "cpu"};
  cli::add_device_flags(app, device);
  app.add_option("--offramp", offramp_bin, "The offramp binary: also measure the server's overhead (HTTP vs library)");
  app.add_option("--overhead-batch", overhead_batch, "Texts per request for the overhead")->capture_default_str();
  app.add_option("--json", json_out, "Write the rows as JSON here");
  CLI11_PARSE(app, argc, argv);
  try {
#ifndef OFFRAMP_HAVE_SERVER
    if (!offramp_bin.empty()) throw Error("--offramp: this build has no server (cpp-httplib was not found)");
#endif
    const Classifier clf = Classifier::load(model, cli::load_options(device, threads));
    std::vector<std::string> texts;
    for (const auto& line : cli::read_input(texts_path, cli::InputFormat::Tsv, true)) texts.push_back(line.text);
    (void)clf.classify(std::vector<std::string>(texts.begin(), texts.begin() + 64));  // warm the primitives
    nlohmann::json out = {{"model", model}, {"device", clf.info().device_name}, {"precision", clf.info().precision}, {"threads", threads}, {"max_batch_tokens", cfg.budget}, {"max_batches", cfg.max_batches}, {"threshold", cfg.options.threshold ? nlohmann::json(*cfg.options.threshold) : nlohmann::json("model")}, {"rows", nlohmann::json::array()}};
    std::cout << clf.info().device_name << ", " << clf.info().precision << ", model " << model << "\n";
    std::cout << "mode          offered/s  achieved/s   p50 ms   p99 ms  mean exit  p50 queue  p50 compute\n";
    for (double rate : rates)
      for (const auto& mode : modes) {  // modes interleaved at each load
        const Row r = run_load(clf, mode, rate, cfg, texts);
        std::cout << std::left << std::setw(12) << r.mode << std::right << std::fixed << std::setprecision(0)
                  << std::setw(11) << r.offered << std::setw(12) << r.achieved << std::setprecision(2) << std::setw(9)
                  << r.p50_ms << std::setw(9) << r.p99_ms << std::setw(11) << r.mean_exit << std::setw(11)
                  << r.queue_p50_ms << std::setw(13) << r.compute_p50_ms << std::endl;
        out["rows"].push_back({{"mode", r.mode}, {"offered", r.offered}, {"achieved", r.achieved}, {"p50_ms", r.p50_ms},
                               {"p99_ms", r.p99_ms}, {"mean_exit", r.mean_exit}, {"requests", r.requests},
                               {"queue_p50_ms", r.queue_p50_ms}, {"compute_p50_ms", r.compute_p50_ms}});
      }
#ifdef OFFRAMP_HAVE_SERVER
    if (!offramp_bin.empty()) {
      const std::vector<std::string> batch(texts.begin(), texts.begin() + overhead_batch);
      const Overhead o = overhead(clf, offramp_bin, model, batch, rounds);
      std::cout << std::setprecision(2) << "batch of " << overhead_batch << " (ms, best of " << rounds
                << "): library " << o.library_ms << ", Batcher in process " << o.batcher_ms << ", HTTP server "
                << o.server_ms << ": server overhead +" << std::setprecision(1)
                << 100.0 * (o.server_ms - o.library_ms) / o.library_ms << "%\n";
      out["overhead"] = {{"batch", overhead_batch}, {"server_ms", o.server_ms}, {"batcher_ms", o.batcher_ms},
                         {"library_ms", o.library_ms}};
    }
#endif
    if (!json_out.empty()) std::ofstream(json_out) << out.dump(2) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "offramp-serve-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
