// Catalogue rows: tokenizer files of every kind (WordPiece vocab.txt, sentencepiece's
// spiece.model, RoBERTa's BPE tokenizer.json, XLM-R's sentencepiece.bpe.model) and the
// tokenizer_config.json beside them.
#include "tests/catalogue/catalogue.h"

namespace offramp::test::catalogue {

std::vector<BadInput> tokenizer_cases() {
  const auto file = [](const char* name, std::string text) {
    return [name, text](const fs::path& m, const fs::path&) { write_text(m / name, text); };
  };
  // The RoBERTa fixture holds vocab.json + merges.txt, which load_tokenizer prefers: these
  // rows remove them so that tokenizer.json is read.
  const auto tokenizer_json = [](std::function<void(nlohmann::json&)> e) {
    return [e](const fs::path& m, const fs::path&) {
      fs::remove(m / "vocab.json"), fs::remove(m / "merges.txt");
      edit_json(m / "tokenizer.json", e);
    };
  };
  return {
      // WordPiece (vocab.txt).
      {"wordpiece_empty_vocabulary", Base::Tiny, file("vocab.txt", ""), "info {model}", "", {"vocab.txt", "empty vocabulary"}},
      {"wordpiece_vocabulary_without_cls", Base::Tiny, file("vocab.txt", "[PAD]\n[UNK]\n[SEP]\n[MASK]\na\nb\n"), "info {model}",
       "", {"vocab.txt", "[CLS]"}},
      {"wordpiece_lower_case_as_text", Base::Tiny, file("tokenizer_config.json", R"({"do_lower_case": "yes"})"), "info {model}",
       "", {"tokenizer_config.json", "do_lower_case"}},
      {"wordpiece_tokenizer_config_not_json", Base::Tiny, file("tokenizer_config.json", "{do_lower_case"), "info {model}", "",
       {"tokenizer_config.json", "not valid JSON"}},

      // sentencepiece (spiece.model).
      {"sentencepiece_model_garbage", Base::Sentencepiece, file("spiece.model", "not a protobuf at all"), "info {model}", "",
       {"spiece.model", "not a usable sentencepiece model"}},
      {"sentencepiece_model_empty", Base::Sentencepiece, file("spiece.model", ""), "info {model}", "",
       {"spiece.model", "not a usable sentencepiece model"}},

      // Byte-level BPE: vocab.json + merges.txt, then RoBERTa's tokenizer.json alone.
      {"bpe_merges_txt_line_of_one_token", Base::Roberta, file("merges.txt", "#version: 0.2\nabc\n"), "info {model}", "",
       {"merges.txt line 2", "a merge must be two tokens separated by one space, got 'abc'"}},
      {"bpe_vocab_json_not_an_object", Base::Roberta, file("vocab.json", "[1, 2]"), "info {model}", "",
       {"vocab.json", "the vocabulary must be an object"}},
      {"bpe_merges_not_an_array", Base::Roberta, tokenizer_json([](auto& j) { j["model"]["merges"] = "a b"; }), "info {model}",
       "", {"tokenizer.json", "model.merges must be an array"}},
      {"bpe_merge_of_three_tokens", Base::Roberta,
       tokenizer_json([](auto& j) { j["model"]["merges"][0] = "a b c"; }), "info {model}", "",
       {"tokenizer.json", "a merge must be two tokens separated by one space"}},
      {"bpe_vocabulary_not_an_object", Base::Roberta, tokenizer_json([](auto& j) { j["model"]["vocab"] = {1, 2, 3}; }),
       "info {model}", "", {"tokenizer.json", "the vocabulary must be an object"}},
      {"bpe_vocabulary_id_out_of_range", Base::Roberta,
       tokenizer_json([](auto& j) { j["model"]["vocab"]["hello"] = -5; }), "info {model}", "",
       {"tokenizer.json", "token 'hello' has id -5"}},
      {"bpe_without_byte_level_pre_tokenizer", Base::Roberta, tokenizer_json([](auto& j) { j["pre_tokenizer"] = nullptr; }),
       "info {model}", "", {"tokenizer.json", "ByteLevel pre-tokenizer"}},
      {"bpe_added_token_without_id", Base::Roberta, tokenizer_json([](auto& j) { j["added_tokens"][0].erase("id"); }),
       "info {model}", "", {"tokenizer.json", "added_tokens entries need an integer id"}},
      {"bpe_vocabulary_without_bos", Base::Roberta, tokenizer_json([](auto& j) {
         j["model"]["vocab"].erase("<s>");
         j["added_tokens"].erase(0);  // {"id": 0, "content": "<s>", ...}
       }),
       "info {model}", "", {"tokenizer.json", "<s>"}},
      {"bpe_unsupported_model_type", Base::Roberta, tokenizer_json([](auto& j) { j["model"]["type"] = "Unigram"; }),
       "info {model}", "", {"tokenizer.json", "Unigram"}},

      // XLM-R (sentencepiece.bpe.model).
      {"xlmr_model_garbage", Base::XlmRoberta, file("sentencepiece.bpe.model", "\x0a\x03zzz"), "info {model}", "",
       {"sentencepiece.bpe.model", "not a usable sentencepiece model"}},
      {"xlmr_model_under_a_bert_config", Base::XlmRoberta,
       [](const fs::path& m, const fs::path&) {
         fs::remove(m / "tokenizer_config.json");
         edit_json(m / "config.json", [](auto& j) { j["model_type"] = "bert"; });
       },
       "info {model}", "", {"sentencepiece.bpe.model", "XLM-RoBERTa"}},
  };
}

}  // namespace offramp::test::catalogue
