// The one exception type of the public API.
#pragma once

#include <stdexcept>
#include <string>

namespace offramp {

// What went wrong and what to fix, e.g.
// "models/x/model.safetensors: tensor 'encoder.layer.0.output.dense.weight' has shape
// [384, 1536], expected [384, 1024]".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace offramp
