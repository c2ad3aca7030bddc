#include "kernels/embedding.h"

#include <string>

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

void embed(Device dev, const int32_t* ids, const int32_t* positions, int t, const float* word,
           int vocab, const float* pos, int max_pos, const float* type0, float* out, int h) {
  check(t >= 0 && h > 0, "embed", "bad shape");
  for (int i = 0; i < t; ++i) {
    check(ids[i] >= 0 && ids[i] < vocab, "embed",
          "token id " + std::to_string(ids[i]) + " outside the vocabulary of " +
              std::to_string(vocab));
    check(positions[i] >= 0 && positions[i] < max_pos, "embed",
          "position " + std::to_string(positions[i]) + " beyond max_position_embeddings " +
              std::to_string(max_pos));
  }
  if (dev == Device::Cuda) no_cuda("embed");
  cpu::embed(ids, positions, t, word, pos, type0, out, h);
}

}  // namespace offramp::kernels
