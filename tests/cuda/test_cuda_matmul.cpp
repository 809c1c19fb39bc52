// The GPU matrix products against a float64 reference on the same (quantized) operands: W8A16 for
// every format and scale granularity, m = 1..17, shapes that need padding; FP8 cuBLASLt with
// per-tensor and per-row scales; bf16 cuBLASLt.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "cuda/cuda_test_support.h"
#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"
#include "hifp8/kernel/cuda.h"
#include "hifp8/kernel/cuda_matmul.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8 {
namespace {

std::vector<float> normal_values(size_t n, std::mt19937_64& rng, float sigma = 1.0f) {
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = f32_to_bf16(v[i]);
  return out;
}

// max |y - ref| / max |ref| over an [m, n] result.
double relative_error(const std::vector<uint16_t>& y, const std::vector<double>& ref) {
  double max_err = 0, max_ref = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double got = bf16_to_f32(y[i]);
    if (!std::isfinite(got)) return INFINITY;
    max_err = std::max(max_err, std::fabs(got - ref[i]));
    max_ref = std::max(max_ref, std::fabs(ref[i]));
  }
  return max_err / max_ref;
}

// ref[m, n] = sum_k x[m, k] * w[n, k] in float64.
std::vector<double> reference(const std::vector<uint16_t>& x, const std::vector<float>& w, int64_t m, int64_t n,
                              int64_t k, const std::vector<float>& bias = {}) {
  std::vector<double> ref(size_t(m * n));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double s = bias.empty() ? 0.0 : bias[c];
      for (int64_t i = 0; i < k; ++i) s += double(bf16_to_f32(x[r * k + i])) * w[c * k + i];
      ref[r * n + c] = s;
    }
  return ref;
}

struct W8Case {
  int64_t n, k;
  const char* granularity;
};

TEST(CudaMatmulW8A16, EveryFormatAndGranularityMatchesFloat64Reference) {
  HIFP8_REQUIRE_CUDA();
  std::mt19937_64 rng(std::random_device{}());
  const W8Case cases[] = {{40, 172, "channel"}, {64, 256, "tensor"},       {48, 256, "group:32"},
                          {33, 512, "group:128"}, {300, 640, "block:128x128"}, {256, 4096, "channel"}};
  for (const FormatInfo& format : all_formats())
    for (const W8Case& c : cases) {
      const Granularity g = Granularity::parse(c.granularity);
      const std::vector<float> w = normal_values(size_t(c.n * c.k), rng, 0.02f);
      const QuantizedTensor q = quantize(w, std::vector<int64_t>{c.n, c.k}, format, g);
      const std::vector<float> wq = dequantize(q);
      const auto packed = cuda::pack_w8(q.codes.data(), c.n, c.k);
      const auto codes = test::to_device(packed);
      const auto scales = test::to_device(q.scales);
      const std::vector<float> bias = normal_values(size_t(c.n), rng);
      const auto bias_dev = test::to_device(bias);
      // finite_codes: E4M3FN and E5M2 decode by moving bits instead of through the table
      const cuda::W8Weights weights{&format, cuda::w8_layout(c.n, c.k), codes.as<uint8_t>(), scales.as<float>(), g,
                                    cuda::codes_finite(format, q.codes.data(), q.codes.size())};
      for (int64_t m : {1, 3, 8, 9, 16, 17}) {
        const std::vector<uint16_t> x = to_bf16(normal_values(size_t(m * c.k), rng));
        const auto x_dev = test::to_device(x);
        cuda::DeviceBuffer y(size_t(m * c.n) * 2);
        cuda::matmul_w8a16(weights, x_dev.as<uint16_t>(), m, y.as<uint16_t>(), bias_dev.as<float>());
        const std::vector<double> ref = reference(x, wq, m, c.n, c.k, bias);
        const double err = relative_error(test::to_host<uint16_t>(y, size_t(m * c.n)), ref);
        EXPECT_LT(err, 1e-2) << format.name << " " << c.granularity << " n=" << c.n << " k=" << c.k << " m=" << m;
        // The float32-output variant: only the float accumulation differs from the float64 reference.
        cuda::DeviceBuffer y32(size_t(m * c.n) * 4);
        cuda::matmul_w8a16(weights, x_dev.as<uint16_t>(), m, y32.as<float>(), bias_dev.as<float>());
        const std::vector<float> got32 = test::to_host<float>(y32, size_t(m * c.n));
        double max_err = 0, max_ref = 0;
        for (size_t i = 0; i < ref.size(); ++i)
          max_err = std::max(max_err, std::fabs(got32[i] - ref[i])), max_ref = std::max(max_ref, std::fabs(ref[i]));
        EXPECT_LT(max_err / max_ref, 1e-4) << format.name << " " << c.granularity << " m=" << m << " (float output)";
      }
    }
}

