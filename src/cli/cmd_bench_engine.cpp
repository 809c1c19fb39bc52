// hifp8 bench engine: an engine's prefill and decode throughput on a checkpoint (the GPU's by default) (the numbers in
// docs/BENCHMARKS.md "GPU inference"; bench/hf_engine_baseline.py measures transformers the same way).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "hifp8/model/sampler.h"
#include "hifp8/error.h"
#include "hifp8/model/engine.h"

namespace hifp8::cli {
namespace {

struct EngineBenchArgs {
  std::string model, batches = "1,16", json, sampling;
  EngineArgs engine;
  int64_t prompt_tokens = 512, decode_context = 128, decode_tokens = 128;
  int repeats = 3;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int32_t> random_tokens(size_t n, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, int32_t(vocab - 1));
  std::vector<int32_t> t(n);
  for (int32_t& x : t) x = d(rng);
  return t;
}

void run_engine_bench(const EngineBenchArgs& a) {
  std::vector<int> batches;
  std::stringstream list(a.batches);
  for (std::string item; std::getline(list, item, ',');) batches.push_back(std::stoi(item));
  if (batches.empty() || *std::min_element(batches.begin(), batches.end()) < 1) throw Error("--batch: e.g. 1,16");
  const auto t_load = std::chrono::steady_clock::now();
  EngineArgs args = a.engine;
  args.options.slots = *std::max_element(batches.begin(), batches.end());
  if (args.options.max_context == 0) args.options.max_context = std::max(a.prompt_tokens, a.decode_context + a.decode_tokens + 8);
  const LoadedEngine loaded = load_engine(a.model, args);
  model::Engine& engine = *loaded.engine;
  const double load_s = seconds_since(t_load);
  const int64_t vocab = engine.vocab();
  const std::string kv = args.options.kv_cache_dtype.empty() ? "default" : args.options.kv_cache_dtype;
  FILE* json = a.json.empty() ? nullptr : std::fopen(a.json.c_str(), "w");
  const auto report = [&](const std::string& what, int batch, double tokens_per_s, double ms) {
    std::printf("%-11s batch %2d  %10.1f tokens/s  (%.3f ms)\n", what.c_str(), batch, tokens_per_s, ms);
    if (json)
      std::fprintf(json, "{\"model\":\"%s\",\"kv\":\"%s\",\"what\":\"%s\",\"batch\":%d,\"tokens_per_s\":%.3f,\"ms\":%.4f}\n",
                   a.model.c_str(), kv.c_str(), what.c_str(), batch, tokens_per_s, ms);
  };
  std::printf("model %s on %s (loaded in %.1f s), KV cache %s\n", a.model.c_str(), args.options.device.c_str(), load_s,
              kv.c_str());

  // Prefill: one sequence of prompt_tokens, median of `repeats` after a warm-up.
  const std::vector<int32_t> prompt = random_tokens(size_t(a.prompt_tokens), vocab, 1);
  std::vector<double> times;
  for (int r = 0; r <= a.repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    engine.prefill(0, prompt);
    if (r) times.push_back(seconds_since(t0));
  }
  std::sort(times.begin(), times.end());
  const double prefill_s = times[times.size() / 2];
  report("prefill", 1, double(a.prompt_tokens) / prefill_s, prefill_s * 1e3);

  // Decode: `batch` sequences of decode_context tokens each, then decode_tokens steps: greedy, and with
  // --sampling also drawn by the engine (on the GPU) and drawn on the host from downloaded logits (what
  // serving did before the GPU sampled).
  model::SamplingOptions sampling;
  std::vector<std::string> modes = {"decode"};
  if (!a.sampling.empty()) {
    char comma1 = 0, comma2 = 0;
    std::stringstream in(a.sampling);
    if (!(in >> sampling.temperature >> comma1 >> sampling.top_k >> comma2 >> sampling.top_p) || comma1 != ',' || comma2 != ',')
      throw Error("--sampling: TEMPERATURE,TOP_K,TOP_P, e.g. 0.8,40,0.95");
    model::Sampler check(sampling);  // throws on values out of range
    modes.insert(modes.end(), {"sample", "host-sample"});
  }
  const auto step = [&](const std::string& mode, std::span<const int> slots, std::span<const int32_t> next, uint64_t seed) {
    std::vector<model::SamplingOptions> options(slots.size(), sampling);
    for (model::SamplingOptions& o : options) o.seed = seed++;
    if (mode == "decode") return engine.decode_greedy(slots, next);
    if (mode == "sample") return engine.decode_sample(slots, next, options);
    const std::vector<float> logits = engine.decode(slots, next);
    std::vector<int32_t> out;
    for (size_t i = 0; i < slots.size(); ++i)
      out.push_back(model::Sampler(options[i]).next(std::span(logits).subspan(i * size_t(vocab), size_t(vocab))));
    return out;
  };
  for (int b : batches)
    for (const std::string& mode : modes) {
      std::vector<int> slots(static_cast<size_t>(b));
      std::vector<int32_t> next(static_cast<size_t>(b));
      for (int i = 0; i < b; ++i) {
        slots[size_t(i)] = i;
        engine.prefill(i, random_tokens(size_t(a.decode_context), vocab, 100 + uint64_t(i)));
        next[size_t(i)] = int32_t(i);
      }
      for (int w = 0; w < 3; ++w) next = step(mode, slots, next, uint64_t(w) * 1000);  // eager, capture, replay
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t s = 0; s < a.decode_tokens; ++s) next = step(mode, slots, next, uint64_t(s) * 1000);
      const double t = seconds_since(t0);
      report(mode, b, double(b) * double(a.decode_tokens) / t, t / double(a.decode_tokens) * 1e3);
    }
  if (json) std::fclose(json);
}

}  // namespace

void add_bench_engine_command(CLI::App& bench) {
  auto a = std::make_shared<EngineBenchArgs>();
  CLI::App* cmd = bench.add_subcommand("engine", "Engine throughput: prefill tokens/s and decode tokens/s per batch size");
  cmd->add_option("--model", a->model, "Model directory")->required();
  a->engine.options.device = "cuda";
  add_engine_options(cmd, a->engine);
  cmd->add_option("--batch", a->batches, "Decode batch sizes, comma-separated (default 1,16)");
  cmd->add_option("--prompt-tokens", a->prompt_tokens, "Prefill length (default 512)");
  cmd->add_option("--decode-context", a->decode_context, "Tokens each sequence holds before decoding (default 128)");
  cmd->add_option("--decode-tokens", a->decode_tokens, "Decode steps timed (default 128)");
  cmd->add_option("--sampling", a->sampling, "Also time sampled decoding, TEMPERATURE,TOP_K,TOP_P (e.g. 0.8,40,0.95): drawn by the engine and drawn on the host");
  cmd->add_option("--json", a->json, "Also write JSON lines here");
  cmd->callback([a] { run_engine_bench(*a); });
}

}  // namespace hifp8::cli
