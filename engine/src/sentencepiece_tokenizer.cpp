#include "engine/src/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <stdexcept>

#include "engine/src/utf8.h"

namespace offramp::engine {

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = sp_->Load(model_path);
  if (!status.ok()) throw std::runtime_error(model_path + ": not a usable sentencepiece model: " + status.ToString());
  auto special = [&](const char* piece, int fallback, const char* what) {
    const int id = sp_->PieceToId(piece);
    if (id != sp_->unk_id() || std::string(piece) == sp_->IdToPiece(sp_->unk_id())) return id;
    if (fallback >= 0) return fallback;
    throw std::runtime_error(model_path + ": the model has neither a '" + piece + "' piece nor " + what +
                             " (train it with spm_train --user_defined_symbols=[CLS],[SEP])");
  };
  cls_ = special("[CLS]", sp_->bos_id(), "a bos id");
  sep_ = special("[SEP]", sp_->eos_id(), "an eos id");
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, int max_length) const {
  // Invalid UTF-8 follows the project-wide rule (U+FFFD per bad byte) before spm sees it.
  const std::string clean = encode_utf8(decode_utf8_lossy(text));
  std::vector<int> pieces;
  const auto status = sp_->Encode(clean, &pieces);
  if (!status.ok()) throw std::runtime_error("sentencepiece failed to encode a text: " + status.ToString());
  const size_t limit = static_cast<size_t>(std::max(max_length, 2) - 2);
  if (pieces.size() > limit) pieces.resize(limit);
  std::vector<int32_t> ids{cls_};
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  ids.push_back(sep_);
  return ids;
}

std::string SentencePieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= sp_->GetPieceSize()) return "<invalid id " + std::to_string(id) + ">";
  return sp_->IdToPiece(id);
}

int SentencePieceTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

}  // namespace offramp::engine
