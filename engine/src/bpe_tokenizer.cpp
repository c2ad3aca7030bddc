#include "engine/src/bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>
#include <stdexcept>

#include "engine/src/text_chunks.h"
#include "models/model_file.h"
#include "engine/src/utf8.h"

namespace offramp::engine {

namespace {

// GPT-2's pre-tokenizer, as RobertaTokenizer and the tokenizers ByteLevel pre-tokenizer use it.
// It needs Unicode classes and a lookahead, hence PCRE2 (UTF + UCP) rather than std::regex.
constexpr char kGpt2Pattern[] = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100 onwards in byte order, so every byte is a visible character in vocab.json.
std::string byte_char(int b) {
  const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  char32_t cp = static_cast<char32_t>(b);
  if (!printable) {
    int n = 0;
    for (int k = 0; k < b; ++k) {
      const bool p = (k >= '!' && k <= '~') || (k >= 0xA1 && k <= 0xAC) || (k >= 0xAE && k <= 0xFF);
      n += p ? 0 : 1;
    }
    cp = static_cast<char32_t>(256 + n);
  }
  std::string s;
  append_utf8(s, cp);
  return s;
}

std::unordered_map<std::string, int32_t> vocab_from_json(const nlohmann::json& v, const std::string& where) {
  if (!v.is_object()) throw std::runtime_error(where + ": the vocabulary must be an object of token -> id");
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(v.size());
  for (const auto& [tok, id] : v.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 24))
      throw std::runtime_error(where + ": token '" + tok + "' has id " + id.dump() + " (want 0..16777216)");
    vocab.emplace(tok, static_cast<int32_t>(id.get<int64_t>()));
  }
  return vocab;
}

std::pair<std::string, std::string> split_merge(const std::string& line, const std::string& where) {
  const size_t sp = line.find(' ');
  if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string::npos)
    throw std::runtime_error(where + ": a merge must be two tokens separated by one space, got '" + line + "'");
  return {line.substr(0, sp), line.substr(sp + 1)};
}

// RoBERTa's special tokens, for vocab.json/merges.txt directories without added_tokens_decoder.
void default_added_tokens(BpeVocabulary& v) {
  for (const char* t : {"<s>", "<pad>", "</s>", "<unk>", "<mask>"}) {
    const auto it = v.vocab.find(t);
    if (it != v.vocab.end()) v.added.push_back({t, it->second, std::string(t) == "<mask>", false});
  }
}

std::string token_content(const nlohmann::json& t) {
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string()) return t["content"].get<std::string>();
  return {};
}

}  // namespace

struct ByteLevelBpeTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

BpeVocabulary read_bpe_files(const std::string& vocab_json, const std::string& merges_txt,
                             const std::string& tokenizer_config_json) {
  BpeVocabulary v;
  v.vocab = vocab_from_json(models::read_model_json(vocab_json), vocab_json);
  std::ifstream in = models::open_model_file(merges_txt);
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (n == 1 && line.rfind("#version", 0) == 0)) continue;
    v.merges.push_back(split_merge(line, merges_txt + " line " + std::to_string(n)));
  }
  if (!std::filesystem::exists(tokenizer_config_json)) {
    default_added_tokens(v);
    return v;
  }
  const auto cfg = models::read_model_json(tokenizer_config_json);
  if (!cfg.is_object()) throw std::runtime_error(tokenizer_config_json + ": must be a JSON object");
  if (cfg.contains("add_prefix_space") && cfg["add_prefix_space"].is_boolean())
    v.add_prefix_space = cfg["add_prefix_space"].get<bool>();
  for (auto [key, field] : {std::pair{"cls_token", &v.cls}, {"sep_token", &v.sep}, {"unk_token", &v.unk}})
    if (cfg.contains(key) && !token_content(cfg[key]).empty()) *field = token_content(cfg[key]);
  if (cfg.contains("added_tokens_decoder") && cfg["added_tokens_decoder"].is_object()) {
    for (const auto& [id, t] : cfg["added_tokens_decoder"].items()) {
      const std::string content = token_content(t);
      if (content.empty()) throw std::runtime_error(tokenizer_config_json + ": added token " + id + " has no content");
      v.added.push_back({content, static_cast<int32_t>(std::stol(id)), t.value("lstrip", false), t.value("rstrip", false)});
    }
  } else {
    default_added_tokens(v);
  }
  return v;
}

