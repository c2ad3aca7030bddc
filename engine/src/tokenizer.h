// Text -> token ids, as the checkpoint's own tokenizer does it.
#pragma once

#include <cstdint>
#include <memory>
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
  virtual std::string id_to_token(int32_t id) const = 0;
  virtual int vocab_size() const = 0;
  virtual const char* kind() const = 0;

 protected:
  int32_t cls_ = 0, sep_ = 0;  // the ids encode() puts first and last; set by each tokenizer
};

// The tokenizer of a model directory, the first of: vocab.txt (+ tokenizer_config.json:
// WordPiece), vocab.json + merges.txt (byte-level BPE), sentencepiece.bpe.model (XLM-R),
// tokenizer.json (WordPiece or byte-level BPE), spiece.model. Throws std::runtime_error naming
// the file when none is usable.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir);

}  // namespace offramp::engine
