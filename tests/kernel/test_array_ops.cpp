// The array kernels against the scalar definitions, on every instruction set Highway built for
// (AVX-512, AVX2, SSE4, ... as the CPU allows), with special values, odd sizes and thread counts.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <array>
#include <cmath>
#include <functional>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"
#include "hifp8/kernel/array_ops.h"
#include "kernel/cpu/hif8_avx512.h"
#include "kernel/cpu/simd.h"

namespace hifp8 {
namespace {

using kernel::DType;
using kernel::EncodePath;

constexpr size_t kSizes[] = {0, 1, 7, 16, 17, 63, 64, 65, 1000, 4099, 100003};
constexpr EncodePath kPaths[] = {EncodePath::automatic, EncodePath::scalar, EncodePath::lut, EncodePath::math,
                                 EncodePath::vperm};

// Fresh random data each run (seed printed on failure): wide-range values with specials mixed in.
std::vector<float> random_inputs(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> log_magnitude(-30.0f, 20.0f);
  std::uniform_int_distribution<int> pick(0, 40);
  const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1e-40f, -1e-45f, 3e38f, 40960.0f, 464.0f};
  std::vector<float> x(n);
  for (float& v : x) {
    const int p = pick(rng);
    v = p < 11 ? specials[p] : std::exp2(log_magnitude(rng)) * (p % 2 ? -1.0f : 1.0f);
  }
  return x;
}

// Runs `body` once per SIMD target compiled in and supported here, then restores normal dispatch.
template <class Body>
void for_each_target(Body body) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST(ArrayEncode, EveryPathEqualsScalarOnEveryTarget) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto check = [&](const FormatInfo& f, EncodePath path, Overflow o, size_t n, int threads) {
    const std::vector<float> x = random_inputs(n, seed + uint32_t(n));
    std::vector<uint8_t> got(n, 0xAA);
    kernel::encode(f, x.data(), got.data(), n, {o, threads, path});
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(got[i], f.encode(x[i], o)) << f.name << " " << kernel::encode_path_name(path) << " x=" << x[i]
                                           << " i=" << i << " n=" << n;
    }
  };
  for_each_target([&] {
    for (const FormatInfo& f : all_formats()) {
      for (EncodePath path : kPaths) {
        if (!kernel::has_encode_path(f, path)) continue;
        for (Overflow o : {Overflow::plain, Overflow::saturate}) {
          for (size_t n : kSizes) {
            check(f, path, o, n, 1);
            check(f, path, o, n, 3);
          }
        }
      }
    }
  });
}

TEST(ArrayEncode, UnavailablePathIsAnError) {
  std::vector<float> x(4, 1.0f);
  std::vector<uint8_t> codes(4);
  EXPECT_THROW(kernel::encode(find_format("e4m3"), x.data(), codes.data(), 4, {Overflow::plain, 1, EncodePath::lut}),
               Error);
}

TEST(ArrayEncode, Bf16AndF16InputsEncodeLikeTheirFloat32Values) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = uint16_t(i);
  for_each_target([&] {
    for (const FormatInfo& f : all_formats()) {
      std::vector<uint8_t> from_bf16(65536), from_f16(65536);
      kernel::encode(f, all.data(), DType::bf16, from_bf16.data(), all.size(), {Overflow::saturate, 2});
      kernel::encode(f, all.data(), DType::f16, from_f16.data(), all.size(), {Overflow::plain, 2});
      for (uint32_t i = 0; i < 65536; ++i) {
        ASSERT_EQ(from_bf16[i], f.encode(bf16_to_f32(uint16_t(i)), Overflow::saturate)) << f.name << " bf16 " << i;
        ASSERT_EQ(from_f16[i], f.encode(f16_to_f32(uint16_t(i)), Overflow::plain)) << f.name << " f16 " << i;
      }
    }
  });
}

