// Text -> token ids, as the checkpoint's own tokenizer does it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offramp::engine {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Ids with the special tokens ([CLS] text [SEP], <s> text </s>); at most max_length (>= 2)
  // ids, the text truncated from the end as HF's truncation=True does.
  std::vector<int32_t> encode(std::string_view text, int max_length) const;
  // The text's pieces without the specials, at most `limit`; only as much of the text is looked
  // at as `limit` pieces need.
  virtual std::vector<int32_t> encode_pieces(std::string_view text, size_t limit) const = 0;
  // For reading a huge text in bounded memory: given the text's first bytes, a length n such
  // that every text starting with partial[0, n) has the same encode(·, max_length) as
  // partial[0, n) itself; nullopt while partial does not hold enough to tell. n is a single
  // ASCII space between two printable ASCII characters whose left side already fills
  // max_length (see splits_at_single_spaces).
  std::optional<size_t> decided_prefix(std::string_view partial, int max_length) const;
  virtual std::string id_to_token(int32_t id) const = 0;
  virtual int vocab_size() const = 0;
  virtual const char* kind() const = 0;

 protected:
  // Whether the pieces of x are a prefix of the pieces of x + " " + y whenever x ends and y
  // starts with a printable ASCII character: true where whitespace ends every piece (BERT's
  // basic tokenizer, the GPT-2 pattern, sentencepiece's whitespace split) and no added token
  // holds a space.
  virtual bool splits_at_single_spaces() const = 0;
  int32_t cls_ = 0, sep_ = 0;  // the ids encode() puts first and last; set by each tokenizer
};

// The tokenizer of a model directory, the first of: vocab.txt (+ tokenizer_config.json:
// WordPiece), vocab.json + merges.txt (byte-level BPE), sentencepiece.bpe.model (XLM-R),
// tokenizer.json (WordPiece or byte-level BPE), spiece.model. Throws std::runtime_error naming
// the file when none is usable.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir);

}  // namespace offramp::engine
