// Activation statistics (what calibration keeps) and Engine::score, against direct computation.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <map>
#include <random>

#include "hifp8/error.h"
#include "hifp8/model/activation_stats.h"
#include "hifp8/model/engine.h"
#include "support/shared_data.h"

namespace hifp8::model {
namespace {

TEST(ActivationStats, ColumnMaximaHistogramAndReservoir) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const size_t n = 5, rows = 1000, keep = 16;
  std::vector<float> x(rows * n);
  for (float& v : x) v = normal(rng);
  x[7] = NAN, x[13] = INFINITY, x[21] = 0.0f, x[22] = 1e-30f;
  StatsCollector c({true, keep});
  c.add("m.q_proj", x.data(), 600, n);  // two calls, as two passes
  c.add("m.q_proj", x.data() + 600 * n, rows - 600, n);
  c.add("m.self_attn.k_cache", x.data(), rows, n);
  const ActivationStats& s = c.stats().at("m.q_proj");
  EXPECT_EQ(s.rows, rows);
  std::vector<float> want(n, 0.0f);
  std::vector<uint64_t> bins(AbsHistogram::kBins, 0);
  for (size_t i = 0; i < x.size(); ++i) {
    const float a = std::fabs(x[i]);
    if (std::isfinite(a)) want[i % n] = std::max(want[i % n], a);
    const double pos = a > 0 ? (std::log2(double(a)) + 40) * 64 : 0;  // bins of 1/64 octave from 2^-40
    ++bins[size_t(std::clamp(pos, 0.0, double(AbsHistogram::kBins - 1)))];
  }
  EXPECT_EQ(s.channel_amax, want);
  EXPECT_EQ(s.histogram, bins);
  EXPECT_EQ(AbsHistogram::bin(NAN), 0u);
  EXPECT_EQ(AbsHistogram::bin(INFINITY), AbsHistogram::kBins - 1);
  // The reservoir holds `keep` of the rows, each one a row of x; the same rows however the passes split.
  ASSERT_EQ(s.samples.size(), keep * n);
  StatsCollector one_pass({false, keep});
  one_pass.add("m.q_proj", x.data(), rows, n);
  EXPECT_EQ(one_pass.stats().at("m.q_proj").samples, s.samples);
  EXPECT_TRUE(c.stats().at("m.self_attn.k_cache").samples.empty()) << "keys and values keep no rows";
  // Algorithm R keeps each row with probability keep / rows: rows of every part of the stream survive.
  size_t late = 0;
  for (uint64_t seen = 0; seen < 100000; ++seen) late += reservoir_slot(seen, keep) < keep && seen >= 50000;
  EXPECT_GT(late, 0u);
  size_t kept_late = 0;
  std::vector<int64_t> where(keep, -1);
  for (uint64_t seen = 0; seen < 100000; ++seen)
    if (const size_t slot = reservoir_slot(seen, keep); slot < keep) where[slot] = int64_t(seen);
  for (int64_t w : where) kept_late += w >= 50000;
  EXPECT_GT(kept_late, 3u) << "about half of the final reservoir comes from the second half";
  EXPECT_LT(kept_late, 13u);
  // Merging what another engine gathered: maxima, summed counts and rows.
  c.merge("m.q_proj", s);
  EXPECT_EQ(c.stats().at("m.q_proj").rows, 2 * rows);
  EXPECT_EQ(c.stats().at("m.q_proj").channel_amax, want);
}

TEST(EngineScore, EqualsTheLogSoftmaxOfPrefillLogits) {
  const Model m = Model::load(test::shared_path("models/stories260K"), {ActQuant::none, 2});
  const auto engine = open_engine(m, {});
  const std::vector<int32_t> tokens = {1, 403, 407, 261, 378, 9, 102, 7, 55};
  const std::vector<float> logits = engine->prefill(0, tokens, true);
  const auto V = size_t(m.config().vocab);
  const std::vector<TokenScore> scores = engine->score(0, tokens, 3);
  ASSERT_EQ(scores.size(), tokens.size() - 3);
  for (size_t p = 3; p < tokens.size(); ++p) {
    const float* row = &logits[(p - 1) * V];
    double mx = row[0], sum = 0;
    int32_t best = 0;
    for (size_t i = 0; i < V; ++i)
      if (row[i] > mx) mx = row[i], best = int32_t(i);
    for (size_t i = 0; i < V; ++i) sum += std::exp(double(row[i]) - mx);
    EXPECT_NEAR(scores[p - 3].logprob, double(row[size_t(tokens[p])]) - mx - std::log(sum), 1e-12);
    EXPECT_EQ(scores[p - 3].argmax, best);
  }
  // With reference logits (here: the same model's shifted by one position), KL(reference || model).
  const std::vector<float> reference(logits.begin() + long(3 * V), logits.begin() + long(tokens.size() * V));
  const std::vector<TokenScore> against = engine->score(0, tokens, 3, reference);
  for (size_t p = 3; p < tokens.size(); ++p) {
    const float *row = &logits[(p - 1) * V], *ref = &reference[(p - 3) * V];
    const auto lse = [&](const float* x) {
      double mx = *std::max_element(x, x + V), sum = 0;
      for (size_t i = 0; i < V; ++i) sum += std::exp(double(x[i]) - mx);
      return mx + std::log(sum);
    };
    double kl = 0;
    for (size_t i = 0; i < V; ++i) {
      const double lr = double(ref[i]) - lse(ref), lm = double(row[i]) - lse(row);
      kl += std::exp(lr) * (lr - lm);
    }
    EXPECT_NEAR(against[p - 3].kl, kl, 1e-9);
    EXPECT_EQ(against[p - 3].logprob, scores[p - 3].logprob);
  }
  EXPECT_NEAR(engine->score(0, tokens, 1, std::vector<float>(logits.begin(), logits.end() - long(V)))[4].kl, 0.0, 1e-12);
  EXPECT_THROW(engine->score(0, tokens, 3, std::vector<float>(V)), Error) << "reference of the wrong size";
  EXPECT_THROW(engine->score(0, tokens, 0), Error);
  EXPECT_TRUE(engine->score(0, tokens, tokens.size()).empty());
}

TEST(EngineHooks, CollectAndTraceSeeEveryLinearOnlyWhileOn) {
  const Model m = Model::load(test::shared_path("models/stories260K"), {ActQuant::none, 2});
  const auto engine = open_engine(m, {});
  const std::vector<int32_t> tokens = {1, 403, 407, 261, 378};
  StatsCollector c({false, 4});
  std::map<std::string, size_t> traced;
  engine->collect(&c);
  engine->trace([&](const std::string& name, const float*, size_t rows, size_t) { traced[name] += rows; });
  engine->prefill(0, tokens);
  engine->collect(nullptr);
  engine->trace(nullptr);
  engine->prefill(0, tokens);
  const std::string p = "model.layers.0.";
  for (const char* name : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.o_proj", "mlp.down_proj", "self_attn.k_cache"}) {
    ASSERT_TRUE(c.stats().count(p + name)) << name;
    EXPECT_EQ(c.stats().at(p + name).rows, tokens.size()) << name << ": once, not after collect(nullptr)";
  }
  EXPECT_EQ(c.stats().at(p + "mlp.down_proj").samples.size(), 4 * size_t(m.config().intermediate));
  EXPECT_EQ(traced.at(p + "mlp.up_proj"), tokens.size());
  EXPECT_EQ(traced.at("model.layers." + std::to_string(m.config().layers - 1)), tokens.size());
}

}  // namespace
}  // namespace hifp8::model
