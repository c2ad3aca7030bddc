// The early-exit core (engine/src/early_exit.h) on hand-made head outputs: chunking, packing,
// the results recorded as inputs leave, the survivors, and the FLOPs they are charged.
#include <gtest/gtest.h>

#include <vector>

#include "engine/src/early_exit.h"
#include "kernels/device.h"

using namespace offramp;
using namespace offramp::engine;

namespace {

// A head's outputs for a batch, in host memory, with chosen labels and keep flags.
struct FakeHead {
  std::vector<float> logits, probs, confidence;
  std::vector<int> label;
  std::vector<unsigned char> keep;
  FakeHead(std::vector<unsigned char> k, int labels, float base) : keep(std::move(k)) {
    const size_t b = keep.size();
    for (size_t s = 0; s < b * labels; ++s) logits.push_back(base + float(s)), probs.push_back(0.5f);
    for (size_t s = 0; s < b; ++s) confidence.push_back(0.6f + 0.01f * float(s)), label.push_back(int(s) % labels);
  }
  kernels::ExitOutputs outputs() {
    return {logits.data(), probs.data(), confidence.data(), label.data(), keep.data(), nullptr, nullptr};
  }
};

ExitPlan two_exits() {
  models::OfframpConfig oc;
  oc.labels = {"a", "b"};
  oc.exits = {{1, kernels::Pooling::Cls, 1.0f}, {3, kernels::Pooling::Mean, 2.0f}};
  models::BertConfig c;
  c.hidden = 8, c.ffn = 16;
  return exit_plan(c, oc);
}

}  // namespace

TEST(EarlyExitCore, ChunksAreGreedyByTokensAndALongInputRunsAlone) {
  const TokenIds in = {std::vector<int32_t>(3), std::vector<int32_t>(4), std::vector<int32_t>(5),
                       std::vector<int32_t>(10), std::vector<int32_t>(1)};
  const auto chunks = chunk_by_tokens(in, 8);
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[0].first, 0u);
  EXPECT_EQ(chunks[0].last, 2u);  // 3 + 4 fit, + 5 would not
  EXPECT_EQ(chunks[1].first, 2u);
  EXPECT_EQ(chunks[1].last, 3u);
  EXPECT_EQ(chunks[2].first, 3u);
  EXPECT_EQ(chunks[2].last, 4u);  // 10 > 8: alone
  EXPECT_EQ(chunks[3].first, 4u);
  EXPECT_EQ(chunks[3].last, 5u);
  EXPECT_TRUE(chunk_by_tokens({}, 8).empty());
}

TEST(EarlyExitCore, PackingConcatenatesIdsWithPositionsPerSequence) {
  const TokenIds in = {{7, 8}, {9}, {1, 2, 3}};
  const PackedInputs p = pack(in, {1, 3}, 2);
  EXPECT_EQ(p.ids, (std::vector<int32_t>{9, 1, 2, 3}));
  EXPECT_EQ(p.positions, (std::vector<int32_t>{2, 2, 3, 4}));  // offset 2 (RoBERTa-style)
  EXPECT_EQ(p.offsets, (std::vector<int>{0, 1, 4}));
}

