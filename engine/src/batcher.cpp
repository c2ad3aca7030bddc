// offramp::Batcher (offramp/batcher.h): the queue, the worker that forms batches from it, and
// the answers. The worker's loop, top to bottom: take the queued inputs whose deadline passed
// out of the queue; when there is room in the token budget, form a batch from the queue
// (Answer::PerInput: at every layer step while other batches run; Answer::WholeBatch: only
// when none does) and run its first segment (its layers up to the first exit head, and the
// head: on the CPU engine/src/scheduler.h's CpuChunk, the loop run_batch runs; on the GPU a
// lane of the Batcher's own, engine/src/gpu_lane.h); then run one segment of the running batch
// whose turn it is; answer the inputs that left after each segment.
#include "offramp/batcher.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/src/classifier_impl.h"
#include "engine/src/gpu_lane.h"

namespace offramp {

namespace {

using Clock = Batcher::Clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// What the inputs of one submit call share.
struct Request {
  Batcher::Callback done;
  engine::BatchOptions options;
  Clock::time_point submitted;
  std::optional<Clock::time_point> deadline;
};

struct Queued {
  std::shared_ptr<const Request> request;
  size_t index = 0;  // in its submit call
  std::vector<int32_t> ids;
};

// Inputs may share a batch when one exit rule serves them all.
bool same_rule(const engine::BatchOptions& a, const engine::BatchOptions& b) {
  return a.policy.policy == b.policy.policy && a.policy.threshold == b.policy.threshold &&
         a.policy.patience == b.policy.patience && a.policy.exit_layer == b.policy.exit_layer &&
         a.temperatures == b.temperatures;
}

// An answer ready to hand to its callback (outside the lock).
struct Ready {
  std::shared_ptr<const Request> request;
  Outcome outcome;
};

void deliver(std::vector<Ready>& ready) {
  for (Ready& r : ready) {
    try {
      r.request->done(std::move(r.outcome));
    } catch (...) {  // the contract says callbacks do not throw; one that does loses only its answer
    }
  }
  ready.clear();
}

}  // namespace

// A batch in flight.
struct Running {
  std::vector<Queued> items;  // [batch], the inputs in batch order (ids moved to `inputs`)
  engine::TokenIds inputs;    // [batch]
  engine::BatchOptions options;
  engine::ExitPlan plan;  // the batch's (ExitPlan::one_head for Static); the chunk refers to it
  std::vector<engine::SequenceResult> results;  // [batch]
  std::vector<unsigned char> answered;          // [batch]
  // Carried segment by segment: on the CPU, or on a GPU lane (the Batcher's, taken from its
  // pool for the batch's life).
  std::unique_ptr<engine::CpuChunk> cpu;
  std::unique_ptr<engine::GpuLane> lane;
  Clock::time_point started;

  bool busy() const { return cpu ? cpu->busy() : lane && lane->busy(); }
  int tokens() const { return cpu ? cpu->tokens() : lane ? lane->tokens() : 0; }
};

struct Batcher::Impl {
  const Classifier& classifier;
  const Classifier::Impl& model;
  BatcherOptions options;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Queued> queue;
  size_t queued_tokens = 0;
  size_t running_inputs = 0;
  bool stopping = false;
  // GPU: lanes for batches in flight (at most options.max_batches), made on first need and reused.
  std::vector<std::unique_ptr<engine::GpuLane>> idle_lanes;
  std::thread worker;  // started last

  Impl(const Classifier& c, BatcherOptions o) : classifier(c), model(*c.impl_), options(std::move(o)) {}

