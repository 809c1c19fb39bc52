// QuantizedTensor against a plain reference: group index per element computed from its coordinates,
// amax per group, scale = amax / target, code = scalar encode(x / scale) with saturation.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"
#include "hifp8/quant/error_stats.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8 {
namespace {

size_t group_of(size_t flat, const std::vector<int64_t>& shape, const Granularity& g) {
  const size_t cols = size_t(shape.back());
  const size_t row = flat / cols, col = flat % cols;
  switch (g.kind) {
    case GranularityKind::tensor: return 0;
    case GranularityKind::channel:
    case GranularityKind::token: return row;
    case GranularityKind::group: return row * (cols / size_t(g.group_size)) + col / size_t(g.group_size);
    case GranularityKind::block: {
      const size_t grid_cols = (cols + size_t(g.block_cols) - 1) / size_t(g.block_cols);
      return (row / size_t(g.block_rows)) * grid_cols + col / size_t(g.block_cols);
    }
  }
  return 0;
}

struct Reference {
  std::vector<uint8_t> codes;
  std::vector<float> scales;
};

Reference reference_quantize(const std::vector<float>& x, const std::vector<int64_t>& shape, const FormatInfo& f,
                             const Granularity& g, float target, size_t groups) {
  Reference r{std::vector<uint8_t>(x.size()), std::vector<float>(groups, 0.0f)};
  std::vector<float> amax(groups, 0.0f);
  for (size_t i = 0; i < x.size(); ++i) amax[group_of(i, shape, g)] = std::max(amax[group_of(i, shape, g)], std::fabs(x[i]));
  for (size_t k = 0; k < groups; ++k) r.scales[k] = amax[k] == 0 ? 1.0f : std::max(amax[k] / target, FLT_MIN);
  for (size_t i = 0; i < x.size(); ++i) r.codes[i] = f.encode(x[i] / r.scales[group_of(i, shape, g)], Overflow::saturate);
  return r;
}

std::vector<float> heavy_tailed(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(3.0f);
  std::vector<float> x(n);
  for (float& v : x) v = t(rng) * 0.02f;
  return x;
}

struct Case {
  const char* granularity;
  std::vector<int64_t> shape;
};

const std::vector<Case>& every_granularity() {
  static const std::vector<Case> cases = {
      {"tensor", {3, 5, 7}},   {"tensor", {100000}},     {"channel", {64, 96}},        {"token", {5, 4096}},
      {"channel", {1, 1}},     {"group:32", {6, 128}},   {"group:128", {3, 2, 256}},   {"group:64", {512, 64}},
      {"block", {130, 260}},   {"block:128x128", {256, 384}}, {"block:16x8", {33, 17}}, {"block:4", {2, 3, 9}},
  };
  return cases;
}

TEST(Quantize, MatchesTheReferenceForEveryFormatAndGranularity) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (const FormatInfo& f : all_formats()) {
    for (const Case& c : every_granularity()) {
      const Granularity g = Granularity::parse(c.granularity);
      const size_t n = numel(c.shape);
      const std::vector<float> x = heavy_tailed(n, seed + uint32_t(n));
      for (int threads : {1, 2, 3}) {
        const QuantizedTensor q = quantize(x, c.shape, f, g, {.threads = threads});
        const Reference r = reference_quantize(x, c.shape, f, g, default_target(f), q.scales.size());
        ASSERT_EQ(q.scale_shape, g.scale_shape(c.shape));
        ASSERT_EQ(q.scales.size(), numel(q.scale_shape));
        for (size_t k = 0; k < r.scales.size(); ++k) ASSERT_EQ(q.scales[k], r.scales[k]) << f.name << " " << c.granularity << " scale " << k;
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(q.codes[i], r.codes[i]) << f.name << " " << c.granularity << " element " << i;
        const std::vector<float> y = dequantize(q, threads);
        for (size_t i = 0; i < n; ++i)
          ASSERT_EQ(y[i], f.decode(r.codes[i]) * r.scales[group_of(i, c.shape, g)]) << f.name << " " << c.granularity;
      }
    }
  }
}

