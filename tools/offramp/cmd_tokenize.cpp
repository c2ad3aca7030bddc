#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "engine/src/tokenizer.h"
#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "offramp/offramp.h"
#include "tools/offramp/commands.h"
#include "tools/offramp/input.h"

namespace offramp::cli {

namespace {
struct TokenizeArgs {
  std::string model, input = "-", format = "jsonl";
  int max_length = 0;
  bool tsv = false;
};

// The default truncation: offramp.json max_length, else what config.json's position
// embeddings allow.
// Only the tokenizer files are required, so a tokenizer made by spm_train for a model that is
// not trained yet (offramp-train's from-scratch path) tokenizes too.
int default_max_length(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path cfg_path = fs::path(dir) / "config.json";
  if (!fs::exists(cfg_path)) throw Error(dir + ": no config.json to take max_length from; pass --max-length");
  const auto cfg = models::load_bert_config(cfg_path.string());
  const fs::path oc_path = fs::path(dir) / "offramp.json";
  if (fs::exists(oc_path)) {
    const auto oc = models::load_offramp_config(oc_path.string(), cfg);
    if (oc.max_length > 0) return oc.max_length;
  }
  return cfg.max_tokens();
}
}  // namespace

Run add_tokenize(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  app.add_option("MODEL", a->model, "Model directory (only its tokenizer files and config.json are read)")->required();
  app.add_option("FILE", a->input, "Input: one text per line; '-' = stdin")->capture_default_str();
  app.add_option("--max-length", a->max_length, "Truncate to this many tokens (default: the model's max_length)")
      ->check(CLI::Range(2, 1 << 20));
  app.add_option("--format", a->format, "jsonl ({\"line\", \"ids\", \"tokens\"} per line) or ids (space-separated ids)")
      ->check(CLI::IsMember({"jsonl", "ids"}))->capture_default_str();
  app.add_flag("--tsv", a->tsv, "Input lines are label<TAB>text; the text after the first TAB is tokenized");
  return [a] {
    std::unique_ptr<engine::Tokenizer> tok;
    int max_length = a->max_length;
    try {
      tok = engine::load_tokenizer(a->model);
      if (max_length == 0) max_length = default_max_length(a->model);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(e.what());
    }
    const auto lines = read_input(a->input, a->tsv ? InputFormat::Tsv : InputFormat::Text, false,
                                  [&](std::string_view t) { return tok->decided_prefix(t, max_length); });
    for (const auto& l : lines) {
      const auto ids = tok->encode(l.text, max_length);
      if (a->format == "ids") {
        for (size_t k = 0; k < ids.size(); ++k) std::cout << (k ? " " : "") << ids[k];
        std::cout << "\n";
        continue;
      }
      nlohmann::json tokens = nlohmann::json::array();
      for (int id : ids) tokens.push_back(tok->id_to_token(id));
      std::cout << nlohmann::json{{"line", l.line_no}, {"ids", ids}, {"tokens", tokens}}.dump(
                       -1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    }
    return 0;
  };
}

}  // namespace offramp::cli