// Every one of the 256 codes, through both decodings (bit moves where the format has them, and the
// table): weight row c holds code c in column c % 16 (zeros elsewhere), and activation row c % 16 is
// one-hot there, so output (c % 16, c) is the decoded value exactly (unit scale, float32 output). NaN and Inf codes come out as themselves
// through the table; codes_finite keeps such weights off the bit path.
TEST(CudaMatmulW8A16, EveryCodeDecodesExactlyOnEveryPath) {
  HIFP8_REQUIRE_CUDA();
  const int64_t n = 256, k = 64, m = 16;
  std::vector<uint16_t> x(size_t(m * k), 0);
  for (int64_t r = 0; r < m; ++r) x[size_t(r * k + r)] = f32_to_bf16(1.0f);
  const auto x_dev = test::to_device(x);
  const auto scale = test::to_device(std::vector<float>{1.0f});
  for (const FormatInfo& format : all_formats()) {
    std::vector<uint8_t> codes(size_t(n * k), 0);
    for (int c = 0; c < 256; ++c) codes[size_t(c * k + c % 16)] = uint8_t(c);
    const auto packed = test::to_device(cuda::pack_w8(codes.data(), n, k));
    for (bool finite : {false, true}) {
      // The bit path is only taken for finite codes: here it runs over every code, and the finite ones must match.
      const cuda::W8Weights w{&format, cuda::w8_layout(n, k), packed.as<uint8_t>(), scale.as<float>(),
                              Granularity::parse("tensor"), finite};
      cuda::DeviceBuffer y(size_t(m * n) * 4);
      cuda::matmul_w8a16(w, x_dev.as<uint16_t>(), m, y.as<float>());
      const std::vector<float> got = test::to_host<float>(y, size_t(m * n));
      for (int c = 0; c < 256; ++c) {
        const float want = format.decode_table[c], value = got[size_t((c % 16) * n + c)];
        if (!std::isfinite(want) && finite) continue;
        if (std::isnan(want)) EXPECT_TRUE(std::isnan(value)) << format.name << " code " << c;
        else EXPECT_EQ(value, want) << format.name << " code " << c << (finite ? " (bits)" : " (table)");
      }
    }
  }
}

TEST(CudaMatmulW8A16, RejectsUnsupportedShapes) {
  HIFP8_REQUIRE_CUDA();
  const FormatInfo& f = find_format("e4m3");
  cuda::W8Weights w{&f, cuda::w8_layout(16, 30), nullptr, nullptr, Granularity::parse("channel")};
  EXPECT_THROW(cuda::matmul_w8a16(w, nullptr, 1, static_cast<uint16_t*>(nullptr)), Error);
  w = {&f, cuda::w8_layout(16, 96), nullptr, nullptr, Granularity::parse("group:48")};
  EXPECT_THROW(cuda::matmul_w8a16(w, nullptr, 1, static_cast<uint16_t*>(nullptr)), Error);
}

TEST(CudaMatmulFp8, PerTensorAndPerRowScalesMatchFloat64Reference) {
  HIFP8_REQUIRE_CUDA();
  std::mt19937_64 rng(std::random_device{}());
  const FormatInfo& e4m3 = find_format("e4m3");
  const int64_t m = 96, n = 160, k = 256;
  for (bool per_row : {false, true}) {
    const Granularity g = Granularity::parse(per_row ? "channel" : "tensor");
    const auto a = quantize(normal_values(size_t(m * k), rng), std::vector<int64_t>{m, k}, e4m3, g);
    const auto b = quantize(normal_values(size_t(n * k), rng, 0.02f), std::vector<int64_t>{n, k}, e4m3, g);
    const std::vector<float> ad = dequantize(a), bd = dequantize(b);
    std::vector<double> ref(size_t(m * n));
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c) {
        double s = 0;
        for (int64_t i = 0; i < k; ++i) s += double(ad[r * k + i]) * bd[c * k + i];
        ref[r * n + c] = s;
      }
    const auto a_codes = test::to_device(a.codes), b_codes = test::to_device(b.codes);
    const auto a_scales = test::to_device(a.scales), b_scales = test::to_device(b.scales);
    cuda::DeviceBuffer y(size_t(m * n) * 2);
    cuda::matmul_fp8({a_codes.as<uint8_t>(), a_scales.as<float>(), per_row},
                     {b_codes.as<uint8_t>(), b_scales.as<float>(), per_row}, m, n, k, y.as<uint16_t>());
    EXPECT_LT(relative_error(test::to_host<uint16_t>(y, size_t(m * n)), ref), 1e-2) << (per_row ? "per row" : "per tensor");
  }
}

