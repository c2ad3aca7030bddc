#include "tools/offramp-train/model_io.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "models/safetensors.h"

namespace offramp::train {

namespace fs = std::filesystem;

namespace {
std::vector<float> values(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void copy_atomic(const fs::path& from, const fs::path& to) {
  const fs::path tmp = to.string() + ".tmp";
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, to);
}
}  // namespace

EarlyExitBert load_model_dir(const std::string& dir, models::OfframpConfig* oc_out) {
  const fs::path d(dir);
  const auto cfg = models::load_bert_config((d / "config.json").string());
  const auto oc = models::load_offramp_config((d / "offramp.json").string(), cfg);
  EarlyExitBert model(cfg, oc.exits, static_cast<int>(oc.labels.size()), 0.0);
  load_hf_weights(model, models::SafetensorsFile::open((d / "model.safetensors").string()));
  load_exit_weights(model, (d / "exits.safetensors").string());
  model->eval();
  if (oc_out) *oc_out = oc;
  return model;
}

void save_model_dir(const std::string& out_dir, EarlyExitBert& model, const std::string& config_json,
                    const std::string& tokenizer_dir, const models::OfframpConfig& oc, const KeptHead* kept) {
  const fs::path out(out_dir);
  fs::create_directories(out);
  if (kept) {
    copy_atomic(kept->checkpoint, out / "model.safetensors");
  } else {
    std::vector<models::NamedTensor> enc;
    for (const auto& [name, t] : model->encoder_parameters()) enc.push_back({name, t.sizes().vec(), values(t)});
    models::write_safetensors((out / "model.safetensors").string(), enc);
  }

  std::vector<models::ExitHeadParams> heads;
  for (auto& m : *model->heads) {
    auto h = m->as<ExitHead>();
    heads.push_back({values(h->dense->weight), values(h->dense->bias), values(h->classifier->weight),
                     values(h->classifier->bias)});
  }
  if (kept) heads.push_back(kept->head.params);
  models::save_exit_heads((out / "exits.safetensors").string(), heads, model->config.hidden,
                          static_cast<int>(oc.labels.size()));
  if (fs::absolute(config_json) != fs::absolute(out / "config.json")) copy_atomic(config_json, out / "config.json");
  for (const char* f : {"vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "tokenizer_config.json",
                        "tokenizer.json", "special_tokens_map.json", "spiece.model"}) {
    const fs::path src = fs::path(tokenizer_dir) / f;
    if (fs::exists(src) && fs::absolute(src) != fs::absolute(out / f)) copy_atomic(src, out / f);
  }
  // offramp.json last: the directory only counts as an Offramp model once it is there.
  models::save_offramp_config((out / "offramp.json").string(), oc);
}

}  // namespace offramp::train
