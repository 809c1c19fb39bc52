// safetensors reading and writing: round trips, every rejection rule on hostile headers, the fuzzer's
// regression inputs, sharding, model directories and atomic output directories.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/output_dir.h"
#include "hifp8/io/safetensors.h"
#include "hifp8/io/sharded_writer.h"
#include "support/temp_dir.h"

namespace hifp8::io {
namespace {
namespace fs = std::filesystem;

std::vector<uint8_t> file_image(const std::string& header_json, size_t data_bytes) {
  std::string image(8, '\0');
  for (size_t i = 0; i < 8; ++i) image[i] = char(uint64_t(header_json.size()) >> (8 * i));
  image += header_json;
  image.append(data_bytes, '\x5a');
  return {image.begin(), image.end()};
}

std::string parse_error(const std::vector<uint8_t>& image) {
  try {
    parse_safetensors_header(image, image.size(), "f.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, WriteThenReadRoundTrips) {
  test::TempDir dir;
  const std::vector<TensorSpec> specs = {{"a.weight", TensorDType::BF16, {3, 5}},
                                         {"b", TensorDType::F32, {}},
                                         {"empty", TensorDType::F8_E4M3, {0, 7}},
                                         {"codes", TensorDType::U8, {4}}};
  {
    SafetensorsWriter w(dir.path() / "x.safetensors", specs, {{"format", "pt"}});
    std::vector<uint8_t> a(30);
    for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t(i);
    w.write({a.data(), 7});  // in pieces
    w.write({a.data() + 7, 23});
    const float b = 2.5f;
    w.write({reinterpret_cast<const uint8_t*>(&b), 4});
    w.write(std::vector<uint8_t>{9, 8, 7, 6});
    w.finish();
  }
  const SafetensorsFile f = SafetensorsFile::open(dir.path() / "x.safetensors");
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const TensorInfo* a = f.find("a.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, TensorDType::BF16);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(f.bytes(*a)[29], 29);
  float b = 0;
  std::memcpy(&b, f.bytes(*f.find("b")).data(), 4);
  EXPECT_EQ(b, 2.5f);
  EXPECT_EQ(f.find("empty")->nbytes(), 0u);
  EXPECT_EQ(f.bytes(*f.find("codes"))[3], 6);
  f.release(*a);  // must not crash or change what is read afterwards
  EXPECT_EQ(f.bytes(*a)[29], 29);
}

TEST(Safetensors, WriterRejectsWrongByteCounts) {
  test::TempDir dir;
  SafetensorsWriter w(dir.path() / "x.safetensors", {{"a", TensorDType::U8, {4}}});
  EXPECT_THROW(w.write(std::vector<uint8_t>(5)), Error);
  w.write(std::vector<uint8_t>(3));
  EXPECT_THROW(w.finish(), Error);
}

TEST(Safetensors, HostileHeadersAreRejectedWithTheReason) {
  const struct {
    std::string header;
    size_t data;
    std::string message;
  } cases[] = {
      {"not json", 0, "not valid JSON"},
      {"[1,2]", 0, "not a JSON object"},
      {R"({"a":{"dtype":"F32","shape":[2]}})", 8, "no \"data_offsets\""},
      {R"({"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", 8, "unknown tensor dtype 'F31'"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, "non-negative integer"},
      {R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8, "non-negative integer"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, "spans 8 bytes but dtype F32 and its shape need 12"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, "end < begin"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4, "past the data buffer"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12, "overlaps"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12, "gap before tensor 'a'"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 9, "1 bytes not covered"},
      {R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8, "too large"},
      {R"({"__metadata__":{"k":1}})", 0, "not a string"},
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", 1, "[begin, end]"},
  };
  for (const auto& c : cases) {
    const std::string error = parse_error(file_image(c.header, c.data));
    EXPECT_NE(error.find(c.message), std::string::npos) << c.header << " -> " << error;
    EXPECT_NE(error.find("f.safetensors"), std::string::npos) << "the error names the file";
  }
}

TEST(Safetensors, TruncatedAndOversizedHeaders) {
  EXPECT_NE(parse_error({1, 2, 3}).find("truncated"), std::string::npos);
  std::vector<uint8_t> long_header = file_image("{}", 0);
  long_header[0] = 0xff;  // claims 255 bytes of header
  EXPECT_NE(parse_error(long_header).find("runs past the end"), std::string::npos);
  std::vector<uint8_t> huge(16, 0);
  huge[4] = 0x01;  // 2^32 bytes
  EXPECT_NE(parse_error(huge).find("exceeds 100 MB"), std::string::npos);
  // Every prefix of a valid file is rejected cleanly.
  const std::vector<uint8_t> valid = file_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
  for (size_t n = 0; n < valid.size(); ++n) {
    const std::vector<uint8_t> prefix(valid.begin(), valid.begin() + long(n));
    EXPECT_FALSE(parse_error(prefix).empty()) << n;
  }
  EXPECT_TRUE(parse_error(valid).empty());
}

// Inputs kept from fuzzing (scripts/fuzz.sh): each must parse or fail with an Error, never crash.
TEST(Safetensors, FuzzRegressionInputs) {
  const fs::path dir = fs::path(HIFP8_SOURCE_DIR) / "tests/io/safetensors_regressions";
  size_t count = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    parse_error(bytes);
    ++count;
  }
  EXPECT_GE(count, 4u);
}

TEST(ShardedWriter, SplitsBySizeAndWritesTheIndex) {
  test::TempDir dir;
  std::vector<TensorSpec> specs;
  for (int i = 0; i < 5; ++i) specs.push_back({"t" + std::to_string(i), TensorDType::U8, {400}});
  ShardedWriter w(dir.path(), specs, 1000);
  for (int i = 0; i < 5; ++i) {
    w.begin_tensor("t" + std::to_string(i));
    w.write(std::vector<uint8_t>(400, uint8_t(i)));
  }
  w.finish();
  EXPECT_EQ(w.shard_count(), 3u);  // 400+400 | 400+400 | 400
  const nlohmann::json index = read_json_file(dir.path() / "model.safetensors.index.json");
  EXPECT_EQ(index["metadata"]["total_size"], 2000);
  EXPECT_EQ(index["weight_map"]["t4"], "model-00003-of-00003.safetensors");
  const Checkpoint::Entry* e = nullptr;
  std::ofstream(dir.path() / "config.json") << R"({"architectures": ["LlamaForCausalLM"]})";
  const Checkpoint c = Checkpoint::open(dir.path());
  e = c.find("t3");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(c.bytes(*e)[0], 3);
  EXPECT_EQ(c.tensors().size(), 5u);
}

TEST(ShardedWriter, EnforcesDeclaredOrderAndCompleteness) {
  test::TempDir dir;
  ShardedWriter w(dir.path(), {{"a", TensorDType::U8, {1}}, {"b", TensorDType::U8, {1}}}, 1000);
  EXPECT_THROW(w.begin_tensor("b"), Error);
  w.begin_tensor("a");
  w.write(std::vector<uint8_t>{1});
  EXPECT_THROW(w.finish(), Error);
}

TEST(Checkpoint, BadModelDirectoriesAreClearErrors) {
  test::TempDir dir;
  auto expect_error = [&](const std::string& fragment) {
    try {
      Checkpoint::open(dir.path());
      ADD_FAILURE() << "expected an error containing " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error("no config.json");
  std::ofstream(dir.path() / "config.json") << R"({"model_type": "llama"})";
  expect_error("no \"architectures\"");
  std::ofstream(dir.path() / "config.json") << R"({"architectures": ["LlamaForCausalLM"]})";
  expect_error("no model.safetensors");
  std::ofstream(dir.path() / "model.safetensors.index.json")
      << R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors"}})";
  expect_error("missing shard model-00001-of-00002.safetensors");
  { SafetensorsWriter w(dir.path() / "model-00001-of-00002.safetensors", {{"b", TensorDType::U8, {0}}}); w.finish(); }
  expect_error("index maps 'a'");
}

TEST(OutputDir, RefusesExistingUnlessForcedAndCleansUpOnFailure) {
  test::TempDir dir;
  const fs::path target = dir.path() / "out";
  fs::create_directory(target);
  EXPECT_THROW(OutputDir(target, false), Error);
  {
    OutputDir out(target, true);
    std::ofstream(out.path() / "f") << "new";
    out.commit();
  }
  EXPECT_TRUE(fs::exists(target / "f"));
  {
    OutputDir out(dir.path() / "never", false);
    std::ofstream(out.path() / "f") << "x";
  }  // no commit: as if an error unwound
  EXPECT_FALSE(fs::exists(dir.path() / "never"));
  size_t leftovers = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) leftovers += e.path().filename().string()[0] == '.';
  EXPECT_EQ(leftovers, 0u);
}

TEST(ByteSize, ParsesHuggingFaceStyleSizes) {
  EXPECT_EQ(parse_byte_size("5GB"), 5'000'000'000ull);
  EXPECT_EQ(parse_byte_size("500MB"), 500'000'000ull);
  EXPECT_EQ(parse_byte_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("123"), 123ull);
  EXPECT_THROW(parse_byte_size("5XB"), Error);
  EXPECT_THROW(parse_byte_size("-1GB"), Error);
}

}  // namespace
}  // namespace hifp8::io
