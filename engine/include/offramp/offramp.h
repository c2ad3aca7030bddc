// Offramp: early-exit transformer classifiers, fast.
//
// Usage:
//
//   #include <offramp/offramp.h>
//
//   auto clf = offramp::Classifier::load("models/fine-foods-minilm-int8", {.device =
//   offramp::Device::Auto}); offramp::Result r = clf.classify("Tasty, but the bag arrived torn.");
//   std::cout << r.label << " " << r.confidence << " exit " << r.exit_layer
//             << " flops " << r.flops << "\n";
//
//   // A batch: texts leave at the first exit confident enough; survivors keep running.
//   std::vector<offramp::Result> rs = clf.classify(texts, {.threshold = 0.9});
//
// A model directory is a Hugging Face BERT-family checkpoint (config.json,
// model.safetensors, vocab.txt or spiece.model) plus offramp.json and exits.safetensors
// for the exit heads. `classify` is const and safe to call from many threads at once (on the
// GPU, calls on one Classifier take turns on its stream: each call is a whole batch).
// Every failure throws offramp::Error with a message that says what to fix.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "offramp/error.h"

namespace offramp {

enum class Device {
  Auto,  // the GPU when this build has CUDA and a device is present, else the CPU
  Cpu,
  Cuda,
};

// When an input leaves the network (checked at every exit head, in layer order).
enum class Policy {
  MaxProb,   // max softmax probability >= threshold (default)
  Entropy,   // 1 - entropy / log(labels) >= threshold (DeeBERT's criterion, normalised to [0, 1])
  Patience,  // PABEE: the argmax is unchanged over `patience` consecutive exits after the first
  Static,    // every input leaves at one exit (`exit_layer`): that exit alone, the model truncated
             // there; the other heads do not run (calibration's "exit k alone" points)
};

// Precision of the encoder's GEMMs (every op accumulates in FP32, or exactly in int32 for
// Int8; on the CPU everything but the four GEMMs of each layer stays FP32).
enum class Precision {
  Auto,  // FP16 on the GPU, FP32 on the CPU
  F32,
  F16,   // GPU only
  BF16,  // GPU; CPU with AVX-512 BF16 (bfloat16 weights and activations into oneDNN's matmul)
  Int8,  // CPU only: weights int8 per output channel, activations u8 per row (kernels/dense_weight.h)
};

struct LoadOptions {
  Device device = Device::Auto;
  int threads = 0;  // CPU threads for the GEMMs and attention; 0 = all cores (process-wide)
  Precision precision = Precision::Auto;
  // GPU: each of the two streams' workspaces, allocated at load, holds this many tokens (all
  // inputs of a chunk together); larger batches are split into chunks. At least
  // max_position_embeddings.
  int gpu_max_batch_tokens = 32768;
};

// Per-call options; unset fields take the model's offramp.json values.
struct ClassifyOptions {
  std::optional<double> threshold;  // MaxProb / Entropy: exit when confidence >= threshold.
                                    // 0 exits everything at the first head; > 1 never exits early.
  std::optional<Policy> policy;
  std::optional<int> patience;      // Patience: k >= 0
  std::optional<int> max_length;    // tokens incl. [CLS]/[SEP]; longer texts are truncated
  int max_batch_tokens = 16384;     // larger batches are split into chunks of at most this
  std::vector<float> temperatures;  // per exit head, > 0; empty = the model's offramp.json
  std::optional<int> exit_layer;    // Static: the exit layer every input leaves at
  bool full_depth = false;          // no early exit whatever the policy: Static at the last exit
                                    // (the baseline a curve is measured against)
};

struct Result {
  std::string label;
  int label_index = -1;
  float confidence = 0;              // the policy's confidence at the exit taken
  std::vector<float> probabilities;  // per label, temperature-scaled softmax at the exit
  std::vector<float> logits;         // per label, the exit head's raw logits (before the temperature)
  int exit_layer = 0;                // 1-based encoder layer after which the input left
  int num_tokens = 0;                // tokens after truncation, incl. [CLS]/[SEP]
  double flops = 0;                  // analytic FLOPs this input cost (layers run + heads evaluated)
  double full_depth_flops = 0;       // what it costs at full depth: every layer to the last exit,
                                     // one head (so flops / full_depth_flops is the saving)
};

// Every exit head's output for one input, with all layers run (Classifier::trace_exits).
struct ExitTrace {
  int num_tokens = 0;                      // tokens after truncation, incl. [CLS]/[SEP]
  std::vector<std::vector<float>> logits;  // [exit][label], before the temperature
};

struct ExitInfo {
  int layer;
  std::string pooling;  // "cls" or "mean"
  float temperature;
  std::string activation = "tanh";  // after the head's dense layer: tanh, relu, gelu, gelu_new
  // True for a Hugging Face *ForSequenceClassification checkpoint's own head, kept as the
  // final exit (no offramp.json).
  bool checkpoint_head = false;
};

struct ModelInfo {
  std::string path;
  std::string architecture;  // config.json model_type
  int layers, hidden, heads, ffn, vocab_size, max_position;
  int embedding_size;        // == hidden, except ELECTRA's projected embeddings (e.g. 128 -> 256)
  int max_tokens;            // the longest input the positions allow (RoBERTa: max_position - 2)
  std::string activation;
  std::string tokenizer;     // "wordpiece", "byte-level BPE", "sentencepiece", "sentencepiece (XLM-R ids)"
  int max_length;
  size_t parameters;         // encoder + exit heads
  std::vector<ExitInfo> exits;  // empty for a plain HF checkpoint
  std::vector<std::string> labels;
  std::string policy;
  double threshold;
  int patience;
  int exit_layer;  // policy "static": the exit every input leaves at (0 otherwise)
  std::string calibration;  // what `offramp calibrate --write` predicted for that setting
                            // (offramp.json's "calibration", JSON text; empty if never calibrated)
  double flops_per_token_per_layer;  // the projection + FFN part: 2(4h^2 + 2hf)
  std::string device;        // "cpu" or "cuda"
  std::string device_name;   // the GPU's name, memory and SMs, or "cpu"
  std::string precision;     // "fp32", "fp16", "bf16" or "int8"
  std::string precision_note;  // how that precision runs here (int8: VNNI or the 7-bit fallback)
  size_t weight_bytes = 0;     // CPU: host memory the weights hold after load, at this precision
                               // (GPU: 0; the weights live on the device)
};

class Batcher;  // offramp/batcher.h

class Classifier {
 public:
  // Loads a model directory. Throws Error naming the file, field or tensor at fault.
  static Classifier load(const std::string& model_dir, const LoadOptions& options = {});

