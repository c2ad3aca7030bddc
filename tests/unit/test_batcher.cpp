// offramp::Batcher on the embedded default model (its calibrated exits send inputs out at
// different layers): the same answers as Classifier::classify, each input answered as it
// exits, room refilled from the queue while a batch is deeper, and the queue's bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "offramp/batcher.h"
#include "offramp/offramp.h"
#include "tests/support/fixtures.h"

using namespace offramp;

namespace {

const Classifier& model() {
  static const Classifier clf =
      Classifier::load(test::repo_dir() + "/models/fine-foods-minilm-int8", {.device = Device::Cpu});
  return clf;
}

std::vector<std::string> texts(size_t n, size_t skip = 0) { return test::fine_foods_texts("test", n, skip); }

void expect_same(const Result& a, const Result& b, const std::string& where) {
  ASSERT_EQ(a.exit_layer, b.exit_layer) << where;
  ASSERT_EQ(a.label, b.label) << where;
  ASSERT_EQ(a.num_tokens, b.num_tokens) << where;
  ASSERT_EQ(a.probabilities.size(), b.probabilities.size()) << where;
  // Not bitwise: a row's GEMM sums may be ordered differently in another batch.
  for (size_t k = 0; k < a.probabilities.size(); ++k) ASSERT_NEAR(a.probabilities[k], b.probabilities[k], 1e-5) << where;
  ASSERT_DOUBLE_EQ(a.flops, b.flops) << where;
  ASSERT_DOUBLE_EQ(a.full_depth_flops, b.full_depth_flops) << where;
}

// Answers in the order the callbacks saw them.
struct Log {
  struct Entry {
    int request;
    Outcome outcome;
  };
  std::mutex mu;
  std::vector<Entry> entries;
  size_t size() {
    const std::lock_guard<std::mutex> lock(mu);
    return entries.size();
  }
  Batcher::Callback to(int request) {
    return [this, request](Outcome&& o) {
      const std::lock_guard<std::mutex> lock(mu);
      entries.push_back({request, std::move(o)});
    };
  }
};

// Position in the log of the first / last answer of `request`.
size_t first_of(const Log& log, int request) {
  for (size_t i = 0; i < log.entries.size(); ++i)
    if (log.entries[i].request == request) return i;
  return log.entries.size();
}
size_t last_of(const Log& log, int request) {
  size_t last = 0;
  for (size_t i = 0; i < log.entries.size(); ++i)
    if (log.entries[i].request == request) last = i;
  return last;
}

int tokens_of(const std::vector<std::string>& t) {
  int n = 0;
  for (const auto& s : t) n += static_cast<int>(model().tokenize(s).size());
  return n;
}

}  // namespace

TEST(Batcher, AnswersAreClassifysUnderEveryPolicy) {
  const auto t = texts(test::sanitized_build_size(96, 32));
  constexpr int kBudget = 2048;
  ASSERT_GT(tokens_of(t), kBudget) << "the texts should need more than one batch";
  const std::vector<ClassifyOptions> settings = {
      {}, {.threshold = 0.95}, {.threshold = 0.5, .policy = Policy::Entropy},
      {.policy = Policy::Patience, .patience = 1}, {.policy = Policy::Static, .exit_layer = 3},
      {.full_depth = true}};
  for (const Answer answer : {Answer::PerInput, Answer::WholeBatch}) {
    Batcher batcher(model(), {.max_batch_tokens = kBudget, .answer = answer});
    for (size_t k = 0; k < settings.size(); ++k) {
      const auto want = model().classify(t, settings[k]);
      auto futures = batcher.submit(t, settings[k]);
      for (size_t i = 0; i < t.size(); ++i)
        expect_same(futures[i].get(), want[i], "setting " + std::to_string(k) + " input " + std::to_string(i));
    }
  }
}

