// Fuzzes one tokenizer on arbitrary bytes: built once per tokenizer kind, with
// OFFRAMP_FUZZ_TOKENIZER_DIR naming the model directory whose tokenizer it loads (WordPiece,
// byte-level BPE, XLM-R or plain sentencepiece). The first two input bytes pick max_length
// (2..513), the rest is the text. Checked for every input:
//   - 2 <= ids <= max_length, every id in the vocabulary;
//   - decided_prefix (what the CLI keeps of a long line): where it names a length n, the
//     text's first n bytes give the same ids as the whole text.
#include <stdexcept>
#include <string_view>

#include "engine/src/tokenizer.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tok = offramp::engine::load_tokenizer(OFFRAMP_FUZZ_TOKENIZER_DIR);
  if (size < 2) return 0;
  const int max_length = 2 + (data[0] | data[1] << 8) % 512;
  const std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);
  const auto ids = tok->encode(text, max_length);
  if (ids.size() < 2 || ids.size() > static_cast<size_t>(max_length)) offramp::fuzz::fail("id count outside 2..max_length");
  for (const int32_t id : ids)
    if (id < 0 || id >= tok->vocab_size()) offramp::fuzz::fail("id outside the vocabulary");
  if (const auto n = tok->decided_prefix(text, max_length)) {
    if (*n > text.size()) offramp::fuzz::fail("decided_prefix past the text");
    if (tok->encode(text.substr(0, *n), max_length) != ids) offramp::fuzz::fail("decided_prefix changes the ids");
  }
  return 0;
}
