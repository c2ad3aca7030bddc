// Stream compaction of a packed batch: the sequences that left at an exit are removed and
// the survivors' token rows move down, in order, so later layers run on fewer rows.
#pragma once

#include "kernels/device.h"

namespace offramp::kernels {

// x: [t, h] packed rows, compacted in place; offsets: [batch + 1], rewritten for the
// survivors; keep: [batch] (nonzero = stays). Returns the number of surviving sequences.
int compact_sequences(Device dev, float* x, int* offsets, const unsigned char* keep, int batch,
                      int h);

}  // namespace offramp::kernels
