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

int json_int(const nlohmann::json& v, int64_t lo, int64_t hi, const std::string& where) {
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) ||
      v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    throw ModelError(where + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + " (got " +
                     v.dump() + ")");
  return static_cast<int>(v.get<int64_t>());
}

std::string json_string(const nlohmann::json& obj, const std::string& key, const std::string& fallback,
                        const std::string& where) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_string()) throw ModelError(where + " must be a string (got " + obj[key].dump() + ")");
  return obj[key].get<std::string>();
}

double json_number(const nlohmann::json& obj, const std::string& key, double fallback, const std::string& where) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_number()) throw ModelError(where + " must be a number (got " + obj[key].dump() + ")");
  return obj[key].get<double>();
}

}  // namespace offramp::models
