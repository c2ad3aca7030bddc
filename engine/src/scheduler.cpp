#include "engine/src/scheduler.h"

#include "kernels/compaction.h"
#include "kernels/exit_head.h"

namespace offramp::engine {

CpuChunk::CpuChunk(const ModelDir& m, kernels::Device dev, const ExitPlan& plan, const TokenIds& inputs,
                   InputRange range)
    : m_(m),
      plan_(plan),
      dev_(dev),
      enc_(m.config, m.weights, m.cpu, dev),
      in_(pack(inputs, range, m.config.position_offset)),
      offsets_(in_.offsets),
      chunk_(plan, range, in_.offsets) {
  enc_.embed(in_.ids.data(), in_.positions.data(), static_cast<int>(in_.ids.size()), ws_);
  in_ = {};  // the rows hold everything from here on
  buf_.prev_argmax.assign(range.size(), -1);
  buf_.unchanged.assign(range.size(), 0);
}

void CpuChunk::step(const BatchOptions& opt, std::vector<SequenceResult>& results) {
  const int h = m_.config.hidden;
  const size_t e = chunk_.next_head();
  const int batch = chunk_.batch();
  for (int layer = chunk_.first_layer(); layer <= plan_.layer(e); ++layer)
    enc_.run_layer(layer - 1, offsets_.data(), batch, ws_);

  const auto& hp = m_.heads[plan_.model_heads[e]];
  const kernels::ExitHeadWeights w{hp.dense_w.data(), hp.dense_b.data(), hp.cls_w.data(), hp.cls_b.data(),
                                   plan_.labels,      plan_.costs.pooling[e], plan_.temperature(opt, e),
                                   plan_.activations[e]};
  const size_t b = static_cast<size_t>(batch), labels = static_cast<size_t>(plan_.labels);
  buf_.scratch.resize(2 * b * static_cast<size_t>(h));
  buf_.logits.resize(b * labels), buf_.probs.resize(b * labels);
  buf_.confidence.resize(b), buf_.label.resize(b), buf_.keep.resize(b);
  const kernels::ExitOutputs out{buf_.logits.data(), buf_.probs.data(),       buf_.confidence.data(),
                                 buf_.label.data(),  buf_.keep.data(),        buf_.prev_argmax.data(),
                                 buf_.unchanged.data()};
  kernels::exit_head(dev_, ws_.x.data(), offsets_.data(), batch, h, w, plan_.rule(opt, e), buf_.scratch.data(), out);

  const auto& keep = chunk_.record(e + 1, [&](size_t) { return out; }, opt.record_heads, results);
  // Drop the inputs that left: survivors' rows and patience state move to the front.
  keep_survivors(buf_.prev_argmax, keep);
  keep_survivors(buf_.unchanged, keep);
  kernels::compact_sequences(dev_, ws_.x.data(), offsets_.data(), keep.data(), batch, h);
}

std::vector<SequenceResult> run_batch(const ModelDir& model, kernels::Device dev, const TokenIds& inputs,
                                      const BatchOptions& options) {
  std::vector<SequenceResult> results(inputs.size());
  ExitPlan plan = exit_plan(model.config, model.offramp);
  if (auto one = plan.one_head(options)) plan = std::move(*one);
  for (const InputRange& range : chunk_by_tokens(inputs, static_cast<size_t>(options.max_batch_tokens))) {
    CpuChunk chunk(model, dev, plan, inputs, range);
    while (chunk.busy()) chunk.step(options, results);
  }
  return results;
}

}  // namespace offramp::engine
