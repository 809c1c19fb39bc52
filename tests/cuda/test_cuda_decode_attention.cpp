// Decoding attention (gpu::attention, what every decode step runs) against a float64 reference: rows
// at different positions in their own slots, grouped-query heads, sliding windows, bf16 and 8-bit KV
// caches, head sizes of every split-kernel instance and of the per-head fallback, with and without the
// split scratch (flash-decoding) — both paths must give the reference's values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cuda/cuda_test_support.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"
#include "model/cuda/gpu_layers.h"

namespace hifp8::test {
namespace {

struct Case {
  int64_t head_dim, heads, kv_heads, max_positions, window;
  const char* kv_format;  // "" for bf16
};

void check_case(const Case& c, bool split) {
  SCOPED_TRACE("head_dim " + std::to_string(c.head_dim) + " heads " + std::to_string(c.heads) + "/" +
               std::to_string(c.kv_heads) + " window " + std::to_string(c.window) + " kv " + c.kv_format +
               (split ? " split" : " per-head"));
  const int rows = 3, slots = 4;
  const int32_t slot_of[rows] = {2, 0, 3};
  const int32_t pos_of[rows] = {int32_t(c.max_positions - 1), 0, int32_t(c.max_positions / 3)};
  const int64_t hd = c.head_dim, group = c.heads / c.kv_heads;
  const size_t entries = size_t(slots * c.max_positions * c.kv_heads);
  std::mt19937 rng(uint32_t(hd * 131 + c.heads + c.window));
  std::normal_distribution<float> normal(0, 1);
  const FormatInfo* format = *c.kv_format ? &find_format(c.kv_format) : nullptr;
  // The cache as the kernel reads it, and the same values as floats for the reference.
  std::vector<float> k(entries * size_t(hd)), v(entries * size_t(hd)), k_scale(entries), v_scale(entries);
  std::vector<uint16_t> k_bf16(k.size()), v_bf16(v.size());
  std::vector<uint8_t> k_codes(k.size()), v_codes(v.size());
  for (size_t e = 0; e < entries; ++e) {
    k_scale[e] = 0.01f + 0.02f * float(e % 7), v_scale[e] = 0.015f + 0.01f * float(e % 5);
    for (int64_t d = 0; d < hd; ++d) {
      const size_t i = e * size_t(hd) + size_t(d);
      if (format) {
        // Random codes of values within +-4 (as a scaled cache holds; larger ones make near-one-hot softmaxes).
        const auto code = [&] {
          for (;;)
            if (const auto b = uint8_t(rng()); std::abs(format->decode(b)) <= 4) return b;
        };
        k_codes[i] = code(), v_codes[i] = code();
        k[i] = format->decode(k_codes[i]) * k_scale[e], v[i] = format->decode(v_codes[i]) * v_scale[e];
      } else {
        k_bf16[i] = f32_to_bf16(normal(rng)), v_bf16[i] = f32_to_bf16(normal(rng));
        k[i] = bf16_to_f32(k_bf16[i]), v[i] = bf16_to_f32(v_bf16[i]);
      }
    }
  }
  std::vector<float> q(size_t(rows * c.heads * hd));
  for (float& x : q) x = normal(rng) * (format ? 4.0f : 1.0f);

  const cuda::DeviceBuffer q_dev = to_device(q), ctx_dev(size_t(rows * c.heads * hd) * 2);
  const cuda::DeviceBuffer k_dev = format ? to_device(k_codes) : to_device(k_bf16), v_dev = format ? to_device(v_codes) : to_device(v_bf16);
  const cuda::DeviceBuffer ks_dev = to_device(k_scale), vs_dev = to_device(v_scale);
  const cuda::DeviceBuffer slot_dev = to_device(std::vector<int32_t>(slot_of, slot_of + rows)),
                           pos_dev = to_device(std::vector<int32_t>(pos_of, pos_of + rows));
  const cuda::DeviceBuffer split_o(size_t(rows * c.heads * model::gpu::kMaxSplits * hd) * 4),
      split_ml(size_t(rows * c.heads * model::gpu::kMaxSplits) * 8);
  model::gpu::AttentionArgs a{q_dev.as<float>(), ctx_dev.as<uint16_t>(), rows, c.heads, c.window, {}};
  if (split) a.split = {split_o.as<float>(), split_ml.as<float2>(), rows};
  const model::gpu::KvLayout layout{format, c.max_positions, c.kv_heads, hd};
  model::gpu::attention(a, {slot_dev.as<int32_t>(), pos_dev.as<int32_t>()}, layout,
                        {k_dev.data(), format ? ks_dev.as<float>() : nullptr, nullptr},
                        {v_dev.data(), format ? vs_dev.as<float>() : nullptr, nullptr}, nullptr);
  const std::vector<uint16_t> got = to_host<uint16_t>(ctx_dev, size_t(rows * c.heads * hd));

  for (int r = 0; r < rows; ++r)
    for (int64_t h = 0; h < c.heads; ++h) {
      const int64_t pos = pos_of[r], first = c.window > 0 ? std::max<int64_t>(0, pos - c.window + 1) : 0, kvh = h / group;
      std::vector<double> w;
      double m = -INFINITY, sum = 0;
      for (int64_t j = first; j <= pos; ++j) {
        const size_t e = size_t((slot_of[r] * c.max_positions + j) * c.kv_heads + kvh);
        double dot = 0;
        for (int64_t d = 0; d < hd; ++d) dot += double(q[size_t((r * c.heads + h) * hd + d)]) * k[e * size_t(hd) + size_t(d)];
        w.push_back(dot / std::sqrt(double(hd)));
        m = std::max(m, w.back());
      }
      for (double& x : w) sum += x = std::exp(x - m);
      double scale = 0;
      std::vector<double> expected(static_cast<size_t>(hd), 0.0);
      for (int64_t d = 0; d < hd; ++d) {
        for (int64_t j = first; j <= pos; ++j) {
          const size_t e = size_t((slot_of[r] * c.max_positions + j) * c.kv_heads + kvh);
          expected[size_t(d)] += w[size_t(j - first)] / sum * v[e * size_t(hd) + size_t(d)];
        }
        scale = std::max(scale, std::abs(expected[size_t(d)]));
      }
      for (int64_t d = 0; d < hd; ++d) {
        const double g = bf16_to_f32(got[size_t((r * c.heads + h) * hd + d)]);
        ASSERT_NEAR(g, expected[size_t(d)], 1e-2 * scale + 1e-5) << "row " << r << " head " << h << " dim " << d;
      }
    }
}

TEST(CudaDecodeAttention, EqualsFloat64ReferenceOnBothPaths) {
  HIFP8_REQUIRE_CUDA();
  const Case cases[] = {
      {128, 32, 8, 600, 0, ""},          {128, 32, 8, 600, 0, "fp8_e4m3fn"}, {64, 8, 8, 300, 0, ""},
      {96, 12, 4, 200, 0, ""},           {256, 8, 4, 260, 0, "hif8"},        {16, 4, 2, 70, 0, ""},
      {8, 8, 8, 40, 0, "fp8_e5m2"},      {32, 16, 2, 513, 100, ""},          {80, 4, 1, 90, 0, ""},
      {128, 40, 4, 130, 0, ""},  // group 10: beyond the split kernel's 8, per-head path
  };
  for (const Case& c : cases)
    for (bool split : {false, true}) check_case(c, split);
}

}  // namespace
}  // namespace hifp8::test
