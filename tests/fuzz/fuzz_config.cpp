// Fuzzes the parsing of a model's two JSON files: config.json (models/bert_config.cpp) and,
// against the embedded model's encoder, offramp.json (models/exit_heads.cpp). The first input
// byte picks the file. Errors must be std::runtime_error naming the file (a JSON exception
// escaping would reach users as "internal error").
#include <stdexcept>
#include <string>

#include "models/bert_config.h"
#include "models/exit_heads.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const auto encoder = offramp::models::load_bert_config(OFFRAMP_REPO_DIR "/models/fine-foods-tiny/config.json");
  const bool offramp_json = data[0] & 1;
  const std::string path =
      offramp::fuzz::scratch_file(offramp_json ? "offramp.json" : "config.json", data + 1, size - 1);
  try {
    if (offramp_json) {
      const auto oc = offramp::models::load_offramp_config(path, encoder);
      for (const auto& e : oc.exits)
        if (e.layer < 1 || e.layer > encoder.layers) offramp::fuzz::fail("offramp.json: exit layer out of range accepted");
    } else {
      const auto cfg = offramp::models::load_bert_config(path);
      if (cfg.hidden <= 0 || cfg.heads <= 0 || cfg.hidden % cfg.heads != 0 || cfg.layers <= 0 || cfg.max_tokens() < 2)
        offramp::fuzz::fail("config.json: an unusable encoder shape was accepted");
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}
