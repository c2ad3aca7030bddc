#include "tools/offramp/traced.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <unistd.h>


namespace offramp::cli {

std::vector<InputLine> read_labelled(const std::string& path, const Classifier& clf, int max_length) {
  auto lines = read_input(path, InputFormat::Tsv, true, [&](std::string_view t) { return clf.decided_prefix(t, max_length); });
  const auto& labels = clf.info().labels;
  for (const auto& l : lines)
    if (std::find(labels.begin(), labels.end(), *l.label) == labels.end()) {
      std::string known;
      for (const auto& k : labels) known += (known.empty() ? "" : ", ") + k;
      throw Error((path == "-" ? std::string("<stdin>") : path) + ":" + std::to_string(l.line_no) + ": unknown label '" +
                  *l.label + "' (the model's labels: " + known + ")");
    }
  return lines;
}

engine::SweepInput trace_labelled(const Classifier& clf, const std::vector<InputLine>& lines, int max_length,
                                  int batch_size) {
  const ModelInfo& info = clf.info();
  engine::SweepInput in = engine::sweep_input_for(info);
  ClassifyOptions opt;
  if (max_length > 0) opt.max_length = max_length;
  const bool tty = isatty(2);
  std::vector<std::string> batch;
  for (size_t begin = 0; begin < lines.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(lines.size(), begin + static_cast<size_t>(batch_size));
    batch.clear();
    for (size_t i = begin; i < end; ++i) batch.push_back(lines[i].text);
    const auto traces = clf.trace_exits(batch, opt);
    for (size_t i = begin; i < end; ++i)
      engine::add_traced(in, traces[i - begin],
                         static_cast<int>(std::find(info.labels.begin(), info.labels.end(), *lines[i].label) - info.labels.begin()));
    if (tty || end == lines.size())
      std::cerr << (tty ? "\r" : "") << "recording every exit head: " << end << "/" << lines.size() << " inputs"
                << (end == lines.size() ? "\n" : "") << std::flush;
  }
  return in;
}

void print_point_header(bool timing) {
  std::cout << std::left << std::setw(26) << "point" << std::right << std::setw(8) << "acc%" << std::setw(8) << "F1%"
            << std::setw(11) << "rel FLOPs" << std::setw(11) << "mean exit" << "   exits per head"
            << (timing ? "   ms/input b1 / b32" : "") << "\n";
}

void print_point(const std::string& name, const engine::SweepPoint& p) {
  const auto flags = std::cout.flags();
  const auto precision = std::cout.precision();
  std::cout << std::left << std::setw(26) << name << std::right << std::setw(8) << pct(p.accuracy, 2) << std::setw(8)
            << pct(p.macro_f1, 2) << std::setw(11) << std::fixed << std::setprecision(3) << p.relative_flops << std::setw(11)
            << std::setprecision(2) << p.mean_exit_layer << "   ";
  for (size_t e = 0; e < p.exit_histogram.size(); ++e) std::cout << (e ? "/" : "") << p.exit_histogram[e];
  if (p.ms_per_input_batch1 >= 0) std::cout << "   " << p.ms_per_input_batch1 << " / " << p.ms_per_input_batch32 << " ms";
  std::cout << "\n";
  std::cout.flags(flags);
  std::cout.precision(precision);
}

std::string point_name(const engine::SweepPoint& p) {
  std::ostringstream s;
  if (p.kind == "static") s << "exit " << static_cast<int>(p.threshold) << " alone";
  else if (p.kind == "full_depth") s << "full depth";
  else if (p.policy == "patience") s << "patience k=" << static_cast<int>(p.threshold);
  else s << p.policy << " >= " << std::setprecision(6) << p.threshold;
  return s.str();
}

std::string pct(double fraction, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, 100.0 * fraction);
  return buf;
}

nlohmann::json point_json(const engine::SweepPoint& p) {
  nlohmann::json j = {{"kind", p.kind}, {"accuracy", p.accuracy}, {"macro_f1", p.macro_f1}, {"mean_flops", p.mean_flops},
                      {"relative_flops", p.relative_flops}, {"mean_exit_layer", p.mean_exit_layer},
                      {"exit_histogram", p.exit_histogram}};
  if (p.kind == "dynamic") j["policy"] = p.policy, j["threshold"] = p.threshold;
  if (p.kind == "static") j["layer"] = static_cast<int>(p.threshold);
  if (p.accuracy_low >= 0) j["accuracy_interval"] = {p.accuracy_low, p.accuracy_high};  // bootstrap, 95%
  if (p.ms_per_input_batch1 >= 0) j["ms_per_input_batch1"] = p.ms_per_input_batch1;
  if (p.ms_per_input_batch32 >= 0) j["ms_per_input_batch32"] = p.ms_per_input_batch32;
  return j;
}

}  // namespace offramp::cli