TEST(EarlyExitCore, RecordsLeaversAndKeepsSurvivorsInOrder) {
  const ExitPlan plan = two_exits();
  const TokenIds in = {{1, 2}, {3, 4, 5}, {6}, {7, 8, 9, 10}};
  std::vector<SequenceResult> results(in.size());
  const PackedInputs p = pack(in, {0, 4}, 0);
  ChunkExits chunk(plan, {0, 4}, p.offsets);
  EXPECT_EQ(chunk.batch(), 4);
  EXPECT_EQ(chunk.longest(), 4);
  EXPECT_EQ(chunk.first_layer(), 1);
  FakeHead h0({1, 0, 1, 0}, 2, 0.0f);
  const auto keep = chunk.record(1, [&](size_t) { return h0.outputs(); }, false, results);
  EXPECT_EQ(keep, (std::vector<unsigned char>{1, 0, 1, 0}));
  EXPECT_EQ(chunk.batch(), 2);
  EXPECT_EQ(chunk.offsets(), (std::vector<int>{0, 2, 3}));  // inputs 0 and 2 remain
  EXPECT_EQ(chunk.first_layer(), 2);
  EXPECT_EQ(chunk.next_head(), 1u);
  // Input 1 (slot 1) left at layer 1: its label, confidence, logits, and one layer + one head.
  EXPECT_EQ(results[1].exit_layer, 1);
  EXPECT_EQ(results[1].label, 1);
  EXPECT_FLOAT_EQ(results[1].confidence, 0.61f);
  EXPECT_EQ(results[1].logits, (std::vector<float>{2.0f, 3.0f}));
  const models::FlopsShape shape{8, 16, 2};
  EXPECT_DOUBLE_EQ(results[1].flops, models::layer_flops(shape, 3) + models::head_flops(shape, 3, kernels::Pooling::Cls));
  EXPECT_EQ(results[3].exit_layer, 1);
  EXPECT_EQ(results[0].exit_layer, 0);  // not yet left
  // The last head: the survivors' slots are 0 -> input 0, 1 -> input 2.
  FakeHead h1({0, 0}, 2, 10.0f);
  chunk.record(2, [&](size_t) { return h1.outputs(); }, false, results);
  EXPECT_TRUE(chunk.done());
  EXPECT_EQ(results[2].exit_layer, 3);
  EXPECT_EQ(results[2].logits, (std::vector<float>{12.0f, 13.0f}));
  EXPECT_DOUBLE_EQ(results[2].flops, 3 * models::layer_flops(shape, 1) + models::head_flops(shape, 1, kernels::Pooling::Cls) +
                                         models::head_flops(shape, 1, kernels::Pooling::Mean));
  EXPECT_DOUBLE_EQ(results[0].flops, plan.costs.leave_at(2, 1));
}

TEST(EarlyExitCore, ASegmentOfSeveralHeadsAndRecordedLogits) {
  const ExitPlan plan = two_exits();
  const TokenIds in = {{1, 2}, {3}};
  std::vector<SequenceResult> results(in.size());
  ChunkExits chunk(plan, {0, 2}, pack(in, {0, 2}, 0).offsets);
  // Both heads in one segment (a GPU tail): input 0 leaves at the first, input 1 at the last.
  FakeHead h0({0, 1}, 2, 0.0f), h1({0, 0}, 2, 100.0f);
  chunk.record(2, [&](size_t e) { return e == 0 ? h0.outputs() : h1.outputs(); }, true, results);
  EXPECT_TRUE(chunk.done());
  EXPECT_EQ(results[0].exit_layer, 1);
  EXPECT_EQ(results[1].exit_layer, 3);
  // Recorded logits: input 0 stops at the head it left at; input 1 has both heads'.
  EXPECT_EQ(results[0].head_logits, (std::vector<float>{0.0f, 1.0f}));
  EXPECT_EQ(results[1].head_logits, (std::vector<float>{2.0f, 3.0f, 102.0f, 103.0f}));
}

TEST(EarlyExitCore, InputsThatOutliveTheLastHeadAreAnInternalError) {
  const ExitPlan plan = two_exits();
  const TokenIds in = {{1}};
  std::vector<SequenceResult> results(1);
  ChunkExits chunk(plan, {0, 1}, pack(in, {0, 1}, 0).offsets);
  FakeHead h({1}, 2, 0.0f);
  chunk.record(1, [&](size_t) { return h.outputs(); }, false, results);
  EXPECT_THROW(chunk.record(2, [&](size_t) { return h.outputs(); }, false, results), kernels::KernelError);
  EXPECT_THROW(chunk.record(5, [&](size_t) { return h.outputs(); }, false, results), kernels::KernelError);
}
