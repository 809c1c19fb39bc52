// The GPU sampler (gpu::sample, what served requests draw from): greedy and specials exactly, every
// draw inside the top-k / top-p candidate set computed independently in double on the host, and the
// frequencies of many seeded draws equal to the softmax probabilities restricted to that set.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "cuda/cuda_test_support.h"
#include "model/cuda/gpu_layers.h"

namespace hifp8::test {
namespace {

using model::gpu::SampleParams;

std::vector<int32_t> sample_rows(const std::vector<float>& logits, int64_t vocab, const std::vector<SampleParams>& params) {
  const cuda::DeviceBuffer l = to_device(logits), p = to_device(params), out(params.size() * 4);
  model::gpu::sample(l.as<float>(), int(params.size()), vocab, p.as<SampleParams>(), out.as<int32_t>(), nullptr);
  return to_host<int32_t>(out, params.size());
}

// The candidates of one row, in double: logits >= the k-th largest, then the largest threshold whose
// candidates hold top_p of their softmax mass.
std::set<int64_t> candidates(const float* row, int64_t vocab, const SampleParams& p) {
  std::vector<double> sorted(row, row + vocab);
  std::sort(sorted.rbegin(), sorted.rend());
  double cut = p.top_k > 0 && p.top_k < vocab ? sorted[size_t(p.top_k - 1)] : sorted.back();
  if (p.top_p < 1) {
    double total = 0, cumulative = 0;
    for (double v : sorted)
      if (v >= cut) total += std::exp((v - sorted[0]) / p.temperature);
    for (double v : sorted) {
      cumulative += std::exp((v - sorted[0]) / p.temperature);
      cut = v;
      if (cumulative >= p.top_p * total) break;
    }
  }
  std::set<int64_t> out;
  for (int64_t i = 0; i < vocab; ++i)
    if (row[i] >= cut) out.insert(i);
  return out;
}

TEST(CudaSampling, GreedyAndSpecialsExactly) {
  HIFP8_REQUIRE_CUDA();
  const int64_t vocab = 50257;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0, 3);
  std::vector<float> logits(size_t(vocab) * 5);
  for (float& v : logits) v = normal(rng);
  logits[1 * vocab + 700] = logits[1 * vocab + 9000] = 100;  // a tie: the lower id
  logits[2 * vocab + 123] = NAN;                             // -1
  logits[3 * vocab + 4242] = INFINITY;                       // an infinite logit is picked
  std::vector<SampleParams> params(5);
  params[1].temperature = 0;
  params[2].temperature = 1;
  params[3].temperature = 1;
  params[4].temperature = 1e-40f;  // 1/T overflows: greedy
  const std::vector<int32_t> got = sample_rows(logits, vocab, params);
  const auto argmax = [&](int r) { return int32_t(std::max_element(&logits[r * vocab], &logits[(r + 1) * vocab]) - &logits[r * vocab]); };
  EXPECT_EQ(got[0], argmax(0));
  EXPECT_EQ(got[1], 700);
  EXPECT_EQ(got[2], -1);
  EXPECT_EQ(got[3], 4242);
  EXPECT_EQ(got[4], argmax(4));
}

TEST(CudaSampling, EveryDrawIsACandidate) {
  HIFP8_REQUIRE_CUDA();
  const int64_t vocab = 32000;
  std::mt19937_64 rng(2);
  std::normal_distribution<float> normal(0, 2.5f);
  std::vector<SampleParams> params;
  for (float t : {0.6f, 1.0f, 1.7f})
    for (int64_t k : {0, 1, 7, 50})
      for (float p : {1.0f, 0.9f, 0.5f, 0.05f})
        for (int rep = 0; rep < 4; ++rep) params.push_back({t, p, k, rng()});
  std::vector<float> logits(params.size() * size_t(vocab));
  for (float& v : logits) v = normal(rng);
  const std::vector<int32_t> got = sample_rows(logits, vocab, params);
  for (size_t r = 0; r < params.size(); ++r) {
    // A threshold the float sums put one step apart from the double ones widens the set a little.
    SampleParams wider = params[r];
    wider.top_p = std::min(1.0f, wider.top_p + 1e-3f);
    const std::set<int64_t> allowed = candidates(&logits[r * size_t(vocab)], vocab, wider);
    EXPECT_TRUE(allowed.count(got[r])) << "row " << r << " T " << params[r].temperature << " k " << params[r].top_k
                                       << " p " << params[r].top_p << ": drew " << got[r] << " of " << allowed.size();
    if (params[r].top_k == 1) {
      EXPECT_EQ(got[r], *allowed.begin());
    }
  }
  EXPECT_EQ(sample_rows(logits, vocab, params), got) << "the same seeds must give the same tokens";
}

TEST(CudaSampling, FrequenciesFollowTheRestrictedSoftmax) {
  HIFP8_REQUIRE_CUDA();
  const std::vector<float> row = {2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, -3.0f};
  const auto vocab = int64_t(row.size());
  const int draws = 20000;
  for (const SampleParams base : {SampleParams{1.0f, 1.0f, 0, 0}, SampleParams{0.8f, 1.0f, 3, 0},
                                  SampleParams{1.0f, 0.8f, 0, 0}, SampleParams{2.0f, 0.9f, 5, 0}}) {
    std::vector<float> logits;
    std::vector<SampleParams> params;
    for (int d = 0; d < draws; ++d) {
      logits.insert(logits.end(), row.begin(), row.end());
      params.push_back(base);
      params.back().seed = 0x1234567ull * uint64_t(d + 1);
    }
    const std::vector<int32_t> got = sample_rows(logits, vocab, params);
    const std::set<int64_t> allowed = candidates(row.data(), vocab, base);
    double total = 0;
    for (int64_t i : allowed) total += std::exp((row[size_t(i)] - row[0]) / base.temperature);
    std::vector<int> seen(static_cast<size_t>(vocab), 0);
    for (int32_t t : got) ++seen.at(size_t(t));
    for (int64_t i = 0; i < vocab; ++i) {
      const double p = allowed.count(i) ? std::exp((row[size_t(i)] - row[0]) / base.temperature) / total : 0.0;
      const double freq = double(seen[size_t(i)]) / draws, sigma = std::sqrt(p * (1 - p) / draws);
      EXPECT_NEAR(freq, p, 5 * sigma + 1e-9) << "token " << i << " T " << base.temperature << " k " << base.top_k
                                             << " p " << base.top_p;
    }
  }
}

}  // namespace
}  // namespace hifp8::test
