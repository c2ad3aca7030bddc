#include "tools/report/green_report.h"

#include "tools/report/atomic_file.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace offramp::report {

namespace fs = std::filesystem;

EnergyMeter::EnergyMeter() {
  const fs::path root = "/sys/class/powercap";
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    why_ = "not measured: no RAPL counters on this machine (" + root.string() + " does not exist)";
    return;
  }
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    // Package zones only (intel-rapl:0, intel-rapl:1), not their sub-zones (intel-rapl:0:0).
    if (name.rfind("intel-rapl:", 0) != 0 || name.find(':', 11) != std::string::npos) continue;
    const fs::path f = e.path() / "energy_uj";
    if (access(f.c_str(), R_OK) == 0) zones_.push_back(f.string());
  }
  if (zones_.empty()) why_ = "not measured: RAPL energy counters under " + root.string() + " are missing or not readable";
}

double EnergyMeter::joules() const {
  double j = 0;
  for (const auto& z : zones_) {
    std::ifstream in(z);
    double uj = 0;
    in >> uj;
    j += uj * 1e-6;
  }
  return j;
}

std::string hardware_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " logical cores";
}

namespace {
std::string fmt(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

void write_report(const Report& r, const std::string& stem) {
  const std::string hw = hardware_description();
  std::ostringstream md;
  md << "# " << r.title << "\n\n"
     << "- model: `" << r.model << "`\n- data: `" << r.data << "`\n- hardware: " << hw << " (device: " << r.device << ", precision: " << r.precision << ")\n"
     << "- FLOPs: analytic, per input from its real token count and exit layer (models/flops.h)\n"
     << "- energy: " << r.energy_note << "\n\n"
     << "| setting | batch | threads | accuracy % | GFLOP/input | FLOPs rel. to full depth | mean exit layer | inputs/s | J per 1000 inputs |\n"
     << "|---|---|---|---|---|---|---|---|---|\n";
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : r.rows) {
    md << "| " << c.setting << " | " << c.batch_size << " | " << c.threads << " | "
       << (c.accuracy ? fmt(100 * *c.accuracy, 2) : "-") << " | " << fmt(c.gflop_per_input, 3) << " | "
       << fmt(c.relative_flops, 3) << " | " << fmt(c.mean_exit_layer, 2) << " | "
       << (c.inputs_per_s ? fmt(*c.inputs_per_s, 1) : "-") << " | "
       << (c.joules_per_1000 ? fmt(*c.joules_per_1000, 1) : "not measured") << " |\n";
    nlohmann::json j = {{"setting", c.setting}, {"batch_size", c.batch_size}, {"threads", c.threads},
                        {"gflop_per_input", c.gflop_per_input}, {"gflop_per_1000_inputs", 1000 * c.gflop_per_input},
                        {"relative_flops", c.relative_flops}, {"mean_exit_layer", c.mean_exit_layer}};
    j["accuracy"] = c.accuracy ? nlohmann::json(*c.accuracy) : nlohmann::json(nullptr);
    j["inputs_per_s"] = c.inputs_per_s ? nlohmann::json(*c.inputs_per_s) : nlohmann::json(nullptr);
    j["joules_per_1000_inputs"] = c.joules_per_1000 ? nlohmann::json(*c.joules_per_1000) : nlohmann::json(nullptr);
    rows.push_back(j);
  }
  md << "\nWithout an energy counter the cost to compare is GFLOP per input (x1000 for 1000 inputs); it assumes energy "
        "grows with arithmetic work, which holds for one model on one machine but not across hardware.\n";
  const nlohmann::json j = {{"title", r.title}, {"model", r.model}, {"data", r.data}, {"hardware", hw}, {"device", r.device},
                            {"precision", r.precision}, {"energy", r.energy_note}, {"rows", rows}};
  write_file_atomic(stem + ".md", md.str());
  write_file_atomic(stem + ".json", j.dump(1) + "\n");
}

}  // namespace offramp::report
