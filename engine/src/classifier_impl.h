// What the public Classifier and Batcher share inside the library: the loaded model, the
// checks and tokenization every call goes through, and the step from the core's
// SequenceResult to the public Result.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engine/src/gpu_model.h"
#include "engine/src/model_dir.h"
#include "engine/src/scheduler.h"
#include "kernels/device.h"
#include "offramp/offramp.h"

namespace offramp {

struct Classifier::Impl {
  engine::ModelDir model;
  kernels::Device device = kernels::Device::Cpu;
  std::unique_ptr<engine::GpuModel> gpu;  // set when the model runs on the GPU
  ModelInfo info;

  std::vector<engine::SequenceResult> run(const std::vector<std::vector<int32_t>>& ids,
                                          const engine::BatchOptions& options) const {
    return gpu ? gpu->run(ids, options) : engine::run_batch(model, device, ids, options);
  }
};

namespace engine {

// Runs `f`, turning every internal exception into offramp::Error (same message).
template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error("out of memory (try a smaller batch or max_batch_tokens)");
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
}

struct Prepared {
  BatchOptions batch;
  TokenIds ids;  // per text
};

// Checks the options against the model and tokenizes every text; throws Error naming the
// option or the first bad text.
Prepared prepare(const Classifier::Impl& impl, const std::vector<std::string>& texts, const ClassifyOptions& options);

// The public result of an input of `num_tokens` tokens.
Result to_result(const Classifier::Impl& impl, const SequenceResult& seq, int num_tokens);

}  // namespace engine
}  // namespace offramp
