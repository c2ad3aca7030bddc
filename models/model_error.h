// Errors raised while reading model files; each message names the file (and tensor or
// field) at fault. The engine rethrows them as offramp::Error.
#pragma once

#include <stdexcept>

namespace offramp::models {

struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace offramp::models
