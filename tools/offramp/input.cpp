#include "tools/offramp/input.h"

#include <fstream>
#include <iostream>

#include "offramp/error.h"

namespace offramp::cli {

namespace {

// std::getline that stops adding to `line` after limit + 1 bytes (the caller reports the line as
// too long), so an endless line cannot grow memory without bound. Returns false at end of input
// with nothing read.
bool read_line_bounded(std::istream& in, std::string& line, size_t limit) {
  line.clear();
  char buf[1 << 16];
  bool any = false;
  for (;;) {
    in.getline(buf, sizeof buf);
    const auto got = static_cast<size_t>(in.gcount());
    if (got > 0) any = true;
    if (in.eof()) {  // the last line, without '\n'
      line.append(buf, got);
      return any;
    }
    if (!in.fail()) {  // a whole line ended by '\n' (gcount counts it)
      line.append(buf, got - 1);
      return true;
    }
    // The buffer filled before the newline: keep going.
    line.append(buf, got);
    in.clear();
    if (line.size() > limit) return true;
  }
}

}  // namespace

std::vector<InputLine> read_input(const std::string& path, InputFormat format, bool require_text) {
  std::ifstream file;
  std::istream* in = &std::cin;
  const std::string name = (path.empty() || path == "-") ? "<stdin>" : path;
  if (name != "<stdin>") {
    file.open(path, std::ios::binary);
    if (!file) throw Error(path + ": cannot open input file");
    in = &file;
  }
  std::vector<std::string> lines;
  std::string line;
  while (read_line_bounded(*in, line, kMaxLineBytes)) {
    if (line.size() > kMaxLineBytes)
      throw Error(name + ":" + std::to_string(lines.size() + 1) + ": line longer than " +
                  std::to_string(kMaxLineBytes >> 20) + " MiB (the input limit per line)");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A UTF-8 byte-order mark (files saved by some editors) is not part of the first line.
    if (lines.empty() && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    lines.push_back(std::move(line));
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string::npos) lines.pop_back();
  if (lines.empty()) throw Error(name + ": empty file (no input lines)");
  if (format == InputFormat::Auto) format = lines.front().find('\t') != std::string::npos ? InputFormat::Tsv : InputFormat::Text;

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

}  // namespace offramp::cli
