#include "tools/offramp-train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "models/safetensors.h"
#include "models/task_head.h"
#include "tools/offramp-train/bert_module.h"
#include "tools/offramp-train/dataset.h"
#include "tools/offramp-train/model_io.h"
#include "tools/offramp-train/train_report.h"
#include "tools/report/atomic_file.h"
#include "tools/report/green_report.h"

namespace offramp::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C stops at once
}

struct EvalResult {
  std::vector<double> accuracy;                 // per exit
  double loss = 0;                              // mean over inputs of the summed head losses
  std::vector<std::vector<std::vector<float>>> logits;  // [input][exit][label]
};

EvalResult evaluate(EarlyExitBert& model, const Dataset& d, int batch_size, bool keep_logits) {
  torch::NoGradGuard no_grad;
  model->eval();
  const size_t E = model->exits.size();
  EvalResult r;
  r.accuracy.assign(E, 0.0);
  if (keep_logits) r.logits.resize(d.examples.size());
  for (const auto& idx : eval_batches(d, batch_size)) {
    const Batch b = make_batch(d, idx);
    const auto logits = model->forward(b.ids, b.mask);
    for (size_t e = 0; e < E; ++e) {
      r.accuracy[e] += logits[e].argmax(1).eq(b.labels).sum().item<double>();
      r.loss += torch::nn::functional::cross_entropy(logits[e], b.labels,
                                                     torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
      if (keep_logits) {
        const auto l = logits[e].contiguous();
        for (size_t k = 0; k < idx.size(); ++k) {
          const float* p = l.data_ptr<float>() + static_cast<int64_t>(k) * l.size(1);
          r.logits[idx[k]].emplace_back(p, p + l.size(1));
        }
      }
    }
  }
  const double n = static_cast<double>(d.examples.size());
  for (auto& a : r.accuracy) a /= n;
  r.loss /= n;
  model->train();
  return r;
}

std::string fmt_time(double s) {
  char buf[32];
  const int t = static_cast<int>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", t / 3600, t / 60 % 60);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", t / 60, t % 60);
  return buf;
}

std::string join(const std::vector<double>& v, int digits = 3) {
  std::string s;
  char buf[32];
  for (double x : v) {
    std::snprintf(buf, sizeof buf, "%.*f", digits, x);
    s += (s.empty() ? "" : " ") + std::string(buf);
  }
  return s;
}

// Progress on stderr: a redrawn bar on a terminal, a line per 10% otherwise (logs, CI).
class Progress {
 public:
  Progress(int epoch, int epochs, size_t steps) : epoch_(epoch), epochs_(epochs), steps_(steps), tty_(isatty(2)), start_(Clock::now()) {}
  void update(size_t done, size_t first, double loss, double acc) {
    const double el = std::chrono::duration<double>(Clock::now() - start_).count();
    const double eta = done > first ? el / static_cast<double>(done - first) * static_cast<double>(steps_ - done) : 0;
    const bool line_due = !tty_ && (done == steps_ || done * 10 / steps_ != (done - 1) * 10 / steps_);
    if (!tty_ && !line_due) return;
    const int width = 30, fill = static_cast<int>(width * done / steps_);
    char buf[256];
    std::snprintf(buf, sizeof buf, "epoch %d/%d [%s%s] %zu/%zu  loss %.4f  acc %.3f  ETA %s", epoch_, epochs_,
                  std::string(static_cast<size_t>(fill), '#').c_str(), std::string(static_cast<size_t>(width - fill), '.').c_str(),
                  done, steps_, loss, acc, fmt_time(eta).c_str());
    std::cerr << (tty_ ? "\r" : "") << buf << (tty_ ? "" : "\n") << std::flush;
  }
  void finish() {
    if (tty_) std::cerr << "\n";
  }

 private:
  int epoch_, epochs_;
  size_t steps_;
  bool tty_;
  Clock::time_point start_;
};

nlohmann::json options_json(const TrainOptions& o) {
  return {{"train", o.train_tsv}, {"dev", o.dev_tsv}, {"init", o.init_dir}, {"config", o.config_json},
          {"tokenizer", o.tokenizer_dir}, {"exits", o.exit_layers}, {"pooling", models::pooling_name(o.pooling)},
          {"loss_weights", o.loss_weights}, {"freeze_backbone", o.freeze_backbone}, {"keep_head", o.keep_head},
          {"epochs", o.epochs},
          {"batch_size", o.batch_size}, {"max_length", o.max_length}, {"lr", o.lr}, {"warmup", o.warmup},
          {"weight_decay", o.weight_decay}, {"clip", o.clip}, {"dropout", o.dropout}, {"seed", o.seed},
          {"select", o.select}, {"max_steps", o.max_steps}};
}

}  // namespace

