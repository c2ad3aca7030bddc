#include "kernels/embedding.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/dense_weight.h"

namespace offramp::kernels {

namespace {
void check_ids(const int32_t* ids, const int32_t* positions, int t, int vocab, int max_pos) {
  for (int i = 0; i < t; ++i) {
    check(ids[i] >= 0 && ids[i] < vocab, "embed",
          "token id " + std::to_string(ids[i]) + " outside the vocabulary of " +
              std::to_string(vocab));
    check(positions[i] >= 0 && positions[i] < max_pos, "embed",
          "position " + std::to_string(positions[i]) + " beyond max_position_embeddings " +
              std::to_string(max_pos));
  }
}
}  // namespace

void embed(Device dev, const int32_t* ids, const int32_t* positions, int t, const float* word,
           int vocab, const float* pos, int max_pos, const float* type0, float* out, int h) {
  check(t >= 0 && h > 0, "embed", "bad shape");
  check_ids(ids, positions, t, vocab, max_pos);
  if (dev == Device::Cuda) no_cuda("embed");
  cpu::embed(ids, positions, t, word, pos, type0, out, h);
}

WordTable borrow_word_table(const float* word, int vocab, int h) {
  check(word != nullptr && vocab > 0 && h > 0, "embed", "bad word table");
  WordTable w;
  w.vocab = vocab, w.h = h, w.f32 = word;
  return w;
}

WordTable quantize_word_table(const float* word, int vocab, int h) {
  check(word != nullptr && vocab > 0 && h > 0, "embed", "bad word table");
  WordTable w;
  w.vocab = vocab, w.h = h;
  w.q.resize(static_cast<size_t>(vocab) * h), w.scale.resize(static_cast<size_t>(vocab));
  quantize_rows_int8(word, static_cast<size_t>(vocab), static_cast<size_t>(h), w.q.data(), w.scale.data());
  return w;
}

void embed(Device dev, const int32_t* ids, const int32_t* positions, int t, const WordTable& word, const float* pos,
           int max_pos, const float* type0, float* out) {
  check(t >= 0 && word.h > 0, "embed", "bad shape");
  check_ids(ids, positions, t, word.vocab, max_pos);
  if (dev == Device::Cuda) no_cuda("embed");
  if (word.f32) return cpu::embed(ids, positions, t, word.f32, pos, type0, out, word.h);
  cpu::embed_int8(ids, positions, t, word.q.data(), word.scale.data(), pos, type0, out, word.h);
}

}  // namespace offramp::kernels