// f16_to_f32 against the compiler's own _Float16 conversion (an independent implementation).
TEST(Widening, F16MatchesTheCompilersFloat16) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const uint16_t bits = uint16_t(i);
    _Float16 h;
    std::memcpy(&h, &bits, 2);
    const float expected = static_cast<float>(h);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(bits))) << i;
    } else {
      EXPECT_EQ(f32_bits(f16_to_f32(bits)), f32_bits(expected)) << i;
    }
  }
}

TEST(ArrayDecode, EqualsTheTableToF32AndBf16) {
  const uint32_t seed = std::random_device{}();
  for_each_target([&] {
    for (const FormatInfo& f : all_formats()) {
      for (size_t n : kSizes) {
        std::mt19937 rng(seed + uint32_t(n));
        std::vector<uint8_t> codes(n);
        for (uint8_t& c : codes) c = uint8_t(rng());
        std::vector<float> out(n);
        std::vector<uint16_t> out_bf16(n);
        kernel::decode(f, codes.data(), out.data(), n, 3);
        kernel::decode(f, codes.data(), out_bf16.data(), DType::bf16, n, 3);
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(f32_bits(out[i]), f32_bits(f.decode(codes[i]))) << f.name << " code " << int(codes[i]);
          ASSERT_EQ(out_bf16[i], f32_to_bf16(f.decode(codes[i]))) << f.name << " code " << int(codes[i]);
          if (!std::isnan(out[i])) {
            ASSERT_EQ(bf16_to_f32(out_bf16[i]), out[i]) << "decoded values are exact in bf16";
          }
        }
      }
    }
  });
}

// float16 output: every code of every format decodes to a float16 that widens back to the exact value.
TEST(ArrayDecode, F16OutputIsExactForEveryCode) {
  std::vector<uint8_t> codes(256);
  for (int c = 0; c < 256; ++c) codes[size_t(c)] = uint8_t(c);
  for (const FormatInfo& f : all_formats()) {
    std::vector<uint16_t> out(256);
    kernel::decode(f, codes.data(), out.data(), DType::f16, 256, 2);
    for (int c = 0; c < 256; ++c) {
      const float v = f.decode(uint8_t(c)), back = f16_to_f32(out[size_t(c)]);
      if (std::isnan(v)) EXPECT_TRUE(std::isnan(back)) << f.name << " code " << c;
      else EXPECT_EQ(f32_bits(back), f32_bits(v)) << f.name << " code " << c << " value " << v;
    }
  }
}

TEST(FakeQuant, EqualsScalarDivideEncodeDecodeMultiply) {
  const uint32_t seed = std::random_device{}();
  for_each_target([&] {
    for (const FormatInfo& f : all_formats())
      for (float scale : {1.0f, 0.0137f, 300.0f})
        for (size_t n : kSizes) {
          const std::vector<float> x = random_inputs(n, seed + uint32_t(n));
          std::vector<float> y(n);
          kernel::fake_quant(f, x.data(), y.data(), n, scale, {Overflow::saturate, 2});
          for (size_t i = 0; i < n; ++i) {
            const float expected = f.decode(f.encode(x[i] / scale, Overflow::saturate)) * scale;
            ASSERT_EQ(f32_bits(y[i]), f32_bits(expected)) << f.name << " x=" << x[i] << " scale=" << scale;
          }
          std::vector<float> in_place(x);
          kernel::fake_quant(f, in_place.data(), in_place.data(), n, scale, {Overflow::saturate, 2});
          ASSERT_EQ(std::memcmp(in_place.data(), y.data(), n * sizeof(float)), 0) << "in-place differs";
        }
  });
}

TEST(FakeQuant, BadScaleIsAnError) {
  float x = 1.0f;
  for (float scale : {0.0f, -1.0f, NAN, INFINITY})
    EXPECT_THROW(kernel::fake_quant(find_format("hif8"), &x, &x, 1, scale), Error) << scale;
}

