// The CUDA format kernels against the CPU definitions: golden vectors, every code, every bf16/f16
// pattern, all 2^32 float32 patterns (vs the CPU scalar path), and quantize / dequantize /
// fake-quant / amax for every granularity and dtype bit for bit against hifp8::quantize.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_test_support.h"
#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/kernel/cuda.h"
#include "hifp8/quant/quantized_tensor.h"
#include "support/shared_data.h"

namespace hifp8 {
namespace {

using kernel::DType;

// Heavy-tailed values with outlier channels, exact zeros and float32 subnormals: fresh per call.
std::vector<float> random_values(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::student_t_distribution<float> t(3.0f);
  std::uniform_int_distribution<int> pick(0, 99);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    const int p = pick(rng);
    v[i] = p == 0 ? 0.0f : p == 1 ? 1e-40f * t(rng) : p < 4 ? 300.0f * t(rng) : 0.05f * t(rng);
    v[i] = std::clamp(v[i], -60000.0f, 60000.0f);  // finite in float16 too
  }
  return v;
}

// The values as `dtype` bytes (rounded to nearest even) and, exactly, back as float32.
struct Wide {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
};
Wide as_dtype(const std::vector<float>& v, DType dtype) {
  Wide w{std::vector<uint8_t>(v.size() * kernel::dtype_size(dtype)), std::vector<float>(v.size())};
  kernel::narrow(v.data(), w.bytes.data(), dtype, v.size());
  kernel::widen(w.bytes.data(), dtype, w.values.data(), v.size());
  return w;
}

uint64_t fresh_seed() { return std::random_device{}(); }

class CudaFormats : public testing::TestWithParam<const FormatInfo*> {};

TEST(CudaGoldenVectors, EncodeAndDecodeMatchEveryRow) {
  HIFP8_REQUIRE_CUDA();
  for (const char* stem : {"hif8", "fp8_e4m3fn", "fp8_e5m2"}) {
    const FormatInfo& format = find_format(stem);
    const auto rows = test::read_tsv(test::shared_path(std::string("spec/vectors/") + stem + "_encode.tsv"));
    std::vector<float> inputs;
    for (const auto& row : rows) inputs.push_back(f32_from_bits(test::parse_hex(row[0])));
    const auto in = test::to_device(inputs);
    cuda::DeviceBuffer codes(inputs.size());
    for (Overflow overflow : {Overflow::plain, Overflow::saturate}) {
      cuda::encode(format, in.data(), DType::f32, codes.as<uint8_t>(), inputs.size(), overflow);
      const auto got = test::to_host<uint8_t>(codes, inputs.size());
      const size_t column = overflow == Overflow::plain ? 1 : 2;
      for (size_t i = 0; i < rows.size(); ++i)
        ASSERT_EQ(uint32_t{got[i]}, test::parse_hex(rows[i][column])) << stem << " input " << rows[i][0] << " column " << column;
    }
    const auto decode_rows = test::read_tsv(test::shared_path(std::string("spec/vectors/") + stem + "_decode.tsv"));
    std::vector<uint8_t> all(256);
    for (int c = 0; c < 256; ++c) all[c] = uint8_t(c);
    const auto all_dev = test::to_device(all);
    cuda::DeviceBuffer out(256 * sizeof(float));
    cuda::decode(format, all_dev.as<uint8_t>(), out.data(), DType::f32, 256);
    const auto decoded = test::to_host<float>(out, 256);
    for (const auto& row : decode_rows)
      EXPECT_EQ(f32_bits(decoded[test::parse_hex(row[0])]), test::parse_hex(row[1])) << stem << " code " << row[0];
  }
}

TEST_P(CudaFormats, DecodeEveryCodeToEveryDtypeEqualsCpu) {
  HIFP8_REQUIRE_CUDA();
  const FormatInfo& format = *GetParam();
  std::vector<uint8_t> all(4096);
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint8_t(i * 37 + i / 256);
  const auto codes = test::to_device(all);
  for (DType dtype : {DType::f32, DType::bf16, DType::f16}) {
    const size_t bytes = all.size() * kernel::dtype_size(dtype);
    std::vector<uint8_t> expected(bytes);
    kernel::decode(format, all.data(), expected.data(), dtype, all.size());
    for (size_t offset : {size_t{0}, size_t{3}}) {  // aligned (vector path) and not
      cuda::DeviceBuffer out(bytes);
      const size_t n = all.size() - offset;
      cuda::decode(format, codes.as<uint8_t>() + offset, out.as<uint8_t>() + offset * kernel::dtype_size(dtype),
                   dtype, n);
      const auto got = test::to_host<uint8_t>(out, bytes);
      const size_t skip = offset * kernel::dtype_size(dtype);
      ASSERT_EQ(0, std::memcmp(got.data() + skip, expected.data() + skip, bytes - skip))
          << format.name << " to " << kernel::dtype_name(dtype) << " offset " << offset;
    }
  }
}

TEST_P(CudaFormats, EncodeEveryBf16AndF16PatternEqualsCpu) {
  HIFP8_REQUIRE_CUDA();
  const FormatInfo& format = *GetParam();
  std::vector<uint16_t> patterns(65536);
  for (uint32_t i = 0; i < 65536; ++i) patterns[i] = uint16_t(i);
  const auto in = test::to_device(patterns);
  cuda::DeviceBuffer codes(65536);
  for (DType dtype : {DType::bf16, DType::f16})
    for (Overflow overflow : {Overflow::plain, Overflow::saturate}) {
      std::vector<uint8_t> expected(65536);
      kernel::encode(format, patterns.data(), dtype, expected.data(), 65536, {overflow, 0, kernel::EncodePath::scalar});
      cuda::encode(format, in.data(), dtype, codes.as<uint8_t>(), 65536, overflow);
      const auto got = test::to_host<uint8_t>(codes, 65536);
      for (uint32_t i = 0; i < 65536; ++i)
        ASSERT_EQ(got[i], expected[i]) << format.name << " " << kernel::dtype_name(dtype) << " pattern " << std::hex << i;
    }
}

// All 2^32 float32 bit patterns, in chunks, both overflow modes, against the CPU scalar definition.
TEST_P(CudaFormats, EncodeAllFloat32PatternsEqualsCpuScalar) {
  HIFP8_REQUIRE_CUDA();
  const FormatInfo& format = *GetParam();
  constexpr size_t kChunk = size_t{1} << 26;
  std::vector<uint32_t> bits(kChunk);
  std::vector<uint8_t> expected(kChunk), got(kChunk);
  cuda::DeviceBuffer in(kChunk * 4), codes(kChunk);
  for (uint64_t base = 0; base < (uint64_t{1} << 32); base += kChunk) {
    for (size_t i = 0; i < kChunk; ++i) bits[i] = uint32_t(base + i);
    in.upload(bits.data(), kChunk * 4);
    for (Overflow overflow : {Overflow::plain, Overflow::saturate}) {
      cuda::encode(format, in.data(), DType::f32, codes.as<uint8_t>(), kChunk, overflow);
      codes.download(got.data(), kChunk);
      kernel::encode(format, reinterpret_cast<const float*>(bits.data()), expected.data(), kChunk,
                     {overflow, 0, kernel::EncodePath::scalar});
      if (std::memcmp(got.data(), expected.data(), kChunk) != 0) {
        for (size_t i = 0; i < kChunk; ++i)
          ASSERT_EQ(got[i], expected[i]) << format.name << " input bits " << std::hex << bits[i]
                                         << (overflow == Overflow::plain ? " plain" : " saturating");
      }
    }
  }
}

struct Case {
  int64_t rows, cols;
  const char* granularity;
};
constexpr Case kCases[] = {
    {37, 96, "tensor"}, {37, 96, "channel"}, {37, 96, "token"},        {37, 96, "group:32"},
    {5, 4096, "token"}, {3, 8192, "channel"}, {300, 200, "block:128x128"}, {64, 256, "group:128"},
    {1, 1, "tensor"},   {1, 13, "channel"},   {130, 130, "block:64x32"},
};

TEST_P(CudaFormats, QuantizeDequantizeFakeQuantEqualCpuForEveryGranularityAndDtype) {
  HIFP8_REQUIRE_CUDA();
  const FormatInfo& format = *GetParam();
  for (const Case& c : kCases)
    for (DType dtype : {DType::f32, DType::bf16, DType::f16}) {
      const Granularity g = Granularity::parse(c.granularity);
      const size_t n = size_t(c.rows * c.cols);
      const Wide x = as_dtype(random_values(n, fresh_seed()), dtype);
      const std::vector<int64_t> shape = {c.rows, c.cols};
      const float target = default_target(format);
      const QuantizedTensor cpu = quantize(x.values, shape, format, g, {target});
      const std::string what = std::string(format.name) + " " + c.granularity + " " + std::to_string(c.rows) + "x" +
                               std::to_string(c.cols) + " " + std::string(kernel::dtype_name(dtype));

      const auto in = test::to_device(x.bytes);
      cuda::DeviceBuffer codes(n), scales(cpu.scales.size() * sizeof(float));
      cuda::quantize(format, {in.data(), dtype, c.rows, c.cols}, g, target, codes.as<uint8_t>(), scales.as<float>());
      EXPECT_EQ(test::to_host<uint8_t>(codes, n), cpu.codes) << what << " codes";
      const auto gpu_scales = test::to_host<float>(scales, cpu.scales.size());
      for (size_t i = 0; i < gpu_scales.size(); ++i)
        ASSERT_EQ(f32_bits(gpu_scales[i]), f32_bits(cpu.scales[i])) << what << " scale " << i;

      // Dequantized, and fake-quantized in place, both rounded to the input dtype as the CPU narrows.
      const std::vector<float> deq = dequantize(cpu);
      std::vector<uint8_t> expected(x.bytes.size());
      kernel::narrow(deq.data(), expected.data(), dtype, n);
      cuda::DeviceBuffer out(x.bytes.size());
      cuda::dequantize(format, codes.as<uint8_t>(), scales.as<float>(), c.rows, c.cols, g, out.data(), dtype);
      EXPECT_EQ(test::to_host<uint8_t>(out, x.bytes.size()), expected) << what << " dequantize";
      cuda::fake_quant(format, {in.data(), dtype, c.rows, c.cols}, g, target, in.data());
      EXPECT_EQ(test::to_host<uint8_t>(in, x.bytes.size()), expected) << what << " fake_quant";
    }
}

// Static (given) scales, small enough that some elements clip, with NaN and Inf among the inputs.
TEST_P(CudaFormats, FakeQuantWithGivenScalesEqualsCpuFakeQuantize) {
  HIFP8_REQUIRE_CUDA();
  const FormatInfo& format = *GetParam();
  std::mt19937 rng(fresh_seed());
  std::uniform_real_distribution<float> scale_dist(1e-5f, 1e-3f);
  for (const Case& c : kCases)
    for (DType dtype : {DType::f32, DType::bf16, DType::f16}) {
      const Granularity g = Granularity::parse(c.granularity);
      const size_t n = size_t(c.rows * c.cols);
      std::vector<float> values = random_values(n, fresh_seed());
      values[n / 2] = std::numeric_limits<float>::infinity();
      if (n > 1) values[n / 3] = std::numeric_limits<float>::quiet_NaN();
      const Wide x = as_dtype(values, dtype);
      const std::vector<int64_t> shape = {c.rows, c.cols};
      std::vector<float> scales(numel(g.scale_shape(shape)));
      for (float& s : scales) s = scale_dist(rng);
      std::vector<float> cpu(n);
      fake_quantize(x.values, shape, format, g, scales, cpu);
      std::vector<uint8_t> expected(x.bytes.size());
      kernel::narrow(cpu.data(), expected.data(), dtype, n);

      const auto in = test::to_device(x.bytes);
      const auto device_scales = test::to_device(scales);
      cuda::DeviceBuffer out(x.bytes.size());
      cuda::fake_quant_scaled(format, {in.data(), dtype, c.rows, c.cols}, g, device_scales.as<float>(), out.data());
      // Bit for bit, except that a NaN need only be a NaN (its payload is the conversion's choice).
      std::vector<float> got(n), want(n);
      kernel::widen(test::to_host<uint8_t>(out, x.bytes.size()).data(), dtype, got.data(), n);
      kernel::widen(expected.data(), dtype, want.data(), n);
      for (size_t i = 0; i < n; ++i)
        ASSERT_TRUE(std::isnan(want[i]) ? std::isnan(got[i]) : f32_bits(got[i]) == f32_bits(want[i]))
            << format.name << " " << c.granularity << " " << kernel::dtype_name(dtype) << " element " << i << ": "
            << got[i] << " vs " << want[i];
    }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, CudaFormats, testing::ValuesIn([] {
                           std::vector<const FormatInfo*> formats;
                           for (const FormatInfo& f : all_formats()) formats.push_back(&f);
                           return formats;
                         }()),
                         [](const auto& info) {
                           std::string name(info.param->name);
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

TEST(CudaAmax, IgnoresNonFiniteAndHandlesEmptyAndUnalignedInput) {
  HIFP8_REQUIRE_CUDA();
  std::vector<float> v = random_values(100003, fresh_seed());
  float expected = 0.0f;
  for (float x : v) expected = std::max(expected, std::fabs(x));
  v[17] = std::numeric_limits<float>::quiet_NaN();
  v[5000] = -std::numeric_limits<float>::infinity();
  const auto in = test::to_device(v);
  cuda::DeviceBuffer out(sizeof(float));
  cuda::amax(in.data(), DType::f32, v.size(), out.as<float>());
  EXPECT_EQ(test::to_host<float>(out, 1)[0], expected);
  cuda::amax(in.as<float>() + 1, DType::f32, v.size() - 1, out.as<float>());
  EXPECT_LE(test::to_host<float>(out, 1)[0], expected);
  cuda::amax(in.data(), DType::f32, 0, out.as<float>());
  EXPECT_EQ(test::to_host<float>(out, 1)[0], 0.0f);
}

TEST(CudaQuantize, RejectsAGroupThatDoesNotDivideTheColumnsAndABadTarget) {
  HIFP8_REQUIRE_CUDA();
  cuda::DeviceBuffer in(4 * 96 * 4), codes(4 * 96), scales(64);
  const FormatInfo& f = find_format("hif8");
  EXPECT_THROW(cuda::quantize(f, {in.data(), DType::f32, 4, 96}, Granularity::parse("group:64"), 16.0f,
                              codes.as<uint8_t>(), scales.as<float>()),
               Error);
  EXPECT_THROW(cuda::quantize(f, {in.data(), DType::f32, 4, 96}, Granularity::parse("channel"), 1e9f,
                              codes.as<uint8_t>(), scales.as<float>()),
               Error);
}

}  // namespace
}  // namespace hifp8
