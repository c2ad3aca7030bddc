// Bounded tokenizer work: a tokenizer never looks at more of a text than its first max_length
// tokens need. The text is cut into chunks at word boundaries where the tokenizer's result is
// known not to depend on what follows (see each ChunkRule), the chunks are tokenized in order,
// and the loop stops once enough pieces exist. A 20 MB line then costs what its first chunks
// cost, not a tokenization of 20 MB that is truncated afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace offramp::engine {

enum class ChunkRule {
  // Cut before ASCII whitespace that follows a non-space character; the next chunk starts with
  // that whitespace. Exact for the GPT-2 pre-tokenizer: none of its patterns extends a token
  // of non-space characters over whitespace, and none looks behind.
  BeforeSpace,
  // Cut at one ASCII space between two non-space characters and drop it: sentencepiece's dummy
  // prefix puts the "▁" back at the start of the next chunk.
  DropSingleSpace,
  // No safe cut exists (a sentencepiece model that strips leading spaces but adds no prefix):
  // the text is one chunk, up to the cap below.
  None,
};

// A run of text with no boundary longer than this is cut at a character boundary anyway: the
// pieces near such a cut may differ from a tokenization of the whole run. Real texts do not have
// 64 KiB without a space; the cap is what keeps a hostile one bounded.
inline constexpr size_t kMaxChunkBytes = size_t{64} << 10;

// Appends to `out` the pieces of `text`, chunk by chunk, until `out` holds `need` pieces (more may
// be appended: the caller truncates) or the text ends. `encode(chunk, out)` appends one chunk's
// pieces.
void encode_in_chunks(std::string_view text, size_t need, ChunkRule rule,
                      const std::function<void(std::string_view, std::vector<int32_t>&)>& encode,
                      std::vector<int32_t>& out);

}  // namespace offramp::engine