TEST(Amax, FiniteMaximumAndFirstNonFinitePosition) {
  for_each_target([&] {
    for (size_t n : {size_t{0}, size_t{1}, size_t{33}, size_t{100003}, size_t{1} << 20})
      for (int threads : {1, 2, 5}) {
        std::mt19937 rng{uint32_t(n)};
        std::normal_distribution<float> normal;
        std::vector<float> x(n);
        for (float& v : x) v = normal(rng);
        float expected = 0;
        for (float v : x) expected = std::max(expected, std::fabs(v));
        kernel::AmaxResult r = kernel::amax(x.data(), n, threads);
        EXPECT_EQ(r.amax, expected);
        EXPECT_EQ(r.first_nonfinite, kernel::AmaxResult::npos);
        if (n < 2) continue;
        x[n / 2] = -INFINITY;
        x[n - 1] = NAN;
        r = kernel::amax(x.data(), n, threads);
        EXPECT_EQ(r.first_nonfinite, n / 2);
        EXPECT_LE(r.amax, expected);
        EXPECT_TRUE(std::isfinite(r.amax));
      }
  });
}

// The error statistics against a float64 loop over fake-quantized random data, every format and target.
TEST(ErrorSums, MatchFloat64Reference) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for_each_target([&] {
    for (const FormatInfo& f : all_formats()) {
      for (size_t n : kSizes) {
        std::mt19937 rng(seed + uint32_t(n));
        std::normal_distribution<float> normal;
        std::vector<float> x(n), deq(n);
        for (size_t i = 0; i < n; ++i) x[i] = i % 13 == 0 ? 0.0f : normal(rng) * (i % 17 == 0 ? 1e-15f : 1.0f);
        // A scale that makes some values saturate (|x| up to ~4.5 sigma over 2 sigma) and tiny ones flush.
        const float scale = 2.0f / f.max_finite;
        std::vector<uint8_t> codes(n);
        kernel::encode_scaled(f, x.data(), codes.data(), n, scale, {Overflow::saturate, 1});
        kernel::decode_scaled(f, codes.data(), deq.data(), n, scale, 1);
        double x2 = 0, e2 = 0, max_err = 0;
        uint64_t nonzero = 0, flushed = 0, saturated = 0;
        for (size_t i = 0; i < n; ++i) {
          const double d = double(x[i]) - deq[i];
          x2 += double(x[i]) * x[i], e2 += d * d, max_err = std::max(max_err, std::fabs(d));
          if (x[i] == 0) continue;
          ++nonzero;
          flushed += deq[i] == 0;
          saturated += std::fabs(f.decode(codes[i])) == f.max_finite && std::fabs(x[i]) > std::fabs(deq[i]);
        }
        for (int threads : {1, 3}) {
          const kernel::ErrorSums s = kernel::error_sums(f, x.data(), deq.data(), codes.data(), n, threads);
          EXPECT_NEAR(s.sum_x2, x2, 1e-5 * x2) << f.name << " n=" << n;
          EXPECT_NEAR(s.sum_e2, e2, 1e-5 * e2) << f.name << " n=" << n;
          EXPECT_EQ(s.max_abs_error, float(max_err)) << f.name << " n=" << n;
          EXPECT_EQ(s.nonzero, nonzero);
          EXPECT_EQ(s.flushed, flushed) << f.name << " n=" << n;
          EXPECT_EQ(s.saturated, saturated) << f.name << " n=" << n;
          if (n >= 4099) {
            EXPECT_GT(s.saturated, 0u) << f.name;
            EXPECT_GT(s.flushed, 0u) << f.name;
          }
        }
      }
    }
  });
}