  // Classifies one text. Throws Error for an empty text or a model without exit heads.
  Result classify(std::string_view text, const ClassifyOptions& options = {}) const;
  // Classifies a batch; results are in input order. Throws Error naming the first bad input.
  std::vector<Result> classify(const std::vector<std::string>& texts,
                               const ClassifyOptions& options = {}) const;

  // Runs every text to the last exit and returns each head's raw logits: one pass from which
  // calibration simulates any policy, threshold or temperature offline. Options other than
  // max_length and max_batch_tokens do not apply.
  std::vector<ExitTrace> trace_exits(const std::vector<std::string>& texts, const ClassifyOptions& options = {}) const;

  // Token ids as the model sees them ([CLS] ... [SEP], truncated to max_length, or to the
  // model's limit when max_length is 0) and their vocabulary strings.
  std::vector<int> tokenize(std::string_view text, int max_length = 0) const;
  std::string token_string(int id) const;
  // For reading a huge text in bounded memory: given its first bytes, the length of a prefix
  // that gives every text starting with it the same tokens (so the rest need not be kept or
  // even read); nullopt while `partial` is not enough to tell. max_length as in tokenize().
  std::optional<size_t> decided_prefix(std::string_view partial, int max_length = 0) const;

  const ModelInfo& info() const;

  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;
  ~Classifier();

  struct Impl;  // private (engine/src); keeps CUDA, Eigen and tokenizer headers out of here

 private:
  friend class Batcher;  // runs batches of its own on the same model
  explicit Classifier(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// Parses "max_prob" / "entropy" / "patience" / "static"; throws Error otherwise.
Policy parse_policy(std::string_view name);
const char* policy_name(Policy p);

}  // namespace offramp
