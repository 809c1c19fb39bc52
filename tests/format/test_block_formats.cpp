// Block formats (MX, NVFP4, HiF4): every row of ../shared/spec/vectors/{mxfp4,mxfp8_e4m3,nvfp4,hif4}_blocks.tsv,
// and brute-force oracles written here for the element roundings and the scale codes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/block_formats.h"
#include "hifp8/format/fp4.h"
#include "hifp8/format/ocp_fp8.h"
#include "support/shared_data.h"

namespace hifp8 {
namespace {

std::vector<float> floats(const std::string& hex) {
  std::vector<float> out;
  for (size_t i = 0; i + 8 <= hex.size(); i += 8) out.push_back(f32_from_bits(test::parse_hex(hex.substr(i, 8))));
  return out;
}

std::string hex_bytes(const uint8_t* bytes, size_t n) {
  std::string s;
  char buf[4];
  for (size_t i = 0; i < n; ++i) std::snprintf(buf, sizeof buf, "%02x", bytes[i]), s += buf;
  return s;
}

std::string hex_floats(const float* v, size_t n) {
  std::string s;
  char buf[12];
  for (size_t i = 0; i < n; ++i) std::snprintf(buf, sizeof buf, "%08x", f32_bits(v[i])), s += buf;
  return s;
}

std::string packed(const uint8_t* codes, size_t n) {
  std::vector<uint8_t> bytes(n / 2);
  fp4::pack_pairs(codes, n, bytes.data());
  return hex_bytes(bytes.data(), bytes.size());
}

std::vector<std::vector<std::string>> rows(const char* file) {
  const auto r = test::read_tsv(test::shared_path(std::string("spec/vectors/") + file));
  EXPECT_FALSE(r.empty()) << file;
  return r;
}

struct MxFile {
  const char* file;
  block::MxElement element;
  bool fp4;
};

class MxVectors : public testing::TestWithParam<MxFile> {};

TEST_P(MxVectors, EveryRowBothScaleRules) {
  const MxFile f = GetParam();
  int nan_rows = 0, ct_rows = 0;
  for (const auto& row : rows(f.file)) {
    ASSERT_EQ(row.size(), 7u) << row[0];
    const std::vector<float> x = floats(row[1]);
    ASSERT_EQ(x.size(), size_t(block::kMxBlock));
    const std::string& what = row[0];
    for (const block::MxScaleRule rule : {block::MxScaleRule::floor, block::MxScaleRule::even}) {
      const bool ct = rule == block::MxScaleRule::even;
      const std::string& want_scale = row[ct ? 5 : 2];
      const std::string& want_codes = row[ct ? 6 : 3];
      uint8_t codes[block::kMxBlock];
      if (want_scale == "-") {  // the even rule defines none: hifp8 gives a NaN scale if the block
        bool finite = true;    // holds NaN/Inf (as the floor rule), and refuses a finite maximum >= 1.75 * 2^127
        for (float v : x) finite = finite && std::isfinite(v);
        if (finite) {
          EXPECT_THROW(block::mx_quantize(f.element, rule, x.data(), codes), Error) << what;
        } else {
          EXPECT_EQ(block::mx_quantize(f.element, rule, x.data(), codes), block::kE8M0Nan) << what;
        }
        continue;
      }
      const uint8_t scale = block::mx_quantize(f.element, rule, x.data(), codes);
      ASSERT_EQ(hex_bytes(&scale, 1), want_scale) << what << (ct ? " (even rule)" : " (floor rule)");
      float out[block::kMxBlock];
      block::mx_dequantize(f.element, scale, codes, out);
      if (scale == block::kE8M0Nan) {  // element codes are not normative; every output is NaN
        ++nan_rows;
        for (float v : out) EXPECT_TRUE(std::isnan(v)) << what;
        continue;
      }
      ct_rows += ct;
      EXPECT_EQ(f.fp4 ? packed(codes, block::kMxBlock) : hex_bytes(codes, block::kMxBlock), want_codes) << what;
      if (!ct) {
        EXPECT_EQ(hex_floats(out, block::kMxBlock), row[4]) << what;
      }
      // Outputs are decode(code) * 2^(byte - 127), here in double (the vectors give no even-rule outputs).
      for (int i = 0; i < block::kMxBlock; ++i) {
        const float element = f.fp4 ? fp4::e2m1_decode(codes[i]) : ocp::decode<ocp::E4M3FN>(codes[i]);
        EXPECT_EQ(f32_bits(out[i]), f32_bits(float(std::ldexp(double(element), int(scale) - 127)))) << what;
      }
    }
  }
  EXPECT_GT(nan_rows, 0);
  EXPECT_GT(ct_rows, 100);
}

INSTANTIATE_TEST_SUITE_P(Files, MxVectors,
                         testing::Values(MxFile{"mxfp4_blocks.tsv", block::MxElement::e2m1, true},
                                         MxFile{"mxfp8_e4m3_blocks.tsv", block::MxElement::e4m3, false}),
                         [](const auto& info) { return std::string(info.param.fp4 ? "mxfp4" : "mxfp8_e4m3"); });

TEST(Nvfp4Vectors, EveryRow) {
  for (const auto& row : rows("nvfp4_blocks.tsv")) {
    ASSERT_EQ(row.size(), 6u) << row[0];
    const float g = f32_from_bits(test::parse_hex(row[1]));
    const std::vector<float> w = floats(row[2]);
    ASSERT_EQ(w.size(), size_t(block::kNvfp4Block));
    uint8_t codes[block::kNvfp4Block];
    const uint8_t scale = block::nvfp4_quantize(g, w.data(), codes);
    EXPECT_EQ(hex_bytes(&scale, 1), row[3]) << row[0];
    EXPECT_EQ(packed(codes, block::kNvfp4Block), row[4]) << row[0];
    float out[block::kNvfp4Block];
    block::nvfp4_dequantize(g, scale, codes, out);
    EXPECT_EQ(hex_floats(out, block::kNvfp4Block), row[5]) << row[0];
  }
}

TEST(Nvfp4, GlobalScaleAsTheSpecComputesIt) {
  EXPECT_EQ(f32_bits(block::nvfp4_global_scale(20.0f)), 0x43066667u);  // spec section 6: (1/20) * 2688
  EXPECT_EQ(block::nvfp4_global_scale(0.0f), 1.0f);  // 2688 * 2^126 overflows: g = 1
  EXPECT_EQ(block::nvfp4_global_scale(INFINITY), 0.0f);
}

std::string bit_string(uint32_t bits, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (bits >> i) & 1u ? '1' : '0';
  return s;
}

TEST(Hif4Vectors, EveryRow) {
  for (const auto& row : rows("hif4_blocks.tsv")) {
    ASSERT_EQ(row.size(), 7u) << row[0];
    const std::vector<float> x = floats(row[1]);
    ASSERT_EQ(x.size(), size_t(block::kHif4Block));
    const block::Hif4Unit u = block::hif4_quantize(x.data());
    EXPECT_EQ(hex_bytes(&u.scale, 1), row[2]) << row[0];
    EXPECT_EQ(bit_string(u.e1, 8), row[3]) << row[0];
    EXPECT_EQ(bit_string(u.e2, 16), row[4]) << row[0];
    std::string codes;
    for (uint8_t c : u.codes) codes += "0123456789abcdef"[c];
    EXPECT_EQ(codes, row[5]) << row[0];
    float out[block::kHif4Block];
    block::hif4_dequantize(u, out);
    EXPECT_EQ(hex_floats(out, block::kHif4Block), row[6]) << row[0];
  }
}

// ---- Oracles written independently of the codecs ----

// E2M1: the nearest of the 16 values by exhaustive search, ties to the code whose mantissa bit is 0,
// saturating; on every midpoint, its float neighbours, and random values across the range.
constexpr double kE2M1Values[8] = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};  // microscaling.md section 1

uint8_t e2m1_oracle(float x) {
  const double a = std::fabs(double(x));
  if (a >= 6.0) return static_cast<uint8_t>((std::signbit(x) ? 8 : 0) | 7);  // saturation
  int best = 0;
  for (int m = 1; m < 8; ++m) {
    const double d = std::fabs(kE2M1Values[m] - a), db = std::fabs(kE2M1Values[best] - a);
    if (d < db || (d == db && (m & 1) == 0)) best = m;
  }
  return static_cast<uint8_t>((std::signbit(x) ? 8 : 0) | best);
}

TEST(Fp4Elements, E2M1EncodeEqualsExhaustiveNearest) {
  std::vector<float> inputs = {0.0f, -0.0f, 7.0f, -100.0f, 3e38f, 1e-40f, -1e-45f};
  for (int m = 0; m < 7; ++m) {
    const float mid = float((kE2M1Values[m] + kE2M1Values[m + 1]) / 2);
    for (float v : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 10.0f)}) inputs.push_back(v), inputs.push_back(-v);
  }
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> uniform(-8.0f, 8.0f);
  for (int i = 0; i < 200000; ++i) inputs.push_back(uniform(rng));
  for (float x : inputs) ASSERT_EQ(fp4::e2m1_encode(x), e2m1_oracle(x)) << x;
  for (uint8_t c = 0; c < 16; ++c) {
    EXPECT_EQ(double(fp4::e2m1_decode(c)), (c & 8 ? -1 : 1) * kE2M1Values[c & 7]) << int(c);
    EXPECT_EQ(fp4::e2m1_encode(fp4::e2m1_decode(c)), c) << int(c);  // every value round-trips
    EXPECT_EQ(fp4::s1p2_decode(c), (c & 8 ? -1.0f : 1.0f) * float(c & 7) / 4.0f);
  }
}

