// The Green-AI cost report written by `offramp calibrate` and `offramp-bench`: what a paper's
// efficiency table needs (model, hardware, batch size, threshold, accuracy, FLOPs per input,
// inputs per second, energy per 1000 inputs where it can be measured), as Markdown and JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace offramp::report {

// A cumulative energy counter: RAPL for runs on the CPU, NVML for runs on the GPU.
class EnergySource {
 public:
  virtual ~EnergySource() = default;
  virtual bool available() const = 0;
  virtual const std::string& why() const = 0;  // why not, when not available
  virtual double joules() const = 0;           // cumulative
  virtual std::string what() const = 0;        // what is measured, for the report's note
};

// CPU package energy from Linux RAPL (/sys/class/powercap/intel-rapl:*/energy_uj), when the
// counters exist and are readable; otherwise `available()` is false and `why()` says why.
class EnergyMeter : public EnergySource {
 public:
  EnergyMeter();
  bool available() const override { return !zones_.empty(); }
  const std::string& why() const override { return why_; }
  double joules()
      const override;  // summed over package zones (wrap-around handled by callers' short spans)
  std::string what() const override { return "CPU package energy from Linux RAPL"; }

 private:
  std::vector<std::string> zones_;
  std::string why_;
};

struct CostRow {
  std::string setting;       // "full depth", "max_prob >= 0.93", ...
  int batch_size = 0, threads = 0;
  std::optional<double> accuracy;       // fraction, labelled data only
  double gflop_per_input = 0;           // analytic
  double relative_flops = 0;            // to full depth
  double mean_exit_layer = 0;
  std::optional<double> inputs_per_s;   // measured
  std::optional<double> joules_per_1000;  // measured energy, when available
};

struct Report {
  std::string title, model, data, device = "cpu";
  std::vector<CostRow> rows;
  std::string energy_note;  // how energy was measured, or why it was not
  std::string precision = "fp32";  // what the GEMMs ran in ("int8", or one per bench device)
};

std::string hardware_description();  // CPU model and core count, from /proc/cpuinfo
// Writes `stem`.md and `stem`.json (temporary names, then renamed). Throws std::runtime_error.
void write_report(const Report& r, const std::string& stem);

}  // namespace offramp::report
