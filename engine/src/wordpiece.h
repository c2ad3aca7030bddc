// WordPiece exactly as Hugging Face's BertTokenizer does it:
//   split out special tokens typed in the text ([CLS], [SEP], ... as exact strings)
//   -> clean (drop NUL, U+FFFD and control/format chars, map whitespace to ' ')
//   -> spaces around CJK ideographs -> NFC -> split on whitespace
//   -> lower-case (Python str.lower semantics) and/or strip accents (NFD, drop Mn)
//   -> split off every punctuation char -> greedy longest-match-first WordPiece with "##"
//      continuations; words longer than 100 chars, or with no match, become [UNK].
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/src/added_tokens.h"
#include "engine/src/tokenizer.h"

namespace offramp::engine {

struct WordPieceOptions {
  bool lower_case = true;
  std::optional<bool> strip_accents;  // unset: follow lower_case (HF's default)
  bool tokenize_chinese_chars = true;
  int max_chars_per_word = 100;
};

class WordPieceTokenizer final : public Tokenizer {
 public:
  // vocab: token strings in id order.
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options,
                     const std::string& source);

  std::string id_to_token(int32_t id) const override;
  int vocab_size() const override { return static_cast<int>(vocab_.size()); }
  const char* kind() const override { return "wordpiece"; }

  std::vector<int32_t> encode_pieces(std::string_view text, size_t limit) const override;

 private:
  bool splits_at_single_spaces() const override { return !any_holds_space(specials_); }
  void basic_tokens(std::u32string_view text, std::vector<std::u32string>& out) const;
  void encode_plain(std::string_view seg, size_t limit, std::vector<int32_t>& ids) const;
  size_t find_cut(std::string_view t, size_t from, size_t limit) const;
  size_t word_end(std::string_view t, size_t from) const;
  void wordpiece(const std::u32string& word, std::vector<int32_t>& ids) const;

  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int32_t> ids_;
  WordPieceOptions opt_;
  int32_t unk_;
  std::vector<AddedToken> specials_;  // typed special tokens
};

// Reads vocab.txt (one token per line, id = line index).
std::vector<std::string> read_vocab_txt(const std::string& path);

}  // namespace offramp::engine
