// BERT embeddings: word + position + token-type rows gathered per token (LayerNorm follows
// through add_layer_norm).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/device.h"

namespace offramp::kernels {

// ids, positions: [t]; word: [vocab, h]; pos: [max_pos, h]; type0: [h] (token type 0 row);
// out: [t, h]. ids must be < vocab and positions < max_pos (checked).
void embed(Device dev, const int32_t* ids, const int32_t* positions, int t, const float* word,
           int vocab, const float* pos, int max_pos, const float* type0, float* out, int h);

// The word embeddings as the CPU keeps them: the model's FP32 rows (borrowed), or int8 rows
// with one scale each (row r ~ scale[r] * q[r, :], symmetric, like the GEMM weights), which
// is what makes an int8 model small: MiniLM's 30522 x 384 table is half its FP32 weights.
struct WordTable {
  int vocab = 0, h = 0;
  const float* f32 = nullptr;  // [vocab, h] when not quantized
  std::vector<int8_t> q;       // [vocab, h]
  std::vector<float> scale;    // [vocab]
  size_t bytes() const { return f32 ? static_cast<size_t>(vocab) * h * sizeof(float) : q.size() + scale.size() * 4; }
};
WordTable borrow_word_table(const float* word, int vocab, int h);
WordTable quantize_word_table(const float* word, int vocab, int h);

// The same sum as above, gathering word rows from `word` (dequantized when int8).
void embed(Device dev, const int32_t* ids, const int32_t* positions, int t, const WordTable& word, const float* pos,
           int max_pos, const float* type0, float* out);

}  // namespace offramp::kernels
