// Subcommands of the `offramp` CLI. Each registers its options on `app` and returns the
// function that runs it (exit status).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace offramp::cli {

using Run = std::function<int()>;

Run add_info(CLI::App& app);
Run add_classify(CLI::App& app);
Run add_tokenize(CLI::App& app);
Run add_calibrate(CLI::App& app);
Run add_evaluate(CLI::App& app);
Run add_validate(CLI::App& app);
Run add_report(CLI::App& app);
Run add_plot(CLI::App& app);
Run add_quantize(CLI::App& app);
Run add_serve(CLI::App& app);

}  // namespace offramp::cli
