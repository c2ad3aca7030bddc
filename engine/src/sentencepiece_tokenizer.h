// sentencepiece models (spiece.model) through libsentencepiece: [CLS] pieces [SEP], where
// [CLS]/[SEP] are the model's "[CLS]"/"[SEP]" pieces if it has them (spm_train
// --user_defined_symbols=[CLS],[SEP]) or else its <s>/</s> (bos/eos).
#pragma once

#include <memory>
#include <string>

#include "engine/src/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace offramp::engine {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& model_path);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, int max_length) const override;
  std::string id_to_token(int32_t id) const override;
  int vocab_size() const override;
  const char* kind() const override { return "sentencepiece"; }

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  int32_t cls_, sep_;
};

}  // namespace offramp::engine
