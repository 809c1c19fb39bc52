#pragma once
// One door to running a model, on the CPU or the GPU: load once, prefill a sequence slot (logits of the
// last or of every position), decode a step for several slots, as vLLM's engine and llama.cpp's
// llama_context are one door. `serve`, `eval ppl` and the other commands that run a model take an
// Engine; the device and its settings come from one EngineOptions, parsed in one place (cli).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hifp8/model/activation_stats.h"
#include "hifp8/model/model.h"
#include "hifp8/model/sampler.h"

namespace hifp8::model {

// What the model said about one position of a scored sequence.
struct TokenScore {
  double logprob;   // log P(token at this position | the tokens before it)
  int32_t argmax;   // the most likely token there (lowest id on ties)
  double kl = 0;    // with reference logits: KL(reference || this engine's distribution) there
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const ModelConfig& config() const = 0;
  int64_t vocab() const { return config().vocab; }
  virtual int slots() const = 0;
  virtual int64_t context() const = 0;  // positions per slot
  // Empties `slot`, runs `tokens`; logits [tokens][vocab] when all_positions, else the last row.
  virtual std::vector<float> prefill(int slot, std::span<const int32_t> tokens, bool all_positions = false) = 0;
  // One token for each of `slots` (distinct) at their lengths; logits [slots][vocab].
  virtual std::vector<float> decode(std::span<const int> slots, std::span<const int32_t> tokens) = 0;
  // decode, then the next token of each slot drawn with that slot's options (sampling[i].seed seeds
  // this one draw): what serving and benchmarks need without the logits. The GPU engine samples on
  // the device and moves one id per slot; this default runs a Sampler on the host logits.
  virtual std::vector<int32_t> decode_sample(std::span<const int> slots, std::span<const int32_t> tokens,
                                             std::span<const SamplingOptions> sampling);
  // decode_sample at temperature 0: the most likely next token of each slot (lowest id on ties).
  std::vector<int32_t> decode_greedy(std::span<const int> slots, std::span<const int32_t> tokens);
  // Empties `slot`, runs `tokens` and scores positions [first, tokens.size()) (first >= 1): what
  // perplexity and log-likelihood need without moving [tokens][vocab] logits. `reference`, when given,
  // holds another model's logits for the same positions ([tokens.size() - first][vocab], e.g. a
  // baseline's prefill rows first - 1 ..) and fills TokenScore::kl. The GPU engine reduces on the
  // device; this default takes prefill's logits through log-softmaxes in double.
  virtual std::vector<TokenScore> score(int slot, std::span<const int32_t> tokens, size_t first,
                                        std::span<const float> reference = {});
  // score() with `reference`'s distribution on the same tokens (its slot 0) as the reference: first this
  // engine's scores with their KL, second the reference's own scores. Two GPU engines keep the logits on
  // the device; otherwise the reference's logits pass through the host.
  virtual std::pair<std::vector<TokenScore>, std::vector<TokenScore>> score_against(Engine& reference, int slot,
                                                                                    std::span<const int32_t> tokens,
                                                                                    size_t first);

  // Statistics of the activations of the passes run between collect(&c) and collect(nullptr) go into c
  // (activation_stats.h); they are complete once collect(nullptr) returns. Calibration's door.
  virtual void collect(StatsCollector* into) = 0;
  // Calls trace(name, values, rows, n) with every linear's output and each decoder layer's hidden
  // state of later passes (float32 rows; an empty function stops): `eval layers`' door.
  virtual void trace(ActivationObserver trace) = 0;
};

// Throws Error unless 1 <= first <= tokens and `reference` is empty or [tokens - first][vocab]: the
// arguments of Engine::score, checked alike by every engine.
void check_score_arguments(size_t tokens, size_t first, size_t reference, int64_t vocab);
// The check every decode_sample does: one SamplingOptions per slot.
void check_sample_arguments(size_t slots, size_t sampling);

struct EngineOptions {
  std::string device = "cpu";        // cpu or cuda
  std::string kv_cache_dtype;        // empty: f32 on the CPU, bf16 on the GPU
  ActQuant act_quant = ActQuant::none;
  int64_t max_context = 0;           // positions per slot; 0: the model's max_position_embeddings
  int threads = 0;                   // CPU threads; 0: all cores
  int slots = 1;                     // sequences held at once
};

// The CPU engine: one KV cache per slot (decode steps run slot by slot). `model` must outlive it.
std::unique_ptr<Engine> cpu_engine(const Model& model, KvDType kv, int slots, int64_t context);

// How a backend outside libhifp8 offers its engine: open_engine calls the factory installed for
// "cuda" (with max_context and kv_cache_dtype resolved). libhifp8_cuda's install_cuda_engine()
// (gpu_model.h) installs it; programs with the GPU engine call that once at start, so libhifp8 itself
// never links CUDA.
using EngineFactory = std::unique_ptr<Engine> (*)(const Model&, const EngineOptions&);
void install_gpu_engine(EngineFactory factory);

// The engine `options.device` names, over `model` (loaded with options.threads and act_quant; the GPU
// engine uploads it and keeps no reference). Error for an unknown device, cuda in a program without the GPU engine
// or without a GPU, or a model the device's engine cannot run.
std::unique_ptr<Engine> open_engine(const Model& model, const EngineOptions& options);

}  // namespace hifp8::model
