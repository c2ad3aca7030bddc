#include "engine/src/scheduler.h"

#include "engine/src/encoder.h"
#include "kernels/compaction.h"
#include "kernels/exit_head.h"

namespace offramp::engine {

namespace {

// Host buffers for one head's outputs over a batch (kernels/exit_rule.h), and the patience
// state that the rule reads and updates, carried across heads per active slot.
struct HeadBuffers {
  AlignedVector<float> scratch, logits, probs, confidence;
  std::vector<int> label, prev_argmax, unchanged;
  std::vector<unsigned char> keep;

  explicit HeadBuffers(int batch) : prev_argmax(static_cast<size_t>(batch), -1), unchanged(static_cast<size_t>(batch), 0) {}
  kernels::ExitOutputs outputs(int batch, int h, int labels) {
    const size_t b = static_cast<size_t>(batch);
    scratch.resize(2 * b * static_cast<size_t>(h));
    logits.resize(b * static_cast<size_t>(labels)), probs.resize(b * static_cast<size_t>(labels));
    confidence.resize(b), label.resize(b), keep.resize(b);
    return {logits.data(), probs.data(), confidence.data(), label.data(),
            keep.data(),   prev_argmax.data(), unchanged.data()};
  }
};

// One chunk of inputs whose tokens fit the budget.
void run_chunk(const ModelDir& m, const ExitPlan& plan, kernels::Device dev, const TokenIds& inputs,
               InputRange range, const BatchOptions& opt, std::vector<SequenceResult>& results) {
  const int h = m.config.hidden;
  const PackedInputs in = pack(inputs, range, m.config.position_offset);
  std::vector<int> offsets = in.offsets;  // [batch + 1], compacted in place with the rows
  Workspace ws;
  const Encoder enc(m.config, m.weights, m.cpu, dev);
  enc.embed(in.ids.data(), in.positions.data(), static_cast<int>(in.ids.size()), ws);

  ChunkExits chunk(plan, range, in.offsets);
  HeadBuffers buf(chunk.batch());
  while (!chunk.done()) {
    const size_t e = chunk.next_head();
    const int batch = chunk.batch();
    for (int layer = chunk.first_layer(); layer <= plan.layer(e); ++layer)
      enc.run_layer(layer - 1, offsets.data(), batch, ws);

    const auto& hp = m.heads[plan.model_heads[e]];
    const kernels::ExitHeadWeights w{hp.dense_w.data(), hp.dense_b.data(), hp.cls_w.data(), hp.cls_b.data(),
                                     plan.labels,       plan.costs.pooling[e], plan.temperature(opt, e),
                                     plan.activations[e]};
    const kernels::ExitOutputs out = buf.outputs(batch, h, plan.labels);
    kernels::exit_head(dev, ws.x.data(), offsets.data(), batch, h, w, plan.rule(opt, e), buf.scratch.data(), out);

    const auto& keep = chunk.record(e + 1, [&](size_t) { return out; }, opt.record_heads, results);
    // Drop the inputs that left: survivors' rows and patience state move to the front.
    keep_survivors(buf.prev_argmax, keep);
    keep_survivors(buf.unchanged, keep);
    kernels::compact_sequences(dev, ws.x.data(), offsets.data(), keep.data(), batch, h);
  }
}

}  // namespace

std::vector<SequenceResult> run_batch(const ModelDir& model, kernels::Device dev, const TokenIds& inputs,
                                      const BatchOptions& options) {
  std::vector<SequenceResult> results(inputs.size());
  ExitPlan plan = exit_plan(model.config, model.offramp);
  if (auto one = plan.one_head(options)) plan = std::move(*one);
  for (const InputRange& chunk : chunk_by_tokens(inputs, static_cast<size_t>(options.max_batch_tokens)))
    run_chunk(model, plan, dev, inputs, chunk, options, results);
  return results;
}

}  // namespace offramp::engine
