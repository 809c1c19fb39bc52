#include "hifp8/model/generate.h"

#include <algorithm>
#include <chrono>

#include "hifp8/error.h"

namespace hifp8::model {

std::vector<int32_t> generate(const GenerateBackend& backend, const std::vector<int32_t>& prompt,
                              const GenerateOptions& o, const std::function<void(int32_t)>& on_token,
                              GenerateTiming* timing) {
  if (prompt.empty()) throw Error("the prompt has no tokens");
  Sampler sampler(o.sampling);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  std::vector<float> logits = backend.prefill(prompt);
  const auto t1 = Clock::now();
  std::vector<int32_t> out;
  for (int64_t i = 0; i < o.max_tokens; ++i) {
    const int32_t next = sampler.next(logits);
    if (std::find(o.eos.begin(), o.eos.end(), next) != o.eos.end()) break;
    out.push_back(next);
    if (on_token) on_token(next);
    if (i + 1 == o.max_tokens || backend.full()) break;
    logits = backend.step(next);
  }
  if (timing) {
    timing->prefill_seconds = std::chrono::duration<double>(t1 - t0).count();
    timing->decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  }
  return out;
}

std::vector<int32_t> generate(Engine& engine, const std::vector<int32_t>& prompt, const GenerateOptions& o,
                              const std::function<void(int32_t)>& on_token, GenerateTiming* timing) {
  int64_t length = 0;  // positions held by slot 0
  const GenerateBackend backend{
      [&](const std::vector<int32_t>& tokens) {
        length = int64_t(tokens.size());
        return engine.prefill(0, tokens);
      },
      [&](int32_t token) {
        const int slot[1] = {0};
        const int32_t step[1] = {token};
        ++length;
        return engine.decode(slot, step);
      },
      [&] { return length >= engine.context(); }};
  return generate(backend, prompt, o, on_token, timing);
}

std::vector<int32_t> generate(const Model& m, const std::vector<int32_t>& prompt, const GenerateOptions& o,
                              const std::function<void(int32_t)>& on_token, GenerateTiming* timing) {
  const int64_t limit = o.max_context > 0 ? o.max_context : m.config().max_positions;
  const auto engine = cpu_engine(m, o.kv_cache, 1, std::max<int64_t>(1, std::min(limit, int64_t(prompt.size()) + o.max_tokens)));
  return generate(*engine, prompt, o, on_token, timing);
}

}  // namespace hifp8::model
