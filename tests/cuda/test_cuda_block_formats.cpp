// Block-format codecs on the GPU (cuda_blocks.h) against the CPU definitions, bit for bit, on every
// input of the spec's block vectors (which test_format checks the CPU against) and on fresh random
// heavy-tailed blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_support.h"
#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/block_formats.h"
#include "hifp8/kernel/cuda_blocks.h"
#include "support/shared_data.h"

namespace hifp8 {
namespace {

// The input column of a block-vector file, as one array of consecutive blocks.
std::vector<float> golden_inputs(const char* file, size_t column, int block) {
  std::vector<float> x;
  for (const auto& row : test::read_tsv(test::shared_path(std::string("spec/vectors/") + file))) {
    EXPECT_EQ(row[column].size(), size_t(8 * block)) << row[0];
    for (size_t i = 0; i < row[column].size(); i += 8) x.push_back(f32_from_bits(test::parse_hex(row[column].substr(i, 8))));
  }
  return x;
}

std::vector<float> random_blocks(size_t n) {
  std::mt19937 rng(std::random_device{}());
  std::student_t_distribution<float> t(2.0f);
  std::uniform_real_distribution<float> exponent(-20.0f, 20.0f);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = t(rng) * std::exp2(exponent(rng) * float(i % 7 == 0));
  return x;
}

void expect_same_floats(const std::vector<float>& gpu, const std::vector<float>& cpu, const char* what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (std::isnan(cpu[i])) {  // an E4M3 NaN element: NaN payloads differ between CPU and GPU arithmetic
      ASSERT_TRUE(std::isnan(gpu[i])) << what << " element " << i;
      continue;
    }
    ASSERT_EQ(f32_bits(gpu[i]), f32_bits(cpu[i])) << what << " element " << i;
  }
}

TEST(CudaBlockFormats, MxEqualsCpu) {
  HIFP8_REQUIRE_CUDA();
  struct Case {
    const char* file;
    block::MxElement element;
  };
  for (const Case c : {Case{"mxfp4_blocks.tsv", block::MxElement::e2m1}, Case{"mxfp8_e4m3_blocks.tsv", block::MxElement::e4m3},
                       Case{nullptr, block::MxElement::e5m2}}) {
    std::vector<float> x = c.file ? golden_inputs(c.file, 1, block::kMxBlock) : random_blocks(block::kMxBlock * 4096);
    for (const block::MxScaleRule rule : {block::MxScaleRule::floor, block::MxScaleRule::even}) {
      // The blocks the rule cannot scale are checked separately: the GPU call throws for them.
      std::vector<float> ok;
      std::vector<float> undefined;
      for (size_t b = 0; b < x.size() / block::kMxBlock; ++b) {
        uint8_t codes[block::kMxBlock], scale = 0;
        const bool defined = block::mx_quantize_block(c.element, rule, &x[b * block::kMxBlock], codes, scale);
        auto& into = defined ? ok : undefined;
        into.insert(into.end(), x.begin() + b * block::kMxBlock, x.begin() + (b + 1) * block::kMxBlock);
      }
      const int64_t blocks = int64_t(ok.size() / block::kMxBlock);
      const auto dx = test::to_device(ok);
      cuda::DeviceBuffer codes{ok.size()}, scales{size_t(blocks)}, out{ok.size() * sizeof(float)};
      cuda::mx_quantize_blocks(c.element, rule, dx.as<float>(), blocks, codes.as<uint8_t>(), scales.as<uint8_t>());
      cuda::mx_dequantize_blocks(c.element, codes.as<uint8_t>(), scales.as<uint8_t>(), blocks, out.as<float>());
      const auto gpu_codes = test::to_host<uint8_t>(codes, ok.size());
      const auto gpu_scales = test::to_host<uint8_t>(scales, size_t(blocks));
      std::vector<float> cpu_out(ok.size());
      for (int64_t b = 0; b < blocks; ++b) {
        uint8_t cpu_codes[block::kMxBlock];
        const uint8_t cpu_scale = block::mx_quantize(c.element, rule, &ok[b * block::kMxBlock], cpu_codes);
        ASSERT_EQ(gpu_scales[b], cpu_scale) << "block " << b;
        ASSERT_EQ(std::memcmp(&gpu_codes[b * block::kMxBlock], cpu_codes, block::kMxBlock), 0) << "block " << b;
        block::mx_dequantize(c.element, cpu_scale, cpu_codes, &cpu_out[b * block::kMxBlock]);
      }
      expect_same_floats(test::to_host<float>(out, ok.size()), cpu_out, "mx dequantize");
      if (!undefined.empty()) {
        const auto du = test::to_device(undefined);
        cuda::DeviceBuffer uc(block::kMxBlock), us(1);
        EXPECT_THROW(cuda::mx_quantize_blocks(c.element, rule, du.as<float>(), 1, uc.as<uint8_t>(), us.as<uint8_t>()), Error);
      }
    }
  }
}

TEST(CudaBlockFormats, Nvfp4EqualsCpu) {
  HIFP8_REQUIRE_CUDA();
  std::vector<float> x = golden_inputs("nvfp4_blocks.tsv", 2, block::kNvfp4Block);
  const auto rows = test::read_tsv(test::shared_path("spec/vectors/nvfp4_blocks.tsv"));
  std::vector<float> g;
  for (const auto& row : rows) g.push_back(f32_from_bits(test::parse_hex(row[1])));
  const std::vector<float> random = random_blocks(block::kNvfp4Block * 4096);
  x.insert(x.end(), random.begin(), random.end());
  g.resize(x.size() / block::kNvfp4Block, block::nvfp4_global_scale(20.0f));
  for (size_t b = 0; b < g.size(); ++b) {  // one launch per block: each golden row has its own g
    const std::vector<float> w(x.begin() + b * block::kNvfp4Block, x.begin() + (b + 1) * block::kNvfp4Block);
    const auto dw = test::to_device(w);
    cuda::DeviceBuffer codes(block::kNvfp4Block), scale(1), out(block::kNvfp4Block * sizeof(float));
    cuda::nvfp4_quantize_blocks(g[b], dw.as<float>(), 1, codes.as<uint8_t>(), scale.as<uint8_t>());
    cuda::nvfp4_dequantize_blocks(g[b], codes.as<uint8_t>(), scale.as<uint8_t>(), 1, out.as<float>());
    uint8_t cpu_codes[block::kNvfp4Block];
    const uint8_t cpu_scale = block::nvfp4_quantize(g[b], w.data(), cpu_codes);
    ASSERT_EQ(test::to_host<uint8_t>(scale, 1)[0], cpu_scale) << "block " << b;
    ASSERT_EQ(test::to_host<uint8_t>(codes, block::kNvfp4Block), std::vector<uint8_t>(cpu_codes, cpu_codes + block::kNvfp4Block));
    std::vector<float> cpu_out(block::kNvfp4Block);
    block::nvfp4_dequantize(g[b], cpu_scale, cpu_codes, cpu_out.data());
    expect_same_floats(test::to_host<float>(out, block::kNvfp4Block), cpu_out, "nvfp4 dequantize");
  }
}

TEST(CudaBlockFormats, Hif4EqualsCpu) {
  HIFP8_REQUIRE_CUDA();
  std::vector<float> x = golden_inputs("hif4_blocks.tsv", 1, block::kHif4Block);
  const std::vector<float> random = random_blocks(block::kHif4Block * 4096);
  x.insert(x.end(), random.begin(), random.end());
  const int64_t blocks = int64_t(x.size() / block::kHif4Block);
  const auto dx = test::to_device(x);
  cuda::DeviceBuffer units{size_t(blocks) * sizeof(block::Hif4Unit)}, out{x.size() * sizeof(float)};
  cuda::hif4_quantize_blocks(dx.as<float>(), blocks, units.as<block::Hif4Unit>());
  cuda::hif4_dequantize_blocks(units.as<block::Hif4Unit>(), blocks, out.as<float>());
  const auto gpu = test::to_host<block::Hif4Unit>(units, size_t(blocks));
  std::vector<float> cpu_out(x.size());
  for (int64_t b = 0; b < blocks; ++b) {
    const block::Hif4Unit u = block::hif4_quantize(&x[b * block::kHif4Block]);
    ASSERT_EQ(gpu[b].scale, u.scale) << "block " << b;
    ASSERT_EQ(gpu[b].e1, u.e1) << "block " << b;
    ASSERT_EQ(gpu[b].e2, u.e2) << "block " << b;
    ASSERT_EQ(std::memcmp(gpu[b].codes, u.codes, block::kHif4Block), 0) << "block " << b;
    block::hif4_dequantize(u, &cpu_out[b * block::kHif4Block]);
  }
  expect_same_floats(test::to_host<float>(out, x.size()), cpu_out, "hif4 dequantize");
}

}  // namespace
}  // namespace hifp8
