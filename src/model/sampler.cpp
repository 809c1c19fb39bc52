#include "hifp8/model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "hifp8/error.h"
#include "hifp8/kernel/array_ops.h"

namespace hifp8::model {
namespace {

// An index drawn with probability weights[i] / sum(weights): one pass to sum, one to find it.
template <class T>
size_t pick_weighted(std::span<const T> weights, std::mt19937_64& rng) {
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  const double u = std::uniform_real_distribution<double>(0.0, total)(rng);
  double cumulative = 0;
  for (size_t i = 0; i < weights.size(); ++i)
    if ((cumulative += weights[i]) > u) return i;
  // Rounding can leave u just above the last partial sum: the last non-zero weight.
  size_t last = weights.size() - 1;
  while (last > 0 && weights[last] == 0) --last;
  return last;
}

}  // namespace

void throw_nan_logits() { throw Error("the model produced NaN logits (a NaN or Inf weight or scale in the checkpoint?)"); }

void check_logits(std::span<const float> logits) {
  if (std::any_of(logits.begin(), logits.end(), [](float v) { return v != v; })) throw_nan_logits();
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  if (!(options.temperature >= 0)) throw Error("temperature must be >= 0");
  if (!(options.top_p > 0 && options.top_p <= 1)) throw Error("top-p must be in (0, 1]");
  if (options.top_k < 0) throw Error("top-k must be >= 0");
}

SamplingOptions Sampler::next_draw() {
  SamplingOptions o = options_;
  o.seed = rng_();
  return o;
}

int32_t Sampler::next(std::span<const float> logits) {
  if (logits.empty()) throw Error("sampler: empty logits");
  // Every backend's logits pass here (the CPU engine names the layer earlier): NaN is a broken model,
  // and argmax over NaN would pick token 0 forever.
  check_logits(logits);
  // Greedy at 0, and at a temperature so small (subnormal) that 1/T overflows: its limit is greedy,
  // while exp((l - max) / T) would give 0 * inf = NaN weights.
  if (options_.temperature == 0 || !std::isfinite(1.0f / options_.temperature))
    return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());  // first maximum, like argmax
  // Sorting the whole vocabulary for every token cost ~3 ms at 32k entries and dominated a served
  // decode step: candidates are put in order only as far as a cut needs (top-k, then top-p), and
  // the weights of the whole vocabulary come from one vectorised pass.
  const auto by_logit = [&](int32_t a, int32_t b) {
    return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b);
  };
  const float inv_t = 1.0f / options_.temperature;
  std::vector<float> all;  // the weight of every id, when no top-k cut limits the candidates
  float maxv = 0;
  if (options_.top_k == 0) {
    maxv = *std::max_element(logits.begin(), logits.end());
    all.resize(logits.size());
    kernel::exp_scaled(logits.data(), all.data(), logits.size(), maxv, inv_t);
    if (options_.top_p >= 1) return int32_t(pick_weighted<float>(all, rng_));  // no cut: the whole vocabulary
  }
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  size_t count = ids.size();  // the candidates: ids[0, count)
  size_t sorted = 0;          // ids[0, sorted) are the most likely, in order
  if (options_.top_k > 0) {
    count = sorted = std::min(count, size_t(options_.top_k));
    std::partial_sort(ids.begin(), ids.begin() + long(count), ids.end(), by_logit);
    maxv = logits[size_t(ids[0])];
  }
  const auto weight = [&](int32_t id) {
    return all.empty() ? std::exp((logits[size_t(id)] - maxv) * inv_t) : all[size_t(id)];
  };
  if (options_.top_p < 1) {
    // The nucleus: the most likely candidates whose share of the candidates' mass reaches top_p,
    // sorted a growing prefix at a time (it is usually a few hundred entries).
    double total = 0;
    for (size_t i = 0; i < count; ++i) total += weight(ids[i]);
    double cumulative = 0;
    size_t n = 0;
    while (n < count && cumulative < options_.top_p) {
      if (n == sorted) {
        const size_t more = std::min(count, std::max<size_t>(256, 4 * sorted));
        std::partial_sort(ids.begin() + long(sorted), ids.begin() + long(more), ids.begin() + long(count), by_logit);
        sorted = more;
      }
      cumulative += weight(ids[n++]) / total;
    }
    count = n;
  }
  std::vector<double> p(count);
  for (size_t i = 0; i < count; ++i) p[i] = weight(ids[i]);
  return ids[pick_weighted<double>(p, rng_)];
}

}  // namespace hifp8::model
