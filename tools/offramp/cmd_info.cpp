#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "offramp/offramp.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/device_flags.h"

namespace offramp::cli {

namespace {
struct InfoArgs {
  std::string model, precision = "auto";
  bool json = false;
};
// This process's resident memory (VmRSS of /proc/self/status) in bytes; 0 where unknown.
size_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return static_cast<size_t>(std::stoull(line.substr(6))) * 1024;  // "... kB"
  return 0;
}
}  // namespace

Run add_info(CLI::App& app) {
  auto a = std::make_shared<InfoArgs>();
  app.add_option("MODEL", a->model, "Model directory")->required();
  app.add_flag("--json", a->json, "Print JSON instead of text");
  app.add_option("--precision", a->precision,
                 "CPU precision to load at and report the weights' memory for (auto: what the model file stores)")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "int8"}))
      ->capture_default_str();
  return [a] {
    const size_t rss_before = resident_bytes();
    const Precision precision = a->precision == "fp32"   ? Precision::F32
                                : a->precision == "bf16" ? Precision::BF16
                                : a->precision == "int8" ? Precision::Int8
                                                         : Precision::Auto;
    const auto clf = Classifier::load(a->model, {.device = Device::Cpu, .precision = precision});
    const ModelInfo& i = clf.info();
    nlohmann::json exits = nlohmann::json::array();
    for (const auto& e : i.exits)
      exits.push_back({{"layer", e.layer},
                       {"pooling", e.pooling},
                       {"temperature", e.temperature},
                       {"activation", e.activation},
                       {"checkpoint_head", e.checkpoint_head}});
    if (a->json) {
      nlohmann::json j = {{"path", i.path},
                          {"architecture", i.architecture},
                          {"layers", i.layers},
                          {"hidden", i.hidden},
                          {"embedding_size", i.embedding_size},
                          {"heads", i.heads},
                          {"ffn", i.ffn},
                          {"vocab_size", i.vocab_size},
                          {"max_position", i.max_position},
                          {"max_tokens", i.max_tokens},
                          {"activation", i.activation},
                          {"tokenizer", i.tokenizer},
                          {"max_length", i.max_length},
                          {"parameters", i.parameters},
                          {"exits", exits},
                          {"labels", i.labels},
                          {"flops_per_token_per_layer", i.flops_per_token_per_layer},
                          {"gpu", gpu_availability()},
                          {"cpu_precisions", cpu_precisions()},
                          {"precision", i.precision},
                          {"precision_note", i.precision_note},
                          {"weight_bytes", i.weight_bytes},
                          {"resident_bytes_before_load", rss_before},
                          {"resident_bytes_after_load", resident_bytes()}};
      if (!i.exits.empty()) {
        j["policy"] = {{"name", i.policy}, {"threshold", i.threshold}, {"patience", i.patience}};
        if (i.policy == "static") j["policy"]["exit_layer"] = i.exit_layer;
      }
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << "model         " << i.path << "\n"
              << "architecture  " << i.architecture << ": " << i.layers << " layers, hidden "
              << i.hidden << ", " << i.heads << " heads, ffn " << i.ffn << ", " << i.activation
              << (i.embedding_size != i.hidden
                      ? ", embeddings " + std::to_string(i.embedding_size) + " projected to " + std::to_string(i.hidden)
                      : std::string())
              << "\n"
              << "tokenizer     " << i.tokenizer << ", vocabulary " << i.vocab_size
              << ", max_length " << i.max_length << " (model limit " << i.max_tokens << ")\n"
              << "parameters    " << i.parameters << " (" << i.parameters / 1e6 << " M)\n"
              << "FLOPs         " << i.flops_per_token_per_layer / 1e6
              << " MFLOP per token per layer (projections + FFN; attention adds 4*n*h per token at "
                 "length n)\n"
              << "GPU           " << gpu_availability() << "\n"
              << "CPU precision " << cpu_precisions() << "\n"
              << "loaded as     " << i.precision << " on the CPU: weights " << std::fixed << std::setprecision(1)
              << i.weight_bytes / 1e6 << " MB in memory" << std::defaultfloat << std::setprecision(6)
              << (i.precision_note.empty() ? "" : " (" + i.precision_note + ")") << "\n";
    if (const size_t rss = resident_bytes())
      std::cout << "process       " << std::fixed << std::setprecision(1) << rss / 1e6
                << " MB resident after loading (VmRSS), " << rss_before / 1e6 << " MB before\n"
                << std::defaultfloat << std::setprecision(6);
    if (i.exits.empty()) {
      std::cout << "exit heads    none: a plain checkpoint. Add heads with offramp-train before classifying.\n";
      return 0;
    }
    std::cout << "labels        ";
    for (size_t k = 0; k < i.labels.size(); ++k) std::cout << (k ? ", " : "") << i.labels[k];
    std::cout << "\npolicy        " << i.policy;
    if (i.policy == "static") std::cout << ", every input leaves after layer " << i.exit_layer;
    else std::cout << ", threshold " << i.threshold << ", patience " << i.patience;
    std::cout << "\n"
              << "exit heads    " << i.exits.size() << ":\n";
    for (const auto& e : i.exits)
      std::cout << "  after layer " << e.layer << "  pooling " << e.pooling << "  temperature " << e.temperature
                << (e.activation != "tanh" ? "  activation " + e.activation : "")
                << (e.checkpoint_head ? "  (the checkpoint's own classification head)" : "") << "\n";
    return 0;
  };
}

}  // namespace offramp::cli
