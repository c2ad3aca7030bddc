// Special tokens typed in a text ("<s>", "<mask>", ...): Hugging Face splits them out before
// the tokenizer proper sees the text and gives them their own ids, stripping whitespace next to
// those marked lstrip/rstrip (RoBERTa's and XLM-R's <mask> has lstrip). This is that split, for
// the tokenizers whose checkpoints declare such tokens (byte-level BPE, XLM-R sentencepiece).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace offramp::engine {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool lstrip = false;  // whitespace before the token is dropped
  bool rstrip = false;  // whitespace after it is dropped
};

// Calls on_text(segment) for each stretch of plain text and on_token(token) for each added token
// in order, as HF's slow tokenizer splits (earliest match first, the longest at one position;
// matching is case-sensitive; empty segments are skipped). Either callback returns false to
// stop early, so a 20 MB text is not scanned past what max_length needs.
void split_added_tokens(std::string_view text, const std::vector<AddedToken>& tokens,
                        const std::function<bool(std::string_view)>& on_text,
                        const std::function<bool(const AddedToken&)>& on_token);

// Whether some token's content holds an ASCII space (then no cut at a space is safe).
bool any_holds_space(const std::vector<AddedToken>& tokens);

// Python's str.isspace() for one code point: what HF's lstrip/rstrip remove.
bool is_python_space(char32_t c);

}  // namespace offramp::engine