TEST(Quantize, ScaleShapes) {
  const std::vector<int64_t> w = {300, 520};
  EXPECT_EQ(Granularity::parse("tensor").scale_shape(w), (std::vector<int64_t>{1}));
  EXPECT_EQ(Granularity::parse("channel").scale_shape(w), (std::vector<int64_t>{300, 1}));
  EXPECT_EQ(Granularity::parse("group:40").scale_shape(w), (std::vector<int64_t>{300, 13}));
  EXPECT_EQ(Granularity::parse("block").scale_shape(w), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(Granularity::parse("block:64x256").scale_shape(w), (std::vector<int64_t>{5, 3}));
}

TEST(Quantize, AllZeroGroupsDecodeToZeros) {
  std::vector<float> x(4 * 64, 0.0f);
  for (int i = 64; i < 128; ++i) x[i] = float(i) * 0.01f;  // only row 1 non-zero
  for (const FormatInfo& f : all_formats()) {
    const QuantizedTensor q = quantize(x, std::vector<int64_t>{4, 64}, f, Granularity::parse("channel"));
    const std::vector<float> y = dequantize(q);
    for (int i = 0; i < 256; ++i) {
      if (i < 64 || i >= 128) {
        ASSERT_EQ(y[i], 0.0f) << f.name << " " << i;
      }
    }
    EXPECT_EQ(q.scales[0], 1.0f);
  }
  const QuantizedTensor empty = quantize({}, std::vector<int64_t>{0, 16}, find_format("hif8"), Granularity::parse("channel"));
  EXPECT_TRUE(empty.codes.empty());
  EXPECT_TRUE(dequantize(empty).empty());
}

TEST(Quantize, NonFiniteInputIsAnErrorNamingThePosition) {
  std::vector<float> x(3 * 4, 1.0f);
  x[6] = NAN;  // row 1, column 2
  try {
    quantize(x, std::vector<int64_t>{3, 4}, find_format("e4m3"), Granularity::parse("channel"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 2]"), std::string::npos) << e.what();
  }
}

TEST(Quantize, ClampPolicyMapsNanToZeroAndInfToTheLargestFiniteValue) {
  std::vector<float> x = {1.0f, -2.0f, NAN, INFINITY, -INFINITY, 0.5f};
  for (const FormatInfo& f : all_formats()) {
    const QuantizedTensor q = quantize(x, std::vector<int64_t>{6}, f, Granularity::parse("tensor"),
                                       {.nonfinite = NonFinitePolicy::clamp});
    const std::vector<float> y = dequantize(q);
    EXPECT_EQ(y[2], 0.0f) << f.name;
    EXPECT_NEAR(y[3], 2.0f, 1e-6) << f.name;
    EXPECT_NEAR(y[4], -2.0f, 1e-6) << f.name;
  }
}

TEST(Quantize, ShapeAndOptionMismatchesAreErrors) {
  const FormatInfo& f = find_format("hif8");
  const std::vector<float> x(12, 1.0f);
  EXPECT_THROW(quantize(x, std::vector<int64_t>{5, 2}, f, Granularity::parse("tensor")), Error);    // 10 != 12
  EXPECT_THROW(quantize(x, std::vector<int64_t>{2, 6}, f, Granularity::parse("group:4")), Error);   // 6 % 4
  EXPECT_THROW(quantize(x, std::vector<int64_t>{12}, f, Granularity::parse("block")), Error);       // 1-D
  EXPECT_THROW(quantize(x, std::vector<int64_t>{12}, f, Granularity::parse("tensor"), {.target = 1e6f}), Error);
  EXPECT_THROW(quantize(x, std::vector<int64_t>{12}, f, Granularity::parse("tensor"), {.target = -1.0f}), Error);
  EXPECT_THROW(Granularity::parse("rows"), Error);
  EXPECT_THROW(Granularity::parse("group:0"), Error);
  EXPECT_THROW(Granularity::parse("block:8xq"), Error);
}

// Dynamic fake-quant equals dequantize(quantize(x)); given scales are used as given (the reference:
// decode(encode_sat(x / s)) * s per element with s looked up from the element's coordinates).
TEST(FakeQuantize, DynamicEqualsQuantizeThenDequantizeAndStaticUsesTheGivenScales) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale_dist(1e-4f, 1e-2f);
  for (const FormatInfo& f : all_formats()) {
    for (const Case& c : every_granularity()) {
      const Granularity g = Granularity::parse(c.granularity);
      const size_t n = numel(c.shape);
      const std::vector<float> x = heavy_tailed(n, seed + uint32_t(n));
      std::vector<float> scales(numel(g.scale_shape(c.shape)));
      for (float& s : scales) s = scale_dist(rng);
      for (int threads : {1, 3}) {
        std::vector<float> dynamic(n), fixed(n);
        fake_quantize(x, c.shape, f, g, {}, dynamic, {.threads = threads});
        ASSERT_EQ(dynamic, dequantize(quantize(x, c.shape, f, g, {.threads = threads}))) << f.name << " " << c.granularity;
        fake_quantize(x, c.shape, f, g, scales, fixed, {.threads = threads});
        for (size_t i = 0; i < n; ++i) {
          const float s = scales[group_of(i, c.shape, g)];
          ASSERT_EQ(fixed[i], f.decode(f.encode(x[i] / s, Overflow::saturate)) * s) << f.name << " " << c.granularity << " " << i;
        }
      }
    }
  }
}

TEST(FakeQuantize, NonFiniteValuesEncodeAsTheFormatEncodesThemAndInPlaceWorks) {
  for (const FormatInfo& f : all_formats()) {
    std::vector<float> x = {1.0f, -2.0f, NAN, INFINITY, -INFINITY, 0.5f, 0.0f, -0.0f};
    const std::vector<int64_t> shape = {2, 4};
    const float s = 2.0f / default_target(f);  // the amax of the finite values sets the scale
    fake_quantize(x, shape, f, Granularity::parse("tensor"), {}, x);  // in place
    EXPECT_EQ(x[1], -2.0f) << f.name;
    EXPECT_EQ(std::isnan(x[2]), std::isnan(f.decode(f.encode(NAN, Overflow::saturate)))) << f.name;
    EXPECT_EQ(x[3], f.max_finite * s) << f.name;  // saturated
    EXPECT_EQ(x[4], -f.max_finite * s) << f.name;
    EXPECT_EQ(x[6], 0.0f) << f.name;
  }
  std::vector<float> empty_out;
  fake_quantize({}, std::vector<int64_t>{0, 8}, find_format("e4m3"), Granularity::parse("channel"), {}, empty_out);
}

TEST(FakeQuantize, BadScalesAndShapesAreErrors) {
  const FormatInfo& f = find_format("e4m3");
  const std::vector<float> x(12, 1.0f);
  std::vector<float> out(12);
  const std::vector<int64_t> shape = {3, 4};
  const Granularity channel = Granularity::parse("channel");
  const std::vector<float> two = {1.0f, 1.0f};
  EXPECT_THROW(fake_quantize(x, shape, f, channel, two, out), Error);  // 3 rows need 3 scales
  for (float bad : {0.0f, -1.0f, INFINITY, NAN}) {
    const std::vector<float> scales = {1.0f, bad, 1.0f};
    EXPECT_THROW(fake_quantize(x, shape, f, channel, scales, out), Error) << bad;
  }
  std::vector<float> short_out(11);
  EXPECT_THROW(fake_quantize(x, shape, f, channel, {}, short_out), Error);
  EXPECT_THROW(fake_quantize(x, std::vector<int64_t>{2, 6}, f, Granularity::parse("group:4"), {}, out), Error);
}

// Sanity bounds on what each format costs on heavy-tailed (Student-t, 3 dof) weights, per channel.
TEST(Quantize, SqnrIsInTheExpectedRangePerFormat) {
  const std::vector<int64_t> shape = {256, 1024};
  const std::vector<float> x = heavy_tailed(numel(shape), std::random_device{}());
  const struct {
    const char* format;
    double min_db;
  } bounds[] = {{"hif8", 26.0}, {"fp8_e4m3fn", 26.0}, {"fp8_e5m2", 20.0}, {"int8", 24.0}};
  for (const auto& b : bounds) {
    const QuantizedTensor q = quantize(x, shape, find_format(b.format), Granularity::parse("channel"));
    const ErrorStats s = error_stats(x, dequantize(q));
    EXPECT_GT(s.sqnr_db, b.min_db) << b.format;
    EXPECT_LT(s.sqnr_db, 60.0) << b.format;
  }
}

}  // namespace
}  // namespace hifp8
