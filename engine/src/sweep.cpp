#include "engine/src/sweep.h"

#include <algorithm>
#include <utility>

#include "models/flops.h"

namespace offramp::engine {

namespace {

// Per-class F1 averaged over the classes that occur in gold or predictions.
double macro_f1(const std::vector<int>& gold, const std::vector<int>& pred, int labels) {
  std::vector<double> tp(static_cast<size_t>(labels)), fp(static_cast<size_t>(labels)), fn(static_cast<size_t>(labels));
  for (size_t i = 0; i < gold.size(); ++i) {
    if (gold[i] == pred[i]) {
      tp[static_cast<size_t>(gold[i])] += 1;
    } else {
      fp[static_cast<size_t>(pred[i])] += 1;
      fn[static_cast<size_t>(gold[i])] += 1;
    }
  }
  double sum = 0;
  int classes = 0;
  for (size_t k = 0; k < static_cast<size_t>(labels); ++k) {
    const double denom = 2 * tp[k] + fp[k] + fn[k];
    if (denom == 0) continue;
    sum += 2 * tp[k] / denom;
    ++classes;
  }
  return classes ? sum / classes : 0.0;
}

struct Costs {
  // cost[i][e]: FLOPs of input i leaving dynamically at exit e (layers up to it, heads 0..e).
  std::vector<std::vector<double>> dynamic;
  std::vector<std::vector<double>> single;  // layers up to exit e and one head (static)
  double full_sum = 0;                      // sum over inputs of full-depth FLOPs
};

// The same cost function the engine's results come from (models::ExitCosts), so a replayed
// setting reports the FLOPs that classify would.
Costs costs(const SweepInput& in) {
  const models::ExitCosts exits{{in.hidden, in.ffn, in.labels, in.projected_embedding}, in.exit_layers, in.pooling};
  const size_t E = in.exit_layers.size();
  Costs c;
  for (size_t i = 0; i < in.size(); ++i) {
    const int n = in.num_tokens[i];
    std::vector<double> one(E);
    for (size_t e = 0; e < E; ++e) one[e] = exits.alone(n, e);
    c.full_sum += one[E - 1];
    c.dynamic.push_back(exits.leave_at_each(n));
    c.single.push_back(std::move(one));
  }
  return c;
}

SweepPoint summarise(const SweepInput& in, const Costs& c, std::vector<int> pred, const std::vector<int>& exit_index,
                     bool dynamic) {
  SweepPoint p;
  const size_t n = in.size(), E = in.exit_layers.size();
  p.exit_histogram.assign(E, 0);
  double flops = 0, layer_sum = 0, correct = 0;
  p.input_flops.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const auto e = static_cast<size_t>(exit_index[i]);
    const double f = dynamic ? c.dynamic[i][e] : c.single[i][e];
    p.input_flops[i] = static_cast<float>(f);
    flops += f;
    layer_sum += in.exit_layers[e];
    correct += pred[i] == in.gold[i];
    ++p.exit_histogram[e];
  }
  const double dn = static_cast<double>(std::max<size_t>(n, 1));
  p.accuracy = correct / dn;
  p.macro_f1 = macro_f1(in.gold, pred, in.labels);
  p.mean_flops = flops / dn;
  p.relative_flops = c.full_sum > 0 ? flops / c.full_sum : 0;
  p.mean_exit_layer = layer_sum / dn;
  p.predictions = std::move(pred);
  return p;
}

// One setting replayed, with the per-input costs computed once by the caller.
SweepPoint simulate_with(const SweepInput& in, const Costs& c, const PolicyParams& params) {
  const size_t n = in.size(), E = in.exit_layers.size(), L = static_cast<size_t>(in.labels);
  std::vector<int> pred(n), exit_index(n);
  // One input's outputs of the exit rule, exactly as a backend's head writes them.
  std::vector<float> logits(L), probs(L);
  float confidence = 0;
  int label = 0, prev_argmax = -1, unchanged = 0;
  unsigned char keep = 1;
  const kernels::ExitOutputs out{logits.data(), probs.data(), &confidence, &label, &keep, &prev_argmax, &unchanged};
  for (size_t i = 0; i < n; ++i) {
    prev_argmax = -1, unchanged = 0;
    for (size_t e = 0; e < E; ++e) {
      const kernels::ExitRule rule = exit_rule(params, false, e, E);
      kernels::finish_exit(in.logits.data() + (i * E + e) * L, in.labels, in.temperatures[e], rule, out, 0);
      if (!keep) {
        pred[i] = label;
        exit_index[i] = static_cast<int>(e);
        break;
      }
    }
  }
  SweepPoint p = summarise(in, c, std::move(pred), exit_index, true);
  p.kind = "dynamic";
  p.policy = policy_name(params.policy);
  p.threshold = params.policy == Policy::Patience ? params.patience : params.threshold;
  return p;
}

}  // namespace

SweepInput sweep_input_for(const ModelInfo& info) {
  SweepInput in;
  in.labels = static_cast<int>(info.labels.size());
  in.hidden = info.hidden;
  in.ffn = info.ffn;
  in.projected_embedding = info.embedding_size != info.hidden ? info.embedding_size : 0;
  for (const auto& e : info.exits) {
    in.exit_layers.push_back(e.layer);
    in.pooling.push_back(e.pooling == "mean" ? kernels::Pooling::Mean : kernels::Pooling::Cls);
    in.temperatures.push_back(e.temperature);
  }
  return in;
}

