// Multi-head self-attention over sequences packed without padding.
//
// Sequence s owns token rows [offsets[s], offsets[s+1]) of the packed batch; a token only
// attends to the tokens of its own sequence, so no n x n matrix is ever padded to the
// longest input and short inputs don't pay for long ones.
#pragma once

#include "kernels/device.h"

namespace offramp::kernels {

// qkv: [t, 3h] (Q | K | V, each [t, h] with heads contiguous: head j is columns j*d..j*d+d);
// offsets: [batch + 1] with offsets[0] = 0 and offsets[batch] = t; ctx: [t, h] out.
// h = heads * head_dim. Scale is 1/sqrt(head_dim).
void packed_attention(Device dev, const float* qkv, const int* offsets, int batch, int heads,
                      int head_dim, float* ctx);

}  // namespace offramp::kernels
