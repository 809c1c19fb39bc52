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

std::vector<TokenScore> Engine::score(int slot, std::span<const int32_t> tokens, size_t first) {
  if (first < 1 || first > tokens.size()) throw Error("score: the first scored position must be in [1, tokens]");
  const std::vector<float> logits = prefill(slot, tokens, true);
  const auto V = size_t(vocab());
  std::vector<TokenScore> out;
  for (size_t p = first; p < tokens.size(); ++p) {
    const float* row = &logits[(p - 1) * V];
    const float* best = std::max_element(row, row + V);
    double sum = 0;
    for (size_t i = 0; i < V; ++i) sum += std::exp(double(row[i]) - double(*best));
    out.push_back({double(row[size_t(tokens[p])]) - double(*best) - std::log(sum), int32_t(best - row)});
  }
  return out;
}

}  // namespace hifp8::model
