// Reading the CLI's text inputs: one text per line, or TSV `label<TAB>text`, from a file
// or stdin. Everything is read and checked before any work starts, so a bad line stops
// the run with its line number and nothing half-done.
#pragma once

#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offramp::cli {

struct InputLine {
  size_t line_no;                    // 1-based
  std::optional<std::string> label;  // TSV input only
  std::string text;                  // what decides the tokens: a long text is cut (see DecidedPrefix)
};

enum class InputFormat { Auto, Text, Tsv };

// The longest input line accepted: a longer one is an error naming its line, read no further.
inline constexpr size_t kMaxLineBytes = size_t{256} << 20;
// Auto format: TSV when the first non-blank line has a TAB within its first this many bytes.
inline constexpr size_t kFormatProbeBytes = size_t{64} << 10;

// Given the first bytes of a line's text, the length of a prefix whose tokens no continuation
// changes, or nullopt (Classifier::decided_prefix). With it, a text longer than
// kFormatProbeBytes keeps only that prefix and the rest of its line is read and dropped, so a
// 100 MB line costs kilobytes; without it, lines are kept whole.
using DecidedPrefix = std::function<std::optional<size_t>(std::string_view text)>;

// path "-" or "" = stdin. Trailing blank lines are ignored; a blank line elsewhere is an error
// (require_text), as is a TSV line without a TAB or with an empty label, or a line over
// kMaxLineBytes. A leading UTF-8 byte-order mark is skipped. Throws offramp::Error.
std::vector<InputLine> read_input(const std::string& path, InputFormat format, bool require_text,
                                  const DecidedPrefix& decided = {});
// The same from a stream; `name` is what errors call it.
std::vector<InputLine> read_input(std::istream& in, const std::string& name, InputFormat format,
                                  bool require_text, const DecidedPrefix& decided = {});

}  // namespace offramp::cli
