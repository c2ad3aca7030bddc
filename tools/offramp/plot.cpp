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

void plot(const PlotSpec& spec, const std::string& stem) {
  const std::string data = stem + ".plotdata.tmp", script = stem + ".gp.tmp";
  {
    std::ofstream d(data);
    for (const auto& s : spec.series) {
      for (const auto& [x, y] : s.points) d << x << " " << y << "\n";
      d << "\n\n";  // gnuplot index separator
    }
    if (!d) throw Error(data + ": cannot write");
  }
  std::ostringstream gp;
  gp << "set title " << quote(spec.title) << "\nset xlabel " << quote(spec.xlabel) << "\nset ylabel " << quote(spec.ylabel)
     << "\nset grid\nset key bottom right\n";
  for (const auto& [text, at] : spec.labels)
    gp << "set label " << quote(text) << " at " << at.first << "," << at.second << " offset 1,-1\n";
  std::string plot_cmd = "plot ";
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const auto& s = spec.series[i];
    plot_cmd += (i ? ", " : "") + quote(data) + " index " + std::to_string(i) + " with " +
                (s.line ? "linespoints pt 7 ps 0.4" : "points pt " + std::to_string(5 + 2 * static_cast<int>(i % 3)) + " ps 1.5") +
                " title " + quote(s.title);
  }
  for (const auto& [term, ext] : {std::pair<std::string, std::string>{"pngcairo size 900,600", ".png"}, {"svg size 900,600", ".svg"}}) {
    gp << "set terminal " << term << "\nset output " << quote(stem + ext + ".tmp") << "\n" << plot_cmd << "\nunset output\n";
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
