#include "tools/offramp/device_flags.h"

namespace offramp::cli {

void add_device_flags(CLI::App& app, DeviceFlags& flags) {
  app.add_option("--device", flags.device, "auto (the GPU when present), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--precision", flags.precision, "auto (fp16 on the GPU, fp32 on the CPU), fp32, fp16 or bf16 (GPU only)")
      ->check(CLI::IsMember({"auto", "fp32", "fp16", "bf16"}))
      ->capture_default_str();
}

LoadOptions load_options(const DeviceFlags& flags, int threads) {
  LoadOptions o;
  o.device = flags.device == "cpu" ? Device::Cpu : flags.device == "cuda" ? Device::Cuda : Device::Auto;
  o.precision = flags.precision == "fp32"   ? Precision::F32
                : flags.precision == "fp16" ? Precision::F16
                : flags.precision == "bf16" ? Precision::BF16
                                            : Precision::Auto;
  o.threads = threads;
  return o;
}

}  // namespace offramp::cli
