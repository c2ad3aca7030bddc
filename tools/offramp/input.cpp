#include "tools/offramp/input.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "offramp/error.h"

namespace offramp::cli {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r") == std::string_view::npos; }

// Reads one line in blocks. Once the line's text is longer than kFormatProbeBytes and
// `decided` names a prefix that fixes its tokens (asked each time the kept text doubles), the
// line is cut there and the rest is read without being kept; `length` counts every byte, so
// the kMaxLineBytes limit holds either way. Auto format is settled by the first non-blank line
// (a long one by its first kFormatProbeBytes). Returns false at end of input with nothing read.
class LineReader {
 public:
  LineReader(std::istream& in, const std::string& name, InputFormat& format, const DecidedPrefix& decided)
      : in_(in), name_(name), format_(format), decided_(decided) {}

  bool next(std::string& line, size_t& length) {
    line.clear();
    length = 0;
    bool any = false, cut = false;
    size_t next_check = kFormatProbeBytes;
    for (;;) {
      in_.getline(buf_, sizeof buf_);
      const auto got = static_cast<size_t>(in_.gcount());
      if (got > 0) any = true;
      // Nothing read, no end of file: a read error (EIO, or a directory named as the input),
      // which clear() below would otherwise retry forever.
      if (in_.bad() || (got == 0 && !in_.eof())) throw Error(name_ + ": cannot read (read error)");
      const bool eof = in_.eof(), whole = !eof && !in_.fail();  // whole: ended by '\n' (counted)
      const size_t n = whole ? got - 1 : got;
      length += n;
      if (!cut) line.append(buf_, n);
      if (eof || whole) {
        if (!any) return false;
        settle_format(line);
        ++lines_;
        return true;
      }
      in_.clear();  // the buffer filled before the newline: keep going
      if (length > kMaxLineBytes) return true;
      if (!cut && decided_ && line.size() >= next_check) {
        cut = try_cut(line);
        next_check = line.size() * 2;
      }
    }
  }

 private:
  // Auto format: the first non-blank line settles it, TSV when a TAB lies in its first
  // kFormatProbeBytes. Returns whether the format is known.
  bool settle_format(std::string_view line) {
    const std::string_view probe = line.substr(0, kFormatProbeBytes);
    if (format_ == InputFormat::Auto && !blank(probe))
      format_ = probe.find('\t') != std::string_view::npos ? InputFormat::Tsv : InputFormat::Text;
    return format_ != InputFormat::Auto;
  }

  bool try_cut(std::string& line) {
    const size_t bom = lines_ == 0 && line.rfind(kBom, 0) == 0 ? kBom.size() : 0;
    if (!settle_format(std::string_view(line).substr(bom))) return false;
    size_t start = bom;
    if (format_ == InputFormat::Tsv) {
      const size_t tab = line.find('\t');
      if (tab == std::string::npos) return false;  // the error comes when the line is parsed
      start = tab + 1;
    }
    const auto keep = decided_(std::string_view(line).substr(start));
    if (!keep) return false;
    line.resize(start + *keep);
    line.shrink_to_fit();
    return true;
  }

  std::istream& in_;
  const std::string& name_;
  InputFormat& format_;
  const DecidedPrefix& decided_;
  size_t lines_ = 0;
  char buf_[1 << 16];
};

}  // namespace

std::vector<InputLine> read_input(std::istream& in, const std::string& name, InputFormat format,
                                  bool require_text, const DecidedPrefix& decided) {
  std::vector<std::string> lines;
  std::string line;
  size_t length = 0;
  auto reader = std::make_unique<LineReader>(in, name, format, decided);
  while (reader->next(line, length)) {
    if (length > kMaxLineBytes)
      throw Error(name + ":" + std::to_string(lines.size() + 1) + ": line longer than " +
                  std::to_string(kMaxLineBytes >> 20) + " MiB (the input limit per line)");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A UTF-8 byte-order mark (files saved by some editors) is not part of the first line.
    if (lines.empty() && line.rfind(kBom, 0) == 0) line.erase(0, kBom.size());
    lines.push_back(std::move(line));
  }
  while (!lines.empty() && blank(lines.back())) lines.pop_back();
  if (lines.empty()) throw Error(name + ": empty file (no input lines)");

  std::vector<InputLine> out;
  out.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = name + ":" + std::to_string(i + 1) + ": ";
    InputLine in_line{i + 1, std::nullopt, {}};
    if (format == InputFormat::Tsv) {
      const size_t tab = lines[i].find('\t');
      if (tab == std::string::npos) throw Error(where + "expected 'label<TAB>text' (no TAB on this line)");
      if (tab == 0) throw Error(where + "empty label before the TAB");
      in_line.label = lines[i].substr(0, tab);
      in_line.text = lines[i].substr(tab + 1);
    } else {
      in_line.text = std::move(lines[i]);
    }
    if (require_text && in_line.text.find_first_not_of(" \t\r\n\v\f") == std::string::npos)
      throw Error(where + "empty text");
    out.push_back(std::move(in_line));
  }
  return out;
}

std::vector<InputLine> read_input(const std::string& path, InputFormat format, bool require_text,
                                  const DecidedPrefix& decided) {
  if (path.empty() || path == "-") return read_input(std::cin, "<stdin>", format, require_text, decided);
  // A FIFO or /dev/stdin is a fine input; a directory opens but cannot be read.
  if (std::filesystem::is_directory(path)) throw Error(path + ": is a directory, not an input file");
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path + ": cannot open input file");
  return read_input(file, path, format, require_text, decided);
}

}  // namespace offramp::cli
