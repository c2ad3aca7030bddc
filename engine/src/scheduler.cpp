#include "engine/src/scheduler.h"

#include <algorithm>

#include "engine/src/encoder.h"
#include "kernels/compaction.h"
#include "kernels/exit_head.h"
#include "models/flops.h"

namespace offramp::engine {

namespace {

// One chunk of inputs [first, last) whose tokens fit the budget.
void run_chunk(const ModelDir& m, kernels::Device dev, const std::vector<std::vector<int32_t>>& inputs,
               size_t first, size_t last, const BatchOptions& opt, std::vector<SequenceResult>& results) {
  const auto& c = m.config;
  const int h = c.hidden, labels = static_cast<int>(m.offramp.labels.size());
  const models::FlopsShape shape{h, c.ffn, labels};
  int batch = static_cast<int>(last - first);

  // Packed ids/positions and offsets [batch + 1].
  std::vector<int32_t> ids, positions;
  std::vector<int> offsets{0};
  for (size_t i = first; i < last; ++i) {
    ids.insert(ids.end(), inputs[i].begin(), inputs[i].end());
    for (size_t p = 0; p < inputs[i].size(); ++p) positions.push_back(static_cast<int32_t>(p));
    offsets.push_back(static_cast<int>(ids.size()));
  }
  Workspace ws;
  const Encoder enc(c, m.weights, dev);
  enc.embed(ids.data(), positions.data(), static_cast<int>(ids.size()), ws);

  std::vector<int> active(static_cast<size_t>(batch));  // active slot -> input index
  for (int s = 0; s < batch; ++s) active[static_cast<size_t>(s)] = static_cast<int>(first) + s;
  std::vector<ExitState> state(static_cast<size_t>(batch));
  AlignedVector<float> scratch, logits, probs;
  std::vector<unsigned char> keep;
  size_t next_exit = 0;
  const int last_layer = m.offramp.exits.back().layer;

  for (int layer = 1; layer <= last_layer && batch > 0; ++layer) {
    enc.run_layer(layer - 1, offsets.data(), batch, ws);
    for (int s = 0; s < batch; ++s)
      results[static_cast<size_t>(active[static_cast<size_t>(s)])].flops +=
          models::layer_flops(shape, offsets[static_cast<size_t>(s) + 1] - offsets[static_cast<size_t>(s)]);
    if (m.offramp.exits[next_exit].layer != layer) continue;

    const auto& spec = m.offramp.exits[next_exit];
    const auto& hp = m.heads[next_exit];
    const kernels::ExitHeadWeights w{hp.dense_w.data(), hp.dense_b.data(), hp.cls_w.data(), hp.cls_b.data(),
                                     labels, spec.pooling,
                                     opt.temperatures.empty() ? spec.temperature : opt.temperatures[next_exit]};
    scratch.resize(2 * static_cast<size_t>(batch) * h);
    logits.resize(static_cast<size_t>(batch) * labels);
    probs.resize(static_cast<size_t>(batch) * labels);
    kernels::exit_head(dev, ws.x.data(), offsets.data(), batch, h, w, scratch.data(), logits.data(), probs.data());

    const bool final_head = next_exit + 1 == m.offramp.exits.size();
    keep.assign(static_cast<size_t>(batch), 1);
    for (int s = 0; s < batch; ++s) {
      const int input = active[static_cast<size_t>(s)];
      const float* p = probs.data() + static_cast<size_t>(s) * labels;
      const int n = offsets[static_cast<size_t>(s) + 1] - offsets[static_cast<size_t>(s)];
      SequenceResult& r = results[static_cast<size_t>(input)];
      r.flops += models::head_flops(shape, n, spec.pooling);
      ExitDecision d = decide_exit(opt.policy, p, labels, state[static_cast<size_t>(s)]);
      if (opt.record_heads) {
        const float* z = logits.data() + static_cast<size_t>(s) * labels;
        r.head_logits.insert(r.head_logits.end(), z, z + labels);
        d.exit = false;
      }
      if (d.exit || final_head) {
        r.label = d.argmax;
        r.confidence = d.confidence;
        r.probabilities.assign(p, p + labels);
        r.logits.assign(logits.data() + static_cast<size_t>(s) * labels, logits.data() + static_cast<size_t>(s + 1) * labels);
        r.exit_layer = layer;
        keep[static_cast<size_t>(s)] = 0;
      }
    }
    // Drop the inputs that left; survivors (and their per-input state) move to the front.
    int out = 0;
    for (int s = 0; s < batch; ++s)
      if (keep[static_cast<size_t>(s)]) {
        active[static_cast<size_t>(out)] = active[static_cast<size_t>(s)];
        state[static_cast<size_t>(out)] = state[static_cast<size_t>(s)];
        ++out;
      }
    batch = kernels::compact_sequences(dev, ws.x.data(), offsets.data(), keep.data(), batch, h);
    ++next_exit;
  }
}

}  // namespace

std::vector<SequenceResult> run_batch(const ModelDir& model, kernels::Device dev,
                                      const std::vector<std::vector<int32_t>>& inputs,
                                      const BatchOptions& options) {
  std::vector<SequenceResult> results(inputs.size());
  const size_t budget = static_cast<size_t>(std::max(options.max_batch_tokens, 1));
  size_t first = 0;
  while (first < inputs.size()) {
    // Greedy chunking in input order; a single input longer than the budget runs alone.
    size_t last = first, tokens = 0;
    while (last < inputs.size() && (last == first || tokens + inputs[last].size() <= budget))
      tokens += inputs[last++].size();
    run_chunk(model, dev, inputs, first, last, options, results);
    first = last;
  }
  return results;
}

}  // namespace offramp::engine
