// Expected Validation Performance (tools/report/evp.h) against hand-computed values, and
// `offramp report` on committed run records (tests/cli/runs).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/fixtures.h"
#include "tools/report/evp.h"

using offramp::report::expected_validation_performance;

TEST(Evp, MatchesTheUnbiasedEstimatorByHand) {
  // Sorted 0.7, 0.8, 0.9 (N = 3). n = 1: the mean, 0.8. n = 2: of the 3 pairs, the max is 0.8
  // once and 0.9 twice: (0.8 + 2 * 0.9) / 3 = 0.8667. n = 3: the max, 0.9.
  const auto e = expected_validation_performance({0.9, 0.7, 0.8});
  ASSERT_EQ(e.size(), 3u);
  EXPECT_NEAR(e[0], 0.8, 1e-12);
  EXPECT_NEAR(e[1], 2.6 / 3, 1e-12);
  EXPECT_NEAR(e[2], 0.9, 1e-12);
  // N = 4, scores 1, 2, 3, 4; n = 2: maxes over the 6 pairs are 2, 3, 3, 4, 4, 4 -> 20 / 6.
  EXPECT_NEAR(expected_validation_performance({4, 1, 3, 2})[1], 20.0 / 6, 1e-12);
  EXPECT_NEAR(expected_validation_performance({0.5})[0], 0.5, 1e-12);
  // Large N stays finite (C(N, n) is summed in log space) and never decreases in n.
  std::vector<double> many;
  for (int i = 0; i < 400; ++i) many.push_back((i * 37 % 400) / 400.0);
  const auto m = expected_validation_performance(many);
  for (size_t n = 1; n < m.size(); ++n) EXPECT_GE(m[n], m[n - 1] - 1e-12);
  EXPECT_NEAR(m.back(), 399 / 400.0, 1e-9);
  EXPECT_THROW(expected_validation_performance({}), std::invalid_argument);
}

TEST(Evp, ReportOverCommittedRunRecords) {
  const std::string runs = offramp::test::repo_dir() + "/tests/cli/runs";
  const std::string out = offramp::test::fresh_temp_dir("report_runs");
  const auto r = offramp::test::run_command(std::string(OFFRAMP_CLI) + " report " + runs + "/a " + runs + "/b " + runs +
                                            "/c --out " + out + " --no-plot");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(std::ifstream(out + "/report.json"));
  ASSERT_EQ(j["evp"].size(), 3u);
  EXPECT_NEAR(j["evp"][1]["evp"].get<double>(), 2.6 / 3, 1e-12);
  EXPECT_NEAR(j["evp"][1]["training_flops"].get<double>(), 4e12, 1);  // 2 trials x the mean 2e12
  EXPECT_NEAR(j["evp"][2]["hours"].get<double>(), 1.0, 1e-12);        // 3600 s in all
  EXPECT_EQ(j["best"], runs + "/b");
  std::ifstream md(out + "/report.md");
  const std::string text(std::istreambuf_iterator<char>(md), {});
  for (const char* part : {"| 2 | 0.8667 |", "Number of hyperparameter trials: 3", "lr 2e-05 .. 0.0003 (3 values)",
                           "Best configuration: " , "Intel(R) Xeon(R) Processor", "22713216"})
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  // A directory without a report is a clear error.
  const auto bad = offramp::test::run_command(std::string(OFFRAMP_CLI) + " report " + out + " --no-plot");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("train_report.json: cannot open"), std::string::npos) << bad.err;
}
