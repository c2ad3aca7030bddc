// Accuracy-versus-cost plots through gnuplot (PNG via pngcairo, and SVG).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace offramp::cli {

struct PlotSeries {
  std::string title;
  std::vector<std::pair<double, double>> points;  // (x, y)
  bool line = true;                               // a curve, else points only
  // A shaded band instead: points hold (x, low) and `high` the upper edge at the same x.
  std::vector<double> high;
};

struct PlotSpec {
  std::string title, xlabel, ylabel;
  std::vector<PlotSeries> series;
  std::vector<std::pair<std::string, std::pair<double, double>>> labels;  // text at (x, y)
};

// Throws offramp::Error when gnuplot is missing (saying which package installs it).
void require_gnuplot();
// Writes `stem`.png and `stem`.svg (each to a temporary name, then renamed), the panels side
// by side. Throws offramp::Error with gnuplot's message when it fails.
void plot(const std::vector<PlotSpec>& panels, const std::string& stem);
inline void plot(const PlotSpec& spec, const std::string& stem) { plot(std::vector<PlotSpec>{spec}, stem); }

}  // namespace offramp::cli
