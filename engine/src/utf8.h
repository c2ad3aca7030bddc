// UTF-8 decoding with one rule for invalid input, used by every tokenizer:
// each byte that does not start a valid UTF-8 sequence (stray continuation bytes, overlong
// forms, surrogates, code points above U+10FFFF, truncated sequences) becomes U+FFFD and
// decoding resumes at the next byte. Never throws, never reads past the input.
#pragma once

#include <string>
#include <string_view>

namespace offramp::engine {

std::u32string decode_utf8_lossy(std::string_view text);
std::string encode_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t cp);

}  // namespace offramp::engine
