#include <iostream>
#include <nlohmann/json.hpp>

#include "offramp/offramp.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/input.h"

namespace offramp::cli {

namespace {
struct TokenizeArgs {
  std::string model, input = "-", format = "jsonl";
  int max_length = 0;
};
}  // namespace

Run add_tokenize(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  app.add_option("MODEL", a->model, "Model directory")->required();
  app.add_option("FILE", a->input, "Input: one text per line; '-' = stdin")->capture_default_str();
  app.add_option("--max-length", a->max_length, "Truncate to this many tokens (default: the model's max_length)")
      ->check(CLI::Range(2, 1 << 20));
  app.add_option("--format", a->format, "jsonl ({\"line\", \"ids\", \"tokens\"} per line) or ids (space-separated ids)")
      ->check(CLI::IsMember({"jsonl", "ids"}))->capture_default_str();
  return [a] {
    const auto lines = read_input(a->input, InputFormat::Text, false);
    const auto clf = Classifier::load(a->model, {.device = Device::Cpu});
    for (const auto& l : lines) {
      const auto ids = clf.tokenize(l.text, a->max_length);
      if (a->format == "ids") {
        for (size_t k = 0; k < ids.size(); ++k) std::cout << (k ? " " : "") << ids[k];
        std::cout << "\n";
        continue;
      }
      nlohmann::json tokens = nlohmann::json::array();
      for (int id : ids) tokens.push_back(clf.token_string(id));
      std::cout << nlohmann::json{{"line", l.line_no}, {"ids", ids}, {"tokens", tokens}}.dump(
                       -1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    }
    return 0;
  };
}

}  // namespace offramp::cli