// One batch whose inputs leave at different layers: each is answered the moment it exits, so
// the answers come in exit-layer order, and a layer-1 input does not wait for the deepest.
TEST(Batcher, AnswersEachInputAsItExits) {
  const auto t = texts(64);
  const auto want = model().classify(t);
  int batches = 0;
  Log log;
  {
    Batcher batcher(model(), {.max_batch_tokens = 1 << 16, .max_queue_delay = std::chrono::seconds(10),
                              .on_batch = [&](int, int) { ++batches; }});
    batcher.submit(t, {}, log.to(0));
    batcher.stop();  // starts the queued inputs at once (no 10 s wait) and answers them
  }
  ASSERT_EQ(batches, 1);
  ASSERT_EQ(log.entries.size(), t.size());
  std::vector<int> layers;
  for (const auto& e : log.entries) {
    ASSERT_EQ(e.outcome.failure, Failure::None);
    expect_same(e.outcome.result, want[e.outcome.index], "input " + std::to_string(e.outcome.index));
    layers.push_back(e.outcome.result.exit_layer);
  }
  EXPECT_TRUE(std::is_sorted(layers.begin(), layers.end()));
  EXPECT_EQ(layers.front(), 1);
  EXPECT_EQ(layers.back(), model().info().layers);
}

// Request A fills the token budget; B queues behind it. Per input, the room A's early exits
// free is refilled with B at the next layer step, so B's first answer comes before A's last.
// Answering whole batches, B starts only after all of A is answered.
TEST(Batcher, RefillsFreedRoomFromTheQueue) {
  const auto a = texts(48), b = texts(16, 48);
  const auto want_a = model().classify(a), want_b = model().classify(b);
  ASSERT_TRUE(std::any_of(want_a.begin(), want_a.end(), [](const Result& r) { return r.exit_layer == 1; }));
  ASSERT_TRUE(std::any_of(want_a.begin(), want_a.end(), [](const Result& r) { return r.exit_layer == 6; }));
  for (const Answer answer : {Answer::PerInput, Answer::WholeBatch}) {
    Log log;
    int batches = 0;
    {
      Batcher batcher(model(), {.max_batch_tokens = tokens_of(a), .answer = answer,
                                .on_batch = [&](int, int) { ++batches; }});
      batcher.submit(a, {}, log.to(0));
      batcher.submit(b, {}, log.to(1));
    }
    ASSERT_EQ(log.entries.size(), a.size() + b.size());
    for (const auto& e : log.entries)
      expect_same(e.outcome.result, (e.request == 0 ? want_a : want_b)[e.outcome.index],
                  "request " + std::to_string(e.request) + " input " + std::to_string(e.outcome.index));
    if (answer == Answer::PerInput) {
      EXPECT_LT(first_of(log, 1), last_of(log, 0));
      EXPECT_GE(batches, 2);
    } else {
      EXPECT_GT(first_of(log, 1), last_of(log, 0));
    }
  }
}

TEST(Batcher, BoundsTheQueueAndRefusesAfterStop) {
  const auto t = texts(8);
  const int tokens = tokens_of(t);
  // The budget is larger than the queue, so the worker waits out the delay with the queue full.
  Batcher batcher(model(), {.max_batch_tokens = 1 << 16, .max_queue_delay = std::chrono::seconds(30),
                            .max_queue_tokens = static_cast<size_t>(tokens)});
  auto futures = batcher.submit(t);  // fills the queue exactly
  EXPECT_EQ(batcher.stats().queued_tokens, static_cast<size_t>(tokens));
  try {
    batcher.submit({"one more"});
    FAIL() << "a full queue took more";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("queue is full"), std::string::npos) << e.what();
  }
  batcher.stop();
  for (auto& f : futures) EXPECT_GE(f.get().exit_layer, 1);
  EXPECT_THROW(batcher.submit({"late"}), Unavailable);
  EXPECT_EQ(batcher.stats().queued_inputs, 0u);
  EXPECT_EQ(batcher.stats().running_inputs, 0u);
}

