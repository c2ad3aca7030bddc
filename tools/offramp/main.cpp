// The `offramp` command-line tool.
#include <iostream>
#include <string>

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
  add("calibrate", "Fit per-exit temperatures on a labelled dev set, sweep exit thresholds, plot accuracy vs FLOPs, choose a setting "
      "(a threshold or a static exit; --delta: with a guarantee)",
      offramp::cli::add_calibrate);
  add("evaluate", "Accuracy and FLOPs on labelled data: full depth, each exit alone, and the model's setting beside what "
      "calibration predicted for it",
      offramp::cli::add_evaluate);
  add("validate", "Repeat calibrate-then-evaluate over random dev/test re-splits: how often a choice breaks its promise",
      offramp::cli::add_validate);
  add("report", "Expected validation performance and the reproducibility checklist of a set of offramp-train runs",
      offramp::cli::add_report);
  add("plot", "Draw accuracy vs FLOPs and vs measured time from an offramp-bench JSON output", offramp::cli::add_plot);
  add("quantize", "Write a copy of a model with its weights stored in int8 or bf16 (4x / 2x smaller)",
      offramp::cli::add_quantize);
  add("serve", "Serve models over the Open Inference Protocol (KServe v2, HTTP), each input answered as it exits",
      offramp::cli::add_serve);
  add("tokenize", "Print the token ids (and pieces) the model sees for each input line", offramp::cli::add_tokenize);
  // CLI11 would say only "A subcommand is required" for a misspelt command.
  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const auto& [sub, run] : commands) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
      known = known || sub->get_name() == argv[1];
    }
    if (!known) {
      std::cerr << "offramp: unknown command '" << argv[1] << "' (commands: " << names << "; see offramp --help)\n";
      return 1;
    }
  }
  // Usage mistakes read like every other error, and point at the subcommand's own --help.
  app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    std::string help = "offramp --help";
    for (const CLI::App* sub : a->get_subcommands()) help = "offramp " + sub->get_name() + " --help";
    return "offramp: error: " + std::string(e.what()) + "\nRun '" + help + "' for the options.\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message (and "Run with --help"); --help and --version are "errors"
    // with status 0. Every other usage mistake exits 1 like any other bad input, not with
    // CLI11's per-kind codes (105, 109, ...), so scripts see one convention.
    return app.exit(e) == 0 ? 0 : 1;
  }
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