// The fused decode-and-multiply dot products against a float64 sum over the decoded values: every
// format, every finite code (subnormals included), every SIMD target, odd lengths.
TEST(DotCodes, MatchFloat64OverDecodedValues) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for_each_target([&] {
    for (const FormatInfo& f : all_formats()) {
      std::vector<uint8_t> finite;
      for (int c = 0; c < 256; ++c)
        if (std::isfinite(f.decode(uint8_t(c)))) finite.push_back(uint8_t(c));
      for (size_t n : kSizes) {
        std::mt19937 rng(seed + uint32_t(n));
        std::normal_distribution<float> normal;
        std::vector<float> x(n);
        std::vector<uint8_t> codes(n);
        for (size_t i = 0; i < n; ++i) x[i] = normal(rng), codes[i] = finite[rng() % finite.size()];
        double expected = 0, magnitude = 0;
        for (size_t i = 0; i < n; ++i) {
          expected += double(x[i]) * f.decode(codes[i]);
          magnitude += std::fabs(double(x[i]) * f.decode(codes[i]));
        }
        EXPECT_NEAR(kernel::dot_codes(f, x.data(), codes.data(), n), expected, 1e-6 * magnitude + 1e-30) << f.name << " n=" << n;
      }
      // A NaN code anywhere (inside the vector steps or the tail) makes the product NaN.
      for (int c = 0; c < 256; ++c) {
        if (!std::isnan(f.decode(uint8_t(c)))) continue;
        for (size_t at : {size_t(5), size_t(70), size_t(130)}) {
          std::vector<float> x(133, 1.0f);
          std::vector<uint8_t> codes(133, finite.back());
          codes[at] = uint8_t(c);
          EXPECT_TRUE(std::isnan(kernel::dot_codes(f, x.data(), codes.data(), codes.size()))) << f.name << " at " << at;
        }
        break;
      }
    }
    for (size_t n : kSizes) {
      std::vector<float> x(n), w(n);
      std::vector<uint16_t> b(n);
      for (size_t i = 0; i < n; ++i) x[i] = float(i % 7) - 3.0f, b[i] = f32_to_bf16(float(i % 5) * 0.37f), w[i] = bf16_to_f32(b[i]);
      double expected = 0;
      for (size_t i = 0; i < n; ++i) expected += double(x[i]) * w[i];
      EXPECT_NEAR(kernel::dot_bf16(x.data(), b.data(), n), expected, 1e-5 * (1 + std::fabs(expected)));
      EXPECT_NEAR(kernel::dot(x.data(), w.data(), n), expected, 1e-5 * (1 + std::fabs(expected)));
      // Panel tiles of 1..6 tokens, full and partial panels: token t is x rotated by t, row r is w
      // scaled by r + 1; y has one spare column that must stay untouched.
      const size_t width = kernel::panel_width();
      std::vector<float> xs(6 * n), panel(n * width);
      for (size_t t = 0; t < 6; ++t)
        for (size_t i = 0; i < n; ++i) xs[t * n + i] = x[(i + t) % n];
      for (size_t i = 0; i < n; ++i)
        for (size_t r = 0; r < width; ++r) panel[i * width + r] = w[i] * float(r + 1);
      for (size_t tokens = 1; tokens <= 6; ++tokens)
        for (size_t valid : {width, width / 2 + 1}) {
          const size_t stride = width + 1;
          std::vector<float> out(tokens * stride, -1.0f);
          kernel::panel_tile(xs.data(), n, tokens, panel.data(), n, out.data(), stride, valid);
          for (size_t t = 0; t < tokens; ++t) {
            for (size_t r = 0; r < valid; ++r) {
              double e = 0;
              for (size_t i = 0; i < n; ++i) e += double(xs[t * n + i]) * panel[i * width + r];
              EXPECT_NEAR(out[t * stride + r], e, 1e-5 * (1 + std::fabs(e))) << "t " << t << " r " << r << " n " << n;
            }
            for (size_t r = valid; r < stride; ++r) EXPECT_EQ(out[t * stride + r], -1.0f) << "wrote outside the tile";
          }
        }
    }
  });
}

// A quarter-billion elements through the threaded paths: no index arithmetic overflows, all threads work.
TEST(Large, QuarterBillionElementsRoundTrip) {
  const size_t n = (size_t{1} << 28) + 5;
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = float(int(i % 1000) - 500) / 64.0f;
  std::vector<uint8_t> codes(n);
  const FormatInfo& f = find_format("hif8");
  kernel::encode(f, x.data(), codes.data(), n, {Overflow::saturate, 0});
  std::vector<float> y(n);
  kernel::decode(f, codes.data(), y.data(), n, 0);
  for (size_t i = 0; i < n; i += 9973) ASSERT_EQ(y[i], f.decode(f.encode(x[i], Overflow::saturate))) << i;
  ASSERT_EQ(y[n - 1], f.decode(f.encode(x[n - 1], Overflow::saturate)));
}

