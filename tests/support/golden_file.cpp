#include "tests/support/golden_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace offramp::test {

namespace {
template <typename T>
T read_pod(std::ifstream& in, const std::string& path) {
  T v;
  in.read(reinterpret_cast<char*>(&v), sizeof(T));
  if (!in) throw std::runtime_error(path + ": truncated");
  return v;
}
}  // namespace

const std::vector<std::string>& family_fixtures() {
  static const std::vector<std::string> f = {"bert", "distilbert", "roberta", "xlm-roberta", "electra",
                                             "electra-projected"};
  return f;
}

std::string family_test_name(const std::string& family) {
  std::string n = family;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<nlohmann::json> rows;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    try {
      rows.push_back(nlohmann::json::parse(line));
    } catch (const std::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(n) + ": " + e.what());
    }
  }
  return rows;
}

GoldenFile read_golden(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "OFRGOLD1", 8) != 0) throw std::runtime_error(path + ": bad magic");
  if (read_pod<uint32_t>(in, path) != 1) throw std::runtime_error(path + ": unsupported version");
  GoldenFile g;
  const auto count = read_pod<uint32_t>(in, path);
  g.tensors = read_pod<uint32_t>(in, path);
  g.hidden = read_pod<uint32_t>(in, path);
  if (count > 100000 || g.tensors > 1000 || g.hidden > 100000) throw std::runtime_error(path + ": implausible sizes");
  g.sentences.resize(count);
  for (auto& s : g.sentences) {
    s.text.resize(read_pod<uint32_t>(in, path));
    in.read(s.text.data(), static_cast<std::streamsize>(s.text.size()));
    s.ids.resize(read_pod<uint32_t>(in, path));
    in.read(reinterpret_cast<char*>(s.ids.data()), static_cast<std::streamsize>(s.ids.size() * 4));
    s.hidden.resize(size_t(g.tensors) * s.ids.size() * g.hidden);
    in.read(reinterpret_cast<char*>(s.hidden.data()), static_cast<std::streamsize>(s.hidden.size() * 4));
    if (!in) throw std::runtime_error(path + ": truncated");
  }
  return g;
}

double relative_error(const float* got, const float* want, size_t n) {
  double diff = 0, norm = 0;
  for (size_t j = 0; j < n; ++j) {
    diff += double(got[j] - want[j]) * (got[j] - want[j]);
    norm += double(want[j]) * want[j];
  }
  return std::sqrt(diff / norm);
}

}  // namespace offramp::test