// W8A8 on the packed weights: the activations' codes and scales equal the CPU's per-token E4M3
// quantization bit for bit, and the product matches float64 on the quantized operands.
TEST(CudaMatmulW8A8, PackedWeightsAndPerTokenActivationsMatchFloat64Reference) {
  HIFP8_REQUIRE_CUDA();
  std::mt19937_64 rng(std::random_device{}());
  const FormatInfo& e4m3 = find_format("e4m3");
  for (const char* gran : {"channel", "tensor"})
    for (auto [n, k] : {std::pair<int64_t, int64_t>{48, 172}, {264, 1024}}) {
      const int64_t m = 37;
      const Granularity g = Granularity::parse(gran);
      const QuantizedTensor w = quantize(normal_values(size_t(n * k), rng, 0.02f), std::vector<int64_t>{n, k}, e4m3, g);
      std::vector<float> xf = normal_values(size_t(m * k), rng);
      xf[5] = 300.0f;  // an outlier token
      const std::vector<uint16_t> x = to_bf16(xf);
      std::vector<float> xr(x.size());
      for (size_t i = 0; i < x.size(); ++i) xr[i] = bf16_to_f32(x[i]);
      const QuantizedTensor xq = quantize(xr, std::vector<int64_t>{m, k}, e4m3, Granularity::parse("token"));
      const auto w_dev = test::to_device(cuda::pack_w8(w.codes.data(), n, k));
      const auto w_scales = test::to_device(w.scales);
      const std::vector<float> bias = normal_values(size_t(n), rng);
      const auto bias_dev = test::to_device(bias);
      const cuda::W8Weights weights{&e4m3, cuda::w8_layout(n, k), w_dev.as<uint8_t>(), w_scales.as<float>(), g, true};
      ASSERT_TRUE(cuda::w8a8_supported(weights));
      const auto x_dev = test::to_device(x);
      cuda::DeviceBuffer codes(size_t(m * weights.layout.k_padded)), scales(size_t(m) * 4), y(size_t(m * n) * 4),
          scratch(size_t(m * n) * 2);
      cuda::quantize_activations_w8(x_dev.as<uint16_t>(), m, weights.layout, default_target(e4m3), codes.as<uint8_t>(),
                                    scales.as<float>());
      const std::vector<uint8_t> got_codes = test::to_host<uint8_t>(codes, size_t(m * weights.layout.k_padded));
      const std::vector<uint8_t> want_codes = cuda::pack_w8(xq.codes.data(), m, k);  // the same interleave per row
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < weights.layout.k_padded; ++c)
          ASSERT_EQ(got_codes[size_t(r * weights.layout.k_padded + c)], want_codes[size_t(r * weights.layout.k_padded + c)])
              << gran << " row " << r << " byte " << c;
      EXPECT_EQ(test::to_host<float>(scales, size_t(m)), xq.scales);
      cuda::matmul_w8a8(weights, codes.as<uint8_t>(), scales.as<float>(), m, y.as<float>(), scratch.as<uint16_t>(),
                        bias_dev.as<float>());
      const std::vector<float> got = test::to_host<float>(y, size_t(m * n));
      const std::vector<float> xd = dequantize(xq), wd = dequantize(w);
      double max_err = 0, max_ref = 0;
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
          double ref = bias[size_t(c)];
          for (int64_t i = 0; i < k; ++i) ref += double(xd[size_t(r * k + i)]) * wd[size_t(c * k + i)];
          max_err = std::max(max_err, std::fabs(got[size_t(r * n + c)] - ref)), max_ref = std::max(max_ref, std::fabs(ref));
        }
      // The GEMM's result is rounded to bf16 before its scales apply (2^-9 relative).
      EXPECT_LT(max_err / max_ref, 4e-3) << gran << " n=" << n << " k=" << k;
    }
  const FormatInfo& hif8 = find_format("hif8");
  EXPECT_FALSE(cuda::w8a8_supported({&hif8, cuda::w8_layout(16, 64), nullptr, nullptr, Granularity::parse("channel")}));
  EXPECT_THROW(cuda::matmul_w8a8({&e4m3, cuda::w8_layout(16, 128), nullptr, nullptr, Granularity::parse("group:64")},
                                 nullptr, nullptr, 1, nullptr, nullptr),
               Error);
}

