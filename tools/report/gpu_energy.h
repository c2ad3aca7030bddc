// GPU board energy from NVML (nvmlDeviceGetTotalEnergyConsumption, Volta and newer), for the
// cost report's runs on the GPU. NVML is loaded at run time with dlopen: libnvidia-ml ships
// with the driver, so linking it would stop the binaries from starting on machines without
// one (the same reason the engine never links libcuda).
#pragma once

#include <string>

#include "tools/report/green_report.h"

namespace offramp::report {

class GpuEnergyMeter : public EnergySource {
 public:
  GpuEnergyMeter();  // device 0
  ~GpuEnergyMeter() override;
  GpuEnergyMeter(const GpuEnergyMeter&) = delete;
  GpuEnergyMeter& operator=(const GpuEnergyMeter&) = delete;
  bool available() const override { return device_ != nullptr; }
  const std::string& why() const override { return why_; }
  double joules() const override;  // cumulative since the driver loaded
  std::string what() const override {
    return "GPU board energy from NVML (the host CPU's is not included)";
  }

 private:
  void* lib_ = nullptr;
  void* device_ = nullptr;
  void* energy_fn_ = nullptr;
  std::string why_;
};

}  // namespace offramp::report
