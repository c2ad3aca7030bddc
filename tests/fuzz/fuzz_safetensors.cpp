// Fuzzes the safetensors reader (models/safetensors.cpp): open, then read every tensor it
// accepted with its own shape. Any exception other than the reader's ModelError
// (std::runtime_error), a crash, a leak or an allocation past libFuzzer's limit is a finding.
//
// Structure-aware mutation (libFuzzer builds): most mutations keep the layout valid (8-byte
// little-endian header length, JSON header, data) so they reach the checks of dtype, shape
// and offsets instead of dying at the length prefix; numbers in the header are swapped for
// boundary values (0, -1, 2^63, 2^64 - 1, ...).
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "models/safetensors.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = offramp::fuzz::scratch_file("model.safetensors", data, size);
  try {
    const auto file = offramp::models::SafetensorsFile::open(path);
    for (const auto& [name, info] : file.tensors()) {
      try {
        const auto values = file.read_f32(name, info.shape);
        (void)values;
      } catch (const std::runtime_error&) {
      }
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}

#ifdef OFFRAMP_LIBFUZZER
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

const char* const kBoundaryNumbers[] = {"0", "1", "-1", "2", "3", "4", "7", "8", "255", "65536",
                                        "2147483647", "2147483648", "4294967295", "4294967296",
                                        "9223372036854775807", "9223372036854775808",
                                        "18446744073709551615", "18446744073709551616", "1e308", "0.5"};

// Replaces one run of digits (with its sign) in the header by a boundary value or a neighbour.
void swap_number(std::string& header, std::minstd_rand& rng) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < header.size(); ++i)
    if (isdigit(static_cast<unsigned char>(header[i])) && (i == 0 || !isdigit(static_cast<unsigned char>(header[i - 1]))))
      starts.push_back(i);
  if (starts.empty()) return;
  size_t b = starts[rng() % starts.size()], e = b;
  while (e < header.size() && isdigit(static_cast<unsigned char>(header[e]))) ++e;
  if (b > 0 && header[b - 1] == '-') --b;
  std::string value = kBoundaryNumbers[rng() % std::size(kBoundaryNumbers)];
  if (rng() % 3 == 0) {  // the old value plus or minus one
    // Unsigned, so the neighbours of the extremes wrap instead of overflowing.
    const auto v = static_cast<unsigned long long>(std::strtoll(header.c_str() + b, nullptr, 10));
    value = std::to_string(static_cast<long long>(rng() % 2 ? v + 1 : v - 1));
  }
  header.replace(b, e - b, value);
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  std::minstd_rand rng(seed);
  uint64_t n = 0;
  if (size >= 8) std::memcpy(&n, data, 8);
  if (size < 8 || n > size - 8 || rng() % 5 == 0) return LLVMFuzzerMutate(data, size, max_size);
  std::string header(reinterpret_cast<const char*>(data) + 8, n);
  std::string rest(reinterpret_cast<const char*>(data) + 8 + n, size - 8 - n);
  switch (rng() % 3) {
    case 0:
      swap_number(header, rng);
      break;
    case 1: {  // bytes of the header only, the length prefix kept in step
      header.resize(std::max<size_t>(header.size() * 2, 16));
      header.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(header.data()), n, header.size()));
      break;
    }
    default:  // a shorter or longer data section
      rest.resize(rng() % 2 ? rest.size() / 2 : rest.size() + 1 + rng() % 64, '\x3f');
  }
  const uint64_t len = header.size();
  if (8 + header.size() + rest.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, &len, 8);
  std::memcpy(data + 8, header.data(), header.size());
  std::memcpy(data + 8 + header.size(), rest.data(), rest.size());
  return 8 + header.size() + rest.size();
}
#endif
