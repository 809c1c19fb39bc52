// The fused prompt attention against a float64 reference on the same bf16 operands: every supported
// head size, grouped-query heads, prompts that start mid-sequence, sliding windows, ragged tiles.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cuda/cuda_test_support.h"
#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/kernel/cuda_attention.h"

namespace hifp8 {
namespace {

std::vector<uint16_t> random_bf16(size_t n, std::mt19937_64& rng, float sigma) {
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<uint16_t> v(n);
  for (uint16_t& x : v) x = f32_to_bf16(d(rng));
  return v;
}

struct Case {
  int64_t head_dim;
  int rows;
  int64_t start, window;
};

TEST(CudaFlashAttention, MatchesFloat64Reference) {
  HIFP8_REQUIRE_CUDA();
  std::mt19937_64 rng(std::random_device{}());
  const int64_t heads = 4, kv_heads = 2;
  const Case cases[] = {{16, 40, 0, 0},  {32, 1, 0, 0},    {48, 65, 3, 0},     {64, 130, 70, 0},
                        {80, 64, 0, 17}, {96, 9, 200, 50}, {112, 100, 0, 0},   {128, 200, 30, 0},
                        {128, 77, 64, 64}};
  for (const Case& c : cases) {
    const int64_t keys = c.start + c.rows, hd = c.head_dim;
    // Queries with a larger spread than the keys give peaked softmax rows as well as flat ones.
    const std::vector<uint16_t> q = random_bf16(size_t(heads * c.rows * hd), rng, 2.0f);
    const std::vector<uint16_t> k = random_bf16(size_t(keys * kv_heads * hd), rng, 1.0f);
    const std::vector<uint16_t> v = random_bf16(size_t(keys * kv_heads * hd), rng, 1.0f);
    const auto q_dev = test::to_device(q), k_dev = test::to_device(k), v_dev = test::to_device(v);
    cuda::DeviceBuffer out(size_t(c.rows * heads * hd) * 2);
    cuda::flash_attention({q_dev.as<uint16_t>(), k_dev.as<uint16_t>(), v_dev.as<uint16_t>(), out.as<uint16_t>(), c.rows,
                           c.start, c.window, heads, kv_heads, hd});
    const std::vector<uint16_t> got = test::to_host<uint16_t>(out, size_t(c.rows * heads * hd));
    double max_err = 0, max_ref = 0;
    for (int r = 0; r < c.rows; ++r)
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t g = h / (heads / kv_heads), pos = c.start + r;
        const int64_t first = c.window > 0 ? std::max<int64_t>(0, pos - c.window + 1) : 0;
        std::vector<double> score;
        double top = -INFINITY;
        for (int64_t j = first; j <= pos; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < hd; ++d)
            dot += double(bf16_to_f32(q[size_t((h * c.rows + r) * hd + d)])) * bf16_to_f32(k[size_t((j * kv_heads + g) * hd + d)]);
          score.push_back(dot / std::sqrt(double(hd)));
          top = std::max(top, score.back());
        }
        double total = 0;
        for (double& s : score) total += s = std::exp(s - top);
        for (int64_t d = 0; d < hd; ++d) {
          double ref = 0;
          for (int64_t j = first; j <= pos; ++j)
            ref += score[size_t(j - first)] / total * bf16_to_f32(v[size_t((j * kv_heads + g) * hd + d)]);
          const double value = bf16_to_f32(got[size_t((r * heads + h) * hd + d)]);
          ASSERT_TRUE(std::isfinite(value)) << "head_dim " << hd << " row " << r << " head " << h;
          max_err = std::max(max_err, std::fabs(value - ref));
          max_ref = std::max(max_ref, std::fabs(ref));
        }
      }
    // The probabilities and the output are rounded to bf16 (2^-9 relative each).
    EXPECT_LT(max_err / max_ref, 1e-2) << "head_dim " << hd << " rows " << c.rows << " start " << c.start << " window "
                                       << c.window;
  }
}

TEST(CudaFlashAttention, RefusesHeadSizesItDoesNotTake) {
  HIFP8_REQUIRE_CUDA();
  EXPECT_FALSE(cuda::flash_attention_supported(8));
  EXPECT_FALSE(cuda::flash_attention_supported(256));
  EXPECT_THROW(cuda::flash_attention({nullptr, nullptr, nullptr, nullptr, 1, 0, 0, 4, 2, 8}), Error);
}

}  // namespace
}  // namespace hifp8
