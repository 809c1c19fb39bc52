#include "hifp8/model/engine.h"

#include <algorithm>
#include <cmath>

#include "hifp8/error.h"
#include "hifp8/model/sampler.h"

namespace hifp8::model {

std::vector<int32_t> Engine::decode_sample(std::span<const int> slots, std::span<const int32_t> tokens,
                                           std::span<const SamplingOptions> sampling) {
  check_sample_arguments(slots.size(), sampling.size());
  const std::vector<float> logits = decode(slots, tokens);
  const auto V = size_t(vocab());
  std::vector<int32_t> out;
  for (size_t i = 0; i < slots.size(); ++i) out.push_back(Sampler(sampling[i]).next(std::span(logits).subspan(i * V, V)));
  return out;
}

std::vector<int32_t> Engine::decode_greedy(std::span<const int> slots, std::span<const int32_t> tokens) {
  return decode_sample(slots, tokens, std::vector<SamplingOptions>(slots.size()));
}

namespace {

// log-sum-exp of a row, and the index of its maximum (lowest on ties).
double log_sum_exp(const float* row, size_t n, size_t* argmax = nullptr) {
  const float* best = std::max_element(row, row + n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(double(row[i]) - double(*best));
  if (argmax) *argmax = size_t(best - row);
  return double(*best) + std::log(sum);
}

}  // namespace

void check_sample_arguments(size_t slots, size_t sampling) {
  if (sampling != slots) throw Error("decode_sample: one SamplingOptions per slot");
}

void check_score_arguments(size_t tokens, size_t first, size_t reference, int64_t vocab) {
  if (first < 1 || first > tokens) throw Error("score: the first scored position must be in [1, tokens]");
  if (reference != 0 && reference != (tokens - first) * size_t(vocab))
    throw Error("score: the reference logits are not [scored positions][vocab]");
}

namespace {

// Scores of positions [first, tokens) from logits of every position ([tokens][vocab]), with KL against
// `reference` ([tokens - first][vocab]) when it is given.
std::vector<TokenScore> scores_from_logits(const std::vector<float>& logits, std::span<const int32_t> tokens, size_t first,
                                           std::span<const float> reference, size_t V) {
  std::vector<TokenScore> out;
  for (size_t p = first; p < tokens.size(); ++p) {
    const float* row = &logits[(p - 1) * V];
    size_t best = 0;
    const double lse = log_sum_exp(row, V, &best);
    TokenScore t{double(row[size_t(tokens[p])]) - lse, int32_t(best)};
    if (!reference.empty()) {
      const float* ref = &reference[(p - first) * V];
      const double ref_lse = log_sum_exp(ref, V);
      for (size_t i = 0; i < V; ++i) {
        const double lr = double(ref[i]) - ref_lse;
        t.kl += std::exp(lr) * (lr - (double(row[i]) - lse));
      }
    }
    out.push_back(t);
  }
  return out;
}

}  // namespace

std::vector<TokenScore> Engine::score(int slot, std::span<const int32_t> tokens, size_t first,
                                      std::span<const float> reference) {
  check_score_arguments(tokens.size(), first, reference.size(), vocab());
  return scores_from_logits(prefill(slot, tokens, true), tokens, first, reference, size_t(vocab()));
}

// The reference runs once: its logits give its own scores and are this engine's reference.
std::pair<std::vector<TokenScore>, std::vector<TokenScore>> Engine::score_against(Engine& reference, int slot,
                                                                                 std::span<const int32_t> tokens,
                                                                                 size_t first) {
  if (reference.vocab() != vocab()) throw Error("score: the reference's vocabulary differs");
  check_score_arguments(tokens.size(), first, 0, vocab());
  const auto V = size_t(vocab());
  const std::vector<float> logits = reference.prefill(0, tokens, true);
  std::vector<TokenScore> own = scores_from_logits(logits, tokens, first, {}, V);
  const std::span<const float> rows(logits.data() + (first - 1) * V, own.size() * V);
  return {score(slot, tokens, first, rows), std::move(own)};
}

}  // namespace hifp8::model
