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
  // Sorting the whole vocabulary for every token cost ~3 ms at 32k entries and dominated a served
  // decode step: candidates are put in order only as far as a cut needs (top-k, then top-p).
  const double maxv = *std::max_element(logits.begin(), logits.end());
  const auto weight = [&](int32_t id) { return std::exp((double(logits[size_t(id)]) - maxv) / options_.temperature); };
  const auto by_logit = [&](int32_t a, int32_t b) {
    return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b);
  };
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  size_t count = ids.size();  // the candidates: ids[0, count)
  size_t sorted = 0;          // ids[0, sorted) are the most likely, in order
  if (options_.top_k > 0) {
    count = sorted = std::min(count, size_t(options_.top_k));
    std::partial_sort(ids.begin(), ids.begin() + long(count), ids.end(), by_logit);
  }
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
  std::discrete_distribution<size_t> pick(p.begin(), p.end());
  return ids[pick(rng_)];
}

}  // namespace hifp8::model
