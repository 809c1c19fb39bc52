// Every row of ../shared/spec/vectors/*.tsv, through the scalar definitions and every array path.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"
#include "hifp8/format/hif8_rank.h"
#include "hifp8/kernel/array_ops.h"
#include "support/shared_data.h"

namespace hifp8 {
namespace {

struct VectorFile {
  const char* format;
  const char* stem;
};
constexpr VectorFile kFiles[] = {{"hif8", "hif8"}, {"fp8_e4m3fn", "fp8_e4m3fn"}, {"fp8_e5m2", "fp8_e5m2"}};

std::string hex8(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02x", v);
  return buf;
}

class GoldenVectors : public testing::TestWithParam<VectorFile> {};

TEST_P(GoldenVectors, ScalarEncodeMatchesEveryRow) {
  const FormatInfo& format = find_format(GetParam().format);
  const auto rows = test::read_tsv(test::shared_path(std::string("spec/vectors/") + GetParam().stem + "_encode.tsv"));
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 3u);
    const float x = f32_from_bits(test::parse_hex(row[0]));
    EXPECT_EQ(hex8(format.encode(x, Overflow::plain)), row[1]) << "input " << row[0];
    EXPECT_EQ(hex8(format.encode(x, Overflow::saturate)), row[2]) << "input " << row[0] << " (saturating)";
  }
}

TEST_P(GoldenVectors, ArrayEncodeMatchesEveryRowOnEveryPath) {
  const FormatInfo& format = find_format(GetParam().format);
  const auto rows = test::read_tsv(test::shared_path(std::string("spec/vectors/") + GetParam().stem + "_encode.tsv"));
  std::vector<float> inputs;
  for (const auto& row : rows) inputs.push_back(f32_from_bits(test::parse_hex(row[0])));
  for (kernel::EncodePath path : {kernel::EncodePath::automatic, kernel::EncodePath::scalar, kernel::EncodePath::lut,
                                  kernel::EncodePath::math, kernel::EncodePath::vperm}) {
    if (!kernel::has_encode_path(format, path)) continue;
    for (Overflow overflow : {Overflow::plain, Overflow::saturate}) {
      std::vector<uint8_t> codes(inputs.size());
      kernel::encode(format, inputs.data(), codes.data(), inputs.size(), {overflow, 2, path});
      const size_t column = overflow == Overflow::plain ? 1 : 2;
      for (size_t i = 0; i < rows.size(); ++i)
        ASSERT_EQ(hex8(codes[i]), rows[i][column]) << "input " << rows[i][0] << " path "
                                                   << kernel::encode_path_name(path) << " column " << column;
    }
  }
}

TEST_P(GoldenVectors, DecodeMatchesEveryCodeBitForBit) {
  const FormatInfo& format = find_format(GetParam().format);
  const auto rows = test::read_tsv(test::shared_path(std::string("spec/vectors/") + GetParam().stem + "_decode.tsv"));
  ASSERT_EQ(rows.size(), 256u);
  std::vector<uint8_t> codes(256);
  for (int c = 0; c < 256; ++c) codes[c] = uint8_t(c);
  std::vector<float> f32(256);
  std::vector<uint16_t> bf16(256);
  kernel::decode(format, codes.data(), f32.data(), 256);
  kernel::decode(format, codes.data(), bf16.data(), kernel::DType::bf16, 256);
  for (const auto& row : rows) {
    const uint32_t code = test::parse_hex(row[0]);
    const uint32_t expected = test::parse_hex(row[1]);
    EXPECT_EQ(f32_bits(format.decode(uint8_t(code))), expected) << "code " << row[0];
    EXPECT_EQ(f32_bits(f32[code]), expected) << "code " << row[0] << " (array)";
    EXPECT_EQ(bf16[code], f32_to_bf16(f32_from_bits(expected))) << "code " << row[0] << " (bf16)";
  }
}

INSTANTIATE_TEST_SUITE_P(AllFiles, GoldenVectors, testing::ValuesIn(kFiles),
                         [](const auto& info) { return std::string(info.param.stem); });

// The rank layout has no vector file of its own: it must be the Ascend code put through the bijection.
TEST(GoldenVectorsRankLayout, RankEncodeIsAscendEncodeThroughTheTable) {
  const FormatInfo& rank = find_format("hif8-rank");
  const auto rows = test::read_tsv(test::shared_path("spec/vectors/hif8_encode.tsv"));
  for (const auto& row : rows) {
    const float x = f32_from_bits(test::parse_hex(row[0]));
    EXPECT_EQ(rank.encode(x, Overflow::plain), hif8::kAscendToRank[test::parse_hex(row[1])]) << row[0];
    EXPECT_EQ(rank.encode(x, Overflow::saturate), hif8::kAscendToRank[test::parse_hex(row[2])]) << row[0];
  }
}

}  // namespace
}  // namespace hifp8