TEST(Batcher, DeadlinePassedInTheQueueTimesOut) {
  Log log;
  {
    Batcher batcher(model());
    batcher.submit(texts(3), {}, log.to(0), Batcher::Clock::now() - std::chrono::milliseconds(1));
  }
  ASSERT_EQ(log.entries.size(), 3u);
  for (const auto& e : log.entries) {
    EXPECT_EQ(e.outcome.failure, Failure::TimedOut);
    EXPECT_NE(e.outcome.error.find("timed out"), std::string::npos) << e.outcome.error;
  }
}

TEST(Batcher, BadInputIsRefusedAtSubmit) {
  Batcher batcher(model());
  try {
    batcher.submit({"fine", "  "});
    FAIL() << "an empty text was queued";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text 1 is empty"), std::string::npos) << e.what();
  }
  EXPECT_THROW(batcher.submit({"fine"}, {.threshold = -1}), Error);
  EXPECT_THROW(Batcher(model(), {.max_batch_tokens = 0}), Error);
  EXPECT_EQ(batcher.stats().queued_inputs, 0u);
}

// Many client threads, mixed exit settings: every answer is classify's (ThreadSanitizer runs this).
TEST(BatcherConcurrency, ManyClientsGetClassifysAnswers) {
  const auto t = texts(40);
  const auto want = model().classify(t);
  const auto want_full = model().classify(t, {.full_depth = true});
  Batcher batcher(model(), {.max_batch_tokens = 512});
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&, c] {
      for (size_t i = static_cast<size_t>(c); i < t.size(); i += 4) {
        const bool full = i % 3 == 0;
        auto f = batcher.submit({t[i]}, full ? ClassifyOptions{.full_depth = true} : ClassifyOptions{});
        const Result r = f[0].get();
        const Result& w = (full ? want_full : want)[i];
        if (r.exit_layer != w.exit_layer || r.label != w.label) ++wrong;
      }
    });
  for (auto& c : clients) c.join();
  EXPECT_EQ(wrong.load(), 0);
}

// An input that arrives while a batch is deeper runs its first segment before that batch's
// next one: request B, submitted as A starts, is answered before any of A's inputs that leave
// at layer 2 or deeper (in a round of all batches it would wait for A's layer 2).
TEST(Batcher, NewArrivalRunsBeforeTheDeeperBatchesNextSegment) {
  const auto a = texts(48);
  const auto want_a = model().classify(a);
  ASSERT_TRUE(std::any_of(want_a.begin(), want_a.end(), [](const Result& r) { return r.exit_layer == 2; }));
  const auto easy = std::find_if(want_a.begin(), want_a.end(), [](const Result& r) { return r.exit_layer == 1; });
  ASSERT_NE(easy, want_a.end());
  const std::vector<std::string> b = {a[static_cast<size_t>(easy - want_a.begin())]};
  Log log;
  {
    Batcher* self = nullptr;
    bool submitted = false;
    Batcher batcher(model(), {.max_batch_tokens = 1 << 16, .on_batch = [&](int, int) {
                                if (submitted) return;
                                submitted = true;  // on the worker thread, as A starts
                                self->submit(b, {}, log.to(1));
                              }});
    self = &batcher;
    batcher.submit(a, {}, log.to(0));
    // B is submitted from the worker, so stop() (the destructor) must not come before it.
    for (int i = 0; i < 6000 && log.size() < a.size() + 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(log.entries.size(), a.size() + 1);
  size_t first_deep = log.entries.size();
  for (size_t i = 0; i < log.entries.size(); ++i)
    if (log.entries[i].request == 0 && log.entries[i].outcome.result.exit_layer >= 2) {
      first_deep = i;
      break;
    }
  EXPECT_LT(first_of(log, 1), first_deep);
  EXPECT_EQ(log.entries[first_of(log, 1)].outcome.result.exit_layer, 1);
}
