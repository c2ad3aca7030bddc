// Writing an output file so that a failure never leaves it half-written: the text goes to
// PATH.tmp, which is then renamed over PATH. Shared by the CLI, offramp-bench and offramp-train.
#pragma once

#include <string>

namespace offramp::report {

// Throws offramp::Error naming the path when it cannot write.
void write_file_atomic(const std::string& path, const std::string& text);

// Checked before long work whose result goes to `path`: its directory exists and is writable
// and `path` is not a directory. Throws offramp::Error naming the path and `flag` otherwise.
void require_writable(const std::string& path, const std::string& flag);
// The same for an output folder: creates it (and its parents) and writes a probe file there;
// the error reads "DIR: cannot write the WHAT output here (choose another FLAG)".
void require_output_dir(const std::string& dir, const std::string& what, const std::string& flag);

}  // namespace offramp::report
