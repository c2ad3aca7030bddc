// Byte-level BPE (RoBERTa) and XLM-R sentencepiece against Hugging Face's slow tokenizers
// (fixtures: tests/golden/make_subword_golden.py, tokenizers trained on data/), the chunking
// that bounds their work, and the added-token split they share.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/src/added_tokens.h"
#include "engine/src/text_chunks.h"
#include "engine/src/tokenizer.h"
#include "tests/support/fixtures.h"
#include "tests/support/golden_file.h"

using namespace offramp;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) { return test::repo_dir() + "/tests/golden/tokenizers/" + name; }

// 64-bit FNV-1a over the ids as little-endian int32 bytes, as the fixture script writes it.
std::string fnv1a64(const std::vector<int32_t>& ids) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int32_t id : ids) {
    const auto u = static_cast<uint32_t>(id);
    for (int b = 0; b < 4; ++b) h = (h ^ ((u >> (8 * b)) & 0xFF)) * 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < 40; ++i) s += std::to_string(ids[i]) + " ";
  return s + (ids.size() > 40 ? "..." : "");
}

class SubwordGolden : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(SubwordGolden, EveryDataTextMatchesHuggingFace) {
  const auto tok = engine::load_tokenizer(fixture(GetParam()));
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> files;
  size_t records = 0, mismatches = 0, ids_total = 0;
  for (const auto& g : test::read_jsonl(fixture(GetParam()) + "/data_ids.jsonl")) {
    const std::string file = g["file"];
    if (!files.count(file)) files[file] = test::read_tsv(test::repo_dir() + "/data/" + file);
    const auto& text = files[file].at(g["line"].get<size_t>() - 1).second;
    const auto ids = tok->encode(text, 512);
    ++records, ids_total += ids.size();
    const bool same = ids.size() == g["n"].get<size_t>() && fnv1a64(ids) == g["fnv1a64"].get<std::string>() &&
                      (!g.contains("ids") || g["ids"].get<std::vector<int32_t>>() == ids);
    if (!same && ++mismatches <= 5)
      ADD_FAILURE() << GetParam() << " " << file << " line " << g["line"] << ": got " << ids.size() << " ids "
                    << show(ids) << (g.contains("ids") ? "\n want " + show(g["ids"].get<std::vector<int32_t>>()) : "");
  }
  EXPECT_EQ(mismatches, 0u) << "of " << records << " texts";
  EXPECT_EQ(files.size(), 6u);  // every split of both data sets
  EXPECT_GT(records, 10000u);
  std::cout << GetParam() << ": " << records << " texts, " << ids_total << " ids, " << mismatches << " mismatches\n";
}

TEST_P(SubwordGolden, EveryHardCaseMatchesHuggingFace) {
  const auto tok = engine::load_tokenizer(fixture(GetParam()));
  const auto cases = test::read_jsonl(fixture(GetParam()) + "/hard_cases.jsonl");
  const auto short_cases = test::read_jsonl(fixture(GetParam()) + "/hard_cases_max_length.jsonl");
  ASSERT_EQ(cases.size(), short_cases.size());
  ASSERT_GT(cases.size(), 100u);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const std::string input = c.contains("bytes_hex") ? hex_to_bytes(c["bytes_hex"]) : c["text"].get<std::string>();
    EXPECT_EQ(tok->encode(input, 512), c["ids"].get<std::vector<int32_t>>()) << GetParam() << " case " << c["name"];
    ASSERT_EQ(short_cases[i]["name"], c["name"]);
    EXPECT_EQ(tok->encode(input, 16), short_cases[i]["ids"].get<std::vector<int32_t>>())
        << GetParam() << " case " << c["name"] << " at max_length 16";
  }
}

TEST_P(SubwordGolden, AHugeLineCostsOnlyItsFirstChunks) {
  // 24 MB of real sentences on one line, then the same with a 1 MB word of letters in front:
  // the ids are those of a short prefix (the chunking is exact at spaces), and the long word
  // is cut at kMaxChunkBytes instead of being merged whole.
  const auto tok = engine::load_tokenizer(fixture(GetParam()));
  const auto rows = test::read_tsv(test::repo_dir() + "/data/fine_foods/dev.tsv");
  std::string line;
  for (size_t i = 0; line.size() < (24u << 20); i = (i + 1) % rows.size()) line += rows[i].second + " ";
  const auto ids = tok->encode(line, 256);
  EXPECT_EQ(ids.size(), 256u);
  EXPECT_EQ(ids, tok->encode(line.substr(0, 20000), 256));
  const std::string word(1u << 20, 'q');
  const auto w = tok->encode(word + " " + line, 64);
  EXPECT_EQ(w.size(), 64u);
  EXPECT_EQ(w, tok->encode(word.substr(0, engine::kMaxChunkBytes), 64));
}

