// Reading the CLI's text inputs: one text per line, or TSV `label<TAB>text`, from a file
// or stdin. Everything is read and checked before any work starts, so a bad line stops
// the run with its line number and nothing half-done.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace offramp::cli {

struct InputLine {
  size_t line_no;                    // 1-based
  std::optional<std::string> label;  // TSV input only
  std::string text;
};

enum class InputFormat { Auto, Text, Tsv };

// The longest input line accepted: a longer one is an error naming its line, read no further
// (tokenizers only look at what max_length needs, so a 100 MB line classifies quickly).
inline constexpr size_t kMaxLineBytes = size_t{256} << 20;

// path "-" or "" = stdin. Auto: TSV when the first non-blank line has a TAB.
// Trailing blank lines are ignored; a blank line elsewhere is an error (require_text), as is
// a TSV line without a TAB or with an empty label, or a line over kMaxLineBytes. A leading
// UTF-8 byte-order mark is skipped. Throws offramp::Error.
std::vector<InputLine> read_input(const std::string& path, InputFormat format, bool require_text);

}  // namespace offramp::cli
