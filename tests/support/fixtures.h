// Test fixtures: model directories with seeded random weights, written with the project's
// own writers (until offramp-train exists, exit heads are random but fixed by the seed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace offramp::test {

// Where ctest's fixture step puts the models and where the MiniLM checkpoint lives; both
// come from the build (compile definitions), overridable by environment variables
// OFFRAMP_TEST_MODELS and OFFRAMP_MINILM_DIR.
std::string test_models_dir();
std::string minilm_dir();
std::string repo_dir();

// A model directory `dst` that uses the real MiniLM backbone of `backbone` (files linked)
// plus exit heads after every layer with weights from `seed`, labels great/other.
void make_random_heads_model(const std::string& backbone, const std::string& dst, uint32_t seed,
                             const std::string& pooling = "cls");

// A tiny random BERT (hidden 32, 2 layers, 4 heads, ffn 64, 128 max positions) with a
// small English WordPiece vocabulary, and heads after both layers unless `with_heads` is false.
void make_tiny_model(const std::string& dst, uint32_t seed, bool with_heads = true);

// Writes a safetensors file from a raw header string and `data` bytes, so tests can make
// files the project's own writer never would (lying offsets, odd dtypes).
void write_raw_safetensors(const std::string& path, const std::string& header, const std::string& data);

// Runs a shell command with `stdin_text` on its stdin; returns its exit status and output.
struct CommandResult {
  int rc;
  std::string out, err;
};
CommandResult run_command(const std::string& command, const std::string& stdin_text = "");

// A fresh empty temporary directory for one test (removed first if it exists).
std::string fresh_temp_dir(const std::string& name);

// Writes the first `n` lines of `src` to `dst`.
void head_lines(const std::string& src, const std::string& dst, size_t n);

// Reads the texts of a `label<TAB>text` file.
std::vector<std::pair<std::string, std::string>> read_tsv(const std::string& path);
// The texts of data/fine_foods/SPLIT.tsv, from row `skip` on, at most n of them.
std::vector<std::string> fine_foods_texts(const std::string& split, size_t n, size_t skip = 0);

// How many inputs a test that repeats one path over many of them takes: `full` in an ordinary
// build, `sanitized` under AddressSanitizer (the asan preset). ASan checks a path's memory the
// first time the path runs, at several times the cost per input, and the release run keeps
// the full sizes; this keeps scripts/test.sh within CI's time.
#if defined(__SANITIZE_ADDRESS__)  // GCC
#define OFFRAMP_TEST_UNDER_ASAN 1
#elif defined(__has_feature)  // Clang
#if __has_feature(address_sanitizer)
#define OFFRAMP_TEST_UNDER_ASAN 1
#endif
#endif
#ifndef OFFRAMP_TEST_UNDER_ASAN
#define OFFRAMP_TEST_UNDER_ASAN 0
#endif
constexpr size_t sanitized_build_size(size_t full, size_t sanitized) { return OFFRAMP_TEST_UNDER_ASAN ? sanitized : full; }

}  // namespace offramp::test
