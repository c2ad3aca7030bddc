// --device and --precision, shared by the subcommands that run a model.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "offramp/offramp.h"

namespace offramp::cli {

struct DeviceFlags {
  std::string device = "auto";     // auto | cpu | cuda
  std::string precision = "auto";  // auto | fp32 | fp16 | bf16
};

void add_device_flags(CLI::App& app, DeviceFlags& flags);
// Throws Error in the flags' own terms when they cannot work here (--device cuda without a
// GPU, --precision fp16/bf16 on the CPU).
LoadOptions load_options(const DeviceFlags& flags, int threads);
// "cuda: NVIDIA H200 (sm_90, ...)", or why the GPU is not used.
std::string gpu_availability();

}  // namespace offramp::cli
