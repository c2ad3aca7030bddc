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
  // Ids with the special tokens ([CLS] text [SEP]); at most max_length (>= 2) ids, the text
  // truncated from the end as HF's truncation=True does.
  virtual std::vector<int32_t> encode(std::string_view text, int max_length) const = 0;
  virtual std::string id_to_token(int32_t id) const = 0;
  virtual int vocab_size() const = 0;
  virtual const char* kind() const = 0;

 protected:
  // first pieces last, the pieces truncated to fit max_length (>= 2) ids: how every tokenizer
  // here adds its specials (HF's truncation=True with the specials kept).
  static std::vector<int32_t> with_specials(int32_t first, const std::vector<int32_t>& pieces, int32_t last,
                                            int max_length);
};

// The tokenizer of a model directory, the first of: vocab.txt (+ tokenizer_config.json:
// WordPiece), vocab.json + merges.txt (byte-level BPE), sentencepiece.bpe.model (XLM-R),
// tokenizer.json (WordPiece or byte-level BPE), spiece.model. Throws std::runtime_error naming
// the file when none is usable.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir);

}  // namespace offramp::engine
