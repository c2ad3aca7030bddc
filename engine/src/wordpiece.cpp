#include "engine/src/wordpiece.h"

#include <utf8proc.h>

#include <fstream>
#include <stdexcept>

#include "engine/src/utf8.h"
#include "models/model_file.h"

namespace offramp::engine {

namespace {

utf8proc_category_t category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

bool is_whitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || category(c) == UTF8PROC_CATEGORY_ZS;
}

// Python's str.split() also splits at these, which survive cleaning (not C*, not Zs).
bool is_split_space(char32_t c) { return c == ' ' || c == 0x2028 || c == 0x2029; }

bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      return true;
    default:
      return false;
  }
}

bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    return true;
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::u32string normalize(std::u32string_view s, int options) {
  std::u32string out;
  if (s.empty()) return out;
  std::vector<utf8proc_int32_t> in(s.begin(), s.end());
  std::vector<utf8proc_int32_t> buf(in.size() * 4 + 8);
  for (;;) {
    // Decompose (and compose, for NFC) code point by code point.
    utf8proc_ssize_t n = 0;
    bool grow = false;
    for (auto cp : in) {
      const auto r = utf8proc_decompose_char(cp, buf.data() + n, static_cast<utf8proc_ssize_t>(buf.size()) - n,
                                             static_cast<utf8proc_option_t>(options), nullptr);
      if (r < 0) return std::u32string(s);
      if (n + r > static_cast<utf8proc_ssize_t>(buf.size())) { grow = true; break; }
      n += r;
    }
    if (grow) { buf.resize(buf.size() * 2); continue; }
    n = utf8proc_normalize_utf32(buf.data(), n, static_cast<utf8proc_option_t>(options));
    if (n < 0) return std::u32string(s);
    out.assign(buf.begin(), buf.begin() + n);
    return out;
  }
}

// Python's str.lower() applied one character at a time, as HF's slow tokenizer does when
// do_lower_case is set (so a final capital sigma becomes σ, never ς): the simple case
// mapping, plus U+0130 -> "i\u0307".
std::u32string python_lower(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c == 0x130) out += U"i\u0307";
    else out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
  }
  return out;
}

std::u32string strip_accents(const std::u32string& s) {
  std::u32string nfd = normalize(s, UTF8PROC_DECOMPOSE), out;
  for (char32_t c : nfd)
    if (category(c) != UTF8PROC_CATEGORY_MN) out.push_back(c);
  return out;
}

void split_whitespace(const std::u32string& s, std::vector<std::u32string>& out) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_split_space(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !is_split_space(s[j])) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
}

}  // namespace

std::vector<std::string> read_vocab_txt(const std::string& path) {
  std::ifstream in = models::open_model_file(path);
  std::vector<std::string> vocab;
  std::string line;
  while (std::getline(in, line)) vocab.push_back(line);  // HF strips only the "\n"
  if (vocab.empty()) throw std::runtime_error(path + ": empty vocabulary");
  return vocab;
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options,
                                       const std::string& source)
    : vocab_(std::move(vocab)), opt_(options) {
  for (size_t i = 0; i < vocab_.size(); ++i) ids_.emplace(vocab_[i], static_cast<int32_t>(i));
  auto need = [&](const char* tok) {
    auto it = ids_.find(tok);
    if (it == ids_.end()) throw std::runtime_error(source + ": vocabulary has no " + tok + " token");
    return it->second;
  };
  cls_ = need("[CLS]");
  sep_ = need("[SEP]");
  unk_ = need("[UNK]");
  for (const char* tok : {"[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"}) {
    auto it = ids_.find(tok);
    if (it != ids_.end()) specials_.push_back({tok, it->second});
  }
}

std::string WordPieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return "<invalid id " + std::to_string(id) + ">";
  return vocab_[static_cast<size_t>(id)];
}

void WordPieceTokenizer::basic_tokens(std::u32string_view text, std::vector<std::u32string>& out) const {
  std::u32string cleaned;
  cleaned.reserve(text.size());
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      cleaned.push_back(' ');
    } else if (opt_.tokenize_chinese_chars && is_chinese_char(c)) {
      cleaned += U' ';
      cleaned.push_back(c);
      cleaned += U' ';
    } else {
      cleaned.push_back(c);
    }
  }
  std::vector<std::u32string> words;
  split_whitespace(normalize(cleaned, UTF8PROC_COMPOSE), words);
  const bool strip = opt_.strip_accents.value_or(opt_.lower_case);
  std::u32string joined;
  for (auto& w : words) {
    if (opt_.lower_case) w = python_lower(w);
    if (strip) w = strip_accents(w);
    // Every punctuation char becomes a word of its own.
    for (char32_t c : w) {
      if (is_punctuation(c)) {
        joined += U' ';
        joined.push_back(c);
        joined += U' ';
      } else {
        joined.push_back(c);
      }
    }
    joined += U' ';
  }
  split_whitespace(joined, out);
}