BpeVocabulary read_bpe_tokenizer_json(const nlohmann::json& j, const std::string& path) {
  BpeVocabulary v;
  const auto& m = j.at("model");
  v.vocab = vocab_from_json(m.value("vocab", nlohmann::json()), path + ": model.vocab");
  const auto merges = m.value("merges", nlohmann::json::array());
  if (!merges.is_array()) throw std::runtime_error(path + ": model.merges must be an array");
  for (const auto& mg : merges) {
    if (mg.is_string()) {
      v.merges.push_back(split_merge(mg.get<std::string>(), path + ": model.merges"));
    } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
      v.merges.emplace_back(mg[0].get<std::string>(), mg[1].get<std::string>());
    } else {
      throw std::runtime_error(path + ": model.merges entries must be \"a b\" or [\"a\", \"b\"]");
    }
  }
  if (m.contains("unk_token") && m["unk_token"].is_string()) v.unk = m["unk_token"].get<std::string>();
  // The ByteLevel pre-tokenizer, alone or in a Sequence, says whether a space is prepended.
  bool byte_level = false;
  std::function<void(const nlohmann::json&)> find_byte_level = [&](const nlohmann::json& p) {
    if (!p.is_object()) return;
    if (p.value("type", "") == "ByteLevel") {
      byte_level = true;
      v.add_prefix_space = p.value("add_prefix_space", false);
    }
    if (p.contains("pretokenizers") && p["pretokenizers"].is_array())
      for (const auto& q : p["pretokenizers"]) find_byte_level(q);
  };
  find_byte_level(j.value("pre_tokenizer", nlohmann::json()));
  if (!byte_level)
    throw std::runtime_error(path + ": a BPE tokenizer.json without the ByteLevel pre-tokenizer is not supported");
  const auto& post = j.value("post_processor", nlohmann::json());
  if (post.is_object() && post.contains("cls") && post["cls"].is_array() && !post["cls"].empty())
    v.cls = post["cls"][0].get<std::string>();
  if (post.is_object() && post.contains("sep") && post["sep"].is_array() && !post["sep"].empty())
    v.sep = post["sep"][0].get<std::string>();
  for (const auto& t : j.value("added_tokens", nlohmann::json::array())) {
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || token_content(t).empty())
      throw std::runtime_error(path + ": added_tokens entries need an integer id and a content string");
    v.added.push_back({token_content(t), t["id"].get<int32_t>(), t.value("lstrip", false), t.value("rstrip", false)});
  }
  return v;
}

int32_t ByteLevelBpeTokenizer::intern(const std::string& symbol) {
  const auto [it, fresh] = symbol_ids_.emplace(symbol, static_cast<int32_t>(symbols_.size()));
  if (fresh) symbols_.push_back(symbol);
  return it->second;
}

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(BpeVocabulary v, const std::string& source)
    : added_(std::move(v.added)), add_prefix_space_(v.add_prefix_space), regex_(std::make_unique<Regex>()) {
  int32_t max_id = -1;
  for (const auto& [tok, id] : v.vocab) max_id = std::max(max_id, id);
  for (const auto& a : added_) max_id = std::max(max_id, a.id);
  if (max_id < 0) throw std::runtime_error(source + ": the vocabulary is empty");
  tokens_.resize(static_cast<size_t>(max_id) + 1);
  for (const auto& [tok, id] : v.vocab) tokens_[static_cast<size_t>(id)] = tok;
  for (const auto& a : added_) tokens_[static_cast<size_t>(a.id)] = a.content;
  auto id_of = [&](const std::string& t, const char* what) {
    const auto it = v.vocab.find(t);
    if (it != v.vocab.end()) return it->second;
    for (const auto& a : added_) if (a.content == t) return a.id;
    throw std::runtime_error(source + ": the vocabulary has no " + what + " token '" + t + "'");
  };
  cls_ = id_of(v.cls, "cls");
  sep_ = id_of(v.sep, "sep");
  const auto unk = v.vocab.find(v.unk);
  unk_ = unk == v.vocab.end() ? -1 : unk->second;
  auto vocab_or_unk = [&](const std::string& s) {
    const auto it = v.vocab.find(s);
    return it == v.vocab.end() ? unk_ : it->second;
  };
  for (int b = 0; b < 256; ++b) {
    byte_symbol_[b] = intern(byte_char(b));
    if (vocab_or_unk(symbols_[static_cast<size_t>(byte_symbol_[b])]) < 0)
      throw std::runtime_error(source + ": the vocabulary lacks the byte symbol for 0x" + std::to_string(b) +
                               " and has no unknown token: not a byte-level BPE vocabulary");
  }
  merge_pairs_.reserve(v.merges.size());
  for (size_t r = 0; r < v.merges.size(); ++r) {
    const auto& [a, b] = v.merges[r];
    const int32_t left = intern(a), right = intern(b), merged = intern(a + b);
    const uint64_t key = (static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right);
    // A repeated merge keeps its first (lowest) rank, as HF's dict of ranks does for the slow
    // tokenizer's lookups.
    if (merges_.emplace(key, Merge{static_cast<int32_t>(r), merged}).second) merge_pairs_.emplace_back(left, right);
    else merge_pairs_.emplace_back(-1, -1);
  }
  symbol_vocab_.resize(symbols_.size());
  for (size_t s = 0; s < symbols_.size(); ++s) symbol_vocab_[s] = vocab_or_unk(symbols_[s]);

  int err = 0;
  PCRE2_SIZE at = 0;
  regex_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                               PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &at, nullptr);
  if (!regex_->code) throw std::runtime_error("PCRE2 refused the GPT-2 pre-tokenizer pattern (error " + std::to_string(err) + ")");
  pcre2_jit_compile(regex_->code, PCRE2_JIT_COMPLETE);  // best effort: the interpreter is exact too
}

