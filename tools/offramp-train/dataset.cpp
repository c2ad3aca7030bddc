#include "tools/offramp-train/dataset.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <cstring>
#include <stdexcept>

#include "tools/offramp/input.h"

extern char** environ;

namespace offramp::train {

namespace fs = std::filesystem;

namespace {

struct TsvLine {
  size_t line_no;
  std::string label;
};

// Labels per line, with the CLI's reader and checks (line-numbered errors).
std::vector<TsvLine> read_tsv_labels(const std::string& path) {
  std::vector<TsvLine> out;
  for (const auto& l : cli::read_input(path, cli::InputFormat::Tsv, true)) out.push_back({l.line_no, *l.label});
  return out;
}

// Runs argv, returning its stdout; throws with its stderr-visible exit status on failure.
std::string run_capture(const std::vector<std::string>& argv) {
  int pipe_fd[2];
  if (pipe(pipe_fd) != 0) throw std::runtime_error("pipe() failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipe_fd[1], 1);
  posix_spawn_file_actions_addclose(&fa, pipe_fd[0]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pipe_fd[1]);
  if (rc != 0) {
    close(pipe_fd[0]);
    throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(pipe_fd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(pipe_fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw std::runtime_error("tokenizing failed: `" + cmd + "` exited with status " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + " (its message is above)");
  }
  return out;
}

}  // namespace

std::vector<std::string> read_labels(const std::string& tsv_path) {
  std::vector<std::string> labels;
  for (const auto& l : read_tsv_labels(tsv_path))
    if (std::find(labels.begin(), labels.end(), l.label) == labels.end()) labels.push_back(l.label);
  if (labels.size() < 2)
    throw std::runtime_error(tsv_path + ": only one label ('" + labels.front() + "'); a classifier needs at least two");
  return labels;
}

Dataset load_dataset(const std::string& tsv_path, const std::vector<std::string>& labels,
                     const std::string& offramp_cli, const std::string& tokenizer_dir, int max_length) {
  const auto lines = read_tsv_labels(tsv_path);
  Dataset d{tsv_path, {}};
  for (const auto& l : lines) {
    const auto it = std::find(labels.begin(), labels.end(), l.label);
    if (it == labels.end()) {
      std::string known;
      for (const auto& k : labels) known += (known.empty() ? "" : ", ") + k;
      throw std::runtime_error(tsv_path + ":" + std::to_string(l.line_no) + ": unknown label '" + l.label +
                               "' (the model's labels: " + known + ")");
    }
    d.examples.push_back({{}, static_cast<int64_t>(it - labels.begin()), l.line_no});
  }
  const std::string out = run_capture({offramp_cli, "tokenize", tokenizer_dir, tsv_path, "--tsv", "--format", "ids",
                                       "--max-length", std::to_string(max_length)});
  std::istringstream in(out);
  std::string line;
  size_t i = 0;
  for (; std::getline(in, line); ++i) {
    if (i >= d.examples.size()) break;
    std::istringstream ids(line);
    int64_t id;
    while (ids >> id) d.examples[i].ids.push_back(id);
    if (d.examples[i].ids.size() < 2)
      throw std::runtime_error(tsv_path + ":" + std::to_string(d.examples[i].line_no) + ": tokenizer returned no tokens");
  }
  if (i != d.examples.size())
    throw std::runtime_error(tsv_path + ": the tokenizer returned " + std::to_string(i) + " lines for " +
                             std::to_string(d.examples.size()) + " inputs");
  return d;
}

Batch make_batch(const Dataset& d, const std::vector<size_t>& index) {
  size_t T = 0;
  for (size_t i : index) T = std::max(T, d.examples[i].ids.size());
  const auto B = static_cast<int64_t>(index.size());
  auto ids = torch::zeros({B, static_cast<int64_t>(T)}, torch::kLong);
  auto mask = torch::zeros({B, static_cast<int64_t>(T)}, torch::kFloat32);
  auto labels = torch::empty({B}, torch::kLong);
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<float, 2>();
  auto la = labels.accessor<int64_t, 1>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& e = d.examples[index[static_cast<size_t>(b)]];
    for (size_t t = 0; t < e.ids.size(); ++t) {
      ia[b][static_cast<int64_t>(t)] = e.ids[t];
      ma[b][static_cast<int64_t>(t)] = 1.0f;
    }
    la[b] = e.label;
  }
  return {ids, mask, labels, index};
}

std::vector<std::vector<size_t>> epoch_batches(const Dataset& d, int batch_size, uint64_t seed, int epoch) {
  std::vector<size_t> order(d.examples.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  const size_t bs = static_cast<size_t>(batch_size), window = bs * 50;
  for (size_t w = 0; w < order.size(); w += window) {
    auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), w + window));
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(w), end,
                     [&](size_t a, size_t b) { return d.examples[a].ids.size() < d.examples[b].ids.size(); });
  }
  std::vector<std::vector<size_t>> batches;
  for (size_t b = 0; b < order.size(); b += bs)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(b),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), b + bs)));
  std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

std::vector<std::vector<size_t>> eval_batches(const Dataset& d, int batch_size) {
  std::vector<size_t> order(d.examples.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return d.examples[a].ids.size() < d.examples[b].ids.size(); });
  std::vector<std::vector<size_t>> batches;
  const size_t bs = static_cast<size_t>(batch_size);
  for (size_t b = 0; b < order.size(); b += bs)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(b),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), b + bs)));
  return batches;
}

std::string find_offramp_cli() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path sibling = self.parent_path() / "offramp";
    if (fs::exists(sibling)) return sibling.string();
  }
  if (const char* path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':'))
      if (!dir.empty() && access((fs::path(dir) / "offramp").c_str(), X_OK) == 0) return (fs::path(dir) / "offramp").string();
  }
  throw std::runtime_error("cannot find the `offramp` CLI (used to tokenize) beside offramp-train or on PATH; pass --offramp PATH");
}

}  // namespace offramp::train
