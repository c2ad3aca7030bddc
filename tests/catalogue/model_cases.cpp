// Catalogue rows: model directories, their weights, config.json and the exit files.
// The tiny fixture: vocab 73, hidden 32, 2 layers, 4 heads, ffn 64, 128 positions, heads
// after layers 1 and 2 (exits.0.*, exits.1.*).
#include <filesystem>
#include <string>

#include "tests/catalogue/catalogue.h"

namespace offramp::test::catalogue {

namespace {

std::string u64_le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

// A safetensors file from a header and zero data bytes, for headers the writer never makes.
void raw_safetensors(const fs::path& file, const std::string& header, size_t data_bytes) {
  write_text(file, u64_le(header.size()) + header + std::string(data_bytes, '\0'));
}

}  // namespace

std::vector<BadInput> model_cases() {
  const auto rm = [](const char* f) { return [f](const fs::path& m, const fs::path&) { fs::remove(m / f); }; };
  const auto config = [](std::function<void(nlohmann::json&)> e) {
    return [e](const fs::path& m, const fs::path&) { edit_json(m / "config.json", e); };
  };
  const auto exits_json = [](std::string text) {
    return [text](const fs::path& m, const fs::path&) { write_text(m / "offramp.json", text); };
  };
  const auto oj = [](std::function<void(nlohmann::json&)> e) {
    return [e](const fs::path& m, const fs::path&) { edit_json(m / "offramp.json", e); };
  };
  return {
      // The directory and its files.
      {"dir_missing", Base::None, {}, "info /no/such/model", "", {"/no/such/model", "no such model directory"}},
      {"dir_is_a_file", Base::None, [](auto&, auto& s) { write_text(s / "model.txt", "x"); }, "info {scratch}/model.txt", "",
       {"model.txt", "not a directory"}},
      {"dir_no_weights", Base::Tiny, rm("model.safetensors"), "info {model}", "", {"model.safetensors", "missing"}},
      {"dir_no_config", Base::Tiny, rm("config.json"), "info {model}", "", {"config.json", "missing"}},
      {"dir_no_tokenizer", Base::Tiny, rm("vocab.txt"), "info {model}", "", {"no tokenizer found", "vocab.txt"}},
      {"dir_exits_without_offramp_json", Base::Tiny, rm("offramp.json"), "info {model}", "", {"offramp.json", "missing"}},
      {"dir_offramp_json_without_exits", Base::Tiny, rm("exits.safetensors"), "info {model}", "",
       {"exits.safetensors", "missing"}},
      {"dir_weights_are_a_fifo", Base::Tiny, [](auto& m, auto&) { make_fifo(m / "model.safetensors"); }, "info {model}", "",
       {"model.safetensors", "not a regular file (a FIFO)"}},
      {"dir_exits_are_a_fifo", Base::Tiny, [](auto& m, auto&) { make_fifo(m / "exits.safetensors"); }, "info {model}", "",
       {"exits.safetensors", "not a regular file (a FIFO)"}},
      {"dir_config_is_a_directory", Base::Tiny,
       [](auto& m, auto&) { fs::remove(m / "config.json"), fs::create_directory(m / "config.json"); }, "info {model}", "",
       {"config.json", "not a regular file (a directory)"}},
      {"dir_plain_checkpoint_classify", Base::TinyPlain, {}, "classify {model}", "good\n", {"no exit heads", "offramp-train"}},

      // model.safetensors and exits.safetensors.
      {"weights_truncated", Base::Tiny,
       [](auto& m, auto&) { fs::resize_file(m / "model.safetensors", fs::file_size(m / "model.safetensors") - 100); },
       "info {model}", "", {"model.safetensors", "outside"}},
      {"weights_header_not_json", Base::Tiny, [](auto& m, auto&) { poke(m / "model.safetensors", 8, "#garbage#"); },
       "info {model}", "", {"model.safetensors", "not valid JSON"}},
      {"weights_empty_file", Base::Tiny, [](auto& m, auto&) { write_text(m / "exits.safetensors", ""); }, "info {model}", "",
       {"exits.safetensors", "truncated"}},
      {"weights_header_length_huge", Base::Tiny,
       [](auto& m, auto&) { poke(m / "model.safetensors", 0, u64_le(uint64_t(1) << 60)); }, "info {model}", "",
       {"model.safetensors", "header"}},
      {"weights_header_not_an_object", Base::Tiny, [](auto& m, auto&) { raw_safetensors(m / "model.safetensors", "[1, 2]", 0); },
       "info {model}", "", {"model.safetensors", "object"}},
      {"weights_offsets_past_the_data", Base::Tiny,
       [](auto& m, auto&) {
         raw_safetensors(m / "model.safetensors",
                         R"({"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[73,32],"data_offsets":[0,999999]}})", 64);
       },
       "info {model}", "", {"embeddings.word_embeddings.weight", "outside"}},
      {"weights_offsets_reversed", Base::Tiny,
       [](auto& m, auto&) {
         raw_safetensors(m / "model.safetensors",
                         R"({"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8);
       },
       "info {model}", "", {"embeddings.word_embeddings.weight", "offsets"}},
      {"weights_size_disagrees_with_shape", Base::Tiny,
       [](auto& m, auto&) {
         raw_safetensors(m / "model.safetensors",
                         R"({"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[73,32],"data_offsets":[0,64]}})", 64);
       },
       "info {model}", "", {"embeddings.word_embeddings.weight", "shape"}},
      {"weights_overlapping_tensors", Base::Tiny,
       [](auto& m, auto&) {
         raw_safetensors(m / "model.safetensors",
                         R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                         24);
       },
       "info {model}", "", {"model.safetensors", "overlap"}},
      {"weights_integer_dtype", Base::Tiny,
       [](auto& m, auto&) {
         raw_safetensors(m / "model.safetensors",
                         R"({"embeddings.word_embeddings.weight":{"dtype":"I32","shape":[73,32],"data_offsets":[0,9344]}})", 9344);
       },
       "info {model}", "", {"embeddings.word_embeddings.weight", "dtype I32"}},
      // Quantized files (offramp quantize): int8 tensors need one finite positive scale per row.
      {"weights_int8_without_scales", Base::Tiny,
       [](auto& m, auto&) {
         raw_safetensors(m / "model.safetensors",
                         R"({"embeddings.word_embeddings.weight":{"dtype":"I8","shape":[73,32],"data_offsets":[0,2336]}})", 2336);
       },
       "info {model}", "", {"embeddings.word_embeddings.weight", "no 'embeddings.word_embeddings.weight_scale'"}},
      {"weights_int8_zero_scales", Base::Tiny,
       [](auto& m, auto&) {
         raw_safetensors(m / "model.safetensors",
                         R"({"embeddings.word_embeddings.weight":{"dtype":"I8","shape":[73,32],"data_offsets":[0,2336]},)"
                         R"("embeddings.word_embeddings.weight_scale":{"dtype":"F32","shape":[73],"data_offsets":[2336,2628]}})",
                         2628);
       },
       "info {model}", "", {"weight_scale", "finite and positive"}},
      {"weights_int8_scales_of_another_shape", Base::Tiny,
       [](auto& m, auto&) {
         raw_safetensors(m / "model.safetensors",
                         R"({"embeddings.word_embeddings.weight":{"dtype":"I8","shape":[73,32],"data_offsets":[0,2336]},)"
                         R"("embeddings.word_embeddings.weight_scale":{"dtype":"F32","shape":[32],"data_offsets":[2336,2464]}})",
                         2464);
       },
       "info {model}", "", {"weight_scale", "expected F32 [73]"}},
      {"weights_quantized_by_a_newer_version", Base::Tiny,
       [](auto& m, auto&) {
         raw_safetensors(m / "model.safetensors",
                         R"({"__metadata__":{"offramp_weights":"int8","offramp_weights_version":"9"},)"
                         R"("embeddings.word_embeddings.weight":{"dtype":"F32","shape":[73,32],"data_offsets":[0,9344]}})",
                         9344);
       },
       "info {model}", "", {"model.safetensors", "version 9 is newer than this build"}},
      {"weights_wrong_shape", Base::Tiny,
       [](auto& m, auto&) { reshape_tensor(m / "model.safetensors", "encoder.layer.1.output.dense.weight", {32, 32}); },
       "info {model}", "", {"encoder.layer.1.output.dense.weight", "has shape [32, 32], expected [32, 64]"}},
      {"weights_missing_tensor", Base::Tiny,
       [](auto& m, auto&) { drop_tensor(m / "model.safetensors", "encoder.layer.1.output.dense.weight"); }, "info {model}", "",
       {"encoder.layer.1.output.dense.weight"}},
      {"weights_nan", Base::Tiny, [](auto& m, auto&) { poke_data(m / "exits.safetensors", 0, std::string("\x00\x00\xC0\x7F", 4)); },
       "info {model}", "", {"exits.safetensors", "holds NaN at element 0"}},
      {"weights_infinity", Base::Tiny,
       [](auto& m, auto&) { poke_data(m / "model.safetensors", 0, std::string("\x00\x00\x80\x7F", 4)); }, "info {model}", "",
       {"model.safetensors", "holds an infinity at element 0"}},
      {"exits_head_of_the_wrong_width", Base::Tiny,
       [](auto& m, auto&) { reshape_tensor(m / "exits.safetensors", "exits.0.dense.weight", {16, 32}); }, "info {model}", "",
       {"exits.safetensors", "exits.0.dense.weight"}},
      {"exits_fewer_heads_than_offramp_json", Base::Tiny,
       [](auto& m, auto&) { drop_tensor(m / "exits.safetensors", "exits.1.classifier.weight"); }, "info {model}", "",
       {"exits.safetensors", "exits.1.classifier.weight"}},

      // config.json.
      {"config_not_json", Base::Tiny, [](auto& m, auto&) { write_text(m / "config.json", "{\"model_type\": "); }, "info {model}",
       "", {"config.json", "not valid JSON"}},
      {"config_not_an_object", Base::Tiny, [](auto& m, auto&) { write_text(m / "config.json", "[1, 2]"); }, "info {model}", "",
       {"config.json", "not a JSON object"}},
      {"config_no_model_type", Base::Tiny, config([](auto& j) { j.erase("model_type"); }), "info {model}", "",
       {"config.json", "missing field 'model_type'"}},
      {"config_unsupported_architecture", Base::Tiny, config([](auto& j) { j["model_type"] = "gpt2"; }), "info {model}", "",
       {"unsupported architecture", "gpt2", "bert"}},
      {"config_missing_field", Base::Tiny, config([](auto& j) { j.erase("num_attention_heads"); }), "info {model}", "",
       {"config.json", "missing field 'num_attention_heads'"}},
      {"config_heads_do_not_divide_hidden", Base::Tiny, config([](auto& j) { j["num_attention_heads"] = 5; }), "info {model}",
       "", {"config.json", "not divisible"}},
      {"config_negative_layers", Base::Tiny, config([](auto& j) { j["num_hidden_layers"] = -2; }), "info {model}", "",
       {"config.json", "field 'num_hidden_layers' must be an integer in 1..16777216 (got -2)"}},
      {"config_hidden_as_text", Base::Tiny, config([](auto& j) { j["hidden_size"] = "32"; }), "info {model}", "",
       {"config.json", "field 'hidden_size' must be an integer in 1..16777216 (got \"32\")"}},
      {"config_unknown_activation", Base::Tiny, config([](auto& j) { j["hidden_act"] = "swish"; }), "info {model}", "",
       {"config.json", "swish"}},
      {"config_activation_not_a_string", Base::Tiny, config([](auto& j) { j["hidden_act"] = 5; }), "info {model}", "",
       {"config.json", "field 'hidden_act' must be a string (got 5)"}},
      {"config_pad_token_past_positions", Base::Roberta, config([](auto& j) { j["pad_token_id"] = 9999; }), "info {model}", "",
       {"config.json", "field 'pad_token_id' must be an integer in 0.."}},
      {"config_relative_positions", Base::Tiny, config([](auto& j) { j["position_embedding_type"] = "relative_key"; }),
       "info {model}", "", {"config.json", "position_embedding_type 'relative_key'"}},
      {"config_layer_norm_eps_negative", Base::Tiny, config([](auto& j) { j["layer_norm_eps"] = -1; }), "info {model}", "",
       {"config.json", "'layer_norm_eps' must be a positive number"}},
      {"config_more_layers_than_weights", Base::Tiny, config([](auto& j) { j["num_hidden_layers"] = 3; }), "info {model}", "",
       {"model.safetensors", "encoder.layer.2"}},
      {"config_vocab_smaller_than_tokenizer", Base::Tiny, config([](auto& j) { j["vocab_size"] = 40; }), "info {model}", "",
       {"vocab_size", "40"}},

      // offramp.json.
      {"offramp_json_not_json", Base::Tiny, exits_json("{\"labels\": ["), "info {model}", "", {"offramp.json", "not valid JSON"}},
      {"offramp_json_no_format_version", Base::Tiny, oj([](auto& j) { j.erase("format_version"); }), "info {model}", "",
       {"offramp.json", "missing field 'format_version'"}},
      {"offramp_json_future_format", Base::Tiny, oj([](auto& j) { j["format_version"] = 7; }), "info {model}", "",
       {"offramp.json", "format_version 7"}},
      {"offramp_json_one_label", Base::Tiny, oj([](auto& j) { j["labels"] = {"great"}; }), "info {model}", "",
       {"offramp.json", "at least two class names"}},
      {"offramp_json_duplicate_labels", Base::Tiny, oj([](auto& j) { j["labels"] = {"great", "great"}; }), "info {model}", "",
       {"offramp.json", "'labels' has duplicates"}},
      {"offramp_json_labels_disagree_with_heads", Base::Tiny, oj([](auto& j) { j["labels"] = {"a", "b", "c"}; }),
       "info {model}", "", {"exits.safetensors", "exits.0.classifier.weight"}},
      {"offramp_json_exit_past_the_last_layer", Base::Tiny, oj([](auto& j) { j["exits"][1]["layer"] = 9; }), "info {model}", "",
       {"offramp.json", "exit layer", "1..2", "9"}},
      {"offramp_json_exit_layer_130_digits", Base::Tiny, exits_json(R"({"format_version": 1, "labels": ["a","b"], "exits": [{"layer": 9e130}]})"),
       "info {model}", "", {"offramp.json", "exit layer must be an integer"}},
      {"offramp_json_exits_not_increasing", Base::Tiny, oj([](auto& j) { j["exits"][0]["layer"] = 2; }), "info {model}", "",
       {"offramp.json", "exit layers must increase"}},
      {"offramp_json_exits_not_an_array", Base::Tiny, oj([](auto& j) { j["exits"] = 2; }), "info {model}", "",
       {"offramp.json", "missing array 'exits'"}},
      {"offramp_json_unknown_pooling", Base::Tiny, oj([](auto& j) { j["exits"][0]["pooling"] = "max"; }), "info {model}", "",
       {"offramp.json", "unknown pooling 'max'"}},
      {"offramp_json_zero_temperature", Base::Tiny, oj([](auto& j) { j["exits"][0]["temperature"] = 0; }), "info {model}", "",
       {"offramp.json", "temperature must be in (0, 1e4]"}},
      {"offramp_json_unknown_policy", Base::Tiny, oj([](auto& j) { j["policy"]["name"] = "greedy"; }), "info {model}", "",
       {"offramp.json", "unknown policy 'greedy'"}},
      {"offramp_json_negative_patience", Base::Tiny, oj([](auto& j) { j["policy"]["patience"] = -1; }), "info {model}", "",
       {"offramp.json", "patience"}},
      {"offramp_json_max_length_past_positions", Base::Tiny, oj([](auto& j) { j["max_length"] = 4096; }), "info {model}", "",
       {"offramp.json", "max_length must be an integer in 0..128 (got 4096)"}},
      {"offramp_json_label_not_a_string", Base::Tiny, oj([](auto& j) { j["labels"] = {1, 2}; }), "info {model}", "",
       {"offramp.json", "'labels' must be non-empty strings (got 1)"}},
      {"offramp_json_static_policy_without_exit_layer", Base::Tiny, oj([](auto& j) { j["policy"]["name"] = "static"; }),
       "info {model}", "", {"offramp.json", "policy 'static' needs policy.exit_layer"}},
      {"offramp_json_static_policy_at_a_layer_without_exit", Base::Tiny,
       oj([](auto& j) { j["policy"] = {{"name", "static"}, {"exit_layer", 1}}, j["exits"].erase(0); }), "info {model}", "",
       {"offramp.json", "one of the exits' layers (got 1)"}},
      {"offramp_json_calibration_not_an_object", Base::Tiny, oj([](auto& j) { j["calibration"] = "yes"; }), "info {model}",
       "", {"offramp.json", "'calibration' must be an object"}},
      {"offramp_json_pooling_not_a_string", Base::Tiny, oj([](auto& j) { j["exits"][0]["pooling"] = 5; }), "info {model}", "",
       {"offramp.json", "exit at layer 1: pooling must be a string (got 5)"}},
      {"offramp_json_threshold_as_text", Base::Tiny, oj([](auto& j) { j["policy"]["threshold"] = "high"; }), "info {model}", "",
       {"offramp.json", "policy.threshold must be a number"}},
      {"offramp_json_negative_threshold", Base::Tiny, oj([](auto& j) { j["policy"]["threshold"] = -0.5; }), "info {model}",
       "", {"offramp.json", "policy.threshold must be >= 0"}},
  };
}

}  // namespace offramp::test::catalogue
