// Reading huge inputs in bounded memory: Tokenizer::decided_prefix (the prefix of a text that
// fixes its ids whatever follows) on every tokenizer kind, checked against tokenizing the whole
// text, and the CLI's reader, which keeps only that prefix of a long line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/src/tokenizer.h"
#include "offramp/error.h"
#include "tests/support/fixtures.h"
#include "tools/offramp/input.h"

using namespace offramp;

namespace {

// The model directories of the four tokenizer kinds.
const std::vector<std::string> kTokenizerDirs = {"tests/golden/families/bert/task", "tests/golden/tokenizers/roberta",
                                                 "tests/golden/tokenizers/xlm-roberta", "models/fine-foods-tiny"};

// The first n fine_foods test texts joined by single spaces, with typed specials in between
// where the tokenizer has them (they are split out before anything else).
std::string long_text(size_t n, const std::string& special) {
  const auto rows = test::read_tsv(test::repo_dir() + "/data/fine_foods/test.tsv");
  std::string out;
  for (size_t i = 0; i < n && i < rows.size(); ++i) {
    if (i) out += i % 7 == 0 && !special.empty() ? " " + special + " " : " ";
    out += rows[i].second;
  }
  return out;
}

class DecidedPrefix : public testing::TestWithParam<std::string> {};

// For prefixes of every length class, where decided_prefix names a length n, the first n bytes
// give the ids of the whole text; and a prefix is decided early, so the reader keeps little.
TEST_P(DecidedPrefix, GivesTheIdsOfTheWholeText) {
  const auto tok = engine::load_tokenizer(test::repo_dir() + "/" + GetParam());
  const std::string special = tok->kind() == std::string("wordpiece") ? "[MASK]" : "<mask>";
  const std::string text = long_text(300, special);
  ASSERT_GT(text.size(), 50000u);
  for (const int max_length : {2, 3, 16, 128, 512}) {
    const auto whole = tok->encode(text, max_length);
    size_t decided = 0, first_decided = std::string::npos;
    for (size_t p = 1; p <= text.size(); p += 1 + p / 3) {
      const auto n = tok->decided_prefix(std::string_view(text).substr(0, p), max_length);
      if (!n) continue;
      ++decided;
      first_decided = std::min(first_decided, p);
      ASSERT_LE(*n, p);
      ASSERT_EQ(tok->encode(std::string_view(text).substr(0, *n), max_length), whole)
          << "max_length " << max_length << ", prefix of " << p << " bytes decided at " << *n;
    }
    EXPECT_GT(decided, 0u) << "max_length " << max_length;
    // About 5 bytes per piece in these texts: 16 tokens are decided within the first KiB.
    if (max_length == 16) {
      EXPECT_LT(first_decided, 1024u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryTokenizerKind, DecidedPrefix, testing::ValuesIn(kTokenizerDirs),
                         [](const auto& info) {
                           std::string n = info.param.substr(info.param.rfind('/') + 1);
                           for (char& c : n) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// Text whose pieces never fill max_length before its end, or that has no single space between
// printable characters, is never decided: the reader must keep it whole.
TEST(DecidedPrefixNever, WithoutEnoughPiecesOrACut) {
  const auto tok = engine::load_tokenizer(test::repo_dir() + "/tests/golden/families/bert/task");
  EXPECT_FALSE(tok->decided_prefix(std::string(100000, ' '), 16));
  EXPECT_FALSE(tok->decided_prefix(std::string(100000, 'x'), 16));
  EXPECT_FALSE(tok->decided_prefix("one two three", 16));
  EXPECT_FALSE(tok->decided_prefix("", 16));
  const std::string tabs = "a\tb\tc\td\te\tf\tg\th\ti\tj\tk\tl\tm\tn\to\tp\tq\tr\ts\tt";
  EXPECT_FALSE(tok->decided_prefix(tabs + tabs, 16)) << "only single spaces are cuts";
}

// The reader cuts a 6 MB TSV line to the prefix that decides its ids, keeps its label, and reads
// the lines after it; without the callback it keeps the line whole.
TEST(BoundedReader, CutsALongLineToWhatDecidesItsIds) {
  const auto tok = engine::load_tokenizer(test::repo_dir() + "/tests/golden/families/bert/task");
  std::string big = long_text(300, "");
  while (big.size() < (6u << 20)) big += " " + big;
  const std::string content = "bad\tfirst short text\ngood\t" + big + "\r\nbad\tlast text\n";
  const cli::DecidedPrefix decided = [&](std::string_view t) { return tok->decided_prefix(t, 128); };
  for (const auto format : {cli::InputFormat::Auto, cli::InputFormat::Tsv}) {
    std::istringstream in(content);
    const auto lines = cli::read_input(in, "big.tsv", format, true, decided);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[1].line_no, 2u);
    EXPECT_EQ(lines[1].label, "good");
    EXPECT_LT(lines[1].text.size(), 128u << 10) << "the line was kept whole";
    EXPECT_EQ(tok->encode(lines[1].text, 128), tok->encode(big, 128));
    EXPECT_EQ(lines[2].text, "last text");
  }
  std::istringstream in(content);
  const auto whole = cli::read_input(in, "big.tsv", cli::InputFormat::Tsv, true);
  EXPECT_EQ(whole[1].text, big);
}

// A long first line in text format with a byte-order mark: the mark is not text, the text is
// cut, and a TAB past the first 64 KiB does not make the file TSV.
TEST(BoundedReader, LongFirstTextLineWithBom) {
  const auto tok = engine::load_tokenizer(test::repo_dir() + "/models/fine-foods-tiny");
  std::string big = long_text(300, "");
  while (big.size() < (1u << 20)) big += " " + big;
  big += "\tafter the probe";
  std::istringstream in("\xEF\xBB\xBF" + big + "\nsecond\n");
  const auto lines = cli::read_input(in, "big.txt", cli::InputFormat::Auto, true,
                                     [&](std::string_view t) { return tok->decided_prefix(t, 64); });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FALSE(lines[0].label);
  EXPECT_EQ(lines[0].text.rfind("\xEF\xBB\xBF", 0), std::string::npos);
  EXPECT_EQ(tok->encode(lines[0].text, 64), tok->encode(big, 64));
  EXPECT_LT(lines[0].text.size(), 64u << 10);
}

// The limit per line holds whether or not the line is being cut: bytes are counted, not kept.
TEST(BoundedReader, LimitCountsTheBytesThatWereNotKept) {
  struct Endless : std::streambuf {  // 'a b ' forever: decided at once, never ends
    char buf[4096];
    Endless() { for (size_t i = 0; i < sizeof buf; ++i) buf[i] = i % 2 ? ' ' : 'a'; }
    int_type underflow() override {
      setg(buf, buf, buf + sizeof buf);
      return 'a';
    }
  } endless;
  std::istream in(&endless);
  const auto tok = engine::load_tokenizer(test::repo_dir() + "/tests/golden/families/bert/task");
  try {
    cli::read_input(in, "endless", cli::InputFormat::Text, true, [&](std::string_view t) { return tok->decided_prefix(t, 16); });
    FAIL() << "an endless line was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("endless:1: line longer than 256 MiB"), std::string::npos) << e.what();
  }
}

}  // namespace