ByteLevelBpeTokenizer::~ByteLevelBpeTokenizer() = default;

// Merges one pre-token (bytes) and appends its vocab ids. Hand-written: no library in the
// registries does byte-level BPE merges in C++. Semantics are the slow tokenizer's: take the
// lowest-ranked pair present, merge each occurrence left to right (a merged symbol does not pair
// again in the same round), repeat. A heap keeps it O(n log n) for long words.
void ByteLevelBpeTokenizer::bpe(std::string_view word, std::vector<int32_t>& out) const {
  const int n = static_cast<int>(word.size());
  struct Node {
    int32_t symbol;  // -1 once merged into its left neighbour
    int prev, next;
  };
  std::vector<Node> nodes(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    nodes[static_cast<size_t>(i)] = {byte_symbol_[static_cast<unsigned char>(word[static_cast<size_t>(i)])], i - 1,
                                     i + 1 < n ? i + 1 : -1};
  struct Entry {
    int32_t rank;
    int left, right;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  auto push = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const uint64_t key = (static_cast<uint64_t>(nodes[static_cast<size_t>(l)].symbol) << 32) |
                         static_cast<uint32_t>(nodes[static_cast<size_t>(r)].symbol);
    const auto it = merges_.find(key);
    if (it != merges_.end()) heap.push({it->second.rank, l, r});
  };
  for (int i = 0; i + 1 < n; ++i) push(i, i + 1);
  std::vector<Entry> round;
  while (!heap.empty()) {
    // One round: every occurrence of the lowest-ranked pair, left to right. Pairs the round
    // creates wait for the next round even if they rank lower, as in the slow tokenizer.
    const int32_t rank = heap.top().rank;
    round.clear();
    while (!heap.empty() && heap.top().rank == rank) round.push_back(heap.top()), heap.pop();
    const auto [want_left, want_right] = merge_pairs_[static_cast<size_t>(rank)];
    const uint64_t key = (static_cast<uint64_t>(want_left) << 32) | static_cast<uint32_t>(want_right);
    const int32_t merged = merges_.at(key).merged;
    for (const Entry& e : round) {
      Node& l = nodes[static_cast<size_t>(e.left)];
      Node& r = nodes[static_cast<size_t>(e.right)];
      if (l.symbol != want_left || r.symbol != want_right || l.next != e.right) continue;  // stale
      l.symbol = merged;
      l.next = r.next;
      if (r.next >= 0) nodes[static_cast<size_t>(r.next)].prev = e.left;
      r.symbol = -1;
      push(l.prev, e.left);
      push(e.left, l.next);
    }
  }
  for (int i = 0; i >= 0 && i < n; i = nodes[static_cast<size_t>(i)].next)
    out.push_back(symbol_vocab_[static_cast<size_t>(nodes[static_cast<size_t>(i)].symbol)]);
}

void ByteLevelBpeTokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(regex_->code, nullptr);
  if (!md) throw std::bad_alloc();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  while (offset < text.size()) {
    const int rc = pcre2_match(regex_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc < 0) break;  // cannot happen: every character matches one alternative
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (ov[1] <= offset) break;
    bpe(text.substr(ov[0], ov[1] - ov[0]), out);
    offset = ov[1];
  }
  pcre2_match_data_free(md);
}

std::vector<int32_t> ByteLevelBpeTokenizer::encode_pieces(std::string_view text, size_t limit) const {
  std::vector<int32_t> ids;
  if (limit == 0 || text.empty()) return ids;
  // add_prefix_space: HF prepends " " to the whole text unless it starts with whitespace. The
  // space goes onto the text's first chunk (or, where the text starts with an added token, is
  // the segment before it) instead of copying the text.
  bool prefix = add_prefix_space_ && !is_python_space(decode_utf8_lossy(text.substr(0, 4)).front());
  // The project-wide rule for invalid UTF-8 (U+FFFD per bad byte), applied per chunk so a huge
  // text is never copied whole.
  const auto encode_chunk = [&](std::string_view chunk, std::vector<int32_t>& out) {
    std::string valid = encode_utf8(decode_utf8_lossy(chunk));
    if (prefix) valid.insert(valid.begin(), ' '), prefix = false;
    encode_text(valid, out);
  };
  split_added_tokens(
      text, added_,
      [&](std::string_view seg) {
        encode_in_chunks(seg, limit, ChunkRule::BeforeSpace, encode_chunk, ids);
        return ids.size() < limit;
      },
      [&](const AddedToken& t) {
        if (prefix && !t.lstrip) encode_text(" ", ids);
        prefix = false;
        ids.push_back(t.id);
        return ids.size() < limit;
      });
  if (ids.size() > limit) ids.resize(limit);
  return ids;
}

std::string ByteLevelBpeTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size() || tokens_[static_cast<size_t>(id)].empty())
    return "<invalid id " + std::to_string(id) + ">";
  return tokens_[static_cast<size_t>(id)];
}

}  // namespace offramp::engine
