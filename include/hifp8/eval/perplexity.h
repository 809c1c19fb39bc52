#pragma once
// Perplexity with the sliding-window definition Hugging Face documents: windows of up to `ctx` tokens
// advancing by `stride`; each token is scored once, by the first window whose new tokens include it,
// with up to ctx - 1 tokens of context (a document's first token is never scored). With a baseline
// model run on the same windows: mean KL(baseline || model) per scored token, top-1 agreement and
// the baseline's perplexity (llama.cpp's --kl-divergence report).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "hifp8/io/token_file.h"
#include "hifp8/model/engine.h"
#include "hifp8/model/model.h"

namespace hifp8::eval {

using io::Document;  // io/token_file.h reads them

struct PerplexityOptions {
  int64_t ctx = 512, stride = 256;
  model::KvDType kv_cache = model::KvDType::f32;  // the model's on the CPU overload; a baseline always uses f32
  std::function<void(size_t done, size_t total)> progress{};  // scored tokens
};

struct PerplexityResult {
  size_t tokens = 0;  // scored
  double mean_nll = 0, ppl = 0;
  // With a baseline:
  std::optional<double> baseline_mean_nll, baseline_ppl, mean_kl, max_kl, top1_agreement;
};

// Throws Error on ctx < 2, stride < 1 or > ctx (or beyond an engine's context), or a document with
// no token to score. On engines (model/engine.h, CPU or GPU) each window is one prefill of slot 0;
// the baseline's engine should hold an unquantized KV cache.
PerplexityResult perplexity(model::Engine& m, const std::vector<Document>& docs, const PerplexityOptions& options,
                            model::Engine* baseline = nullptr);
// On the CPU engine: the model with options.kv_cache, the baseline with an f32 cache.
PerplexityResult perplexity(const model::Model& m, const std::vector<Document>& docs, const PerplexityOptions& options,
                            const model::Model* baseline = nullptr);

}  // namespace hifp8::eval
