// Joint fine-tuning of a BERT-family encoder and its exit heads on the (weighted) sum of the
// heads' cross-entropy losses (Schwartz et al. 2020): AdamW, linear warm-up then linear
// decay, gradient clipping, dev evaluation per epoch, the best epoch saved as an Offramp
// model directory, Ctrl-C -> checkpoint that --resume continues. With keep_head, exits are
// added to a finished classifier instead (DeeBERT's two-stage training, Xin et al. 2020).
#pragma once

#include <string>
#include <vector>

#include "kernels/exit_head.h"

namespace offramp::train {

struct TrainOptions {
  std::string train_tsv, dev_tsv, out_dir;
  std::string init_dir;                     // HF checkpoint to fine-tune, or
  std::string config_json, tokenizer_dir;   // a from-scratch config + tokenizer directory
  std::vector<int> exit_layers;             // 1-based; empty = every layer
  kernels::Pooling pooling = kernels::Pooling::Mean;
  std::vector<double> loss_weights;         // per exit; empty = all 1
  bool freeze_backbone = false;
  // DeeBERT's second stage: --init's own classification head stays the final exit, it and the
  // backbone frozen; only the earlier exits train, so full-depth predictions do not change.
  bool keep_head = false;
  int epochs = 3, batch_size = 32, max_length = 128, threads = 0;
  double lr = 5e-5, warmup = 0.1, weight_decay = 0.01, clip = 1.0, dropout = -1;  // -1: config's
  uint64_t seed = 42;
  int max_steps = 0;                        // stop after this many steps in all (0 = no limit)
  std::string select = "mean";              // best epoch by mean exit accuracy or "last" exit's
  std::string resume_dir;                   // OUT/checkpoint of an interrupted run
  std::string dump_logits;                  // JSONL of the saved model's dev logits per exit
  std::string offramp_cli;                  // the `offramp` tokenizer CLI; empty = find it
  double grid_intensity = 475;              // g CO2e per kWh for train_report (world average 2019, IEA)
  double assumed_watts = 0;                 // power for an energy estimate where none is measured; 0 = none
};

// Returns the process exit status (0 done, 130 interrupted and checkpointed).
int run_training(const TrainOptions& o);

}  // namespace offramp::train