int run_training(const TrainOptions& o) {
  const auto run_start = Clock::now();
  const report::EnergyMeter meter;
  const double joules0 = meter.available() ? meter.joules() : 0;
  const bool scratch = o.init_dir.empty();
  const std::string config_json = scratch ? o.config_json : (fs::path(o.init_dir) / "config.json").string();
  const std::string tokenizer_dir = scratch ? o.tokenizer_dir : o.init_dir;
  const auto cfg = models::load_bert_config(config_json);
  if (o.max_length > cfg.max_tokens())
    throw std::runtime_error("--max-length " + std::to_string(o.max_length) + " exceeds what the model's position embeddings allow (" +
                             std::to_string(cfg.max_tokens()) + ")");
  if (!scratch && !fs::exists(fs::path(o.init_dir) / "model.safetensors"))
    throw std::runtime_error(o.init_dir + "/model.safetensors: missing (--init needs an HF checkpoint directory)");

  // The checkpoint is read once, for its encoder and (--keep-head) its head, and dropped once
  // they are in the module.
  const std::string init_weights = (fs::path(o.init_dir) / "model.safetensors").string();
  std::optional<models::SafetensorsFile> init_file;
  if (!scratch) init_file = models::SafetensorsFile::open(init_weights);

  // --keep-head: the checkpoint's own head is the final exit and is not trained.
  std::optional<KeptHead> kept;
  if (o.keep_head) {
    auto head = models::load_task_head(config_json, *init_file, cfg);
    if (!head)
      throw std::runtime_error(o.init_dir + ": --keep-head needs a *ForSequenceClassification checkpoint; this one "
                               "has no classification head (" + cfg.family->task_head.out_w + ")");
    kept = KeptHead{std::move(*head), init_weights};
  }
  const int last_trained = kept ? cfg.layers - 1 : cfg.layers;  // the kept head owns the last layer

  // Exits.
  std::vector<models::ExitSpec> exits;
  if (o.exit_layers.empty())
    for (int l = 1; l <= last_trained; ++l) exits.push_back({l, o.pooling, 1.0f});
  else
    for (int l : o.exit_layers) {
      if (l < 1 || l > last_trained)
        throw std::runtime_error("--exits: layer " + std::to_string(l) + " outside 1.." + std::to_string(last_trained) +
                                 (kept ? " (with --keep-head the checkpoint's head is the exit after layer " +
                                             std::to_string(cfg.layers) + ")"
                                       : ""));
      if (!exits.empty() && l <= exits.back().layer) throw std::runtime_error("--exits: layers must be increasing");
      exits.push_back({l, o.pooling, 1.0f});
    }
  std::vector<double> weights = o.loss_weights;
  if (weights.empty()) weights.assign(exits.size(), 1.0);
  if (weights.size() != exits.size())
    throw std::runtime_error("--loss-weights has " + std::to_string(weights.size()) + " values for " +
                             std::to_string(exits.size()) + " exits");

  if (exits.empty()) throw std::runtime_error("--keep-head: a 1-layer model has no earlier layer to add an exit to");

  // Data (everything is checked before training starts). A kept head fixes the labels and
  // their order (id2label); the data must use those names.
  const auto labels = kept ? kept->head.labels : read_labels(o.train_tsv);
  const std::string cli = o.offramp_cli.empty() ? find_offramp_cli() : o.offramp_cli;
  std::cerr << "tokenizing " << o.train_tsv << " and " << o.dev_tsv << " with " << cli << "\n";
  const Dataset train = load_dataset(o.train_tsv, labels, cli, tokenizer_dir, o.max_length);
  const Dataset dev = load_dataset(o.dev_tsv, labels, cli, tokenizer_dir, o.max_length);
  for (const auto& e : train.examples)
    for (int64_t id : e.ids)
      if (id < 0 || id >= cfg.vocab_size)
        throw std::runtime_error(o.train_tsv + ":" + std::to_string(e.line_no) + ": token id " + std::to_string(id) +
                                 " outside the model's vocabulary (" + std::to_string(cfg.vocab_size) + ")");

  torch::manual_seed(o.seed);
  torch::set_num_threads(o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const double dropout = o.dropout >= 0 ? o.dropout : 0.1;
  EarlyExitBert model(cfg, exits, static_cast<int>(labels.size()), dropout);
  model->init_weights();
  if (init_file) load_hf_weights(model, *init_file);
  init_file.reset();

  // AdamW without weight decay on biases and LayerNorm; a frozen backbone trains heads only.
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : model->named_parameters()) {
    const bool is_head = p.key().rfind("heads.", 0) == 0;
    if ((o.freeze_backbone || kept) && !is_head) {
      p.value().set_requires_grad(false);
      continue;
    }
    const bool nd = p.key().find("bias") != std::string::npos || p.key().find("ln") != std::string::npos;
    (nd ? no_decay : decay).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o.lr).weight_decay(0.0)));
  torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(o.lr));

  const auto steps_per_epoch = static_cast<int64_t>((train.examples.size() + static_cast<size_t>(o.batch_size) - 1) /
                                                    static_cast<size_t>(o.batch_size));
  int64_t total = steps_per_epoch * o.epochs;
  if (o.max_steps > 0) total = std::min<int64_t>(total, o.max_steps);
  const auto warm = static_cast<int64_t>(o.warmup * static_cast<double>(total));
  auto lr_at = [&](int64_t step) {  // step: 0-based index of the update about to run
    if (step < warm) return o.lr * static_cast<double>(step + 1) / static_cast<double>(warm);
    return o.lr * std::max(0.0, static_cast<double>(total - step) / static_cast<double>(std::max<int64_t>(1, total - warm)));
  };

  models::OfframpConfig oc;
  oc.labels = labels;
  oc.max_length = o.max_length;
  oc.exits = exits;
  if (kept) oc.exits.push_back(kept->head.exit);
  // The run's cost, counted as it goes (train_report.h).
  TrainCost cost;
  const models::FlopsShape shape = models::flops_shape(cfg, static_cast<int>(labels.size()));
  const auto forward_flops = [&](const Example& e, double* heads) {
    return example_forward_flops(shape, cfg.layers, oc.exits, static_cast<int>(e.ids.size()), heads);
  };
  const auto count_eval = [&] {
    for (const auto& e : dev.examples) cost.eval_forward_flops += forward_flops(e, nullptr);
  };
  const fs::path out(o.out_dir), ckpt = out / "checkpoint";
  fs::create_directories(out);
  nlohmann::json log = {{"options", options_json(o)}, {"labels", labels}, {"epochs", nlohmann::json::array()},
                        {"train_examples", train.examples.size()}, {"dev_examples", dev.examples.size()}};

  int start_epoch = 1;
  int64_t start_step = 0, global_step = 0;
  double best = -1;
  int best_epoch = -1;
  if (!o.resume_dir.empty()) {
    const auto state = nlohmann::json::parse(std::ifstream(fs::path(o.resume_dir) / "state.json"));
    if (state.at("labels") != nlohmann::json(labels) || state.at("exits").get<size_t>() != exits.size())
      throw std::runtime_error(o.resume_dir + ": the checkpoint's labels or exits differ from this run's; resume with the same options");
    torch::load(model, (fs::path(o.resume_dir) / "model.pt").string());
    torch::load(opt, (fs::path(o.resume_dir) / "optimizer.pt").string());
    start_epoch = state.at("epoch");
    start_step = state.at("step_in_epoch");
    global_step = state.at("global_step");
    best = state.at("best");
    best_epoch = state.at("best_epoch");
    log = state.at("log");
    std::cerr << "resuming from " << o.resume_dir << ": epoch " << start_epoch << ", step " << start_step << "\n";
  } else {
    const auto e0 = evaluate(model, dev, o.batch_size * 2, false);
    count_eval();
    std::cerr << "before training: dev accuracy per exit " << join(e0.accuracy) << "  dev loss " << e0.loss << "\n";
    log["epochs"].push_back({{"epoch", 0}, {"dev_accuracy", e0.accuracy}, {"dev_loss", e0.loss}});
  }

  g_interrupted = 0;
  std::signal(SIGINT, on_sigint);
  model->train();
  bool stop = false;
  for (int epoch = start_epoch; epoch <= o.epochs && !stop; ++epoch) {
    auto batches = epoch_batches(train, o.batch_size, o.seed, epoch);
    torch::manual_seed(o.seed * 7919 + static_cast<uint64_t>(epoch));
    Progress bar(epoch, o.epochs, batches.size());
    const auto t0 = Clock::now();
    double loss_sum = 0, correct = 0, seen = 0;
    const size_t first = epoch == start_epoch ? static_cast<size_t>(start_step) : 0;
    for (size_t s = first; s < batches.size(); ++s) {
      if (o.max_steps > 0 && global_step >= o.max_steps) {
        stop = true;
        break;
      }
      if (g_interrupted) {
        bar.finish();
        fs::create_directories(ckpt);
        torch::save(model, (ckpt / "model.pt").string());
        torch::save(opt, (ckpt / "optimizer.pt").string());
        report::write_file_atomic((ckpt / "state.json").string(),
                        nlohmann::json{{"epoch", epoch}, {"step_in_epoch", s}, {"global_step", global_step},
                                       {"best", best}, {"best_epoch", best_epoch}, {"labels", labels},
                                       {"exits", exits.size()}, {"log", log}}
                            .dump(1));
        std::cerr << "interrupted: checkpoint saved to " << ckpt.string() << "; continue with the same command plus --resume "
                  << ckpt.string() << "\n";
        return 130;
      }
      const double lr = lr_at(global_step);
      for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      const Batch b = make_batch(train, batches[s]);
      for (size_t i : b.index) {
        double heads = 0;
        cost.train_forward_flops += forward_flops(train.examples[i], &heads);
        cost.train_heads_forward_flops += heads;
        cost.tokens_seen += static_cast<int64_t>(train.examples[i].ids.size());
        ++cost.examples_seen;
      }
      const auto logits = model->forward(b.ids, b.mask);
      torch::Tensor loss = torch::zeros({});
      for (size_t e = 0; e < logits.size(); ++e)
        loss = loss + weights[e] * torch::nn::functional::cross_entropy(logits[e], b.labels);
      opt.zero_grad();
      loss.backward();
      if (o.clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), o.clip);
      opt.step();
      ++global_step;
      const double n = static_cast<double>(b.index.size());
      loss_sum += loss.item<double>() * n;
      correct += logits.back().argmax(1).eq(b.labels).sum().item<double>();
      seen += n;
      bar.update(s + 1, first, loss_sum / seen, correct / seen);
    }
    bar.finish();
    if (seen == 0) break;
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto ev = evaluate(model, dev, o.batch_size * 2, true);
    count_eval();
    double score = ev.accuracy.back();
    if (o.select == "mean") {
      score = 0;
      for (double a : ev.accuracy) score += a / static_cast<double>(ev.accuracy.size());
    }
    const bool improved = score > best;
    std::cerr << "epoch " << epoch << ": train loss " << loss_sum / seen << "  dev accuracy per exit " << join(ev.accuracy)
              << "  dev loss " << ev.loss << "  (" << fmt_time(secs) << ")" << (improved ? "  best so far: saved" : "") << "\n";
    log["epochs"].push_back({{"epoch", epoch}, {"train_loss", loss_sum / seen}, {"train_accuracy_last_exit", correct / seen},
                             {"dev_accuracy", ev.accuracy}, {"dev_loss", ev.loss}, {"seconds", secs}, {"steps", global_step}});
    if (improved) {
      best = score;
      best_epoch = epoch;
      save_model_dir(o.out_dir, model, config_json, tokenizer_dir, oc, kept ? &*kept : nullptr);
      if (!o.dump_logits.empty()) {
        std::string text;
        for (size_t i = 0; i < dev.examples.size(); ++i)
          text += nlohmann::json{{"line", dev.examples[i].line_no}, {"ids", dev.examples[i].ids}, {"logits", ev.logits[i]}}.dump() + "\n";
        report::write_file_atomic(o.dump_logits, text);
      }
    }
    log["best_epoch"] = best_epoch;
    report::write_file_atomic((out / "train_log.json").string(), log.dump(1));
  }
  std::signal(SIGINT, SIG_DFL);
  if (fs::exists(ckpt)) fs::remove_all(ckpt);
  cost.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  if (meter.available()) cost.joules = meter.joules() - joules0, cost.energy_note = meter.what();
  else cost.energy_note = meter.why();
  ReportFacts facts;
  facts.model_type = cfg.model_type;
  for (const auto& p : model->parameters()) {
    facts.parameters += p.numel();
    if (p.requires_grad()) facts.trainable_parameters += p.numel();
  }
  facts.train_examples = train.examples.size(), facts.dev_examples = dev.examples.size();
  for (const auto& e : train.examples) facts.train_tokens += static_cast<int64_t>(e.ids.size());
  facts.best_epoch = best_epoch, facts.best_dev_score = best, facts.select = o.select;
  write_train_report(o, facts, cost);
  std::cerr << "done: best epoch " << best_epoch << " (dev " << (o.select == "mean" ? "mean exit" : "last exit")
            << " accuracy " << best << ") saved in " << o.out_dir << "\n"
            << "cost: " << out.string() << "/train_report.md\n"
            << "next: offramp calibrate " << o.out_dir << " " << o.dev_tsv << " --max-drop 1 --write\n";
  return 0;
}

}  // namespace offramp::train
