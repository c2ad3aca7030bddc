#include "tools/offramp-train/train_report.h"

#include <torch/version.h>

#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tools/report/atomic_file.h"
#include "tools/report/green_report.h"

namespace offramp::train {

double example_forward_flops(const models::FlopsShape& s, int layers, const std::vector<models::ExitSpec>& exits,
                             int n_tokens, double* heads) {
  double h = 0;
  for (const auto& e : exits) h += models::head_flops(s, n_tokens, e.pooling);
  if (heads) *heads = h;
  return models::embedding_flops(s, n_tokens) + layers * models::layer_flops(s, n_tokens) + h;
}

double training_flops(const TrainCost& c, bool backbone_trained) {
  const double backward = 2 * (backbone_trained ? c.train_forward_flops : c.train_heads_forward_flops);
  return c.train_forward_flops + backward + c.eval_forward_flops;
}

namespace {

std::string sci(double v) {
  std::ostringstream s;
  s << std::setprecision(3) << v;
  return s.str();
}

}  // namespace

void write_train_report(const TrainOptions& o, const ReportFacts& f, const TrainCost& c) {
  const bool backbone = !(o.freeze_backbone || o.keep_head);
  const double flops = training_flops(c, backbone);
  // Energy: measured, else estimated from an assumed power draw, else none.
  std::optional<double> kwh;
  std::string energy = c.energy_note;
  if (c.joules) {
    kwh = *c.joules / 3.6e6;
  } else if (o.assumed_watts > 0) {
    kwh = o.assumed_watts * c.seconds / 3.6e6;
    energy = "estimated: --assumed-watts " + sci(o.assumed_watts) + " W over the wall clock (" + c.energy_note + ")";
  }
  const std::string co2 = kwh ? sci(*kwh * o.grid_intensity) + " g CO2e (" + sci(*kwh) + " kWh x " +
                                    sci(o.grid_intensity) + " g/kWh)"
                              : "not estimated: no energy measurement (" + c.energy_note +
                                    "); pass --assumed-watts to estimate one";
  const std::string hardware = report::hardware_description();
  const std::string formula =
      "forward per example: embeddings + layers x (2n(4h^2 + 2hf) + 4n^2 h) + every exit head (2h^2 + 2hc [+ nh for "
      "mean pooling]); training = forward + 2 x forward of what the backward pass runs through (" +
      std::string(backbone ? "the whole model" : "the exit heads only: the backbone is frozen") +
      ") + the dev evaluations' forward passes";
  nlohmann::json j = {
      {"model", {{"init", o.init_dir}, {"config", o.config_json}, {"model_type", f.model_type},
                 {"parameters", f.parameters}, {"trainable_parameters", f.trainable_parameters}}},
      {"data", {{"train", o.train_tsv}, {"dev", o.dev_tsv}, {"train_examples", f.train_examples},
                {"dev_examples", f.dev_examples}, {"train_tokens_per_epoch", f.train_tokens}}},
      {"hyperparameters", {{"epochs", o.epochs}, {"batch_size", o.batch_size}, {"lr", o.lr}, {"warmup", o.warmup},
                           {"weight_decay", o.weight_decay}, {"clip", o.clip}, {"max_length", o.max_length},
                           {"dropout", o.dropout}, {"freeze_backbone", o.freeze_backbone}, {"keep_head", o.keep_head},
                           {"max_steps", o.max_steps}, {"select", o.select}}},
      {"result", {{"best_epoch", f.best_epoch}, {"best_dev_score", f.best_dev_score}}},
      {"cost", {{"examples_seen", c.examples_seen}, {"tokens_seen", c.tokens_seen}, {"training_flops", flops},
                {"forward_flops", c.train_forward_flops}, {"eval_flops", c.eval_forward_flops},
                {"flops_formula", formula}, {"wall_clock_seconds", c.seconds}, {"energy_kwh", kwh ? nlohmann::json(*kwh) : nullptr},
                {"energy_note", energy}, {"grid_intensity_g_per_kwh", o.grid_intensity},
                {"co2e_g", kwh ? nlohmann::json(*kwh * o.grid_intensity) : nullptr}, {"co2e_note", co2}}},
      {"environment", {{"hardware", hardware}, {"threads", o.threads}, {"seed", o.seed},
                       {"offramp", "0.1.0"}, {"libtorch", TORCH_VERSION}, {"compiler", __VERSION__}}}};
  std::ostringstream md;
  md << "# Training report: " << o.out_dir << "\n\n"
     << "| | |\n|---|---|\n"
     << "| model | " << (o.init_dir.empty() ? o.config_json : o.init_dir) << " (" << f.model_type << "), "
     << f.parameters << " parameters, " << f.trainable_parameters << " trained |\n"
     << "| data | " << o.train_tsv << ": " << f.train_examples << " examples, " << f.train_tokens
     << " tokens per epoch; dev " << o.dev_tsv << ": " << f.dev_examples << " examples |\n"
     << "| hyperparameters | " << o.epochs << " epochs, batch " << o.batch_size << ", AdamW lr " << o.lr << " (warm-up "
     << o.warmup << ", linear decay), weight decay " << o.weight_decay << ", clip " << o.clip << ", max length "
     << o.max_length << (backbone ? "" : ", backbone frozen") << " |\n"
     << "| result | best epoch " << f.best_epoch << ", dev " << f.select << " exit accuracy " << f.best_dev_score << " |\n"
     << "| tokens seen | " << c.tokens_seen << " (" << c.examples_seen << " examples) |\n"
     << "| training FLOPs | " << sci(flops) << " (analytic) |\n"
     << "| wall clock | " << sci(c.seconds) << " s |\n"
     << "| energy | " << (kwh ? sci(*kwh) + " kWh, " : "") << energy << " |\n"
     << "| CO2e | " << co2 << " |\n"
     << "| hardware | " << hardware << ", " << (o.threads > 0 ? std::to_string(o.threads) : "all") << " threads |\n"
     << "| seed, versions | seed " << o.seed << "; offramp 0.1.0, LibTorch " << TORCH_VERSION << ", compiler " << __VERSION__
     << " |\n\n"
     << "FLOPs formula: " << formula << ". Grid intensity: " << o.grid_intensity
     << " g CO2e/kWh (--grid-intensity; the default 475 is the world average of 2019, IEA).\n";
  const std::string stem = (std::filesystem::path(o.out_dir) / "train_report").string();
  report::write_file_atomic(stem + ".json", j.dump(1) + "\n");
  report::write_file_atomic(stem + ".md", md.str());
}

}  // namespace offramp::train
