#include "engine/src/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <stdexcept>

#include "engine/src/utf8.h"
#include "models/model_file.h"

namespace offramp::engine {

namespace {

constexpr int32_t kFairseqOffset = 1;  // XLM-R: spm ids shift by one to make room for <pad>

// Where a text may be cut without changing its pieces depends on the model's normalizer
// (add_dummy_prefix, remove_extra_whitespaces), which the library does not expose without
// protobuf headers: ask the model instead.
ChunkRule probe_chunk_rule(const sentencepiece::SentencePieceProcessor& sp) {
  std::vector<std::string> pieces;
  sp.Encode("a", &pieces);
  const bool dummy_prefix = !pieces.empty() && pieces[0].rfind("\xE2\x96\x81", 0) == 0;
  std::vector<int> a, b, c, d;
  sp.Encode("a  a", &a);
  sp.Encode("a a", &b);
  sp.Encode(" a", &c);
  sp.Encode("a", &d);
  const bool strips_spaces = a == b && c == d;
  if (dummy_prefix) return ChunkRule::DropSingleSpace;
  return strips_spaces ? ChunkRule::None : ChunkRule::BeforeSpace;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path, SentencePieceIds ids)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), ids_(ids) {
  models::require_regular_file(model_path);
  const auto status = sp_->Load(model_path);
  if (!status.ok()) throw std::runtime_error(model_path + ": not a usable sentencepiece model: " + status.ToString());
  chunks_ = probe_chunk_rule(*sp_);
  if (ids_ == SentencePieceIds::XlmRoberta) {
    if (sp_->unk_id() != 0)
      throw std::runtime_error(model_path + ": XLM-R's id mapping needs spm's <unk> at id 0, this model has it at " +
                               std::to_string(sp_->unk_id()));
    cls_ = 0, sep_ = 2;
    added_ = {{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3},
              {"<mask>", sp_->GetPieceSize() + kFairseqOffset, /*lstrip=*/true}};
    return;
  }
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

void SentencePieceTokenizer::encode_chunk(std::string_view chunk, std::vector<int32_t>& out) const {
  // Invalid UTF-8 follows the project-wide rule (U+FFFD per bad byte) before spm sees it.
  std::vector<int> pieces;
  const auto status = sp_->Encode(encode_utf8(decode_utf8_lossy(chunk)), &pieces);
  if (!status.ok()) throw std::runtime_error("sentencepiece failed to encode a text: " + status.ToString());
  for (int p : pieces) {
    if (ids_ == SentencePieceIds::Plain) out.push_back(p);
    else out.push_back(p == 0 ? 3 : p + kFairseqOffset);  // spm's <unk> is fairseq's <unk> = 3
  }
}

std::vector<int32_t> SentencePieceTokenizer::encode_pieces(std::string_view text, size_t limit) const {
  std::vector<int32_t> pieces;
  const auto chunk = [this](std::string_view c, std::vector<int32_t>& out) { encode_chunk(c, out); };
  if (limit > 0) {
    split_added_tokens(
        text, added_,
        [&](std::string_view seg) {
          encode_in_chunks(seg, limit, chunks_, chunk, pieces);
          return pieces.size() < limit;
        },
        [&](const AddedToken& t) {
          pieces.push_back(t.id);
          return pieces.size() < limit;
        });
  }
  return pieces;
}

std::string SentencePieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return "<invalid id " + std::to_string(id) + ">";
  if (ids_ == SentencePieceIds::Plain) return sp_->IdToPiece(id);
  for (const auto& t : added_) if (t.id == id) return t.content;
  return sp_->IdToPiece(id - kFairseqOffset);
}

int SentencePieceTokenizer::vocab_size() const {
  return ids_ == SentencePieceIds::Plain ? sp_->GetPieceSize() : sp_->GetPieceSize() + kFairseqOffset + 1;
}

}  // namespace offramp::engine
