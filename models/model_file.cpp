#include "models/model_file.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "models/model_error.h"

namespace offramp::models {

void require_regular_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);  // follows symlinks: a link to a regular file is fine
  if (ec || st.type() == fs::file_type::not_found) throw ModelError(path + ": cannot open (missing or unreadable)");
  const char* what = nullptr;
  switch (st.type()) {
    case fs::file_type::regular: return;
    case fs::file_type::directory: what = "a directory"; break;
    case fs::file_type::fifo: what = "a FIFO"; break;
    case fs::file_type::socket: what = "a socket"; break;
    case fs::file_type::block:
    case fs::file_type::character: what = "a device"; break;
    default: what = "not a plain file"; break;
  }
  throw ModelError(path + ": not a regular file (" + what + "); model files must be regular files");
}

std::ifstream open_model_file(const std::string& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path + ": cannot open (missing or unreadable)");
  return in;
}

nlohmann::json read_model_json(const std::string& path) {
  std::ifstream in = open_model_file(path);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw ModelError(path + ": not valid JSON: " + e.what());
  }
}

}  // namespace offramp::models
