// The catalogue of bad inputs: each row is one thing a user can get wrong, the `offramp`
// command that meets it, and the words its error must contain. Rows are data; the runner
// (test_catalogue.cpp) gives every row the same checks: exit status 1, nothing on stdout,
// the message on stderr, never "internal error", and back within the test's timeout (a FIFO
// or a lying header must not block or allocate without bound).
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace offramp::test::catalogue {

namespace fs = std::filesystem;

// Which committed or fixture model a row starts from (copied into a scratch directory that
// the row may then break).
enum class Base {
  None,          // no model: the row names its own paths
  Tiny,          // tests fixture: WordPiece BERT, hidden 32, 2 layers, heads after both
  TinyPlain,     // the same without exit heads
  Sentencepiece, // models/fine-foods-tiny (spiece.model)
  Roberta,       // tests/golden/families/roberta/task (byte-level BPE, task head)
  XlmRoberta,    // tests/golden/families/xlm-roberta/task (sentencepiece.bpe.model)
};

struct BadInput {
  const char* name;  // the gtest name: area_problem
  Base base;
  // Breaks the scratch copy (`model`) or writes input files into `scratch`. May be empty.
  std::function<void(const fs::path& model, const fs::path& scratch)> setup;
  // `offramp` arguments; {model} and {scratch} are replaced by the paths above.
  std::string args;
  std::string stdin_text;
  std::vector<std::string> says;  // each must appear in stderr
};

// gtest prints a failing row by its name instead of its bytes.
inline void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

std::vector<BadInput> model_cases();  // model directories, weights, configs, exit files
std::vector<BadInput> tokenizer_cases();
std::vector<BadInput> cli_cases();    // flags, input files, plot files

// Helpers the rows use to break a scratch model.
void edit_json(const fs::path& file, const std::function<void(nlohmann::json&)>& edit);
void write_text(const fs::path& file, const std::string& text);
void make_fifo(const fs::path& file);  // replaces `file` by a FIFO nobody writes to
// Overwrites bytes at `offset` of a file; poke_data counts from a safetensors file's data
// section (after the length prefix and the JSON header).
void poke(const fs::path& file, uint64_t offset, const std::string& bytes);
void poke_data(const fs::path& file, uint64_t offset, const std::string& bytes);
// Rewrites a safetensors file with one tensor's shape (and values) replaced.
void reshape_tensor(const fs::path& file, const std::string& tensor, const std::vector<int64_t>& shape);
// Rewrites a safetensors file without `tensor`.
void drop_tensor(const fs::path& file, const std::string& tensor);

}  // namespace offramp::test::catalogue
