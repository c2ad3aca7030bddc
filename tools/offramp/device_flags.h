// --device and --precision, shared by the subcommands that run a model.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "offramp/offramp.h"

namespace offramp::cli {

struct DeviceFlags {
  std::string device = "auto";     // auto | cpu | cuda
  std::string precision = "auto";  // auto | fp32 | fp16 | bf16 | int8
};

void add_device_flags(CLI::App& app, DeviceFlags& flags);
// Throws Error in the flags' own terms when they cannot work here (--device cuda without a
// GPU, --precision fp16 on the CPU, int8 on the GPU).
LoadOptions load_options(const DeviceFlags& flags, int threads);
// "cuda: NVIDIA H200 (sm_90, ...)", or why the GPU is not used.
std::string gpu_availability();
// The CPU's GEMM precisions and how each runs here (bf16 needs AVX-512 BF16; int8 with VNNI
// or its 7-bit fallback), one line.
std::string cpu_precisions();

}  // namespace offramp::cli
