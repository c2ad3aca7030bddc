#include "engine/src/added_tokens.h"

#include <utf8proc.h>

namespace offramp::engine {

namespace {

// The code point that starts at byte i, and its length; invalid bytes count as one non-space.
char32_t decode_at(std::string_view t, size_t i, size_t* len) {
  utf8proc_int32_t cp = -1;
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(t.data() + i),
                                  static_cast<utf8proc_ssize_t>(t.size() - i), &cp);
  *len = n > 0 ? static_cast<size_t>(n) : 1;
  return n > 0 && cp >= 0 ? static_cast<char32_t>(cp) : U'\uFFFD';
}

std::string_view strip_front(std::string_view s) {
  size_t n = 0;
  while (!s.empty() && is_python_space(decode_at(s, 0, &n))) s.remove_prefix(n);
  return s;
}

std::string_view strip_back(std::string_view s) {
  while (!s.empty()) {
    size_t start = s.size() - 1;
    while (start > 0 && s.size() - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t n = 0;
    if (!is_python_space(decode_at(s, start, &n)) || start + n != s.size()) break;
    s.remove_suffix(n);
  }
  return s;
}

}  // namespace

bool any_holds_space(const std::vector<AddedToken>& tokens) {
  for (const auto& t : tokens)
    if (t.content.find(' ') != std::string::npos) return true;
  return false;
}

bool is_python_space(char32_t c) {
  if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680) return true;
  if ((c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000)
    return true;
  return false;
}

void split_added_tokens(std::string_view text, const std::vector<AddedToken>& tokens,
                        const std::function<bool(std::string_view)>& on_text,
                        const std::function<bool(const AddedToken&)>& on_token) {
  bool strip_next = false;  // the previous token had rstrip
  size_t pos = 0;
  // Each token's next occurrence at or after pos, searched again only once pos passes it, so
  // the scan is linear in the text however many tokens it holds.
  constexpr size_t kUnsearched = std::string_view::npos - 1;
  std::vector<size_t> next(tokens.size(), kUnsearched);
  for (;;) {
    size_t at = std::string_view::npos;
    const AddedToken* hit = nullptr;
    for (size_t k = 0; k < tokens.size(); ++k) {
      const auto& t = tokens[k];
      if (t.content.empty()) continue;
      if (next[k] == kUnsearched || (next[k] != std::string_view::npos && next[k] < pos))
        next[k] = text.find(t.content, pos);
      const size_t f = next[k];
      if (f < at || (f == at && f != std::string_view::npos && t.content.size() > hit->content.size()))
        at = f, hit = &t;
    }
    std::string_view seg = text.substr(pos, at == std::string_view::npos ? std::string_view::npos : at - pos);
    if (strip_next) seg = strip_front(seg);
    if (hit && hit->lstrip) seg = strip_back(seg);
    if (!seg.empty() && !on_text(seg)) return;
    if (!hit) return;
    if (!on_token(*hit)) return;
    strip_next = hit->rstrip;
    pos = at + hit->content.size();
  }
}

}  // namespace offramp::engine
