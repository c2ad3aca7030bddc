// offramp::Batcher: a queue in front of a Classifier that merges concurrent requests into
// engine batches and answers each input the moment it leaves the network.
//
//   offramp::Batcher batcher(clf, {.max_batch_tokens = 4096});
//   // From any thread: each future is ready as soon as its input exits.
//   std::vector<std::future<offramp::Result>> f = batcher.submit({"Tasty.", "Stale and torn."});
//   offramp::Result r = f[0].get();
//
// One worker thread per Batcher runs the engine. Inputs that arrive while a batch is in
// flight start at layer 1 as a batch of their own, beside the deeper one, as soon as the
// inputs that left have freed room in the token budget (Answer::PerInput); or, as Triton's
// dynamic batcher does, wait for the whole batch and answer it at once (Answer::WholeBatch).
// Inputs with different exit options never share a batch (each batch runs one exit rule).
// Results are Classifier::classify's for the same text and options: the same label, exit layer
// and probabilities.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "offramp/error.h"
#include "offramp/offramp.h"

namespace offramp {

// The Batcher refused a submit: its queue is full, or it is stopping. Try again later
// (a server answers 503 / UNAVAILABLE).
class Unavailable : public Error {
 public:
  using Error::Error;
};

enum class Answer {
  PerInput,    // each input's result the moment its exit is decided; freed room refilled at the next step
  WholeBatch,  // a batch's results when its last input is done; the next batch starts after it
};

struct BatcherOptions {
  // Tokens in the engine at once, over every batch in flight. A batch is formed from the queue
  // in arrival order up to the room left; an input longer than the budget runs alone.
  int max_batch_tokens = 4096;
  // With nothing running, how long the first queued input waits for others to fill the
  // budget (Triton's max_queue_delay_microseconds). 0: start at once.
  std::chrono::microseconds max_queue_delay{0};
  // Queued tokens (not yet running) past which submit throws Unavailable: bounds memory.
  size_t max_queue_tokens = 1 << 20;
  Answer answer = Answer::PerInput;
  // Batches in flight at once (Answer::PerInput; WholeBatch runs one). A new batch starts
  // beside deeper ones while fewer run; past that, arrivals gather in the queue into one larger
  // batch. More, smaller batches answer arrivals sooner at light load and cost more per input
  // under heavy load (bench/RESULTS.md, 2026-12-06). On the GPU each batch in flight has a CUDA
  // stream of the Batcher's own with a workspace of max_batch_tokens (allocated on first need;
  // Classifier::classify keeps its own).
  int max_batches = 2;
  // Called on the worker thread when a batch starts (metrics); must not throw.
  std::function<void(int inputs, int tokens)> on_batch;
};

// Why an input got no result.
enum class Failure {
  None,
  TimedOut,  // its deadline passed while it was queued (a started input runs to its exit)
  Engine,    // the engine failed (out of memory, ...): `error` says what
};

// One input's answer, handed to the submit callback.
struct Outcome {
  size_t index = 0;  // the input's position in its submit call
  Failure failure = Failure::None;
  std::string error;       // when failure != None
  Result result;           // when failure == None
  double queue_seconds = 0;    // from submit to the start of its batch
  double compute_seconds = 0;  // from the start of its batch to its answer
};

class Batcher {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void(Outcome&&)>;

  // The classifier must outlive the Batcher. Throws Error for bad options.
  explicit Batcher(const Classifier& classifier, BatcherOptions options = {});
  // stop(): what was accepted is answered first.
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Tokenizes the texts (on the caller's thread) and queues them. `done` is called once per
  // input, on the worker thread, in the order the answers are decided; it must not throw or
  // block for long. Inputs still queued at `deadline` fail with Failure::TimedOut.
  // Throws Error for an empty text or bad options (nothing is queued), Unavailable when the
  // queue has no room for all of the texts or the Batcher is stopping.
  void submit(const std::vector<std::string>& texts, const ClassifyOptions& options, Callback done,
              std::optional<Clock::time_point> deadline = std::nullopt);
  // The same with a future per input; a failed input's future throws Error.
  std::vector<std::future<Result>> submit(const std::vector<std::string>& texts,
                                          const ClassifyOptions& options = {});

  // Refuses new submits, answers everything accepted, and returns when the worker is done.
  void stop();

  struct Stats {
    size_t queued_inputs = 0, queued_tokens = 0;  // accepted, not started
    size_t running_inputs = 0;                    // in a batch, not yet answered
  };
  Stats stats() const;

  const Classifier& classifier() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace offramp
