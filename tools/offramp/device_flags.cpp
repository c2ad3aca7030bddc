#include "tools/offramp/device_flags.h"

#include "kernels/dense_weight.h"
#include "kernels/gpu.h"

namespace offramp::cli {

void add_device_flags(CLI::App& app, DeviceFlags& flags) {
  app.add_option("--device", flags.device, "auto (the GPU when present), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--precision", flags.precision,
                 "auto (fp16 on the GPU, fp32 on the CPU), fp32, fp16 (GPU only), bf16 (GPU; CPU with AVX-512 BF16) "
                 "or int8 (CPU only: int8 GEMMs, the rest fp32)")
      ->check(CLI::IsMember({"auto", "fp32", "fp16", "bf16", "int8"}))
      ->capture_default_str();
}

std::string gpu_availability() {
  if (!kernels::cuda_compiled())
    return "none: this build has no CUDA backend (OFFRAMP_WITH_CUDA=OFF)";
  if (kernels::gpu::device_count() == 0) return "none: no CUDA device present (or no driver)";
  return "cuda: " + kernels::gpu::device_description();
}

std::string cpu_precisions() {
  using kernels::GemmPrecision;
  return "fp32; bf16: " + kernels::cpu_gemm_description(GemmPrecision::BF16) +
         "; int8: " + kernels::cpu_gemm_description(GemmPrecision::Int8);
}

LoadOptions load_options(const DeviceFlags& flags, int threads) {
  if (flags.precision == "int8" && flags.device == "cuda")
    throw Error("--precision int8 with --device cuda: int8 runs on the CPU only; use --device cpu (or auto)");
  const bool gpu = kernels::gpu::device_count() > 0;
  if (flags.device == "cuda" && !gpu)
    throw Error("--device cuda: GPU " + gpu_availability() + "; use --device cpu or auto");
  if (flags.precision == "fp16" && (flags.device == "cpu" || !gpu))
    throw Error("--precision fp16 runs on the GPU only (here: " +
                (flags.device == "cpu" ? std::string("--device cpu") : "GPU " + gpu_availability()) +
                "); the CPU runs fp32, bf16 or int8");
  LoadOptions o;
  // int8 is CPU only, so auto means the CPU there even where a GPU is present.
  o.device = flags.device == "cpu" || flags.precision == "int8" ? Device::Cpu
             : flags.device == "cuda" ? Device::Cuda
                                      : Device::Auto;
  o.precision = flags.precision == "fp32"   ? Precision::F32
                : flags.precision == "fp16" ? Precision::F16
                : flags.precision == "bf16" ? Precision::BF16
                : flags.precision == "int8" ? Precision::Int8
                                            : Precision::Auto;
  o.threads = threads;
  return o;
}

}  // namespace offramp::cli
