// offramp-train: adds exit heads to a BERT-family model and fine-tunes backbone and heads
// jointly; writes an Offramp model directory. Built only with LibTorch (OFFRAMP_WITH_TORCH).
#include <CLI/CLI.hpp>
#include <iostream>

#include "tools/offramp-train/trainer.h"

int main(int argc, char** argv) {
  offramp::train::TrainOptions o;
  std::string pooling = "mean";
  CLI::App app{"offramp-train: add an exit head after chosen layers of a BERT-family encoder and fine-tune backbone\n"
               "and heads jointly on the sum of the heads' cross-entropy losses. The best epoch on dev is saved as an\n"
               "Offramp model directory (offramp classify / calibrate load it)."};
  app.add_option("--train", o.train_tsv, "Training data, TSV label<TAB>text (labels are taken from it, in order)")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--dev", o.dev_tsv, "Dev data, TSV label<TAB>text (evaluated after each epoch)")->required()->check(CLI::ExistingFile);
  app.add_option("--out", o.out_dir, "Output model directory")->required();
  auto* init = app.add_option("--init", o.init_dir, "HF checkpoint directory to fine-tune (config.json, model.safetensors, tokenizer)")
                   ->check(CLI::ExistingDirectory);
  auto* config = app.add_option("--config", o.config_json, "From scratch: an HF-style config.json for a new encoder")
                     ->check(CLI::ExistingFile)->excludes(init);
  auto* tok = app.add_option("--tokenizer", o.tokenizer_dir, "From scratch: directory with the tokenizer (spiece.model or vocab.txt)")
                  ->check(CLI::ExistingDirectory)->excludes(init);
  config->needs(tok);
  tok->needs(config);
  app.add_option("--exits", o.exit_layers, "Layers (1-based) with an exit head, comma-separated (default: every layer)")
      ->delimiter(',');
  app.add_option("--pooling", pooling, "Head pooling: cls or mean")->check(CLI::IsMember({"cls", "mean"}))->capture_default_str();
  app.add_option("--loss-weights", o.loss_weights, "Per-exit loss weights, comma-separated (default: all 1)")->delimiter(',');
  app.add_flag("--freeze-backbone", o.freeze_backbone, "Train the exit heads only");
  app.add_flag("--keep-head", o.keep_head,
               "Add exits to a finished classifier (DeeBERT's second stage): --init's own *ForSequenceClassification "
               "head stays the final exit; it and the backbone are frozen and only the --exits heads (default: every "
               "layer but the last) train, so full-depth predictions stay the checkpoint's. The training labels must "
               "be the checkpoint's id2label names")
      ->needs(init);
  app.add_option("--epochs", o.epochs, "Epochs")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "Inputs per step")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--max-length", o.max_length, "Truncate inputs to this many tokens")->check(CLI::Range(2, 1 << 16))->capture_default_str();
  app.add_option("--lr", o.lr, "Peak learning rate (AdamW)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--warmup", o.warmup, "Fraction of steps for linear warm-up (then linear decay to 0)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay (not on biases and LayerNorm)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--clip", o.clip, "Gradient-norm clipping (0 = off)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--dropout", o.dropout, "Dropout (default 0.1)")->check(CLI::Range(0.0, 0.9));
  app.add_option("--seed", o.seed, "Seed: same seed, data and threads give the same run on the CPU")->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (0 = all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  app.add_option("--grid-intensity", o.grid_intensity, "g CO2e per kWh for OUT/train_report (default: world average 2019, IEA)")
      ->check(CLI::Range(0.0, 5000.0))->capture_default_str();
  app.add_option("--assumed-watts", o.assumed_watts, "Power draw to estimate energy from when the machine cannot measure it (RAPL)")
      ->check(CLI::Range(0.0, 100000.0));
  app.add_option("--select", o.select, "Best epoch by the mean accuracy over exits (mean) or the last exit's (last)")
      ->check(CLI::IsMember({"mean", "last"}))->capture_default_str();
  app.add_option("--max-steps", o.max_steps, "Stop after this many optimizer steps in all (0 = no limit)")->check(CLI::NonNegativeNumber);
  app.add_option("--resume", o.resume_dir, "Continue an interrupted run from its OUT/checkpoint (same options otherwise)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--dump-logits", o.dump_logits, "Write the saved model's dev logits per exit (JSON Lines) here");
  app.add_option("--offramp", o.offramp_cli, "The `offramp` CLI used to tokenize (default: beside this program, then PATH)");
  app.footer("Examples:\n"
             "  offramp-train --init .cache/models/all-minilm-l6-v2 --train data/fine_foods/train.tsv \\\n"
             "                --dev data/fine_foods/dev.tsv --out out/fine-foods-minilm\n"
             "  offramp-train --init my-distilbert-sst2 --keep-head --exits 2,4 --train ... --dev ... --out ...\n"
             "  offramp-train --config tiny.json --tokenizer spm/ --train ... --dev ... --out ... --lr 1e-3 --epochs 20\n"
             "Ctrl-C saves OUT/checkpoint; rerun the same command with --resume OUT/checkpoint to continue.");
  // Usage mistakes exit 1 with the tool's prefix, as `offramp` does (not CLI11's 105, 109, ...).
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "offramp-train: error: " + std::string(e.what()) + "\nRun 'offramp-train --help' for the options.\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (o.init_dir.empty() && o.config_json.empty()) {
    std::cerr << "offramp-train: error: give --init CHECKPOINT_DIR (fine-tune) or --config FILE --tokenizer DIR (from scratch)\n";
    return 1;
  }
  o.pooling = pooling == "cls" ? offramp::kernels::Pooling::Cls : offramp::kernels::Pooling::Mean;
  try {
    return offramp::train::run_training(o);
  } catch (const std::exception& e) {
    std::cerr << "offramp-train: error: " << e.what() << "\n";
    return 1;
  }
}