void WordPieceTokenizer::wordpiece(const std::u32string& word, std::vector<int32_t>& ids) const {
  if (static_cast<int>(word.size()) > opt_.max_chars_per_word) {
    ids.push_back(unk_);
    return;
  }
  const size_t mark = ids.size();
  size_t start = 0;
  std::string piece;
  while (start < word.size()) {
    size_t end = word.size();
    int32_t found = -1;
    while (start < end) {
      piece = start > 0 ? "##" : "";
      piece += encode_utf8(std::u32string_view(word).substr(start, end - start));
      auto it = ids_.find(piece);
      if (it != ids_.end()) {
        found = it->second;
        break;
      }
      --end;
    }
    if (found < 0) {  // no piece matches: the whole word is unknown
      ids.resize(mark);
      ids.push_back(unk_);
      return;
    }
    ids.push_back(found);
    start = end;
  }
}

namespace {
// BERT whitespace bytes (\v and \f are controls, which cleaning deletes, so they join words).
bool bert_space_byte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
}  // namespace

// Where a run of text may be cut so that the basic tokenizer gives the same words on both sides
// as on the whole: before BERT whitespace, or after a character that always ends a word
// (whitespace, punctuation, CJK). The last such cut in (from, limit), or npos.
size_t WordPieceTokenizer::find_cut(std::string_view t, size_t from, size_t limit) const {
  for (size_t i = limit; i-- > from + 1;)
    if (bert_space_byte(t[i])) return i;
  size_t cut = std::string_view::npos;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(t.data());
  for (size_t i = from; i < limit;) {
    utf8proc_int32_t cp = -1;
    const auto n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(limit - i), &cp);
    const size_t len = n > 0 ? static_cast<size_t>(n) : 1;
    const char32_t c = n > 0 && cp >= 0 ? static_cast<char32_t>(cp) : U'\uFFFD';
    i += len;
    const bool ends_word = is_whitespace(c) || is_split_space(c) || is_punctuation(c) ||
                           (opt_.tokenize_chinese_chars && is_chinese_char(c));
    if (ends_word && i < limit) cut = i;
  }
  return cut;
}

// The end of the word that starts at `from`: the first whitespace, punctuation or CJK character.
size_t WordPieceTokenizer::word_end(std::string_view t, size_t from) const {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(t.data());
  size_t i = from;
  while (i < t.size()) {
    utf8proc_int32_t cp = -1;
    const auto n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(t.size() - i), &cp);
    const char32_t c = n > 0 && cp >= 0 ? static_cast<char32_t>(cp) : U'\uFFFD';
    if (is_whitespace(c) || is_split_space(c) || is_punctuation(c) || (opt_.tokenize_chinese_chars && is_chinese_char(c)))
      break;
    i += n > 0 ? static_cast<size_t>(n) : 1;
  }
  return i;
}

// Plain text (no special tokens) in chunks of whole words, so a 100 MB line stops as soon as
// `limit` pieces exist instead of being decoded and tokenized whole.
void WordPieceTokenizer::encode_plain(std::string_view seg, size_t limit, std::vector<int32_t>& ids) const {
  constexpr size_t kChunk = 16 << 10, kMaxChunk = 64 << 10;
  std::vector<std::u32string> words;
  size_t pos = 0;
  while (pos < seg.size() && ids.size() < limit) {
    size_t end = std::min(seg.size(), pos + kChunk);
    if (end < seg.size()) {
      // The first whitespace after kChunk bytes, else the last cut of the first 64 KiB.
      const size_t window = std::min(seg.size(), pos + kMaxChunk);
      size_t cut = std::string_view::npos;
      for (size_t i = end; i < window && cut == std::string_view::npos; ++i)
        if (bert_space_byte(seg[i])) cut = i;
      if (cut == std::string_view::npos) cut = find_cut(seg, pos, window);
      if (cut != std::string_view::npos) {
        end = cut;
      } else {
        // 64 KiB without a space, punctuation or CJK character: one word, far over
        // max_chars_per_word, so HF's [UNK]; skip to its end without decoding it. (A run made
        // almost only of characters that cleaning deletes would be shorter in HF: the one case
        // where this bound changes a result.)
        while (pos < seg.size() && bert_space_byte(seg[pos])) ++pos;
        ids.push_back(unk_);
        pos = std::max(word_end(seg, pos), pos + 1);
        continue;
      }
    }
    words.clear();
    basic_tokens(decode_utf8_lossy(seg.substr(pos, end - pos)), words);
    for (const auto& w : words) {
      wordpiece(w, ids);
      if (ids.size() >= limit) break;
    }
    pos = end;
  }
}

std::vector<int32_t> WordPieceTokenizer::encode_pieces(std::string_view text, size_t limit) const {
  std::vector<int32_t> ids;
  if (limit == 0) return ids;
  // Special tokens typed in the text keep their ids (HF splits them out before anything else).
  split_added_tokens(
      text, specials_,
      [&](std::string_view seg) {
        encode_plain(seg, limit, ids);
        return ids.size() < limit;
      },
      [&](const AddedToken& t) {
        ids.push_back(t.id);
        return ids.size() < limit;
      });
  if (ids.size() > limit) ids.resize(limit);
  return ids;
}

}  // namespace offramp::engine
