#include "engine/src/text_chunks.h"

#include <algorithm>

namespace offramp::engine {

namespace {

bool ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Is the character that ends just before byte i (i > 0) certainly not whitespace? Printable
// ASCII is not; a multi-byte character is not unless it lies in a block holding Unicode spaces.
bool ends_non_space(std::string_view t, size_t i) {
  const auto c = static_cast<unsigned char>(t[i - 1]);
  if (c < 0x80) return c > 0x20 && c != 0x7F;
  // Find the lead byte and refuse the blocks of U+0085, U+00A0 (C2 xx), U+1680 (E1 9A xx),
  // U+2000..U+205F (E2 80/81 xx) and U+3000 (E3 80 xx): conservative, a cut is only skipped.
  size_t lead = i - 1;
  while (lead > 0 && (static_cast<unsigned char>(t[lead]) & 0xC0) == 0x80 && i - lead < 4) --lead;
  const auto b0 = static_cast<unsigned char>(t[lead]);
  const auto b1 = lead + 1 < t.size() ? static_cast<unsigned char>(t[lead + 1]) : 0;
  if (b0 == 0xC2 && (b1 == 0x85 || b1 == 0xA0)) return false;
  if (b0 == 0xE1 && b1 == 0x9A) return false;
  if (b0 == 0xE2 && (b1 == 0x80 || b1 == 0x81)) return false;
  if (b0 == 0xE3 && b1 == 0x80) return false;
  return true;
}

// Is position i (0 < i < size) a cut under `rule`?
bool is_cut(std::string_view t, size_t i, ChunkRule rule) {
  switch (rule) {
    case ChunkRule::BeforeSpace:
      return ascii_space(t[i]) && ends_non_space(t, i);
    case ChunkRule::DropSingleSpace:  // the next character must be printable ASCII
      return t[i] == ' ' && ends_non_space(t, i) && i + 1 < t.size() && t[i + 1] > 0x20 && t[i + 1] < 0x7F;
    case ChunkRule::None:
      return false;
  }
  return false;
}

// The first byte at or after i that starts a UTF-8 character.
size_t char_start(std::string_view t, size_t i) {
  while (i < t.size() && (static_cast<unsigned char>(t[i]) & 0xC0) == 0x80) ++i;
  return i;
}

}  // namespace

void encode_in_chunks(std::string_view text, size_t need, ChunkRule rule,
                      const std::function<void(std::string_view, std::vector<int32_t>&)>& encode,
                      std::vector<int32_t>& out) {
  // About 4 bytes per piece in real text; 8x that is a first chunk that usually suffices.
  const size_t chunk = std::clamp<size_t>(need * 32, 1024, kMaxChunkBytes);
  size_t pos = 0;
  while (pos < text.size() && out.size() < need) {
    size_t end = pos + chunk;
    bool at_cut = false;
    if (end >= text.size()) {
      end = text.size();
    } else {
      const size_t limit = std::min(text.size(), pos + kMaxChunkBytes);
      while (end < limit && !is_cut(text, end, rule)) ++end;
      at_cut = end < limit;
      if (!at_cut) end = limit == text.size() ? limit : std::max(char_start(text, limit), pos + 1);
    }
    encode(text.substr(pos, end - pos), out);
    pos = end + (at_cut && rule == ChunkRule::DropSingleSpace ? 1 : 0);
  }
}

}  // namespace offramp::engine
