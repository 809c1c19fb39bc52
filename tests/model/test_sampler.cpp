// The sampler against its definition: softmax(logits / T), cut to the top-k, then to the smallest
// most-likely set whose mass reaches top-p, computed here independently (a full sort in double) and
// compared with the frequencies of many draws.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "hifp8/model/sampler.h"

namespace hifp8::model {
namespace {

// The expected probability of each id under the definition.
std::vector<double> expected(const std::vector<float>& logits, double t, int k, double top_p) {
  std::vector<int> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });
  size_t keep = k > 0 ? std::min(order.size(), size_t(k)) : order.size();
  std::vector<double> w(keep);
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += w[i] = std::exp((logits[size_t(order[i])] - logits[size_t(order[0])]) / t);
  double cumulative = 0;
  size_t nucleus = keep;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += w[i] / total;
    if (cumulative >= top_p) {
      nucleus = i + 1;
      break;
    }
  }
  const double mass = std::accumulate(w.begin(), w.begin() + long(nucleus), 0.0);
  std::vector<double> p(logits.size(), 0.0);
  for (size_t i = 0; i < nucleus; ++i) p[size_t(order[i])] = w[i] / mass;
  return p;
}

void expect_frequencies(const std::vector<float>& logits, double t, int k, double top_p) {
  Sampler sampler({.temperature = float(t), .top_k = k, .top_p = float(top_p), .seed = std::random_device{}()});
  const std::vector<double> p = expected(logits, t, k, top_p);
  constexpr int kDraws = 200000;
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < kDraws; ++i) ++counts[size_t(sampler.next(logits))];
  for (size_t id = 0; id < logits.size(); ++id) {
    if (p[id] == 0) {
      ASSERT_EQ(counts[id], 0) << "id " << id << " is outside the cut (t " << t << ", k " << k << ", p " << top_p << ")";
      continue;
    }
    const double f = double(counts[id]) / kDraws, sigma = std::sqrt(p[id] * (1 - p[id]) / kDraws);
    EXPECT_NEAR(f, p[id], 6 * sigma + 1e-4) << "id " << id << " (t " << t << ", k " << k << ", p " << top_p << ")";
  }
}

std::vector<float> random_logits(size_t n, uint32_t seed, float spread) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, spread);
  std::vector<float> l(n);
  for (float& x : l) x = d(rng);
  return l;
}

TEST(Sampler, DrawsFromTheDefinedDistribution) {
  const std::vector<float> logits = random_logits(40, std::random_device{}(), 1.5f);
  expect_frequencies(logits, 1.0, 0, 1.0);
  expect_frequencies(logits, 0.7, 0, 1.0);
  expect_frequencies(logits, 0.8, 5, 1.0);
  expect_frequencies(logits, 0.8, 0, 0.6);
  expect_frequencies(logits, 1.2, 10, 0.9);
}

TEST(Sampler, NucleusOfALargeVocabularyIsTheDefinedSet) {
  // 32k entries, a nucleus of a few thousand: larger than the first sorted prefix, so it grows.
  const std::vector<float> logits = random_logits(32000, std::random_device{}(), 2.0f);
  const std::vector<double> p = expected(logits, 1.0, 0, 0.9);
  const auto nucleus = std::count_if(p.begin(), p.end(), [](double x) { return x > 0; });
  ASSERT_GT(nucleus, 256);
  Sampler sampler({.temperature = 1.0f, .top_k = 0, .top_p = 0.9f, .seed = 3});
  for (int i = 0; i < 300; ++i) ASSERT_GT(p[size_t(sampler.next(logits))], 0.0);
}

TEST(Sampler, GreedyIsTheFirstMaximumAndASeedRepeats) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(Sampler({.temperature = 0.0f}).next(logits), 1);
  Sampler a({.temperature = 0.9f, .top_p = 0.95f, .seed = 11}), b({.temperature = 0.9f, .top_p = 0.95f, .seed = 11});
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next(logits), b.next(logits));
}

}  // namespace
}  // namespace hifp8::model
