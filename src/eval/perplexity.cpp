#include "hifp8/eval/perplexity.h"

#include <algorithm>
#include <cmath>

#include "hifp8/error.h"

namespace hifp8::eval {

PerplexityResult perplexity(const model::Model& m, const std::vector<Document>& docs, const PerplexityOptions& o,
                            const model::Model* baseline) {
  const auto engine = model::cpu_engine(m, o.kv_cache, 1, std::max<int64_t>(o.ctx, 2));
  const auto base_engine = baseline ? model::cpu_engine(*baseline, model::KvDType::f32, 1, std::max<int64_t>(o.ctx, 2)) : nullptr;
  return perplexity(*engine, docs, o, base_engine.get());
}

PerplexityResult perplexity(model::Engine& m, const std::vector<Document>& docs, const PerplexityOptions& o,
                            model::Engine* baseline) {
  if (o.ctx < 2) throw Error("--ctx must be at least 2");
  if (o.stride < 1 || o.stride > o.ctx) throw Error("--stride must be in [1, ctx]");
  if (o.ctx > m.context() || (baseline && o.ctx > baseline->context()))
    throw Error("--ctx " + std::to_string(o.ctx) + " exceeds the engine's context of " + std::to_string(m.context()) + " positions");
  if (baseline && baseline->config().vocab != m.config().vocab)
    throw Error("the baseline's vocabulary (" + std::to_string(baseline->config().vocab) + ") differs from the model's (" +
                std::to_string(m.config().vocab) + ")");
  size_t total = 0;
  for (const Document& d : docs) total += d.size() > 1 ? d.size() - 1 : 0;
  if (total == 0) throw Error("no token to score: every document has fewer than 2 tokens");
  double nll = 0, base_nll = 0, kl = 0, max_kl = 0;
  size_t agree = 0, scored = 0;
  for (const Document& doc : docs) {
    const auto n = int64_t(doc.size());
    int64_t prev_end = 0;
    for (int64_t begin = 0; prev_end < n; begin += o.stride) {
      const int64_t end = std::min(begin + o.ctx, n);
      const int64_t first = std::max(prev_end, begin + 1);  // scored positions [first, end)
      const std::span<const int32_t> window(doc.data() + begin, size_t(end - begin));
      if (!baseline) {
        for (const model::TokenScore& t : m.score(0, window, size_t(first - begin))) nll -= t.logprob, ++scored;
      } else {
        const auto [got, base] = m.score_against(*baseline, 0, window, size_t(first - begin));
        for (size_t i = 0; i < got.size(); ++i) {
          nll -= got[i].logprob, base_nll -= base[i].logprob;
          kl += got[i].kl, max_kl = std::max(max_kl, got[i].kl);
          agree += got[i].argmax == base[i].argmax;
        }
        scored += got.size();
      }
      prev_end = end;
      if (o.progress) o.progress(scored, total);
    }
  }
  PerplexityResult r;
  r.tokens = scored;
  r.mean_nll = nll / double(scored);
  r.ppl = std::exp(r.mean_nll);
  if (baseline) {
    r.baseline_mean_nll = base_nll / double(scored);
    r.baseline_ppl = std::exp(*r.baseline_mean_nll);
    r.mean_kl = kl / double(scored);
    r.max_kl = max_kl;
    r.top1_agreement = double(agree) / double(scored);
  }
  return r;
}

}  // namespace hifp8::eval
