// Tokenizers against their references: WordPiece against HF's BertTokenizer (fixtures made
// by tests/golden/make_tokenizer_golden.py) and sentencepiece against spm_encode.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/src/sentencepiece_tokenizer.h"
#include "engine/src/tokenizer.h"
#include "engine/src/utf8.h"
#include "tests/support/fixtures.h"
#include "tests/support/golden_file.h"

using namespace offramp;
namespace fs = std::filesystem;

namespace {

const engine::Tokenizer& minilm_tokenizer() {
  static const auto tok = engine::load_tokenizer(test::minilm_dir());
  return *tok;
}

std::string ids_str(const std::vector<int32_t>& ids) {
  std::string s;
  for (auto i : ids) s += std::to_string(i) + " ";
  return s;
}

}  // namespace

TEST(WordPiece, MatchesHuggingFaceOnEveryFineFoodsText) {
  const auto golden = test::read_jsonl(test::repo_dir() + "/tests/golden/wordpiece_fine_foods.jsonl");
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> splits;
  for (const char* s : {"train", "dev", "test"})
    splits[s] = test::read_tsv(test::repo_dir() + "/data/fine_foods/" + s + ".tsv");
  ASSERT_EQ(golden.size(), 5000u);
  size_t mismatches = 0;
  for (const auto& g : golden) {
    const auto& text = splits.at(g["split"]).at(g["line"].get<size_t>() - 1).second;
    const auto ids = minilm_tokenizer().encode(text, 512);
    const auto want = g["ids"].get<std::vector<int32_t>>();
    if (ids != want && ++mismatches <= 5)
      ADD_FAILURE() << g["split"] << ":" << g["line"] << "\n got  " << ids_str(ids) << "\n want " << ids_str(want);
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(WordPiece, MatchesHuggingFaceOnHardCases) {
  const auto golden = test::read_jsonl(test::repo_dir() + "/tests/golden/tokenizer_hard_cases.jsonl");
  ASSERT_GE(golden.size(), 40u);
  for (const auto& g : golden) {
    const auto ids = minilm_tokenizer().encode(g["text"].get<std::string>(), 512);
    EXPECT_EQ(ids, g["ids"].get<std::vector<int32_t>>()) << g["name"];
  }
}

TEST(Utf8, InvalidBytesBecomeReplacementCharsOneEach) {
  // Stray continuation, overlong '/', surrogate, > U+10FFFF, truncated 3-byte sequence.
  const std::string bad = std::string("a\x80") + "b\xC0\xAF" + "c\xED\xA0\x80" + "d\xF4\x90\x80\x80" + "e\xE2\x82";
  const auto cps = engine::decode_utf8_lossy(bad);
  std::u32string want = U"a\uFFFDb\uFFFD\uFFFDc\uFFFD\uFFFD\uFFFDd\uFFFD\uFFFD\uFFFD\uFFFDe\uFFFD\uFFFD";
  EXPECT_EQ(cps, want);
  EXPECT_EQ(engine::decode_utf8_lossy("h\xC3\xA9llo"), U"h\u00E9llo");
}

TEST(WordPiece, InvalidUtf8IsDroppedLikeHuggingFaceDropsU_FFFD) {
  // HF decodes with errors="replace" and BertTokenizer's cleaning removes U+FFFD, so the
  // invalid bytes vanish and the valid words around them stay.
  const auto& tok = minilm_tokenizer();
  EXPECT_EQ(tok.encode("good \xFF\xFE bag", 64), tok.encode("good  bag", 64));
  EXPECT_EQ(tok.encode("\xC3", 64), tok.encode("", 64));
}

TEST(WordPiece, MegabyteTextIsTruncatedNotTokenizedWhole) {
  std::string big;
  while (big.size() < (1u << 20)) big += "the bag arrived torn but tasty ";
  const auto ids = minilm_tokenizer().encode(big, 128);
  ASSERT_EQ(ids.size(), 128u);
  EXPECT_EQ(ids.front(), 101);
  EXPECT_EQ(ids.back(), 102);
  const auto head = minilm_tokenizer().encode(big.substr(0, 2000), 128);
  EXPECT_EQ(ids, head);
  // One 1 MB "word" with no spaces: a single [UNK].
  const auto word = minilm_tokenizer().encode(std::string(1 << 20, 'x'), 128);
  EXPECT_EQ(word, (std::vector<int32_t>{101, 100, 102}));
}

TEST(WordPiece, LongRunsWithoutAsciiSpacesAreCutWhereTheWordsEnd) {
  // The chunking (16 KiB, at most 64 KiB) cuts only where a word ends, so these runs of more
  // than 64 KiB give what the same words separated by plain spaces give.
  const auto& tok = minilm_tokenizer();
  std::string ideographic, spaced, cjk, cjk_spaced, punct;
  for (int i = 0; i < 30000; ++i) ideographic += "tea\u3000", spaced += "tea ";
  EXPECT_EQ(tok.encode(ideographic, 300), tok.encode(spaced, 300));
  for (int i = 0; i < 30000; ++i) cjk += "\u4e2d", cjk_spaced += "\u4e2d ";
  const auto c = tok.encode(cjk, 300);
  EXPECT_EQ(c.size(), 300u);
  EXPECT_EQ(c, tok.encode(cjk_spaced, 300));
  for (int i = 0; i < 30000; ++i) punct += "ab,";
  EXPECT_EQ(tok.encode(punct, 300).size(), 300u);
  EXPECT_EQ(tok.encode(punct, 300), tok.encode(punct.substr(0, 3000), 300));
  // A 200 KB word, then real words: one [UNK] for the word, then the words' pieces.
  const auto words = tok.encode("lovely tea", 16);  // [CLS] lovely tea [SEP]
  ASSERT_EQ(words.size(), 4u);
  EXPECT_EQ(tok.encode(std::string(200000, 'q') + " lovely tea", 16),
            (std::vector<int32_t>{101, 100, words[1], words[2], 102}));
}

TEST(SentencePiece, IdsEqualSpmEncodeForAModelTrainedWithSpmTrain) {
  if (std::system("command -v spm_train > /dev/null && command -v spm_encode > /dev/null") != 0)
    GTEST_FAIL() << "spm_train/spm_encode missing: install Debian's sentencepiece (scripts/test.sh does)";
  const fs::path dir = fs::temp_directory_path() / ("offramp_spm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto rows = test::read_tsv(test::repo_dir() + "/data/fine_foods/train.tsv");
  {
    std::ofstream corpus(dir / "train.txt");
    for (const auto& [label, text] : rows) corpus << text << "\n";
  }
  const std::string prefix = (dir / "spm").string();
  const std::string train = "spm_train --input=" + (dir / "train.txt").string() + " --model_prefix=" + prefix +
                            " --vocab_size=2000 --model_type=unigram --user_defined_symbols=[CLS],[SEP]"
                            " --minloglevel=2 > " + (dir / "train.log").string() + " 2>&1";
  ASSERT_EQ(std::system(train.c_str()), 0) << "spm_train failed; see " << (dir / "train.log");
  const auto dev = test::read_tsv(test::repo_dir() + "/data/fine_foods/dev.tsv");
  {
    std::ofstream texts(dir / "dev.txt");
    for (const auto& [label, text] : dev) texts << text << "\n";
  }
  const std::string encode = "spm_encode --model=" + prefix + ".model --output_format=id < " +
                             (dir / "dev.txt").string() + " > " + (dir / "dev.ids").string();
  ASSERT_EQ(std::system(encode.c_str()), 0);
  engine::SentencePieceTokenizer tok(prefix + ".model");
  std::ifstream ids_in(dir / "dev.ids");
  std::string line;
  size_t i = 0;
  const int32_t cls = 3, sep = 4;  // user-defined symbols follow <unk>, <s>, </s>
  for (; std::getline(ids_in, line); ++i) {
    std::vector<int32_t> want{cls};
    std::istringstream ss(line);
    for (int32_t id; ss >> id;) want.push_back(id);
    want.push_back(sep);
    ASSERT_EQ(tok.encode(dev.at(i).second, 100000), want) << "dev line " << i + 1;
  }
  EXPECT_EQ(i, dev.size());
  EXPECT_EQ(tok.id_to_token(cls), "[CLS]");
  fs::remove_all(dir);
}
