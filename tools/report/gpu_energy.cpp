#include "tools/report/gpu_energy.h"

#include <dlfcn.h>

namespace offramp::report {

namespace {
// The three NVML entry points used, declared by hand (nvml.h is only in CUDA builds).
using NvmlReturn = int;  // NVML_SUCCESS = 0
using InitFn = NvmlReturn (*)();
using HandleFn = NvmlReturn (*)(unsigned int, void**);
using EnergyFn = NvmlReturn (*)(void*, unsigned long long*);  // millijoules
using ShutdownFn = NvmlReturn (*)();
}  // namespace

GpuEnergyMeter::GpuEnergyMeter() {
  lib_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib_ == nullptr) {
    why_ = "not measured: NVML (libnvidia-ml.so.1, part of the NVIDIA driver) is not installed";
    return;
  }
  const auto init = reinterpret_cast<InitFn>(dlsym(lib_, "nvmlInit_v2"));
  const auto handle = reinterpret_cast<HandleFn>(dlsym(lib_, "nvmlDeviceGetHandleByIndex_v2"));
  energy_fn_ = dlsym(lib_, "nvmlDeviceGetTotalEnergyConsumption");
  void* dev = nullptr;
  unsigned long long mj = 0;
  if (!init || !handle || !energy_fn_) {
    why_ = "not measured: this NVML lacks nvmlDeviceGetTotalEnergyConsumption";
  } else if (init() != 0) {
    why_ = "not measured: nvmlInit failed (no NVIDIA GPU or driver)";
  } else if (handle(0, &dev) != 0 || reinterpret_cast<EnergyFn>(energy_fn_)(dev, &mj) != 0) {
    why_ = "not measured: NVML reports no energy counter for GPU 0 (needs Volta or newer)";
    if (auto shutdown = reinterpret_cast<ShutdownFn>(dlsym(lib_, "nvmlShutdown"))) shutdown();
  } else {
    device_ = dev;
    return;
  }
  dlclose(lib_);
  lib_ = nullptr;
}

GpuEnergyMeter::~GpuEnergyMeter() {
  if (lib_ == nullptr) return;
  if (device_)
    if (auto shutdown = reinterpret_cast<ShutdownFn>(dlsym(lib_, "nvmlShutdown"))) shutdown();
  dlclose(lib_);
}

double GpuEnergyMeter::joules() const {
  unsigned long long mj = 0;
  if (device_ == nullptr || reinterpret_cast<EnergyFn>(energy_fn_)(device_, &mj) != 0) return 0;
  return static_cast<double>(mj) * 1e-3;
}

}  // namespace offramp::report
