// ctest fixture step: writes the test model directories into OFFRAMP_TEST_MODELS.
//   minilm-heads       real all-MiniLM-L6-v2 backbone + seeded random [CLS] heads after every layer
//   minilm-heads-mean  the same with mean pooling
//   tiny               a tiny random BERT with heads;  tiny-plain: the same without heads
#include <filesystem>
#include <iostream>

#include "tests/support/fixtures.h"

int main() {
  namespace fs = std::filesystem;
  using namespace offramp::test;
  try {
    const fs::path out = test_models_dir();
    fs::create_directories(out);
    make_random_heads_model(minilm_dir(), (out / "minilm-heads").string(), 1234, "cls");
    make_random_heads_model(minilm_dir(), (out / "minilm-heads-mean").string(), 99, "mean");
    make_tiny_model((out / "tiny").string(), 7, true);
    make_tiny_model((out / "tiny-plain").string(), 7, false);
    std::cout << "test models written to " << out << "\n";
  } catch (const std::exception& e) {
    std::cerr << "make_fixtures: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
