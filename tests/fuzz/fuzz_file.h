// The parsers under fuzz read files by path, as users give them: each input is written to one
// scratch file per process (in $TMPDIR) and that path is handed over.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace offramp::fuzz {

// A directory of this process's own, made once; `name` is the file inside it.
inline std::string scratch_file(const std::string& name, const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / ("offramp-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path.string();
}

// Stops the harness with a message: a broken invariant is a finding, like a crash.
[[noreturn]] inline void fail(const char* what) {
  fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace offramp::fuzz
