#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"
#include "hifp8/format/hif8_rank.h"

namespace hifp8 {
namespace {

TEST(Registry, FindsFormatsByNameAndAlias) {
  EXPECT_EQ(find_format("hif8").id, FormatId::hif8);
  EXPECT_EQ(find_format("HiFloat8").id, FormatId::hif8);
  EXPECT_EQ(find_format("e4m3").id, FormatId::fp8_e4m3fn);
  EXPECT_EQ(find_format("float8_e5m2").id, FormatId::fp8_e5m2);
  EXPECT_EQ(find_format("hif8-rank").id, FormatId::hif8_rank);
  EXPECT_EQ(find_format("int8").id, FormatId::int8);
}

TEST(Registry, UnknownFormatIsAnErrorListingTheKnownOnes) {
  try {
    find_format("fp4");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown format 'fp4'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("hif8"), std::string::npos);
  }
}

// The metadata must agree with the generated value table (a typo in either shows here).
TEST(Registry, MetadataAgreesWithTheDecodeTable) {
  for (const FormatInfo& f : all_formats()) {
    float max = 0, min_positive = INFINITY;
    bool has_inf = false;
    std::set<uint32_t> finite_values;
    for (int c = 0; c < 256; ++c) {
      const float v = f.decode(uint8_t(c));
      if (std::isinf(v)) has_inf = true;
      if (!std::isfinite(v)) continue;
      finite_values.insert(f32_bits(v));
      max = std::max(max, v);
      if (v > 0) min_positive = std::min(min_positive, v);
    }
    EXPECT_EQ(max, f.max_finite) << f.name;
    EXPECT_EQ(min_positive, f.min_subnormal) << f.name;
    EXPECT_EQ(has_inf, f.has_inf) << f.name;
    EXPECT_EQ(f.encode(f.max_finite, Overflow::plain), f.encode(1e30f, Overflow::saturate)) << f.name;
  }
}

TEST(Hif8, SpecExamples) {
  const FormatInfo& f = find_format("hif8");
  EXPECT_EQ(f.decode(0x08), 1.0f);
  EXPECT_EQ(f.decode(0x18), 0.5f);
  EXPECT_EQ(f.decode(0x38), 0.125f);
  EXPECT_EQ(f.decode(0x7e), 0x1p-15f);
  EXPECT_EQ(f.decode(0x6e), 32768.0f);
  EXPECT_EQ(f.decode(0x01), 0x1p-22f);
  EXPECT_TRUE(std::isinf(f.decode(0x6f)));
  EXPECT_TRUE(std::isnan(f.decode(0x80)));
  EXPECT_EQ(f.encode(-0.0f, Overflow::plain), 0x00);
  EXPECT_EQ(f.encode(40960.0f, Overflow::plain), 0x6f);
  EXPECT_EQ(f.encode(40959.996f, Overflow::plain), 0x6e);
  EXPECT_EQ(f.encode(40960.0f, Overflow::saturate), 0x6e);
  // 38 binades, 126 finite non-zero values per sign.
  int finite_positive = 0;
  for (int c = 1; c < 128; ++c) finite_positive += std::isfinite(f.decode(uint8_t(c))) ? 1 : 0;
  EXPECT_EQ(finite_positive, 126);
}

TEST(Hif8Rank, IsAValueOrderedBijection) {
  std::set<int> seen;
  for (int c = 0; c < 256; ++c) seen.insert(hif8::kAscendToRank[c]);
  EXPECT_EQ(seen.size(), 256u);
  const FormatInfo& rank = find_format("hif8-rank");
  for (int r = 1; r < 127; ++r) EXPECT_LT(rank.decode(uint8_t(r - 1)), rank.decode(uint8_t(r))) << r;
  EXPECT_EQ(rank.decode(0), 0.0f);
  EXPECT_EQ(rank.decode(1), 0x1p-22f);
  EXPECT_EQ(rank.decode(126), 32768.0f);
  EXPECT_EQ(rank.decode(127), INFINITY);
  EXPECT_EQ(rank.decode(0xff), -INFINITY);
  EXPECT_TRUE(std::isnan(rank.decode(0x80)));
  for (int c = 0; c < 256; ++c) EXPECT_EQ(hif8::kRankToAscend[hif8::kAscendToRank[c]], c);
}

TEST(Int8, SymmetricClampAndTiesToEven) {
  const FormatInfo& f = find_format("int8");
  EXPECT_EQ(f.encode(0.5f, Overflow::plain), 0);
  EXPECT_EQ(f.encode(1.5f, Overflow::plain), 2);
  EXPECT_EQ(f.encode(-2.5f, Overflow::plain), uint8_t(-2));
  EXPECT_EQ(f.encode(1000.0f, Overflow::plain), 127);
  EXPECT_EQ(f.encode(-1000.0f, Overflow::plain), uint8_t(-127));
  EXPECT_EQ(f.encode(-INFINITY, Overflow::plain), uint8_t(-127));
  EXPECT_EQ(f.encode(NAN, Overflow::plain), 0);
  EXPECT_EQ(f.decode(0x80), -128.0f);  // never produced by encode, but decodable
}

}  // namespace
}  // namespace hifp8