// The sampler's softmax weights against exp in double: a few ulp over the range that matters, exact
// 1 at the maximum, 0 far below it, every length (vector body and tail).
TEST(ExpScaled, MatchesExpInDouble) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> d(-60.0f, 10.0f);
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{16}, size_t{33}, size_t{32000}}) {
    std::vector<float> x(n), out(n);
    for (float& v : x) v = d(rng);
    const float shift = 10.0f, scale = 1.25f;
    kernel::exp_scaled(x.data(), out.data(), n, shift, scale);
    for (size_t i = 0; i < n; ++i) {
      const double want = std::exp(double((x[i] - shift) * scale));
      ASSERT_NEAR(out[i], want, want * 4e-7 + 1e-37) << "x " << x[i] << " n " << n;
    }
  }
  const float at_max[2] = {3.0f, -500.0f};
  float w[2];
  kernel::exp_scaled(at_max, w, 2, 3.0f, 1.0f);
  EXPECT_EQ(w[0], 1.0f);
  EXPECT_EQ(w[1], 0.0f);
}

}  // namespace
}  // namespace hifp8

namespace hifp8 {
namespace {

// f32_to_f16 against the compiler's _Float16 conversion on every f16 value, every midpoint between
// neighbours and the floats either side of them, plus overflow and NaN.
TEST(Narrowing, F16MatchesTheCompilersFloat16) {
  auto expect_same = [](float x) {
    const _Float16 h = static_cast<_Float16>(x);
    uint16_t expected;
    std::memcpy(&expected, &h, 2);
    const uint16_t got = f32_to_f16(x);
    if (std::isnan(x)) {
      ASSERT_EQ(got & 0x7c00, 0x7c00);
      ASSERT_NE(got & 0x3ff, 0);
    } else {
      ASSERT_EQ(got, expected) << std::hexfloat << x;
    }
  };
  for (uint32_t i = 0; i < 0x7c00; ++i) {
    const float v = f16_to_f32(uint16_t(i));
    const float next = f16_to_f32(uint16_t(i + 1));
    const float mid = v + (next - v) / 2;
    for (float x : {v, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY)}) {
      expect_same(x);
      expect_same(-x);
    }
  }
  for (float x : {65504.0f, 65519.99f, 65520.0f, 1e6f, INFINITY, -INFINITY, NAN, 1e-10f}) expect_same(x);
}

TEST(Narrowing, RoundTripsThroughWiden) {
  std::vector<float> x(10007);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i) * 0.37f - 1000.0f;
  for (DType d : {DType::f32, DType::bf16, DType::f16}) {
    std::vector<uint8_t> narrow(x.size() * kernel::dtype_size(d));
    std::vector<float> back(x.size());
    kernel::narrow(x.data(), narrow.data(), d, x.size(), 3);
    kernel::widen(narrow.data(), d, back.data(), x.size(), 3);
    for (size_t i = 0; i < x.size(); ++i) {
      const float expected = d == DType::f32 ? x[i] : d == DType::bf16 ? bf16_to_f32(f32_to_bf16(x[i])) : f16_to_f32(f32_to_f16(x[i]));
      ASSERT_EQ(back[i], expected) << i;
    }
  }
}

