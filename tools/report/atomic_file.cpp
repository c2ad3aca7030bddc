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

void require_output_dir(const std::string& dir, const std::string& what, const std::string& flag) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path probe = fs::path(dir) / ".offramp-write-test";
  const bool ok = !ec && std::ofstream(probe).good();
  fs::remove(probe, ec);
  if (!ok) throw Error(dir + ": cannot write the " + what + " output here (choose another " + flag + ")");
}

}  // namespace offramp::report
