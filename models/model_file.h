// Opening a model file (weights, configs, tokenizer files) safely: only a regular file is
// opened, so a FIFO, a device or a directory named like a model file is refused at once instead
// of blocking in open(2) or reading forever.
#pragma once

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

}  // namespace offramp::models
