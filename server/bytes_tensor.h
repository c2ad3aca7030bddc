// The binary form of a BYTES tensor element in the Open Inference Protocol (Triton's binary
// data extension and gRPC raw contents): a 4-byte little-endian length, then the bytes.
// Header-only: offramp serve's codec and offramp-grpc-front (which links no libofframp) both
// write it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace offramp::server {

inline void append_bytes_element(std::string& out, std::string_view element) {
  const auto n = static_cast<uint32_t>(element.size());
  const char len[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                       static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
  out.append(len, 4).append(element);
}

}  // namespace offramp::server
