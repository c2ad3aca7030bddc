#include "tools/offramp/input.h"

#include <fstream>
#include <iostream>

#include "offramp/error.h"

namespace offramp::cli {

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
  while (std::getline(*in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
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