TEST_P(SubwordGolden, IdsStayInsideTheVocabulary) {
  const auto tok = engine::load_tokenizer(fixture(GetParam()));
  for (const auto& c : test::read_jsonl(fixture(GetParam()) + "/hard_cases.jsonl"))
    for (int32_t id : c["ids"].get<std::vector<int32_t>>()) {
      ASSERT_GE(id, 0);
      ASSERT_LT(id, tok->vocab_size()) << c["name"];
      EXPECT_EQ(tok->id_to_token(id).rfind("<invalid", 0), std::string::npos) << id;
    }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, SubwordGolden, ::testing::Values("roberta", "xlm-roberta"),
                         [](const auto& info) { return std::string(info.param) == "roberta" ? "Roberta" : "XlmRoberta"; });

TEST(SubwordTokenizerFiles, ABpeTokenizerJsonAloneGivesTheSameIds) {
  // A directory with only tokenizer.json (what some checkpoints ship): vocab, merges, added
  // tokens and the post-processor's <s>/</s> come from it.
  const std::string dir = test::fresh_temp_dir("bpe_json_only");
  fs::copy_file(fixture("roberta") + "/tokenizer.json", dir + "/tokenizer.json");
  const auto from_json = engine::load_tokenizer(dir);
  const auto from_files = engine::load_tokenizer(fixture("roberta"));
  EXPECT_STREQ(from_json->kind(), "byte-level BPE");
  EXPECT_EQ(from_json->vocab_size(), from_files->vocab_size());
  for (const auto& c : test::read_jsonl(fixture("roberta") + "/hard_cases.jsonl")) {
    if (c.contains("bytes_hex")) continue;
    EXPECT_EQ(from_json->encode(c["text"].get<std::string>(), 512), c["ids"].get<std::vector<int32_t>>()) << c["name"];
  }
  fs::remove_all(dir);
}

TEST(TextChunks, CutsOnlyAtTheRuleAndStopsOnceEnoughPiecesExist) {
  // A fake encoder: one "piece" per chunk, recording the chunks it saw.
  std::vector<std::string> seen;
  auto record = [&](std::string_view c, std::vector<int32_t>& out) {
    seen.emplace_back(c);
    out.push_back(static_cast<int32_t>(c.size()));
  };
  std::string text;
  while (text.size() < 10000) text += "word  other\tthird ";
  std::vector<int32_t> out;
  engine::encode_in_chunks(text, 1000, engine::ChunkRule::BeforeSpace, record, out);
  std::string joined;
  for (const auto& c : seen) {
    joined += c;
    if (&c != &seen.back()) {
      EXPECT_TRUE(c.back() != ' ' && c.back() != '\t') << "cut after whitespace";
    }
  }
  EXPECT_EQ(joined, text);  // BeforeSpace keeps every byte
  seen.clear(), out.clear();
  engine::encode_in_chunks(text, 1, engine::ChunkRule::BeforeSpace, record, out);
  EXPECT_EQ(seen.size(), 1u);  // one chunk holds enough: the rest is never looked at
  EXPECT_LT(seen[0].size(), 1100u);
  seen.clear(), out.clear();
  engine::encode_in_chunks(text, 1000, engine::ChunkRule::DropSingleSpace, record, out);
  for (size_t i = 0; i + 1 < seen.size(); ++i) {
    EXPECT_NE(seen[i].back(), ' ');
    EXPECT_NE(seen[i + 1].front(), ' ') << "the single space between chunks is dropped";
  }
  seen.clear(), out.clear();
  const std::string nospace(3 * engine::kMaxChunkBytes + 5, 'x');
  engine::encode_in_chunks(nospace, 1000, engine::ChunkRule::BeforeSpace, record, out);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].size(), engine::kMaxChunkBytes);
  seen.clear(), out.clear();
  // A multi-byte character is never split by the cap.
  std::string wide;
  while (wide.size() < 2 * engine::kMaxChunkBytes) wide += "\xE2\x82\xAC";  // U+20AC
  engine::encode_in_chunks(wide, 1000, engine::ChunkRule::None, record, out);
  for (const auto& c : seen) EXPECT_EQ(c.size() % 3, 0u);
}

