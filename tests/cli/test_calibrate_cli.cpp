// `offramp calibrate` and `offramp evaluate` as a user runs them: outputs, --write, the
// chosen point, and bad input (each a clear error, nothing half-written).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/fixtures.h"

namespace fs = std::filesystem;
using offramp::test::CommandResult;

namespace {

CommandResult cli(const std::string& args) { return offramp::test::run_command(std::string(OFFRAMP_CLI) + " " + args); }

// A writable copy of a fixture model (the backbone stays a link) and 120 dev lines.
struct Workdir {
  std::string dir, model, dev;
  explicit Workdir(const std::string& name) {
    dir = offramp::test::fresh_temp_dir(name);
    model = dir + "/model";
    fs::copy(offramp::test::test_models_dir() + "/minilm-heads-mean", model, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    dev = dir + "/dev.tsv";
    offramp::test::head_lines(offramp::test::repo_dir() + "/data/fine_foods/dev.tsv", dev, 120);
  }
};

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(std::ifstream(path)); }

}  // namespace

TEST(Calibrate, WritesSweepPlotAndStoresTheChosenThreshold) {
  Workdir w("calibrate_ok");
  const auto r = cli("calibrate " + w.model + " " + w.dev + " --out " + w.dir + "/out --timing-inputs 16 --write");
  ASSERT_EQ(r.rc, 0) << r.err << r.out;
  for (const char* f : {"sweep.csv", "sweep.json", "accuracy_vs_flops.png", "accuracy_vs_flops.svg"})
    EXPECT_TRUE(fs::exists(w.dir + "/out/" + f)) << f;
  std::ifstream png(w.dir + "/out/accuracy_vs_flops.png", std::ios::binary);
  std::string magic(8, '\0');
  png.read(magic.data(), 8);
  EXPECT_EQ(magic.substr(1, 3), "PNG");

  const auto j = read_json(w.dir + "/out/sweep.json");
  EXPECT_EQ(j["inputs"], 120);
  EXPECT_DOUBLE_EQ(j["full_depth"]["relative_flops"].get<double>(), 1.0);
  EXPECT_EQ(j["static"].size(), 6u);
  for (const char* p : {"max_prob", "entropy", "patience"}) EXPECT_GT(j["sweep"][p].size(), 2u) << p;
  const auto& chosen = j["chosen"];
  EXPECT_GE(chosen["accuracy"].get<double>(), j["full_depth"]["accuracy"].get<double>() - 0.01);
  EXPECT_TRUE(chosen.contains("ms_per_input_batch1"));
  EXPECT_TRUE(j["full_depth"].contains("ms_per_input_batch32"));
  // The cheapest point within one accuracy point: no cheaper point on the curve qualifies.
  for (const auto& p : j["sweep"]["max_prob"])
    if (p["relative_flops"].get<double>() < chosen["relative_flops"].get<double>()) {
      EXPECT_LT(p["accuracy"].get<double>(), j["full_depth"]["accuracy"].get<double>() - 0.01 - 1e-12);
    }

  // --write stored the fitted temperatures and the threshold (or the static exit)...
  const auto oc = read_json(w.model + "/offramp.json");
  if (chosen["kind"] == "static") {
    EXPECT_EQ(oc["policy"]["name"], "static");
    EXPECT_EQ(oc["policy"]["exit_layer"], chosen["layer"]);
  } else {
    EXPECT_DOUBLE_EQ(oc["policy"]["threshold"].get<double>(), chosen["threshold"].get<double>());
  }
  EXPECT_EQ(j["choice"]["method"], "point estimate");
  EXPECT_EQ(oc["calibration"]["method"], "point estimate");
  for (size_t e = 0; e < 6; ++e)
    EXPECT_FLOAT_EQ(oc["exits"][e]["temperature"].get<float>(), j["temperatures"][e]["temperature"].get<float>());
  // ...so evaluating the model on the same data reproduces the chosen point.
  const auto ev = cli("evaluate " + w.model + " " + w.dev + " --json " + w.dir + "/eval.json");
  ASSERT_EQ(ev.rc, 0) << ev.err;
  const auto e = read_json(w.dir + "/eval.json");
  EXPECT_DOUBLE_EQ(e["setting"]["accuracy"].get<double>(), chosen["accuracy"].get<double>());
  EXPECT_DOUBLE_EQ(e["setting"]["relative_flops"].get<double>(), chosen["relative_flops"].get<double>());
  EXPECT_NE(ev.out.find("full depth"), std::string::npos);
  // ...and shows what calibration predicted for it beside what the data measures.
  EXPECT_NE(ev.out.find("calibration (point estimate on " + w.dev + ", 120 inputs) predicted for"), std::string::npos)
      << ev.out;
  EXPECT_DOUBLE_EQ(e["calibration_predicted"]["accuracy"].get<double>(), chosen["accuracy"].get<double>());
  const auto& interval = e["calibration_predicted"]["accuracy_interval"];
  EXPECT_LE(interval[0].get<double>(), chosen["accuracy"].get<double>());
  EXPECT_GE(interval[1].get<double>(), chosen["accuracy"].get<double>());
}

