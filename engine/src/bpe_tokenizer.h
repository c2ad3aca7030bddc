// Byte-level BPE exactly as Hugging Face's RobertaTokenizer (and GPT2Tokenizer) does it:
//   split out added tokens typed in the text (<s>, </s>, <mask> with lstrip, ...)
//   -> optional prefix space (add_prefix_space)
//   -> GPT-2 pre-tokenizer regex (contractions, letters, numbers, other, whitespace runs with a
//      lookahead) through PCRE2 with Unicode properties
//   -> each pre-token's UTF-8 bytes mapped to printable characters (bytes_to_unicode)
//   -> merges by rank: the lowest-ranked adjacent pair, every occurrence left to right, again
//   -> vocab ids; <s> pieces </s>, truncated to max_length.
// Invalid UTF-8 follows the project rule (U+FFFD per bad byte) before anything else.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/src/added_tokens.h"
#include "engine/src/tokenizer.h"

namespace offramp::engine {

// What the tokenizer files say; read by read_bpe_files / read_bpe_tokenizer_json.
struct BpeVocabulary {
  std::unordered_map<std::string, int32_t> vocab;           // byte-level token -> id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::vector<AddedToken> added;                            // typed special tokens
  std::string cls = "<s>", sep = "</s>", unk = "<unk>";
  bool add_prefix_space = false;
};

class ByteLevelBpeTokenizer final : public Tokenizer {
 public:
  ByteLevelBpeTokenizer(BpeVocabulary v, const std::string& source);
  ~ByteLevelBpeTokenizer() override;

  std::string id_to_token(int32_t id) const override;
  int vocab_size() const override { return static_cast<int>(tokens_.size()); }
  const char* kind() const override { return "byte-level BPE"; }

  std::vector<int32_t> encode_pieces(std::string_view text, size_t limit) const override;

 private:
  struct Merge {
    int32_t rank, merged;  // merged: a symbol
  };
  bool splits_at_single_spaces() const override { return !any_holds_space(added_); }
  int32_t intern(const std::string& symbol);
  void encode_text(std::string_view valid_utf8, std::vector<int32_t>& out) const;
  void bpe(std::string_view word, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;                  // id -> token (empty for unused ids)
  std::vector<std::string> symbols_;                 // symbol -> byte-level string
  std::unordered_map<std::string, int32_t> symbol_ids_;
  std::vector<int32_t> symbol_vocab_;                // symbol -> vocab id, or unk
  std::unordered_map<uint64_t, Merge> merges_;       // (left symbol << 32 | right) -> merge
  std::vector<std::pair<int32_t, int32_t>> merge_pairs_;  // rank -> (left, right)
  int32_t byte_symbol_[256];
  std::vector<AddedToken> added_;
  int32_t unk_;
  bool add_prefix_space_;
  struct Regex;
  std::unique_ptr<Regex> regex_;
};

// vocab.json + merges.txt, with tokenizer_config.json's added tokens, cls/sep/unk and
// add_prefix_space where present (RoBERTa's defaults otherwise).
BpeVocabulary read_bpe_files(const std::string& vocab_json, const std::string& merges_txt,
                             const std::string& tokenizer_config_json);

// A tokenizer.json whose model is BPE with the ByteLevel pre-tokenizer (its added_tokens,
// RobertaProcessing cls/sep, add_prefix_space). `path` names the file in errors.
BpeVocabulary read_bpe_tokenizer_json(const nlohmann::json& j, const std::string& path);

}  // namespace offramp::engine
