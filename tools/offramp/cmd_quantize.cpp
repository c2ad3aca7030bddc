// `offramp quantize MODEL --precision int8|bf16 --out DIR`: a copy of MODEL whose
// model.safetensors stores the encoder's matrices quantized (models/quantized_file.h); every
// other file is copied as it is. Every command loads the result, and runs it at the stored
// precision unless --precision says otherwise.
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "models/bert_config.h"
#include "models/quantized_file.h"
#include "models/safetensors.h"
#include "offramp/offramp.h"
#include "tools/offramp/commands.h"

namespace offramp::cli {

namespace fs = std::filesystem;

namespace {
struct QuantizeArgs {
  std::string model, out, precision;
};
}  // namespace

Run add_quantize(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  app.add_option("MODEL", a->model, "Model directory (FP32, FP16 or BF16 checkpoint, with or without exit heads)")
      ->required();
  app.add_option("--precision", a->precision,
                 "int8 (per-row int8 with a scale per row: about 4x smaller) or bf16 (about 2x smaller)")
      ->required()
      ->check(CLI::IsMember({"int8", "bf16"}));
  app.add_option("--out", a->out, "New model directory (must not exist, or be empty)")->required();
  app.footer("Stores the six projection matrices of every layer and the word embeddings at the precision; the other "
             "tensors\nand files (positions, biases, LayerNorms, exit heads, tokenizer, offramp.json) stay as they are.");
  return [a] {
    const fs::path src(a->model), dst(a->out);
    if (fs::exists(dst) && (!fs::is_directory(dst) || !fs::is_empty(dst)))
      throw Error(a->out + ": exists and is not an empty directory; choose another --out");
    // Loading it first checks the whole model, and that it is one this build runs, so its errors
    // name MODEL's files rather than the copy's.
    (void)Classifier::load(a->model, {.device = Device::Cpu});
    const auto cfg = models::load_bert_config((src / "config.json").string());
    const auto weights = models::SafetensorsFile::open((src / "model.safetensors").string());
    const auto precision = a->precision == "int8" ? models::StoredPrecision::Int8 : models::StoredPrecision::BF16;
    // Written into a temporary directory renamed at the end, so a failure leaves nothing behind.
    const fs::path tmp = dst.string() + ".tmp-quantize";
    fs::remove_all(tmp);
    try {
      fs::create_directories(tmp);
      for (const auto& e : fs::directory_iterator(src))
        if (e.is_regular_file() && e.path().filename() != "model.safetensors")
          fs::copy_file(e.path(), tmp / e.path().filename());
        else if (e.is_directory() && e.path().filename() != "calibration")  // calibration: FP32's measurements
          fs::copy(e.path(), tmp / e.path().filename(), fs::copy_options::recursive);
      const size_t bytes = models::write_quantized(weights, cfg, precision, (tmp / "model.safetensors").string());
      // The copy must load (at its stored precision) before it takes --out's name.
      const auto q = Classifier::load(tmp.string(), {.device = Device::Cpu});
      if (fs::exists(dst)) fs::remove(dst);
      fs::rename(tmp, dst);
      const auto before = fs::file_size(src / "model.safetensors");
      std::cout << std::fixed << std::setprecision(1) << "wrote " << a->out << ": model.safetensors " << before / 1e6
                << " MB -> " << bytes / 1e6 << " MB (" << std::setprecision(2) << static_cast<double>(bytes) / before
                << "x), " << a->precision << "\nloads as " << q.info().precision
                << " on the CPU; calibrate it under that precision with `offramp calibrate " << a->out
                << " DEV.tsv --write`\n";
    } catch (...) {
      std::error_code ec;
      fs::remove_all(tmp, ec);
      throw;
    }
    return 0;
  };
}

}  // namespace offramp::cli