TEST(Fp4Elements, PackingIsLowNibbleFirst) {
  const uint8_t codes[4] = {0x7, 0xb, 0x1, 0x0};
  uint8_t bytes[2], back[4];
  fp4::pack_pairs(codes, 4, bytes);
  EXPECT_EQ(bytes[0], 0xb7);  // spec section 6: codes 7, B -> byte b7
  EXPECT_EQ(bytes[1], 0x01);
  fp4::unpack_pairs(bytes, 4, back);
  EXPECT_EQ(std::vector<uint8_t>(back, back + 4), std::vector<uint8_t>(codes, codes + 4));
}

TEST(ScaleCodes, EveryByteDecodesAsItsDefinition) {
  for (int b = 0; b < 256; ++b) {
    const uint8_t byte = static_cast<uint8_t>(b);
    if (b == 255) {
      EXPECT_TRUE(std::isnan(block::e8m0_decode(byte)));
      EXPECT_TRUE(std::isnan(block::e6m2_decode(byte)));
      continue;
    }
    EXPECT_EQ(double(block::e8m0_decode(byte)), std::pow(2.0, b - 127)) << b;
    EXPECT_EQ(double(block::e6m2_decode(byte)), (1.0 + (b & 3) / 4.0) * std::pow(2.0, (b >> 2) - 48)) << b;
  }
}

}  // namespace
}  // namespace hifp8