TEST(Calibrate, AGuaranteeNeedsEnoughDevInputsAndSaysSo) {
  // 120 dev inputs cannot certify a 1-point drop at delta 0.1 (a setting that never differs from
  // full depth needs 410 with the default betting p-value, 299 with the binomial one):
  // Learn-then-Test falls back to full depth, stores it, and evaluate compares against it.
  Workdir w("calibrate_delta");
  const auto r = cli("calibrate " + w.model + " " + w.dev + " --out " + w.dir + "/out --timing-inputs 0 --no-plot "
                     "--max-drop 1 --delta 0.1 --write");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Learn-then-Test"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no setting could be certified on 120 dev inputs"), std::string::npos) << r.out;
  const auto j = read_json(w.dir + "/out/sweep.json");
  EXPECT_EQ(j["choice"]["method"], "Learn-then-Test");
  EXPECT_EQ(j["choice"]["inputs_needed"], 410);
  EXPECT_EQ(j["choice"]["bound"], "betting");
  const auto b = cli("calibrate " + w.model + " " + w.dev + " --out " + w.dir + "/out2 --timing-inputs 0 --no-plot "
                     "--max-drop 1 --delta 0.1 --bound binomial");
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(read_json(w.dir + "/out2/sweep.json")["choice"]["inputs_needed"], 299);
  EXPECT_NE(b.out.find("--delta 0.1 --bound binomial"), std::string::npos) << b.out;
  EXPECT_NE(cli("calibrate " + w.model + " " + w.dev + " --max-drop 1 --delta 0.1 --bound hoeffding").rc, 0);
  EXPECT_EQ(j["chosen"]["kind"], "full_depth");
  const auto oc = read_json(w.model + "/offramp.json");
  EXPECT_EQ(oc["policy"]["name"], "static");
  EXPECT_EQ(oc["policy"]["exit_layer"], 6);
  const auto ev = cli("evaluate " + w.model + " " + w.dev);
  ASSERT_EQ(ev.rc, 0) << ev.err;
  EXPECT_NE(ev.out.find("predicted for exit 6 alone"), std::string::npos) << ev.out;
  EXPECT_NE(ev.out.find("so 0.00 points lost"), std::string::npos) << ev.out;
  // --delta goes with --max-drop only.
  EXPECT_NE(cli("calibrate " + w.model + " " + w.dev + " --budget 0.5 --delta 0.1").rc, 0);
}

TEST(Calibrate, BudgetPicksTheMostAccuratePointWithinIt) {
  Workdir w("calibrate_budget");
  const auto r = cli("calibrate " + w.model + " " + w.dev + " --out " + w.dir + "/out --timing-inputs 0 --no-plot --budget 0.5");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = read_json(w.dir + "/out/sweep.json");
  const double rel = j["chosen"]["relative_flops"], acc = j["chosen"]["accuracy"];
  EXPECT_LE(rel, 0.5);
  for (const auto& p : j["sweep"]["max_prob"])
    if (p["relative_flops"].get<double>() <= 0.5) {
      EXPECT_LE(p["accuracy"].get<double>(), acc);
    }
  EXPECT_FALSE(fs::exists(w.dir + "/out/accuracy_vs_flops.png"));
}

TEST(Calibrate, BadInputIsAClearErrorAndWritesNothing) {
  Workdir w("calibrate_bad");
  const std::string before = std::string(std::istreambuf_iterator<char>(std::ifstream(w.model + "/offramp.json").rdbuf()), {});
  auto expect_error = [&](const std::string& args, const std::string& message) {
    const auto r = cli("calibrate " + args + " --timing-inputs 0 --write");
    EXPECT_EQ(r.rc, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(w.dir + "/out/sweep.json")) << args;
  };
  std::ofstream(w.dir + "/unknown.tsv") << "great\tLovely tea.\nother\tMeh.\nsuperb\tBest ever.\n";
  expect_error(w.model + " " + w.dir + "/unknown.tsv --out " + w.dir + "/out", "unknown.tsv:3: unknown label 'superb'");
  std::ofstream(w.dir + "/empty.tsv") << "";
  expect_error(w.model + " " + w.dir + "/empty.tsv --out " + w.dir + "/out", "empty");
  std::ofstream(w.dir + "/notab.tsv") << "great\tLovely tea.\nno tab on this line\n";
  expect_error(w.model + " " + w.dir + "/notab.tsv --out " + w.dir + "/out", "notab.tsv:2: expected 'label<TAB>text'");
  expect_error(offramp::test::test_models_dir() + "/tiny-plain " + w.dev + " --out " + w.dir + "/out", "no exit heads");
  std::ofstream(w.dir + "/a-file") << "x";
  expect_error(w.model + " " + w.dev + " --out " + w.dir + "/a-file/out", "cannot write");
  const std::string after = std::string(std::istreambuf_iterator<char>(std::ifstream(w.model + "/offramp.json").rdbuf()), {});
  EXPECT_EQ(before, after);  // --write never touched the model on failure

  const auto both = cli("calibrate " + w.model + " " + w.dev + " --max-drop 1 --budget 0.5");
  EXPECT_NE(both.rc, 0);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
}

TEST(Evaluate, ReportsFullDepthStaticExitsAndTheModelsSetting) {
  Workdir w("evaluate");
  const auto r = cli("evaluate " + w.model + " " + w.dev + " --threshold 0.7 --json " + w.dir + "/e.json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = read_json(w.dir + "/e.json");
  EXPECT_EQ(j["static"].size(), 6u);
  EXPECT_DOUBLE_EQ(j["setting"]["threshold"].get<double>(), 0.7);
  EXPECT_EQ(j["static"][5]["accuracy"], j["full_depth"]["accuracy"]);
  const auto bad = cli("evaluate " + w.model + " " + w.dir + "/missing.tsv");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("cannot open"), std::string::npos) << bad.err;
}