TEST(CudaMatmulBf16, MatchesFloat64Reference) {
  HIFP8_REQUIRE_CUDA();
  std::mt19937_64 rng(std::random_device{}());
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{33, 72, 136}, {40, 172, 64}, {40, 64, 172}, {1, 512, 64}}) {
  const std::vector<uint16_t> x = to_bf16(normal_values(size_t(m * k), rng));
  const std::vector<uint16_t> w = to_bf16(normal_values(size_t(n * k), rng));
  std::vector<float> wf(w.size());
  for (size_t i = 0; i < w.size(); ++i) wf[i] = bf16_to_f32(w[i]);
  const auto x_dev = test::to_device(x), w_dev = test::to_device(w);
  cuda::DeviceBuffer y(size_t(m * n) * 2);
  cuda::matmul_bf16(x_dev.as<uint16_t>(), w_dev.as<uint16_t>(), m, n, k, y.as<uint16_t>());
  EXPECT_LT(relative_error(test::to_host<uint16_t>(y, size_t(m * n)), reference(x, wf, m, n, k)), 1e-2)
      << m << "x" << n << "x" << k;
  }
}

}  // namespace
}  // namespace hifp8

namespace hifp8 {
namespace {

// Batched, strided products as the prefill attention uses them: w read with a row stride wider than
// its rows and a batch stride inside that row (the KV heads of a cache row), both orientations.
TEST(CudaMatmulBf16, BatchedStridedProductsMatchFloat64Reference) {
  HIFP8_REQUIRE_CUDA();
  std::mt19937_64 rng(std::random_device{}());
  const int batch = 3;
  const int64_t m = 10, n = 37, k = 24;
  for (bool w_rows_are_n : {true, false}) {
    // w: [w_rows][batch][w_cols], batch b's matrix at column offset b * w_cols
    const int64_t w_rows = w_rows_are_n ? n : k, w_cols = w_rows_are_n ? k : n, w_ld = batch * w_cols;
    const std::vector<uint16_t> x = to_bf16(normal_values(size_t(batch * m * k), rng));
    const std::vector<uint16_t> w = to_bf16(normal_values(size_t(w_rows * w_ld), rng));
    const auto x_dev = test::to_device(x), w_dev = test::to_device(w);
    cuda::DeviceBuffer y(size_t(batch * m * n) * 4);
    cuda::matmul_bf16_batched({x_dev.as<uint16_t>(), k, m * k}, {w_dev.as<uint16_t>(), w_ld, w_cols}, w_rows_are_n, m, n,
                              k, y.as<float>(), n, m * n, batch);
    const std::vector<float> got = test::to_host<float>(y, size_t(batch * m * n));
    double max_err = 0, max_ref = 0;
    for (int b = 0; b < batch; ++b)
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
          double ref = 0;
          for (int64_t i = 0; i < k; ++i) {
            const uint16_t wv = w_rows_are_n ? w[size_t(c * w_ld + b * w_cols + i)] : w[size_t(i * w_ld + b * w_cols + c)];
            ref += double(bf16_to_f32(x[size_t((b * m + r) * k + i)])) * bf16_to_f32(wv);
          }
          max_err = std::max(max_err, std::fabs(got[size_t((b * m + r) * n + c)] - ref));
          max_ref = std::max(max_ref, std::fabs(ref));
        }
    EXPECT_LT(max_err / max_ref, 1e-4) << (w_rows_are_n ? "x w^T" : "x w");
  }
}

}  // namespace
}  // namespace hifp8
