#include "engine/src/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "engine/src/sentencepiece_tokenizer.h"
#include "engine/src/wordpiece.h"

namespace offramp::engine {

namespace {

namespace fs = std::filesystem;

nlohmann::json read_json_or_empty(const fs::path& p) {
  if (!fs::exists(p)) return nlohmann::json::object();
  std::ifstream in(p);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(p.string() + ": not valid JSON: " + e.what());
  }
}

// Reads a JSON bool that may be null (null -> unset).
std::optional<bool> opt_bool(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<bool>();
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir) {
  const fs::path dir(model_dir);
  if (fs::exists(dir / "vocab.txt")) {
    const auto cfg = read_json_or_empty(dir / "tokenizer_config.json");
    WordPieceOptions o;
    o.lower_case = opt_bool(cfg, "do_lower_case").value_or(true);
    o.strip_accents = opt_bool(cfg, "strip_accents");
    o.tokenize_chinese_chars = opt_bool(cfg, "tokenize_chinese_chars").value_or(true);
    const std::string path = (dir / "vocab.txt").string();
    return std::make_unique<WordPieceTokenizer>(read_vocab_txt(path), o, path);
  }
  if (fs::exists(dir / "tokenizer.json")) {
    const std::string path = (dir / "tokenizer.json").string();
    const auto j = read_json_or_empty(path);
    if (!j.contains("model") || j["model"].value("type", "") != "WordPiece")
      throw std::runtime_error(path + ": only WordPiece tokenizer.json files are supported (add vocab.txt or spiece.model)");
    std::vector<std::string> vocab(j["model"]["vocab"].size());
    for (auto& [tok, id] : j["model"]["vocab"].items()) {
      const auto i = id.get<int64_t>();
      if (i < 0 || i >= static_cast<int64_t>(vocab.size())) throw std::runtime_error(path + ": vocab id out of range");
      vocab[static_cast<size_t>(i)] = tok;
    }
    WordPieceOptions o;
    const auto& n = j.value("normalizer", nlohmann::json::object());
    if (n.is_object()) {
      o.lower_case = opt_bool(n, "lowercase").value_or(true);
      o.strip_accents = opt_bool(n, "strip_accents");
      o.tokenize_chinese_chars = opt_bool(n, "handle_chinese_chars").value_or(true);
    }
    o.max_chars_per_word = j["model"].value("max_input_chars_per_word", 100);
    return std::make_unique<WordPieceTokenizer>(std::move(vocab), o, path);
  }
  if (fs::exists(dir / "spiece.model"))
    return std::make_unique<SentencePieceTokenizer>((dir / "spiece.model").string());
  throw std::runtime_error(model_dir + ": no tokenizer found (expected vocab.txt, tokenizer.json or spiece.model)");
}

}  // namespace offramp::engine
