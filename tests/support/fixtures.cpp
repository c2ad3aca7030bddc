#include "tests/support/fixtures.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <cmath>
#include <random>
#include <stdexcept>

#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "models/family.h"
#include "models/safetensors.h"

namespace offramp::test {

namespace fs = std::filesystem;

namespace {

std::string env_or(const char* var, const char* fallback) {
  const char* v = std::getenv(var);
  return v && *v ? v : fallback;
}

std::vector<float> random_values(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void write_heads(const std::string& dst, int hidden, int layers, uint32_t seed, const std::string& pooling) {
  models::OfframpConfig oc;
  oc.labels = {"great", "other"};
  oc.max_length = 128;
  oc.threshold = 0.6;
  for (int l = 1; l <= layers; ++l)
    oc.exits.push_back({l, pooling == "mean" ? kernels::Pooling::Mean : kernels::Pooling::Cls, 1.0f});
  std::mt19937 rng(seed);
  std::vector<models::ExitHeadParams> heads;
  const size_t h = static_cast<size_t>(hidden);
  for (int l = 0; l < layers; ++l) {
    // Scales chosen so confidences spread over (0.5, 1): some inputs exit early, some don't.
    heads.push_back({random_values(rng, h * h, 1.0f / std::sqrt(float(hidden))), random_values(rng, h, 0.1f),
                     random_values(rng, 2 * h, 3.0f / std::sqrt(float(hidden))), random_values(rng, 2, 0.1f)});
  }
  models::save_offramp_config((fs::path(dst) / "offramp.json").string(), oc);
  models::save_exit_heads((fs::path(dst) / "exits.safetensors").string(), heads, hidden, 2);
}

}  // namespace

std::string test_models_dir() { return env_or("OFFRAMP_TEST_MODELS", OFFRAMP_TEST_MODELS_DEFAULT); }
std::string minilm_dir() { return env_or("OFFRAMP_MINILM_DIR", OFFRAMP_MINILM_DIR_DEFAULT); }
std::string repo_dir() { return OFFRAMP_REPO_DIR; }

void make_random_heads_model(const std::string& backbone, const std::string& dst, uint32_t seed,
                             const std::string& pooling) {
  fs::create_directories(dst);
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"}) {
    const fs::path target = fs::absolute(fs::path(backbone) / f), link = fs::path(dst) / f;
    if (!fs::exists(target)) throw std::runtime_error(target.string() + ": missing (run scripts/fetch-minilm.sh)");
    fs::remove(link);
    fs::create_symlink(target, link);
  }
  const auto cfg = nlohmann::json::parse(std::ifstream(fs::path(backbone) / "config.json"));
  write_heads(dst, cfg["hidden_size"].get<int>(), cfg["num_hidden_layers"].get<int>(), seed, pooling);
}

void make_tiny_model(const std::string& dst, uint32_t seed, bool with_heads) {
  fs::create_directories(dst);
  const int h = 32, layers = 2, heads = 4, ffn = 64, max_pos = 128;
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (char c = 'a'; c <= 'z'; ++c) vocab.push_back(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) vocab.push_back(std::string("##") + c);
  for (const char* p : {".", ",", "!", "?", "'"}) vocab.push_back(p);
  for (const char* w : {"the", "good", "bad", "great", "tasty", "bag", "not", "very", "taste", "##s", "##ing"})
    vocab.push_back(w);
  {
    std::ofstream v(fs::path(dst) / "vocab.txt");
    for (const auto& t : vocab) v << t << "\n";
  }
  const int vs = static_cast<int>(vocab.size());
  nlohmann::json cfg = {{"model_type", "bert"}, {"vocab_size", vs}, {"hidden_size", h}, {"num_hidden_layers", layers},
                        {"num_attention_heads", heads}, {"intermediate_size", ffn}, {"max_position_embeddings", max_pos},
                        {"type_vocab_size", 2}, {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12}};
  std::ofstream(fs::path(dst) / "config.json") << cfg.dump(2);
  std::mt19937 rng(seed);
  // Every tensor the BERT family's description lists, in checkpoint order (the seed's draws
  // follow that order), with a scale per role: LayerNorm gammas near 1.
  models::BertConfig c;
  c.vocab_size = vs, c.hidden = h, c.layers = layers, c.heads = heads, c.ffn = ffn;
  c.max_position = max_pos, c.type_vocab_size = 2;
  std::vector<models::NamedTensor> t;
  for (const models::TensorSpec& spec : models::encoder_tensors(models::bert_family(), c)) {
    using T = models::EncoderTensor;
    float scale = 0.05f, mean = 0.0f;  // biases and LayerNorm betas
    switch (spec.role) {
      case T::Word: scale = 0.5f; break;
      case T::Position: case T::TokenType: scale = 0.1f; break;
      case T::EmbNormGamma: case T::AttnNormGamma: case T::FfnNormGamma: mean = 1.0f; break;
      case T::QueryW: case T::KeyW: case T::ValueW: case T::AttnOutW: case T::FfnInW: scale = 0.2f; break;
      case T::FfnOutW: scale = 0.15f; break;
      default: break;
    }
    size_t n = 1;
    for (auto d : spec.shape) n *= static_cast<size_t>(d);
    auto v = random_values(rng, n, scale);
    for (auto& x : v) x += mean;
    t.push_back({spec.name, spec.shape, v});
  }
  models::write_safetensors((fs::path(dst) / "model.safetensors").string(), t);
  if (with_heads) write_heads(dst, h, layers, seed + 1, "cls");
}

void write_raw_safetensors(const std::string& path, const std::string& header, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = header.size();  // little-endian on every platform we build for
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

CommandResult run_command(const std::string& command, const std::string& stdin_text) {
  const fs::path dir = fs::temp_directory_path() / ("offramp_cmd_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "stdin") << stdin_text;
  const std::string cmd = command + " < " + (dir / "stdin").string() + " > " + (dir / "out").string() + " 2> " +
                          (dir / "err").string();
  const int status = std::system(cmd.c_str());
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "out"), slurp(dir / "err")};
}

std::string fresh_temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("offramp_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void head_lines(const std::string& src, const std::string& dst, size_t n) {
  std::ifstream in(src);
  if (!in) throw std::runtime_error(src + ": cannot open");
  std::ofstream out(dst);
  std::string line;
  for (size_t i = 0; i < n && std::getline(in, line); ++i) out << line << "\n";
}

std::vector<std::pair<std::string, std::string>> read_tsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<std::pair<std::string, std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    rows.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return rows;
}

std::vector<std::string> fine_foods_texts(const std::string& split, size_t n, size_t skip) {
  std::vector<std::string> out;
  for (const auto& [label, text] : read_tsv(repo_dir() + "/data/fine_foods/" + split + ".tsv")) {
    if (out.size() == n) break;
    if (skip > 0) {
      --skip;
      continue;
    }
    out.push_back(text);
  }
  return out;
}

}  // namespace offramp::test