  void work();
  // Under the lock: moves the inputs whose deadline has passed into `ready` as failures.
  void expire(Clock::time_point now, std::vector<Ready>& ready);
  // Under the lock: whether the worker may form a batch now, with `running` batches of
  // `running_tokens` tokens in flight.
  bool may_start(Clock::time_point now, size_t running, int running_tokens) const;
  // Under the lock: the next batch's inputs, in queue order, up to the room left.
  std::vector<Queued> take(int room);
  // Outside the lock: the batch of `items`, and its start (tokens packed, embeddings run;
  // throws when the engine cannot, with the batch left for fail()).
  static std::unique_ptr<Running> batch_of(std::vector<Queued> items);
  void start(Running& b);
  // A batch that is done hands its GPU lane back.
  void retire(Running& b);
  // Runs one segment of `b` and collects the answers it decided.
  void step(Running& b, std::vector<Ready>& ready) const;
  Ready answer(const Running& b, size_t slot, Clock::time_point now) const;
  void fail(Running& b, const std::string& why, std::vector<Ready>& ready);
  // Hands the answers of running inputs to their callbacks (outside the lock).
  void settle(std::vector<Ready>& ready);
};

void Batcher::Impl::expire(Clock::time_point now, std::vector<Ready>& ready) {
  for (auto it = queue.begin(); it != queue.end();) {
    const auto& deadline = it->request->deadline;
    if (!deadline || now < *deadline) {
      ++it;
      continue;
    }
    Outcome o;
    o.index = it->index;
    o.failure = Failure::TimedOut;
    o.queue_seconds = seconds(now - it->request->submitted);
    o.error = "timed out after " + std::to_string(static_cast<long>(o.queue_seconds * 1000)) +
              " ms in the queue (the deadline passed before a batch had room for it)";
    queued_tokens -= it->ids.size();
    ready.push_back({it->request, std::move(o)});
    it = queue.erase(it);
  }
}

bool Batcher::Impl::may_start(Clock::time_point now, size_t running, int running_tokens) const {
  if (queue.empty() || running_tokens >= options.max_batch_tokens) return false;
  if (running >= static_cast<size_t>(options.max_batches)) return false;  // on the GPU: no lane free
  if (running > 0) return options.answer == Answer::PerInput;  // refill at this layer step
  return stopping || queued_tokens >= static_cast<size_t>(options.max_batch_tokens) ||
         now >= queue.front().request->submitted + options.max_queue_delay;
}

std::vector<Queued> Batcher::Impl::take(int room) {
  std::vector<Queued> items;
  const engine::BatchOptions& rule = queue.front().request->options;
  size_t tokens = 0;
  for (auto it = queue.begin(); it != queue.end();) {
    if (!same_rule(it->request->options, rule)) {
      ++it;
      continue;
    }
    // In arrival order: an input that does not fit ends the batch (the first one always goes
    // when nothing else runs, even if it is longer than the budget).
    if (tokens + it->ids.size() > static_cast<size_t>(room) && !(items.empty() && room == options.max_batch_tokens))
      break;
    tokens += it->ids.size();
    queued_tokens -= it->ids.size();
    items.push_back(std::move(*it));
    it = queue.erase(it);
  }
  running_inputs += items.size();
  return items;
}

std::unique_ptr<Running> Batcher::Impl::batch_of(std::vector<Queued> items) {
  auto b = std::make_unique<Running>();
  b->started = Clock::now();
  b->options = items.front().request->options;
  for (auto& q : items) b->inputs.push_back(std::move(q.ids));
  b->items = std::move(items);
  b->results.resize(b->inputs.size());
  b->answered.assign(b->inputs.size(), 0);
  return b;
}

void Batcher::Impl::start(Running& b) {
  b.plan = engine::exit_plan(model.model.config, model.model.offramp);
  if (auto one = b.plan.one_head(b.options)) b.plan = std::move(*one);
  const engine::InputRange all{0, b.inputs.size()};
  if (!model.gpu) {
    b.cpu = std::make_unique<engine::CpuChunk>(model.model, model.device, b.plan, b.inputs, all);
    return;
  }
  if (idle_lanes.empty()) idle_lanes.push_back(model.gpu->new_lane(options.max_batch_tokens));
  b.lane = std::move(idle_lanes.back());
  idle_lanes.pop_back();
  b.lane->begin(b.inputs, all, b.plan);  // on failure, fail() hands the lane back
}

void Batcher::Impl::retire(Running& b) {
  if (!b.lane) return;
  b.lane->drain();  // nothing queued once the batch is done; after a failure, waits it out
  idle_lanes.push_back(std::move(b.lane));
}

Ready Batcher::Impl::answer(const Running& b, size_t slot, Clock::time_point now) const {
  const Queued& q = b.items[slot];
  Outcome o;
  o.index = q.index;
  o.result = engine::to_result(model, b.results[slot], static_cast<int>(b.inputs[slot].size()));
  o.queue_seconds = seconds(b.started - q.request->submitted);
  o.compute_seconds = seconds(now - b.started);
  return {q.request, std::move(o)};
}

void Batcher::Impl::fail(Running& b, const std::string& why, std::vector<Ready>& ready) {
  for (size_t s = 0; s < b.items.size(); ++s) {
    if (b.answered[s]) continue;
    Outcome o;
    o.index = b.items[s].index;
    o.failure = Failure::Engine;
    o.error = why;
    ready.push_back({b.items[s].request, std::move(o)});
    b.answered[s] = 1;
  }
  b.cpu.reset();
  retire(b);
}

void Batcher::Impl::step(Running& b, std::vector<Ready>& ready) const {
  if (b.cpu) {
    b.cpu->step(b.options, b.results);
  } else {
    b.lane->enqueue_segment(b.options);
    b.lane->finish_segment(b.options, b.results);
  }
  if (options.answer == Answer::WholeBatch && b.busy()) return;
  const Clock::time_point now = Clock::now();
  for (size_t s = 0; s < b.items.size(); ++s)
    if (!b.answered[s] && b.results[s].exit_layer > 0) {
      ready.push_back(answer(b, s, now));
      b.answered[s] = 1;
    }
}

void Batcher::Impl::work() {
  // Batches in flight, in the order of their turns: the front one runs the next segment.
  std::deque<std::unique_ptr<Running>> running;
  std::vector<Ready> ready;
  // Runs one segment of `b`, answers what it decided, and puts `b` at the back of the turns
  // while it has inputs left (a batch that is done hands its lane back).
  auto advance = [&](std::unique_ptr<Running> b) {
    try {
      step(*b, ready);
    } catch (const std::exception& e) {
      fail(*b, std::string("the engine failed: ") + e.what(), ready);
    }
    settle(ready);
    if (b->busy())
      running.push_back(std::move(b));
    else
      retire(*b);
  };
  for (;;) {
    std::vector<Queued> fresh;
    {
      std::unique_lock<std::mutex> lock(mu);
      for (;;) {
        const Clock::time_point now = Clock::now();
        expire(now, ready);
        if (!running.empty() || !ready.empty()) break;
        if (queue.empty()) {
          if (stopping) return;
          cv.wait(lock);
          continue;
        }
        if (may_start(now, 0, 0)) break;
        // Idle with a queue: wake when the oldest input has waited the delay, or at the first deadline.
        Clock::time_point wake = queue.front().request->submitted + options.max_queue_delay;
        for (const auto& q : queue)
          if (q.request->deadline) wake = std::min(wake, *q.request->deadline);
        cv.wait_until(lock, wake);
      }
      int running_tokens = 0;
      for (const auto& b : running) running_tokens += b->tokens();
      if (may_start(Clock::now(), running.size(), running_tokens))
        fresh = take(options.max_batch_tokens - running_tokens);
    }
    deliver(ready);
    // The queue is looked at before every segment, and a new batch runs its first segment
    // ahead of the deeper batches' turns: most inputs leave at the first head, so an arrival
    // waits for a segment of one other batch, not for a round of all of them. Then the front
    // batch has its turn: the deeper ones run a segment for each new one, so none starves.
    const size_t deeper = running.size();
    if (!fresh.empty()) {
      std::unique_ptr<Running> b = batch_of(std::move(fresh));
      bool started = false;
      try {
        start(*b);
        started = true;
      } catch (const std::exception& e) {  // out of memory for the workspace, ...
        fail(*b, std::string("the engine failed: ") + e.what(), ready);
        settle(ready);
      }
      if (started) {
        if (options.on_batch) options.on_batch(static_cast<int>(b->inputs.size()), b->tokens());
        advance(std::move(b));
      }
    }
    if (deeper > 0) {
      std::unique_ptr<Running> b = std::move(running.front());
      running.pop_front();
      advance(std::move(b));
    }
  }
}

void Batcher::Impl::settle(std::vector<Ready>& ready) {
  if (ready.empty()) return;  // most segments answer nobody: no lock taken for them
  {
    const std::lock_guard<std::mutex> lock(mu);
    for (const Ready& r : ready) running_inputs -= r.outcome.failure != Failure::TimedOut;
  }
  deliver(ready);
}

Batcher::Batcher(const Classifier& classifier, BatcherOptions options) {
  if (options.max_batch_tokens < 1) throw Error("BatcherOptions.max_batch_tokens must be >= 1");
  if (options.max_queue_delay.count() < 0) throw Error("BatcherOptions.max_queue_delay must be >= 0");
  if (options.max_queue_tokens < 1) throw Error("BatcherOptions.max_queue_tokens must be >= 1");
  if (options.max_batches < 1) throw Error("BatcherOptions.max_batches must be >= 1");
  impl_ = std::make_unique<Impl>(classifier, std::move(options));
  impl_->worker = std::thread([this] { impl_->work(); });
}

Batcher::~Batcher() { stop(); }

void Batcher::stop() {
  {
    const std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

void Batcher::submit(const std::vector<std::string>& texts, const ClassifyOptions& options, Callback done,
                     std::optional<Clock::time_point> deadline) {
  if (!done) throw Error("Batcher::submit needs a callback");
  engine::Prepared p = engine::guarded([&] { return engine::prepare(impl_->model, texts, options); });
  auto request = std::make_shared<Request>();
  request->done = std::move(done);
  request->options = std::move(p.batch);
  request->deadline = deadline;
  size_t tokens = 0;
  for (const auto& ids : p.ids) tokens += ids.size();
  {
    const std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) throw Unavailable("the batcher is stopping and takes no new inputs");
    if (impl_->queued_tokens + tokens > impl_->options.max_queue_tokens)
      throw Unavailable("the queue is full: " + std::to_string(impl_->queued_tokens) + " tokens queued, " +
                        std::to_string(tokens) + " more would pass the limit of " +
                        std::to_string(impl_->options.max_queue_tokens));
    request->submitted = Clock::now();
    for (size_t i = 0; i < p.ids.size(); ++i) impl_->queue.push_back({request, i, std::move(p.ids[i])});
    impl_->queued_tokens += tokens;
  }
  impl_->cv.notify_all();
}

std::vector<std::future<Result>> Batcher::submit(const std::vector<std::string>& texts,
                                                 const ClassifyOptions& options) {
  auto promises = std::make_shared<std::vector<std::promise<Result>>>(texts.size());
  std::vector<std::future<Result>> futures;
  for (auto& p : *promises) futures.push_back(p.get_future());
  submit(texts, options, [promises](Outcome&& o) {
    auto& p = (*promises)[o.index];
    if (o.failure == Failure::None)
      p.set_value(std::move(o.result));
    else
      p.set_exception(std::make_exception_ptr(Error(o.error)));
  });
  return futures;
}

Batcher::Stats Batcher::stats() const {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  return {impl_->queue.size(), impl_->queued_tokens, impl_->running_inputs};
}

const Classifier& Batcher::classifier() const { return impl_->classifier; }

}  // namespace offramp
