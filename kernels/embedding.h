// BERT embeddings: word + position + token-type rows gathered per token (LayerNorm follows
// through add_layer_norm).
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace offramp::kernels {

// ids, positions: [t]; word: [vocab, h]; pos: [max_pos, h]; type0: [h] (token type 0 row);
// out: [t, h]. ids must be < vocab and positions < max_pos (checked).
void embed(Device dev, const int32_t* ids, const int32_t* positions, int t, const float* word,
           int vocab, const float* pos, int max_pos, const float* type0, float* out, int h);

}  // namespace offramp::kernels
