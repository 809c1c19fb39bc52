#include "hifp8/model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "hifp8/error.h"

namespace hifp8::model {

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  if (!(options.temperature >= 0)) throw Error("temperature must be >= 0");
  if (!(options.top_p > 0 && options.top_p <= 1)) throw Error("top-p must be in (0, 1]");
  if (options.top_k < 0) throw Error("top-k must be >= 0");
}

int32_t Sampler::next(std::span<const float> logits) {
  if (logits.empty()) throw Error("sampler: empty logits");
  if (options_.temperature == 0)
    return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());  // first maximum, like argmax
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  const auto by_logit = [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b); };
  size_t keep = logits.size();
  if (options_.top_k > 0) keep = std::min(keep, size_t(options_.top_k));
  std::partial_sort(ids.begin(), ids.begin() + long(keep), ids.end(), by_logit);
  ids.resize(keep);
  std::vector<double> p(keep);
  const double maxv = logits[size_t(ids[0])];
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp((double(logits[size_t(ids[i])]) - maxv) / options_.temperature);
  double cumulative = 0;
  size_t nucleus = keep;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += p[i] / sum;
    if (cumulative >= options_.top_p) {
      nucleus = i + 1;
      break;
    }
  }
  std::discrete_distribution<size_t> pick(p.begin(), p.begin() + long(nucleus));
  return ids[pick(rng_)];
}

}  // namespace hifp8::model
