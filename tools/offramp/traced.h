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
// the line). Throws offramp::Error.
std::vector<InputLine> read_labelled(const std::string& path, const Classifier& clf);

// Runs the model over `lines` in batches, with progress on stderr.
engine::SweepInput trace_labelled(const Classifier& clf, const std::vector<InputLine>& lines, int max_length,
                                  int batch_size);

// "12.3" style percentage, and a JSON object for a sweep point.
std::string pct(double fraction, int digits = 1);
nlohmann::json point_json(const engine::SweepPoint& p);

}  // namespace offramp::cli
