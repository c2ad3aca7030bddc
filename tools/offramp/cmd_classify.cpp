#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "offramp/offramp.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/device_flags.h"
#include "tools/offramp/input.h"

namespace offramp::cli {

namespace {
struct ClassifyArgs {
  std::string model, input = "-", format = "auto", policy;
  std::optional<double> threshold;
  std::optional<int> patience, max_length, exit_layer;
  int batch_size = 32, threads = 0;
  DeviceFlags device;
  bool probabilities = false, logits = false, full_depth = false;
};
}  // namespace

Run add_classify(CLI::App& app) {
  auto a = std::make_shared<ClassifyArgs>();
  app.add_option("MODEL", a->model, "Model directory (with exit heads)")->required();
  app.add_option("FILE", a->input, "Input: one text per line, or TSV label<TAB>text; '-' = stdin")->capture_default_str();
  app.add_option("--format", a->format, "auto (TSV when the first line has a TAB), text or tsv")
      ->check(CLI::IsMember({"auto", "text", "tsv"}))->capture_default_str();
  app.add_option("--threshold", a->threshold, "Exit threshold (default: the model's offramp.json)")->check(CLI::Range(0.0, 1e9));
  app.add_option("--policy", a->policy, "max_prob, entropy, patience or static (default: the model's)")
      ->check(CLI::IsMember({"max_prob", "entropy", "patience", "static"}));
  app.add_option("--exit-layer", a->exit_layer, "Static policy: the exit layer every input leaves at (default: the model's)")
      ->check(CLI::Range(1, 1 << 10));
  app.add_option("--patience", a->patience, "Patience policy: consecutive unchanged exits")->check(CLI::Range(0, 1 << 20));
  app.add_option("--max-length", a->max_length, "Truncate inputs to this many tokens (incl. [CLS]/[SEP])")->check(CLI::Range(2, 1 << 20));
  app.add_option("--batch-size", a->batch_size, "Texts per batch")->check(CLI::Range(1, 1 << 16))->capture_default_str();
  app.add_option("--threads", a->threads, "CPU threads (0 = all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  add_device_flags(app, a->device);
  app.add_flag("--full-depth", a->full_depth, "No early exit: every input runs every layer and answers at the last head");
  app.add_flag("--probabilities", a->probabilities, "Also print the per-label probabilities");
  app.add_flag("--logits", a->logits, "Also print the exit head's raw per-label logits (before the temperature)");
  app.footer("Output: one JSON object per input line on stdout (line, label, confidence, exit_layer, tokens, flops).\n"
             "For labelled (TSV) input a summary follows on stderr: accuracy, mean exit layer, FLOPs relative to full depth.");
  return [a] {
    const InputFormat fmt = a->format == "text" ? InputFormat::Text : a->format == "tsv" ? InputFormat::Tsv : InputFormat::Auto;
    const auto clf = Classifier::load(a->model, load_options(a->device, a->threads));
    const int max_length = a->max_length.value_or(0);
    const auto lines = read_input(a->input, fmt, true,
                                  [&](std::string_view t) { return clf.decided_prefix(t, max_length); });
    const auto& labels = clf.info().labels;
    if (labels.empty()) throw Error(a->model + ": this model has no exit heads; add them with offramp-train before classifying");
    for (const auto& l : lines)
      if (l.label && std::find(labels.begin(), labels.end(), *l.label) == labels.end()) {
        std::string known;
        for (const auto& k : labels) known += (known.empty() ? "" : ", ") + k;
        throw Error((a->input == "-" ? std::string("<stdin>") : a->input) + ":" + std::to_string(l.line_no) +
                    ": unknown label '" + *l.label + "' (the model's labels: " + known + ")");
      }
    ClassifyOptions opt;
    opt.threshold = a->threshold;
    opt.patience = a->patience;
    opt.max_length = a->max_length;
    opt.full_depth = a->full_depth;
    opt.exit_layer = a->exit_layer;
    if (!a->policy.empty()) opt.policy = parse_policy(a->policy);

    size_t correct = 0, labelled = 0;
    double flops = 0, full = 0, exit_sum = 0;
    std::map<int, size_t> exits;
    std::vector<std::string> batch;
    for (size_t begin = 0; begin < lines.size(); begin += static_cast<size_t>(a->batch_size)) {
      const size_t end = std::min(lines.size(), begin + static_cast<size_t>(a->batch_size));
      batch.clear();
      for (size_t i = begin; i < end; ++i) batch.push_back(lines[i].text);
      const auto results = clf.classify(batch, opt);
      for (size_t i = begin; i < end; ++i) {
        const Result& r = results[i - begin];
        nlohmann::json j = {{"line", lines[i].line_no}, {"label", r.label}, {"confidence", r.confidence},
                            {"exit_layer", r.exit_layer}, {"tokens", r.num_tokens}, {"flops", r.flops}};
        if (lines[i].label) {
          j["gold"] = *lines[i].label;
          ++labelled;
          correct += *lines[i].label == r.label;
        }
        if (a->probabilities) j["probabilities"] = r.probabilities;
        if (a->logits) j["logits"] = r.logits;
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        flops += r.flops, full += r.full_depth_flops, exit_sum += r.exit_layer;
        ++exits[r.exit_layer];
      }
    }
    std::cout.flush();
    const double n = static_cast<double>(lines.size());
    std::cerr << "inputs " << lines.size();
    if (labelled) std::cerr << "  accuracy " << 100.0 * correct / labelled << "% (" << correct << "/" << labelled << ")";
    std::cerr << "  mean exit layer " << exit_sum / n << "  mean GFLOP/input " << flops / n / 1e9
              << "  FLOPs relative to full depth " << flops / full << "\nexits by layer:";
    for (const auto& [layer, count] : exits) std::cerr << "  " << layer << ": " << count;
    std::cerr << "\n";
    return 0;
  };
}

}  // namespace offramp::cli
