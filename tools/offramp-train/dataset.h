// Training data: TSV `label<TAB>text` files tokenized by the `offramp tokenize` CLI (the
// trainer cannot link the tokenizers itself: libsentencepiece's bundled protobuf and
// LibTorch's clash in one executable, see docs/architecture.md, "Pitfalls"), and padded batches of them.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace offramp::train {

struct Example {
  std::vector<int64_t> ids;  // [CLS] ... [SEP], truncated
  int64_t label;
  size_t line_no;            // 1-based, for messages
};

struct Dataset {
  std::string path;
  std::vector<Example> examples;
};

// Labels in order of first appearance in a TSV file. Throws std::runtime_error naming the
// file and line of a malformed line (no TAB, empty label, empty text) or an empty file.
std::vector<std::string> read_labels(const std::string& tsv_path);

// Reads and tokenizes a TSV file with `offramp tokenize TOKENIZER_DIR --tsv --format ids`.
// A label outside `labels` is an error naming the line.
Dataset load_dataset(const std::string& tsv_path, const std::vector<std::string>& labels,
                     const std::string& offramp_cli, const std::string& tokenizer_dir, int max_length);

struct Batch {
  torch::Tensor ids;     // [B, T] int64, padded with 0
  torch::Tensor mask;    // [B, T] float: 1 token, 0 padding
  torch::Tensor labels;  // [B] int64
  std::vector<size_t> index;  // example indices
};

Batch make_batch(const Dataset& d, const std::vector<size_t>& index);

// Batches of examples in a shuffled order that is a function of (seed, epoch) only (so a
// resumed run sees the same order). Inputs of similar length share a batch (shuffled,
// then sorted within windows of 50 batches) to keep padding low.
std::vector<std::vector<size_t>> epoch_batches(const Dataset& d, int batch_size, uint64_t seed, int epoch);
// In file order, sorted by length for evaluation.
std::vector<std::vector<size_t>> eval_batches(const Dataset& d, int batch_size);

// The `offramp` CLI beside this executable, else on PATH.
std::string find_offramp_cli();

}  // namespace offramp::train
