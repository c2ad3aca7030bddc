// The `offramp` command-line tool.
#include <iostream>

#include "offramp/error.h"
#include "tools/offramp/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Offramp: early-exit transformer classifiers.\n"
               "A model directory is an HF BERT-family checkpoint plus offramp.json and "
               "exits.safetensors (the exit heads)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "offramp 0.1.0");
  std::vector<std::pair<CLI::App*, offramp::cli::Run>> commands;
  auto add = [&](const char* name, const char* desc, offramp::cli::Run (*f)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, desc);
    commands.emplace_back(sub, f(*sub));
  };
  add("info", "Show a model's architecture, exits, labels, tokenizer, parameters and FLOPs", offramp::cli::add_info);
  add("classify", "Classify texts (one per line, or TSV label<TAB>text) with early exits; JSON Lines out",
      offramp::cli::add_classify);
  add("calibrate", "Fit per-exit temperatures on a labelled dev set, sweep exit thresholds, plot accuracy vs FLOPs, choose a threshold",
      offramp::cli::add_calibrate);
  add("evaluate", "Accuracy and FLOPs on labelled data: full depth, each exit alone, and the model's threshold",
      offramp::cli::add_evaluate);
  add("plot", "Draw accuracy vs FLOPs and vs measured time from an offramp-bench JSON output", offramp::cli::add_plot);
  add("tokenize", "Print the token ids (and pieces) the model sees for each input line", offramp::cli::add_tokenize);
  CLI11_PARSE(app, argc, argv);
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const offramp::Error& e) {
    std::cerr << "offramp: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "offramp: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
