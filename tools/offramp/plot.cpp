#include "tools/offramp/plot.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "offramp/error.h"

namespace offramp::cli {

namespace fs = std::filesystem;

void require_gnuplot() {
  if (const char* path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':'))
      if (!dir.empty() && access((fs::path(dir) / "gnuplot").c_str(), X_OK) == 0) return;
  }
  throw Error("gnuplot not found on PATH: install it (apt-get install gnuplot-nox) or pass --no-plot");
}

namespace {
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}
}  // namespace

void plot(const std::vector<PlotSpec>& panels, const std::string& stem) {
  const std::string data = stem + ".plotdata.tmp", script = stem + ".gp.tmp";
  // All panels' series in one data file; gnuplot's `index` picks a series.
  std::vector<std::string> commands;
  {
    std::ofstream d(data);
    int index = 0;
    for (const auto& spec : panels) {
      std::ostringstream gp;
      gp << "set title " << quote(spec.title) << "\nset xlabel " << quote(spec.xlabel) << "\nset ylabel " << quote(spec.ylabel)
         << "\nset grid\nset key bottom right\nunset label\n";
      for (const auto& [text, at] : spec.labels)
        gp << "set label " << quote(text) << " at " << at.first << "," << at.second << " offset 1,-1\n";
      gp << "plot ";
      for (size_t i = 0; i < spec.series.size(); ++i, ++index) {
        const auto& s = spec.series[i];
        const bool band = !s.high.empty();
        for (size_t k = 0; k < s.points.size(); ++k)
          d << s.points[k].first << " " << s.points[k].second << (band ? " " + std::to_string(s.high[k]) : "") << "\n";
        d << "\n\n";  // gnuplot index separator
        gp << (i ? ", " : "") << quote(data) << " index " << index << (band ? " using 1:2:3" : "") << " with "
           << (band     ? "filledcurves fs transparent solid 0.2 noborder"
               : s.line ? "linespoints pt 7 ps 0.4"
                        : "points pt " + std::to_string(5 + 2 * static_cast<int>(i % 3)) + " ps 1.5")
           << " title " << quote(s.title);
      }
      commands.push_back(gp.str() + "\n");
    }
    if (!d) throw Error(data + ": cannot write");
  }
  const int width = 900 * static_cast<int>(panels.size());
  std::ostringstream gp;
  for (const auto& [term, ext] : {std::pair<std::string, std::string>{"pngcairo noenhanced", ".png"}, {"svg noenhanced", ".svg"}}) {
    gp << "set terminal " << term << " size " << width << ",600\nset output " << quote(stem + ext + ".tmp") << "\n";
    if (panels.size() > 1) gp << "set multiplot layout 1," << panels.size() << "\n";
    for (const auto& c : commands) gp << c;
    if (panels.size() > 1) gp << "unset multiplot\n";
    gp << "unset output\n";
  }
  {
    std::ofstream s(script);
    s << gp.str();
  }
  const std::string cmd = "gnuplot " + quote(script) + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  if (pipe) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  }
  const int rc = pipe ? pclose(pipe) : -1;
  fs::remove(data);
  fs::remove(script);
  if (rc != 0) {
    fs::remove(stem + ".png.tmp");
    fs::remove(stem + ".svg.tmp");
    throw Error("gnuplot failed drawing " + stem + ".png/.svg: " + out);
  }
  fs::rename(stem + ".png.tmp", stem + ".png");
  fs::rename(stem + ".svg.tmp", stem + ".svg");
}

}  // namespace offramp::cli