void add_traced(SweepInput& in, const ExitTrace& trace, int gold) {
  in.num_tokens.push_back(trace.num_tokens);
  in.gold.push_back(gold);
  for (const auto& z : trace.logits) in.logits.insert(in.logits.end(), z.begin(), z.end());
}

SweepInput subset(const SweepInput& in, const std::vector<size_t>& rows) {
  SweepInput out = in;
  out.num_tokens.clear(), out.gold.clear(), out.logits.clear();
  const size_t per_input = in.exit_layers.size() * static_cast<size_t>(in.labels);
  for (size_t r : rows) {
    out.num_tokens.push_back(in.num_tokens.at(r));
    out.gold.push_back(in.gold.at(r));
    const auto first = in.logits.begin() + static_cast<std::ptrdiff_t>(r * per_input);
    out.logits.insert(out.logits.end(), first, first + static_cast<std::ptrdiff_t>(per_input));
  }
  return out;
}

SweepPoint simulate(const SweepInput& in, const PolicyParams& params) {
  if (params.policy == Policy::Static) {
    for (auto& p : static_points(in))
      if (static_cast<int>(p.threshold) == params.exit_layer) return p;
    throw Error("static policy: exit layer " + std::to_string(params.exit_layer) + " is not one of the model's exits");
  }
  return simulate_with(in, costs(in), params);
}

std::vector<SweepPoint> static_points(const SweepInput& in) {
  const Costs c = costs(in);
  const size_t n = in.size(), E = in.exit_layers.size(), L = static_cast<size_t>(in.labels);
  std::vector<SweepPoint> out;
  for (size_t e = 0; e < E; ++e) {
    std::vector<int> pred(n), exit_index(n, static_cast<int>(e));
    for (size_t i = 0; i < n; ++i) {
      const float* z = in.logits.data() + (i * E + e) * L;
      pred[i] = static_cast<int>(std::max_element(z, z + L) - z);
    }
    SweepPoint p = summarise(in, c, std::move(pred), exit_index, false);
    p.kind = "static";
    p.policy = "static";
    p.threshold = in.exit_layers[e];
    out.push_back(std::move(p));
  }
  return out;
}

SweepPoint full_depth_point(const SweepInput& in) {
  SweepPoint p = static_points(in).back();
  p.kind = "full_depth";
  return p;
}

std::vector<double> sweep_thresholds(Policy policy, int exits) {
  std::vector<double> t;
  if (policy == Policy::Patience) {
    for (int k = 0; k < exits; ++k) t.push_back(k);
    return t;
  }
  for (int k = 0; k < 90; k += 5) t.push_back(k / 100.0);
  for (int k = 90; k < 990; ++k) t.push_back(k / 1000.0);
  for (int k = 990; k <= 999; ++k) t.push_back(k / 1000.0);
  for (double x : {0.9995, 0.9999, 0.99999}) t.push_back(x);
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

std::vector<SweepPoint> sweep(const SweepInput& in, Policy policy) {
  if (policy == Policy::Static) return static_points(in);
  const Costs c = costs(in);
  std::vector<SweepPoint> out;
  for (double t : sweep_thresholds(policy, static_cast<int>(in.exit_layers.size()))) {
    PolicyParams p;
    p.policy = policy;
    p.threshold = policy == Policy::Patience ? 2.0 : t;  // Patience ignores the threshold
    p.patience = policy == Policy::Patience ? static_cast<int>(t) : 0;
    out.push_back(simulate_with(in, c, p));
  }
  return out;
}

const SweepPoint* cheapest_within(const std::vector<const SweepPoint*>& points, double full_accuracy,
                                  double max_drop_points) {
  const SweepPoint* best = nullptr;
  for (const SweepPoint* p : points) {
    if (100.0 * (full_accuracy - p->accuracy) > max_drop_points + 1e-9) continue;
    if (!best || p->relative_flops < best->relative_flops ||
        (p->relative_flops == best->relative_flops && p->accuracy > best->accuracy))
      best = p;
  }
  return best;
}

const SweepPoint* most_accurate_within(const std::vector<const SweepPoint*>& points, double budget) {
  const SweepPoint* best = nullptr;
  for (const SweepPoint* p : points) {
    if (p->relative_flops > budget + 1e-12) continue;
    if (!best || p->accuracy > best->accuracy || (p->accuracy == best->accuracy && p->relative_flops < best->relative_flops))
      best = p;
  }
  return best;
}

namespace {
std::vector<const SweepPoint*> pointers(const std::vector<SweepPoint>& points) {
  std::vector<const SweepPoint*> out;
  for (const auto& p : points) out.push_back(&p);
  return out;
}
int index_of(const SweepPoint* p, const std::vector<SweepPoint>& points) {
  return p ? static_cast<int>(p - points.data()) : -1;
}
}  // namespace

int choose_by_max_drop(const std::vector<SweepPoint>& points, double full_accuracy, double max_drop_points) {
  return index_of(cheapest_within(pointers(points), full_accuracy, max_drop_points), points);
}

int choose_by_budget(const std::vector<SweepPoint>& points, double budget) {
  return index_of(most_accurate_within(pointers(points), budget), points);
}

PolicyParams setting_of(const SweepPoint& p) {
  PolicyParams pp;
  if (p.kind != "dynamic") {  // an exit alone, or full depth (the last exit alone)
    pp.policy = Policy::Static;
    pp.exit_layer = static_cast<int>(p.threshold);
    return pp;
  }
  pp.policy = parse_policy(p.policy);
  if (pp.policy == Policy::Patience) pp.patience = static_cast<int>(p.threshold);
  else pp.threshold = p.threshold;
  return pp;
}

}  // namespace offramp::engine
