#include "engine/src/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "engine/src/bpe_tokenizer.h"
#include "engine/src/sentencepiece_tokenizer.h"
#include "engine/src/wordpiece.h"
#include "models/model_file.h"

namespace offramp::engine {

namespace {

namespace fs = std::filesystem;

nlohmann::json read_json_or_empty(const fs::path& p) {
  if (!fs::exists(p)) return nlohmann::json::object();
  return models::read_model_json(p.string());
}

// Reads a JSON bool that may be null (null -> unset); `file` names the file in the error.
std::optional<bool> opt_bool(const nlohmann::json& j, const char* key, const std::string& file) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_boolean()) throw std::runtime_error(file + ": field '" + key + "' must be true, false or null, not " + j[key].dump());
  return j[key].get<bool>();
}

}  // namespace

namespace {

std::unique_ptr<Tokenizer> wordpiece_from_tokenizer_json(const nlohmann::json& j, const std::string& path) {
  std::vector<std::string> vocab(j["model"]["vocab"].size());
  for (auto& [tok, id] : j["model"]["vocab"].items()) {
    const auto i = id.get<int64_t>();
    if (i < 0 || i >= static_cast<int64_t>(vocab.size())) throw std::runtime_error(path + ": vocab id out of range");
    vocab[static_cast<size_t>(i)] = tok;
  }
  WordPieceOptions o;
  const auto& n = j.value("normalizer", nlohmann::json::object());
  if (n.is_object()) {
    o.lower_case = opt_bool(n, "lowercase", path).value_or(true);
    o.strip_accents = opt_bool(n, "strip_accents", path);
    o.tokenize_chinese_chars = opt_bool(n, "handle_chinese_chars", path).value_or(true);
  }
  o.max_chars_per_word = j["model"].value("max_input_chars_per_word", 100);
  return std::make_unique<WordPieceTokenizer>(std::move(vocab), o, path);
}

// sentencepiece.bpe.model is the file name fairseq-derived tokenizers use; only XLM-R's id
// mapping is implemented, so the directory must say it is XLM-R.
bool says_xlm_roberta(const fs::path& dir) {
  const auto tcfg = read_json_or_empty(dir / "tokenizer_config.json");
  const std::string cls = tcfg.is_object() ? tcfg.value("tokenizer_class", "") : "";
  if (cls.rfind("XLMRobertaTokenizer", 0) == 0) return true;
  const auto cfg = read_json_or_empty(dir / "config.json");
  return cfg.is_object() && cfg.value("model_type", "") == "xlm-roberta";
}

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, int max_length) const {
  const size_t limit = static_cast<size_t>(std::max(max_length, 2) - 2);
  std::vector<int32_t> pieces = encode_pieces(text, limit);
  if (pieces.size() > limit) pieces.resize(limit);
  pieces.insert(pieces.begin(), cls_);
  pieces.push_back(sep_);
  return pieces;
}

std::optional<size_t> Tokenizer::decided_prefix(std::string_view partial, int max_length) const {
  if (!splits_at_single_spaces()) return std::nullopt;
  const size_t limit = static_cast<size_t>(std::max(max_length, 2) - 2);
  const auto printable = [](char c) { return c > 0x20 && c < 0x7F; };
  // The last single space between printable ASCII characters at or before `end`, or 0.
  const auto cut_before = [&](size_t end) {
    for (size_t i = std::min(end, partial.size() - std::min<size_t>(partial.size(), 2)); i > 0; --i)
      if (partial[i] == ' ' && printable(partial[i - 1]) && printable(partial[i + 1])) return i;
    return size_t{0};
  };
  const auto fills = [&](size_t n) { return encode_pieces(partial.substr(0, n), limit).size() >= limit; };
  // The pieces before such a space are those of any longer text, so once they fill max_length
  // nothing after it can matter. Halving keeps the answer within twice the shortest such prefix,
  // in a logarithmic number of (bounded) encodes.
  size_t best = cut_before(partial.size());
  if (best == 0 || !fills(best)) return std::nullopt;
  for (size_t c = cut_before(best / 2); c > 0 && fills(c); c = cut_before(c / 2)) best = c;
  return best;
}

// load_tokenizer without its catch of JSON type errors.
static std::unique_ptr<Tokenizer> load_tokenizer_files(const std::string& model_dir) {
  const fs::path dir(model_dir);
  if (fs::exists(dir / "vocab.txt")) {
    const std::string tc = (dir / "tokenizer_config.json").string();
    const auto cfg = read_json_or_empty(tc);
    WordPieceOptions o;
    o.lower_case = opt_bool(cfg, "do_lower_case", tc).value_or(true);
    o.strip_accents = opt_bool(cfg, "strip_accents", tc);
    o.tokenize_chinese_chars = opt_bool(cfg, "tokenize_chinese_chars", tc).value_or(true);
    const std::string path = (dir / "vocab.txt").string();
    return std::make_unique<WordPieceTokenizer>(read_vocab_txt(path), o, path);
  }
  if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) {
    const std::string source = (dir / "vocab.json").string();
    return std::make_unique<ByteLevelBpeTokenizer>(
        read_bpe_files(source, (dir / "merges.txt").string(), (dir / "tokenizer_config.json").string()), source);
  }
  if (fs::exists(dir / "sentencepiece.bpe.model")) {
    const std::string path = (dir / "sentencepiece.bpe.model").string();
    if (!says_xlm_roberta(dir))
      throw std::runtime_error(path + ": only XLM-RoBERTa's sentencepiece.bpe.model is supported (config.json model_type "
                                      "xlm-roberta or tokenizer_config.json tokenizer_class XLMRobertaTokenizer)");
    return std::make_unique<SentencePieceTokenizer>(path, SentencePieceIds::XlmRoberta);
  }
  std::string json_type;
  if (fs::exists(dir / "tokenizer.json")) {
    const std::string path = (dir / "tokenizer.json").string();
    const auto j = read_json_or_empty(path);
    json_type = j.contains("model") && j["model"].is_object() ? j["model"].value("type", "") : "";
    if (json_type == "WordPiece") return wordpiece_from_tokenizer_json(j, path);
    if (json_type == "BPE") return std::make_unique<ByteLevelBpeTokenizer>(read_bpe_tokenizer_json(j, path), path);
  }
  if (fs::exists(dir / "spiece.model"))
    return std::make_unique<SentencePieceTokenizer>((dir / "spiece.model").string());
  if (!json_type.empty())
    throw std::runtime_error((dir / "tokenizer.json").string() + ": a " + json_type +
                             " tokenizer.json is not supported (WordPiece and byte-level BPE are; add the model's "
                             "vocab.txt, vocab.json + merges.txt, sentencepiece.bpe.model or spiece.model)");
  throw std::runtime_error(model_dir + ": no tokenizer found (expected vocab.txt, vocab.json + merges.txt, "
                                       "sentencepiece.bpe.model, tokenizer.json or spiece.model)");
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir) {
  try {
    return load_tokenizer_files(model_dir);
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong type in one of the tokenizer's JSON files.
    throw std::runtime_error(model_dir + ": a tokenizer file has a field of the wrong type or shape (" + e.what() + ")");
  }
}

}  // namespace offramp::engine
