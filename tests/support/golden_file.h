// The OFRGOLD1 golden files written by tests/golden/make_hidden_golden.py and
// make_family_golden.py: per sentence its text (may be empty), token ids and the hidden
// states after the embeddings and after every layer.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace offramp::test {

struct GoldenSentence {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<float> hidden;  // [layers + 1, n, h]
};

struct GoldenFile {
  uint32_t tensors = 0;  // layers + 1
  uint32_t hidden = 0;   // h
  std::vector<GoldenSentence> sentences;
};

// Throws std::runtime_error naming the file on a bad magic, version or a truncated file.
GoldenFile read_golden(const std::string& path);

// The per-family fixtures of tests/golden/families (make_family_golden.py), and a gtest name
// for each ("xlm-roberta" -> "xlm_roberta"), for the suites instantiated over them.
const std::vector<std::string>& family_fixtures();
std::string family_test_name(const std::string& family);

// One JSON value per line (the tokenizer fixtures); throws naming the file and line.
std::vector<nlohmann::json> read_jsonl(const std::string& path);

// ||got - want|| / ||want|| over one row of n values.
double relative_error(const float* got, const float* want, size_t n);

}  // namespace offramp::test
