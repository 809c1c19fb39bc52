#include "hifp8/model/engine.h"

#include <algorithm>
#include <cmath>

#include "hifp8/error.h"

namespace hifp8::model {

std::vector<int32_t> Engine::decode_greedy(std::span<const int> slots, std::span<const int32_t> tokens) {
  const std::vector<float> logits = decode(slots, tokens);
  const auto V = size_t(vocab());
  std::vector<int32_t> out;
  for (size_t i = 0; i < slots.size(); ++i)
    out.push_back(int32_t(std::max_element(logits.begin() + long(i * V), logits.begin() + long((i + 1) * V)) -
                          (logits.begin() + long(i * V))));
  return out;
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

std::vector<TokenScore> Engine::score(int slot, std::span<const int32_t> tokens, size_t first,
                                      std::span<const float> reference) {
  if (first < 1 || first > tokens.size()) throw Error("score: the first scored position must be in [1, tokens]");
  const auto V = size_t(vocab());
  if (!reference.empty() && reference.size() != (tokens.size() - first) * V)
    throw Error("score: the reference logits are not [scored positions][vocab]");
  const std::vector<float> logits = prefill(slot, tokens, true);
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

std::pair<std::vector<TokenScore>, std::vector<TokenScore>> Engine::score_against(Engine& reference, int slot,
                                                                                 std::span<const int32_t> tokens,
                                                                                 size_t first) {
  if (reference.vocab() != vocab()) throw Error("score: the reference's vocabulary differs");
  std::vector<TokenScore> own = reference.score(0, tokens, first);
  const std::vector<float> logits = reference.prefill(0, tokens, true);
  const std::span<const float> rows(logits.data() + (first - 1) * size_t(vocab()), own.size() * size_t(vocab()));
  return {score(slot, tokens, first, rows), std::move(own)};
}

}  // namespace hifp8::model