// The float8 dot products have several implementations (AVX-512 VBMI byte permutes for HiF8 and FP8,
// an AVX-512BW bf16 table for HiF8, Highway code on every SIMD target); dot_codes picks one per
// machine, so each is checked here directly against float64, NaN codes included, wherever it runs.
TEST(DotCodes, EveryImplementationMatchesFloat64) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  for (FormatId id : {FormatId::hif8, FormatId::fp8_e4m3fn, FormatId::fp8_e5m2}) {
    const FormatInfo& f = format_info(id);
    const bool hif8 = id == FormatId::hif8;
    std::array<uint8_t, 128> lo{}, hi{};
    std::array<uint16_t, 256> bf16{};
    for (int v = 0; v < 128; ++v) {
      const float value = f.decode(uint8_t(v));
      const uint16_t h = std::isnan(value) ? uint16_t(0x7E00) : f32_to_f16(value);
      lo[size_t(v)] = uint8_t(h & 0xff), hi[size_t(v)] = uint8_t(h >> 8);
    }
    for (int c = 0; c < 256; ++c) bf16[size_t(c)] = uint16_t(f32_bits(f.decode(uint8_t(c))) >> 16);
    std::vector<std::pair<std::string, std::function<float(const float*, const uint8_t*, size_t)>>> paths;
    if (kernel::avx512::vbmi_available())
      paths.emplace_back("vbmi", [&](const float* x, const uint8_t* c, size_t n) {
        return kernel::avx512::dot_f16_magnitudes(x, c, n, lo.data(), hi.data(), hif8, f.decode_table.data());
      });
    if (hif8 && kernel::avx512::allowed())
      paths.emplace_back("bf16 table", [&](const float* x, const uint8_t* c, size_t n) {
        return kernel::avx512::dot_bf16_table(x, c, n, bf16.data());
      });
    paths.emplace_back("highway", [&](const float* x, const uint8_t* c, size_t n) {
      return hif8 ? kernel::simd::dot_hif8(x, c, n, lo.data(), hi.data(), f.decode_table.data())
                  : kernel::simd::dot_codes(x, c, n, id == FormatId::fp8_e4m3fn ? 0 : 1, f.decode_table.data());
    });
    uint8_t nan_code = 0;
    while (!std::isnan(f.decode(nan_code))) ++nan_code;
    for_each_target([&] {
      for (const auto& [name, dot] : paths)
        for (size_t n : {size_t(1), size_t(63), size_t(64), size_t(129), size_t(1000)}) {
          SCOPED_TRACE(std::string(f.name) + " " + name + " n=" + std::to_string(n));
          std::vector<float> x(n);
          std::vector<uint8_t> codes(n);
          for (size_t i = 0; i < n; ++i) {
            x[i] = normal(rng);
            do codes[i] = uint8_t(rng());
            while (!std::isfinite(f.decode(codes[i])));
          }
          double expected = 0, magnitude = 0;
          for (size_t i = 0; i < n; ++i) expected += double(x[i]) * f.decode(codes[i]), magnitude += std::fabs(double(x[i]) * f.decode(codes[i]));
          EXPECT_NEAR(dot(x.data(), codes.data(), n), expected, 1e-6 * magnitude + 1e-30);
          codes[n / 2] = nan_code;
          EXPECT_TRUE(std::isnan(dot(x.data(), codes.data(), n)));
        }
    });
  }
}

// The INT8 dot product (VNNI or AVX2 where the dispatch allows) equals the plain integer sum: every length up to
// 300 (tails), the extremes (-127 activations, -128 and 127 weights) and a full-size row.
TEST(DotI8, EqualsTheIntegerSum) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int> act(-127, 127), weight(-128, 127);
  const auto check = [](const std::vector<int8_t>& a, const std::vector<int8_t>& b) {
    int64_t want = 0;
    for (size_t i = 0; i < a.size(); ++i) want += int64_t(a[i]) * b[i];
    ASSERT_EQ(kernel::dot_i8(a.data(), b.data(), a.size()), want) << "n=" << a.size();
  };
  for_each_target([&] {  // VNNI, AVX2 and the plain loop, as the dispatch picks
    for (size_t n = 0; n <= 300; ++n) {
      std::vector<int8_t> a(n), b(n);
      for (size_t i = 0; i < n; ++i) a[i] = int8_t(act(rng)), b[i] = int8_t(weight(rng));
      check(a, b);
    }
    check(std::vector<int8_t>(14336, -127), std::vector<int8_t>(14336, -128));
    check(std::vector<int8_t>(14336, 127), std::vector<int8_t>(14336, 127));
  });
}

}  // namespace
}  // namespace hifp8
