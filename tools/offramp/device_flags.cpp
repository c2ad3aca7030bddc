#include "tools/offramp/device_flags.h"

#include "kernels/gpu.h"

namespace offramp::cli {

void add_device_flags(CLI::App& app, DeviceFlags& flags) {
  app.add_option("--device", flags.device, "auto (the GPU when present), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--precision", flags.precision,
                 "auto (fp16 on the GPU, fp32 on the CPU), fp32, fp16 or bf16 (GPU only)")
      ->check(CLI::IsMember({"auto", "fp32", "fp16", "bf16"}))
      ->capture_default_str();
}

std::string gpu_availability() {
  if (!kernels::cuda_compiled())
    return "none: this build has no CUDA backend (OFFRAMP_WITH_CUDA=OFF)";
  if (kernels::gpu::device_count() == 0) return "none: no CUDA device present (or no driver)";
  return "cuda: " + kernels::gpu::device_description();
}

LoadOptions load_options(const DeviceFlags& flags, int threads) {
  const bool gpu = kernels::gpu::device_count() > 0;
  if (flags.device == "cuda" && !gpu)
    throw Error("--device cuda: GPU " + gpu_availability() + "; use --device cpu or auto");
  if (flags.precision == "fp16" || flags.precision == "bf16") {
    if (flags.device == "cpu" || !gpu)
      throw Error(
          "--precision " + flags.precision + " runs on the GPU only (here: " +
          (flags.device == "cpu" ? std::string("--device cpu") : "GPU " + gpu_availability()) +
          "); the CPU runs fp32");
  }
  LoadOptions o;
  o.device = flags.device == "cpu"    ? Device::Cpu
             : flags.device == "cuda" ? Device::Cuda
                                      : Device::Auto;
  o.precision = flags.precision == "fp32"   ? Precision::F32
                : flags.precision == "fp16" ? Precision::F16
                : flags.precision == "bf16" ? Precision::BF16
                                            : Precision::Auto;
  o.threads = threads;
  return o;
}

}  // namespace offramp::cli
