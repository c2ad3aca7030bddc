// Runs every row of the bad-input catalogue (catalogue.h) through the real `offramp` binary.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "models/safetensors.h"
#include "tests/catalogue/catalogue.h"
#include "tests/support/fixtures.h"

namespace offramp::test::catalogue {

void edit_json(const fs::path& file, const std::function<void(nlohmann::json&)>& edit) {
  auto j = nlohmann::json::parse(std::ifstream(file));
  edit(j);
  write_text(file, j.dump(1));
}

void write_text(const fs::path& file, const std::string& text) {
  fs::remove(file);  // a hard or symbolic link to a shared fixture must not be written through
  std::ofstream(file, std::ios::binary) << text;
}

void make_fifo(const fs::path& file) {
  fs::remove(file);
  if (::mkfifo(file.c_str(), 0600) != 0) throw std::runtime_error(file.string() + ": mkfifo failed");
}

void poke(const fs::path& file, uint64_t offset, const std::string& bytes) {
  std::string all;
  {
    std::ifstream in(file, std::ios::binary);
    all.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (offset + bytes.size() > all.size()) throw std::runtime_error(file.string() + ": poke past the end");
  all.replace(offset, bytes.size(), bytes);
  write_text(file, all);
}

void poke_data(const fs::path& file, uint64_t offset, const std::string& bytes) {
  uint64_t header_len = 0;  // little-endian u64 before the JSON header
  std::ifstream(file, std::ios::binary).read(reinterpret_cast<char*>(&header_len), 8);
  poke(file, 8 + header_len + offset, bytes);
}

namespace {

// Rewrites `file` through the project's writer, letting `edit` change the tensor list.
void rewrite(const fs::path& file, const std::function<void(std::vector<models::NamedTensor>&)>& edit) {
  std::vector<models::NamedTensor> ts;
  {
    const auto f = models::SafetensorsFile::open(file.string());
    for (const auto& [name, info] : f.tensors()) ts.push_back({name, info.shape, f.read_f32(name, info.shape)});
  }
  edit(ts);
  fs::remove(file);
  models::write_safetensors(file.string(), ts);
}

}  // namespace

void reshape_tensor(const fs::path& file, const std::string& tensor, const std::vector<int64_t>& shape) {
  rewrite(file, [&](auto& ts) {
    for (auto& t : ts)
      if (t.name == tensor) {
        size_t numel = 1;
        for (auto d : shape) numel *= static_cast<size_t>(d);
        t.shape = shape;
        t.values.assign(numel, 0.1f);
      }
  });
}

void drop_tensor(const fs::path& file, const std::string& tensor) {
  rewrite(file, [&](auto& ts) { std::erase_if(ts, [&](const auto& t) { return t.name == tensor; }); });
}

namespace {

std::vector<BadInput> all_cases() {
  std::vector<BadInput> all;
  for (auto part : {model_cases(), tokenizer_cases(), cli_cases()}) all.insert(all.end(), part.begin(), part.end());
  return all;
}

fs::path base_dir(Base b) {
  const fs::path repo = repo_dir();
  switch (b) {
    case Base::Tiny: return fs::path(test_models_dir()) / "tiny";
    case Base::TinyPlain: return fs::path(test_models_dir()) / "tiny-plain";
    case Base::Sentencepiece: return repo / "models/fine-foods-tiny";
    case Base::Roberta: return repo / "tests/golden/families/roberta/task";
    case Base::XlmRoberta: return repo / "tests/golden/families/xlm-roberta/task";
    case Base::None: break;
  }
  return {};
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

class Catalogue : public ::testing::TestWithParam<BadInput> {};

TEST_P(Catalogue, FailsWithItsMessage) {
  const BadInput& c = GetParam();
  const fs::path scratch = fresh_temp_dir(std::string("catalogue_") + c.name);
  const fs::path model = scratch / "model";
  if (c.base != Base::None) fs::copy(base_dir(c.base), model, fs::copy_options::recursive);
  if (c.setup) c.setup(model, scratch);
  const std::string args = replace_all(replace_all(c.args, "{model}", model.string()), "{scratch}", scratch.string());
  // `timeout` turns a hang (a FIFO opened for reading, say) into a failure instead of a stuck suite.
  const auto r = run_command("timeout -k 5 60 " + std::string(OFFRAMP_CLI) + " " + args, c.stdin_text);
  EXPECT_EQ(r.rc, 1) << "offramp " << args << "\nstderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << "nothing may reach stdout before the error: " << r.out;
  for (const auto& part : c.says) EXPECT_NE(r.err.find(part), std::string::npos) << "wanted '" << part << "' in: " << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  fs::remove_all(scratch);
}

INSTANTIATE_TEST_SUITE_P(BadInputs, Catalogue, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CatalogueSize, HoldsAtLeastSixtyDistinctRows) {
  const auto all = all_cases();
  std::set<std::string> names;
  for (const auto& c : all) names.insert(c.name);
  EXPECT_EQ(names.size(), all.size()) << "two rows share a name";
  EXPECT_GE(all.size(), 60u);
}

}  // namespace

}  // namespace offramp::test::catalogue
