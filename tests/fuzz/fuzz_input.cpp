// Fuzzes the CLI's text/TSV reader (tools/offramp/input.cpp). Input byte 0 picks the format
// (auto, text, tsv), whether empty texts are errors, and whether long lines are cut where a
// WordPiece tokenizer says their tokens are decided (max_length 16); byte 1 repeats the rest
// up to 128 times, so short inputs make lines past the reader's 64 KiB cutting threshold.
// Errors must be offramp::Error; a cut line must give the same label and ids as the uncut.
#include <sstream>

#include "engine/src/tokenizer.h"
#include "offramp/error.h"
#include "tests/fuzz/fuzz_file.h"
#include "tools/offramp/input.h"

using offramp::cli::InputFormat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tok = offramp::engine::load_tokenizer(OFFRAMP_REPO_DIR "/tests/golden/families/bert/task");
  if (size < 2) return 0;
  const InputFormat format = static_cast<InputFormat>(data[0] % 3);
  const bool require_text = data[0] & 4, cut = data[0] & 8;
  std::string content;
  for (int r = 0; r <= data[1] % 128; ++r) content.append(reinterpret_cast<const char*>(data) + 2, size - 2);
  const auto read = [&](bool with_cut) {
    std::istringstream in(content);
    offramp::cli::DecidedPrefix decided;
    if (with_cut) decided = [](std::string_view t) { return tok->decided_prefix(t, 16); };
    return offramp::cli::read_input(in, "<fuzz>", format, require_text, decided);
  };
  try {
    const auto lines = read(cut);
    if (!cut) return 0;
    const auto whole = read(false);
    if (whole.size() != lines.size()) offramp::fuzz::fail("cutting changed the number of lines");
    for (size_t i = 0; i < lines.size(); ++i)
      if (lines[i].label != whole[i].label || tok->encode(lines[i].text, 16) != tok->encode(whole[i].text, 16))
        offramp::fuzz::fail("cutting a line changed its label or ids");
  } catch (const offramp::Error&) {
  }
  return 0;
}
