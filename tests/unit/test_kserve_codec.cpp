// The Open Inference Protocol codec (server/kserve_codec.h): JSON and binary BYTES inputs,
// the exit parameters, requested outputs, and a response whose binary part decodes back to
// the results; each malformed request names its fault.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "server/kserve_codec.h"

using namespace offramp;
using namespace offramp::server;
using nlohmann::json;

namespace {

std::string bytes_element(const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  std::string out(4, '\0');
  std::memcpy(out.data(), &n, 4);
  return out + s;
}

std::string error_of(const std::string& body, std::optional<size_t> header = std::nullopt) {
  try {
    parse_infer_request(body, header);
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST(KserveCodec, JsonInputWithNestedDataAndParameters) {
  const auto r = parse_infer_request(
      R"({"id":"a1","parameters":{"threshold":0.8,"policy":"entropy","timeout":2500,"sequence_id":7},
          "inputs":[{"name":"text","datatype":"BYTES","shape":[2,1],"data":[["Tasty."],["Torn bag."]]}],
          "outputs":[{"name":"exit_layer"},{"name":"probabilities","parameters":{"binary_data":true}}]})",
      std::nullopt);
  EXPECT_EQ(r.id, "a1");
  EXPECT_EQ(r.texts, (std::vector<std::string>{"Tasty.", "Torn bag."}));
  EXPECT_DOUBLE_EQ(*r.options.threshold, 0.8);
  EXPECT_EQ(*r.options.policy, Policy::Entropy);
  EXPECT_EQ(r.timeout->count(), 2500);
  ASSERT_EQ(r.outputs.size(), 2u);
  EXPECT_EQ(r.outputs[0].name, "exit_layer");
  EXPECT_FALSE(r.outputs[0].binary);
  EXPECT_TRUE(r.outputs[1].binary);
}

TEST(KserveCodec, BinaryInputAsTritonclientSendsIt) {
  const std::string header =
      R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[3],"parameters":{"binary_data_size":23}}],"parameters":{"binary_data_output":true}})";
  const std::string data = bytes_element("Tasty.") + bytes_element("") + bytes_element("Torn.");
  ASSERT_EQ(data.size(), 23u);
  const auto r = parse_infer_request(header + data, header.size());
  EXPECT_EQ(r.texts, (std::vector<std::string>{"Tasty.", "", "Torn."}));  // the empty one: the batcher refuses it
  ASSERT_EQ(r.outputs.size(), 4u);  // none named: all, binary as asked
  for (const auto& o : r.outputs) EXPECT_TRUE(o.binary) << o.name;
}

TEST(KserveCodec, ResponseBinaryPartDecodesToTheResults) {
  InferRequest req;
  req.id = "x";
  req.outputs = {{"label", true}, {"probabilities", true}, {"exit_layer", false}, {"flops", true}};
  Result a, b;
  a.label = "great", a.probabilities = {0.25f, 0.75f}, a.exit_layer = 1, a.flops = 1.5e7;
  b.label = "other", b.probabilities = {0.875f, 0.125f}, b.exit_layer = 6, b.flops = 9.25e7;
  const auto resp = encode_infer_response("foods", req, {a, b}, 2);
  ASSERT_TRUE(resp.header_length);
  const json j = json::parse(resp.body.substr(0, *resp.header_length));
  EXPECT_EQ(j["model_name"], "foods");
  EXPECT_EQ(j["id"], "x");
  EXPECT_EQ(j["outputs"][2]["data"], json({1, 6}));
  EXPECT_EQ(j["outputs"][1]["shape"], json({2, 2}));
  std::string_view rest = std::string_view(resp.body).substr(*resp.header_length);
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 18);  // 2 x (4 + 5)
  EXPECT_EQ(rest.substr(0, 18), bytes_element("great") + bytes_element("other"));
  rest.remove_prefix(18);
  float probs[4];
  std::memcpy(probs, rest.data(), 16);
  EXPECT_EQ(probs[1], 0.75f);
  EXPECT_EQ(probs[2], 0.875f);
  rest.remove_prefix(16);
  double flops[2];
  ASSERT_EQ(rest.size(), 16u);
  std::memcpy(flops, rest.data(), 16);
  EXPECT_EQ(flops[1], 9.25e7);
}

TEST(KserveCodec, EachMalformedRequestNamesItsFault) {
  EXPECT_NE(error_of("[1,2").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":{}})").find("\"inputs\""), std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":[5]}]})").find("must be a string"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[-1],"data":["a"]}]})").find("non-negative"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[0],"data":[]}]})").find("empty"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["a"]}],"parameters":{"patience":1.5}})")
                .find("'patience' must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["a"]}],"parameters":{"timeout":-4}})")
                .find("'timeout' must be >= 0"),
            std::string::npos);
  // Binary: more elements than the shape, trailing bytes no input claims, a cut length prefix.
  const std::string h1 = R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":14}}]})";
  EXPECT_NE(error_of(h1 + bytes_element("abc") + bytes_element("def"), h1.size()).find("more elements"), std::string::npos);
  const std::string h2 = R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":7}}]})";
  EXPECT_NE(error_of(h2 + bytes_element("abc") + "zz", h2.size()).find("no input claims"), std::string::npos);
  const std::string h3 = R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":2}}]})";
  EXPECT_NE(error_of(h3 + "ab", h3.size()).find("4-byte length"), std::string::npos);
}
