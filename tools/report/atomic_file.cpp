#include "tools/report/atomic_file.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "offramp/error.h"

namespace offramp::report {

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw Error(path + ": cannot write");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(path + ": cannot write (" + ec.message() + ")");
}

void require_writable(const std::string& path, const std::string& flag) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  const bool ok = fs::is_directory(dir, ec) && ::access(dir.c_str(), W_OK) == 0 && !fs::is_directory(p, ec);
  if (!ok) throw Error(path + ": cannot write here (missing or read-only directory); choose another " + flag);
}

}  // namespace offramp::report
