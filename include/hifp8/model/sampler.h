#pragma once
// Picks the next token from logits: greedy at temperature 0, else softmax(logits / T) restricted to
// the top-k tokens and then to the smallest set whose probability reaches top-p, sampled with a
// seeded generator (the same seed and inputs give the same tokens).
#include <cstdint>
#include <random>
#include <span>

namespace hifp8::model {

struct SamplingOptions {
  float temperature = 0.0f;
  int64_t top_k = 0;    // 0: no limit
  float top_p = 1.0f;   // 1: no limit
  uint64_t seed = 0;
};

// Throws the Error every sampler raises for NaN logits (a broken checkpoint on any backend);
// check_logits throws it when `logits` hold a NaN.
[[noreturn]] void throw_nan_logits();
void check_logits(std::span<const float> logits);

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);  // throws Error on a negative temperature or top-p outside (0, 1]
  int32_t next(std::span<const float> logits);
  // The options for one draw made elsewhere (Engine::decode_sample, e.g. on the GPU): these options
  // with a seed from this sampler's generator, so a request's tokens still depend only on its seed.
  SamplingOptions next_draw();

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace hifp8::model
