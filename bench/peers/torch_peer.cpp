// offramp-torch-peer: the PyTorch-eager peer of the benchmark race, through LibTorch's C++
// API (the trainer's model, so the same weights and math as the Offramp model directory).
// It runs the full-depth model (every layer, the last exit head) over pre-tokenized inputs
// in batches padded to their longest input, as PyTorch serving code does, and reports the
// time per batch as JSON; optionally writes each input's logits for the equality check.
//
//   offramp-torch-peer MODEL IDS --batch-size 32 --threads 2 [--min-time 2] [--logits OUT.jsonl]
//   IDS: one input per line, space-separated token ids (`offramp tokenize --format ids`).
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tools/offramp-train/model_io.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string model_dir, ids_path, logits_path;
  int batch_size = 32, threads = 1;
  double min_time = 2.0;
  CLI::App app{"PyTorch-eager (LibTorch) peer: full-depth forward of an Offramp model over pre-tokenized inputs"};
  app.add_option("MODEL", model_dir, "Offramp model directory")->required()->check(CLI::ExistingDirectory);
  app.add_option("IDS", ids_path, "Token ids, one input per line")->required()->check(CLI::ExistingFile);
  app.add_option("--batch-size", batch_size, "Inputs per batch")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--threads", threads, "Intra-op threads")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--min-time", min_time, "Repeat the pass over all inputs for at least this many seconds")->capture_default_str();
  app.add_option("--logits", logits_path, "Write the last exit's logits per input (JSON Lines)");
  CLI11_PARSE(app, argc, argv);
  try {
    torch::set_num_threads(threads);
    torch::NoGradGuard no_grad;
    auto model = offramp::train::load_model_dir(model_dir);
    std::vector<std::vector<int64_t>> inputs;
    std::ifstream in(ids_path);
    for (std::string line; std::getline(in, line);) {
      std::istringstream s(line);
      std::vector<int64_t> ids;
      for (int64_t id; s >> id;) ids.push_back(id);
      if (ids.empty()) throw std::runtime_error(ids_path + ": empty line " + std::to_string(inputs.size() + 1));
      inputs.push_back(std::move(ids));
    }
    if (inputs.empty()) throw std::runtime_error(ids_path + ": no inputs");
    // Padded batches, built once (the timing covers the forward only, as for ONNX Runtime).
    std::vector<std::pair<torch::Tensor, torch::Tensor>> batches;
    for (size_t b = 0; b < inputs.size(); b += static_cast<size_t>(batch_size)) {
      const size_t end = std::min(inputs.size(), b + static_cast<size_t>(batch_size));
      size_t T = 0;
      for (size_t i = b; i < end; ++i) T = std::max(T, inputs[i].size());
      auto ids = torch::zeros({static_cast<int64_t>(end - b), static_cast<int64_t>(T)}, torch::kLong);
      auto mask = torch::zeros({static_cast<int64_t>(end - b), static_cast<int64_t>(T)}, torch::kFloat32);
      for (size_t i = b; i < end; ++i)
        for (size_t t = 0; t < inputs[i].size(); ++t) {
          ids[static_cast<int64_t>(i - b)][static_cast<int64_t>(t)] = inputs[i][t];
          mask[static_cast<int64_t>(i - b)][static_cast<int64_t>(t)] = 1.0f;
        }
      batches.emplace_back(ids, mask);
    }
    std::ofstream logits_out;
    if (!logits_path.empty()) logits_out.open(logits_path);
    for (const auto& [ids, mask] : batches) {  // warm-up pass, and the logits
      const auto z = model->forward(ids, mask).back().contiguous();
      if (logits_out)
        for (int64_t i = 0; i < z.size(0); ++i) {
          std::vector<float> row(z[i].data_ptr<float>(), z[i].data_ptr<float>() + z.size(1));
          logits_out << nlohmann::json{{"logits", row}}.dump() << "\n";
        }
    }
    size_t passes = 0;
    const auto t0 = Clock::now();
    double seconds = 0;
    do {
      for (const auto& [ids, mask] : batches) (void)model->forward(ids, mask);
      ++passes;
      seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    } while (seconds < min_time);
    const double batches_run = static_cast<double>(passes * batches.size());
    std::cout << nlohmann::json{{"peer", "pytorch-eager (LibTorch " + std::string(TORCH_VERSION) + ")"},
                                {"batch_size", batch_size}, {"threads", threads}, {"inputs", inputs.size()},
                                {"ms_per_batch", 1e3 * seconds / batches_run},
                                {"ms_per_input", 1e3 * seconds / static_cast<double>(passes * inputs.size())}}
                     .dump()
              << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "offramp-torch-peer: error: " << e.what() << "\n";
    return 1;
  }
}
