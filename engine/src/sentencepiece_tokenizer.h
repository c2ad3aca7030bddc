// sentencepiece models through libsentencepiece, with one of two id conventions:
//  - Plain (spiece.model): [CLS] pieces [SEP], where [CLS]/[SEP] are the model's "[CLS]"/"[SEP]"
//    pieces if it has them (spm_train --user_defined_symbols=[CLS],[SEP]) or else its <s>/</s>;
//    ids are spm's own.
//  - XlmRoberta (sentencepiece.bpe.model): fairseq's ids as XLMRobertaTokenizer maps them:
//    <s>=0 <pad>=1 </s>=2 <unk>=3, spm piece p>0 -> p+1 (spm's <unk>, 0, -> 3), <mask> = spm size
//    + 1; <s> pieces </s>; those five strings typed in the text are split out first (<mask>
//    with lstrip), as HF does.
// Both tokenize in chunks at spaces (text_chunks.h), so only what max_length needs is encoded.
#pragma once

#include <memory>
#include <string>

#include "engine/src/added_tokens.h"
#include "engine/src/text_chunks.h"
#include "engine/src/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace offramp::engine {

enum class SentencePieceIds { Plain, XlmRoberta };

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& model_path, SentencePieceIds ids = SentencePieceIds::Plain);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode_pieces(std::string_view text, size_t limit) const override;
  std::string id_to_token(int32_t id) const override;
  int vocab_size() const override;
  const char* kind() const override { return ids_ == SentencePieceIds::Plain ? "sentencepiece" : "sentencepiece (XLM-R ids)"; }

 private:
  bool splits_at_single_spaces() const override { return chunks_ != ChunkRule::None && !any_holds_space(added_); }
  void encode_chunk(std::string_view chunk, std::vector<int32_t>& out) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  SentencePieceIds ids_;
  std::vector<AddedToken> added_;  // XlmRoberta only
  ChunkRule chunks_;
};

}  // namespace offramp::engine
