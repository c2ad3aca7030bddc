// Shared by `calibrate` and `evaluate`: labelled TSV -> one full-depth pass recording every
// exit head's logits (Classifier::trace_exits) -> the offline replay input of engine/src/sweep.h.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/src/sweep.h"
#include "offramp/offramp.h"
#include "tools/offramp/input.h"

namespace offramp::cli {

// Reads label<TAB>text lines and checks every label against the model's (the error names
// the line); a long text keeps what decides its tokens at max_length (0: the model's).
// Throws offramp::Error.
std::vector<InputLine> read_labelled(const std::string& path, const Classifier& clf, int max_length);

// Runs the model over `lines` in batches, with progress on stderr.
engine::SweepInput trace_labelled(const Classifier& clf, const std::vector<InputLine>& lines, int max_length,
                                  int batch_size);

// The table rows `calibrate` and `evaluate` print: a header, then one row per point (name,
// accuracy %, macro-F1 %, relative FLOPs, mean exit layer, exits per head[, ms b1 / b32]).
void print_point_header(bool timing);
void print_point(const std::string& name, const engine::SweepPoint& p);
// "full depth", "exit 3 alone", "max_prob >= 0.9", "patience k=2".
std::string point_name(const engine::SweepPoint& p);

// "12.3" style percentage, and a JSON object for a sweep point.
std::string pct(double fraction, int digits = 1);
nlohmann::json point_json(const engine::SweepPoint& p);

}  // namespace offramp::cli
