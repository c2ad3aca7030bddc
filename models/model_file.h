// Opening a model file (weights, configs, tokenizer files) safely: only a regular file is
// opened, so a FIFO, a device or a directory named like a model file is refused at once instead
// of blocking in open(2) or reading forever.
#pragma once

#include <cstdint>
#include <fstream>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace offramp::models {

// Throws ModelError "PATH: missing" / "PATH: not a regular file (a FIFO)" etc.
void require_regular_file(const std::string& path);
// require_regular_file, then an ifstream (binary); throws ModelError if it cannot be read.
std::ifstream open_model_file(const std::string& path);
// open_model_file, then the JSON in it; throws ModelError "PATH: not valid JSON: ..." .
nlohmann::json read_model_json(const std::string& path);

// Fields of a model's JSON files, checked before use. `where` names the file and field
// ("config.json: field 'hidden_size'"); the ModelError reads "WHERE must be ...".
// An integer in lo..hi, checked before it is narrowed (a float or a 100-digit number cast to
// int would be undefined behaviour; tests/fuzz/fuzz_config.cpp found one).
int json_int(const nlohmann::json& v, int64_t lo, int64_t hi, const std::string& where);
// obj[key] as a string, `fallback` when absent or null.
std::string json_string(const nlohmann::json& obj, const std::string& key, const std::string& fallback,
                        const std::string& where);
// obj[key] as a number, `fallback` when absent or null.
double json_number(const nlohmann::json& obj, const std::string& key, double fallback, const std::string& where);

}  // namespace offramp::models