TEST(AddedTokens, SplitLikeHuggingFaceWithLstripAndRstrip) {
  const std::vector<engine::AddedToken> toks = {{"<s>", 0}, {"</s>", 2}, {"<mask>", 4, true, false}, {"[R]", 9, false, true}};
  std::vector<std::string> parts;
  auto split = [&](std::string_view text) {
    parts.clear();
    engine::split_added_tokens(
        text, toks, [&](std::string_view s) { parts.emplace_back(s); return true; },
        [&](const engine::AddedToken& t) { parts.push_back(std::to_string(t.id).insert(0, 1, '#')); return true; });
    return parts;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(split("hi <s> there</s>"), (V{"hi ", "#0", " there", "#2"}));
  EXPECT_EQ(split("a  \t<mask>b"), (V{"a", "#4", "b"}));            // lstrip eats the spaces before
  EXPECT_EQ(split("   <mask>"), (V{"#4"}));                          // ... and an all-space segment vanishes
  EXPECT_EQ(split("x[R] \u3000 y"), (V{"x", "#9", "y"}));            // rstrip eats Unicode spaces too
  EXPECT_EQ(split("<S> <s></s><s>"), (V{"<S> ", "#0", "#2", "#0"}));  // case-sensitive; adjacent tokens
  EXPECT_EQ(split(""), V{});
  // Stops when a callback says so.
  int calls = 0;
  engine::split_added_tokens("a<s>b<s>c", toks, [&](std::string_view) { return ++calls < 2; },
                             [&](const engine::AddedToken&) { ++calls; return true; });
  EXPECT_EQ(calls, 3);
}

TEST(SubwordTokenizerFiles, BadFilesAreNamedInTheError) {
  const std::string dir = test::fresh_temp_dir("bad_bpe");
  auto write = [&](const std::string& name, const std::string& body) { std::ofstream(dir + "/" + name) << body; };
  auto error_of = [&] {
    try {
      engine::load_tokenizer(dir);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  write("vocab.json", "[1, 2]");
  write("merges.txt", "#version: 0.2\na b\n");
  EXPECT_NE(error_of().find("vocab.json: the vocabulary must be an object"), std::string::npos) << error_of();
  write("vocab.json", R"({"a": 0, "b": "one"})");
  EXPECT_NE(error_of().find("token 'b' has id \"one\""), std::string::npos) << error_of();
  write("vocab.json", R"({"<s>": 0, "</s>": 1, "a": 2})");
  write("merges.txt", "#version: 0.2\na b c\n");
  EXPECT_NE(error_of().find("merges.txt line 2: a merge must be two tokens"), std::string::npos) << error_of();
  write("merges.txt", "#version: 0.2\n");
  EXPECT_NE(error_of().find("lacks the byte symbol"), std::string::npos) << error_of();
  fs::remove(dir + "/vocab.json"), fs::remove(dir + "/merges.txt");
  fs::copy_file(fixture("xlm-roberta") + "/sentencepiece.bpe.model", dir + "/sentencepiece.bpe.model");
  EXPECT_NE(error_of().find("only XLM-RoBERTa's sentencepiece.bpe.model is supported"), std::string::npos) << error_of();
  fs::remove(dir + "/sentencepiece.bpe.model");
  write("tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  EXPECT_NE(error_of().find("a Unigram tokenizer.json is not supported"), std::string::npos) << error_of();
  // Fields of the wrong type name the file (or the directory), never a bare JSON exception.
  fs::copy_file(fixture("roberta") + "/tokenizer.json", dir + "/tokenizer.json", fs::copy_options::overwrite_existing);
  {
    auto j = nlohmann::json::parse(std::ifstream(dir + "/tokenizer.json"));
    j["added_tokens"][0]["lstrip"] = "no";
    std::ofstream(dir + "/tokenizer.json") << j.dump();
  }
  EXPECT_NE(error_of().find(dir + ": a tokenizer file has a field of the wrong type"), std::string::npos) << error_of();
  fs::remove(dir + "/tokenizer.json");
  write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\ntea\n");
  write("tokenizer_config.json", R"({"do_lower_case": "yes"})");
  EXPECT_NE(error_of().find("tokenizer_config.json: field 'do_lower_case' must be true, false or null, not \"yes\""),
            std::string::npos) << error_of();
  fs::remove_all(dir);
}
