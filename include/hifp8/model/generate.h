#pragma once
// The generation loop shared by `hifp8 generate`, `hifp8 eval diff-generate` and the server: prefill
// the prompt, then sample one token at a time until an EOS token, max_tokens, or a full KV cache.
#include <cstdint>
#include <functional>
#include <vector>

#include "hifp8/model/engine.h"
#include "hifp8/model/model.h"
#include "hifp8/model/sampler.h"

namespace hifp8::model {

struct GenerateOptions {
  int64_t max_tokens = 64;
  KvDType kv_cache = KvDType::f32;
  int64_t max_context = 0;  // 0: the model's max_position_embeddings
  SamplingOptions sampling;
  std::vector<int64_t> eos;  // stop tokens (not included in the output)
};

struct GenerateTiming {
  double prefill_seconds = 0, decode_seconds = 0;
};

// A backend the loop drives: prefill(prompt) and step(token) return the logits of the last position;
// full() says the context cannot take another token.
struct GenerateBackend {
  std::function<std::vector<float>(const std::vector<int32_t>&)> prefill;
  std::function<std::vector<float>(int32_t)> step;
  std::function<bool()> full;
};

// on_token(id) is called for each generated token as it is produced.
std::vector<int32_t> generate(const GenerateBackend& backend, const std::vector<int32_t>& prompt,
                              const GenerateOptions& options, const std::function<void(int32_t)>& on_token = {},
                              GenerateTiming* timing = nullptr);
// The loop on an engine's slot 0 (CPU or GPU), up to the engine's context.
std::vector<int32_t> generate(Engine& engine, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                              const std::function<void(int32_t)>& on_token = {}, GenerateTiming* timing = nullptr);
// The loop on the CPU engine, with a KV cache of options.kv_cache.
std::vector<int32_t> generate(const Model& m, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                              const std::function<void(int32_t)>& on_token = {}, GenerateTiming* timing = nullptr);

}  // namespace hifp8::model
