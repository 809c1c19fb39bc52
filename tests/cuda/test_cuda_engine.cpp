// The GPU engine against the CPU engine on the same checkpoints: stories260K, the tiny random models
// of every dense architecture (llama3 RoPE, Mistral's window, Qwen2's biases, Qwen3's q/k norms),
// and their 8-bit quantizations; prefill of every position, incremental and batched decoding (the
// CUDA-graph replay included), 8-bit KV caches, GPU sampling, and what the GPU path refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cuda/cuda_test_support.h"
#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/pipeline/quantize_checkpoint.h"
#include "hifp8/io/safetensors.h"
#include "hifp8/io/synthetic_checkpoint.h"
#include "hifp8/model/engine.h"
#include "hifp8/model/gpu_model.h"
#include "hifp8/model/model.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace hifp8::model {
namespace {
namespace fs = std::filesystem;

fs::path tiny_model(const std::string& arch) { return test::source_dir() / "tests/data/tiny-models" / arch; }

// ||a - b|| / ||b|| over all logits (NaN or Inf in a: infinite).
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

// The first n token ids of stories260K's sample text (in-distribution input for a trained model).
std::vector<int32_t> stories_tokens(size_t n) {
  std::ifstream in(test::shared_path("data/stories260K_samples.tokens"));
  std::vector<int32_t> ids;
  for (int32_t t; ids.size() < n && in >> t;) ids.push_back(t);
  return ids;
}

// Fresh ids each run; the seed is printed, and HIFP8_TEST_SEED=<seed> replays a failing run.
std::vector<int32_t> random_ids(size_t n, int64_t vocab) {
  const char* fixed = std::getenv("HIFP8_TEST_SEED");
  const unsigned seed = fixed ? unsigned(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
  std::printf("random_ids: seed %u\n", seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, int32_t(vocab - 1));
  std::vector<int32_t> ids(n);
  for (int32_t& t : ids) t = d(rng);
  return ids;
}

std::vector<float> cpu_logits(const Model& m, const std::vector<int32_t>& ids, KvDType kv) {
  KvCache cache = m.new_cache(kv, int64_t(ids.size()));
  return m.forward(ids, cache, true);
}

// Prefill of every position on the GPU (bf16 KV cache) vs the CPU engine (f32 cache); random ids
// when none are given. `act`: how both engines treat 8-bit linears' inputs (automatic: the GPU's
// choice, against the CPU's dynamic quantization; 40 rows make a prefill pass).
void expect_prefill_matches(const fs::path& dir, std::vector<int32_t> ids = {}, double tolerance = 1e-2,
                            ActQuant act = ActQuant::none) {
  const Model m = Model::load(dir, {act == ActQuant::automatic ? ActQuant::dynamic : act});
  if (ids.empty()) ids = random_ids(40, m.config().vocab);
  GpuModel gpu = GpuModel::load(m, {KvDType::bf16, 1, 128, act});
  const std::vector<float> got = gpu.prefill(0, ids, true), want = cpu_logits(m, ids, KvDType::f32);
  const auto vocab = size_t(m.config().vocab);
  const auto position = [&](size_t p) {
    return relative_error(std::vector<float>(got.begin() + long(p * vocab), got.begin() + long((p + 1) * vocab)),
                          std::vector<float>(want.begin() + long(p * vocab), want.begin() + long((p + 1) * vocab)));
  };
  EXPECT_LT(relative_error(got, want), tolerance) << dir << " (position 0: " << position(0) << ", position "
                                                  << ids.size() / 2 << ": " << position(ids.size() / 2) << ", last: "
                                                  << position(ids.size() - 1) << ")";
}

// dir's checkpoint with every tensor rounded to bf16, written to out (config.json copied).
void write_bf16_copy(const fs::path& dir, const fs::path& out) {
  const io::Checkpoint ckpt = io::Checkpoint::open(dir);
  std::vector<io::TensorSpec> specs;
  for (const auto& e : ckpt.tensors()) specs.push_back({e.info->name, io::TensorDType::BF16, e.info->shape});
  fs::create_directories(out);
  fs::copy_file(dir / "config.json", out / "config.json");
  io::SafetensorsWriter writer(out / "model.safetensors", specs);
  for (const auto& e : ckpt.tensors()) {
    const std::vector<float> values = io::dequantize_tensor(ckpt, e.info->name);
    std::vector<uint16_t> bf16(values.size());
    for (size_t i = 0; i < values.size(); ++i) bf16[i] = f32_to_bf16(values[i]);
    writer.write({reinterpret_cast<const uint8_t*>(bf16.data()), bf16.size() * 2});
  }
  writer.finish();
}

// The GPU engine rounds the inputs of every product (and the KV cache) to bf16; the CPU engine keeps
// float32. On stories260K (a trained model, 5 layers) that costs more than on the random tiny models:
// measured on H100 (2026-11-27) 0.75e-2 at the first position and 2.2e-2 over 100 positions of its
// sample text on the bf16 copy (bound 3e-2); the float32 original adds the weights' rounding (bound 5e-2).
TEST(CudaEngine, PrefillMatchesCpuOnStories260KAndEveryDenseArchitecture) {
  HIFP8_REQUIRE_CUDA();
  test::TempDir tmp;
  write_bf16_copy(test::shared_path("models/stories260K"), tmp.path() / "bf16");
  expect_prefill_matches(tmp.path() / "bf16", stories_tokens(100), 3e-2);
  expect_prefill_matches(test::shared_path("models/stories260K"), stories_tokens(100), 5e-2);
  for (const char* arch : {"llama3", "mistral", "qwen2", "qwen3"})
    expect_prefill_matches(tiny_model(arch));
}

TEST(CudaEngine, PrefillMatchesCpuForEveryQuantizedLayout) {
  HIFP8_REQUIRE_CUDA();
  for (const char* scheme : {"fp8-dynamic", "fp8-tensor", "fp8-block", "int8-dynamic", "hif8"})
    for (const char* arch : {"llama3", "qwen2"}) {
      test::TempDir tmp;
      pipeline::QuantizeCheckpointOptions o;
      o.scheme = scheme;
      o.selection.include_lm_head = true;
      pipeline::quantize_checkpoint(tiny_model(arch), tmp.path() / "q", o);
      expect_prefill_matches(tmp.path() / "q");
    }
}

// Quantized inputs: the GPU's W8A8 (E4M3 weights through the FP8 tensor cores) and its fake-quantized
// inputs (other formats) against the CPU engine's dynamic per-token quantization.
TEST(CudaEngine, QuantizedActivationsMatchCpu) {
  HIFP8_REQUIRE_CUDA();
  for (const char* scheme : {"fp8-dynamic", "fp8-tensor", "int8-dynamic", "hif8"}) {
    test::TempDir tmp;
    pipeline::QuantizeCheckpointOptions o;
    o.scheme = scheme;
    pipeline::quantize_checkpoint(tiny_model("llama3"), tmp.path() / "q", o);
    SCOPED_TRACE(scheme);
    expect_prefill_matches(tmp.path() / "q", {}, 3e-2, ActQuant::dynamic);
    if (std::string(scheme).starts_with("fp8")) expect_prefill_matches(tmp.path() / "q", {}, 3e-2, ActQuant::automatic);
  }
}

TEST(CudaEngine, PrefillMatchesCpuOnASyntheticCheckpointAndItsQuantizations) {
  HIFP8_REQUIRE_CUDA();
  test::TempDir tmp;
  io::SyntheticOptions synth;
  synth.preset = "tiny";
  io::write_synthetic_checkpoint(tmp.path() / "bf16", synth);
  // Heavy-tailed weights with outlier channels: the bf16 rounding of activations costs more here
  // (measured 0.6e-2 to 1.6e-2 over random prompts on H100, 2026-11-27).
  expect_prefill_matches(tmp.path() / "bf16", {}, 2e-2);
  for (const char* scheme : {"fp8-dynamic", "hif8"}) {
    pipeline::QuantizeCheckpointOptions o;
    o.scheme = scheme;
    pipeline::quantize_checkpoint(tmp.path() / "bf16", tmp.path() / scheme, o);
    expect_prefill_matches(tmp.path() / scheme, {}, 2e-2);
  }
}

// An 8-bit cache costs the GPU engine what it costs the CPU engine (both against the f32-cache CPU
// logits): rounding decisions differ between the two, so the errors, not the logits, are compared.
TEST(CudaEngine, EightBitKvCachesCostWhatTheyCostOnTheCpu) {
  HIFP8_REQUIRE_CUDA();
  const Model m = Model::load(tiny_model("llama3"));
  const std::vector<int32_t> ids = random_ids(40, m.config().vocab);
  const std::vector<float> reference = cpu_logits(m, ids, KvDType::f32);
  for (KvDType kv : {KvDType::fp8_e4m3, KvDType::fp8_e5m2, KvDType::hif8}) {
    GpuModel gpu = GpuModel::load(m, {kv, 1, 64});
    const double gpu_err = relative_error(gpu.prefill(0, ids, true), reference);
    const double cpu_err = relative_error(cpu_logits(m, ids, kv), reference);
    EXPECT_LT(gpu_err, 1.5 * cpu_err + 1e-2) << kv_dtype_name(kv) << " (CPU engine with that cache: " << cpu_err << ")";
  }
}

TEST(CudaEngine, IncrementalAndBatchedDecodingEqualPrefill) {
  HIFP8_REQUIRE_CUDA();
  const Model m = Model::load(tiny_model("qwen3"));
  const int64_t vocab = m.config().vocab;
  constexpr int kSlots = 3;
  std::vector<std::vector<int32_t>> seqs;
  for (int s = 0; s < kSlots; ++s) seqs.push_back(random_ids(size_t(6 + 3 * s), vocab));
  GpuModel gpu = GpuModel::load(m, {KvDType::bf16, kSlots, 64});
  std::vector<int> slots;
  for (int s = 0; s < kSlots; ++s) {
    slots.push_back(s);
    gpu.prefill(s, std::vector<int32_t>(seqs[size_t(s)].begin(), seqs[size_t(s)].begin() + 4));
  }
  // Each step decodes the next prompt token of every slot in one batch; steps 3+ replay the graph.
  for (size_t step = 4; step < seqs[0].size(); ++step) {
    std::vector<int32_t> next;
    for (int s = 0; s < kSlots; ++s) next.push_back(seqs[size_t(s)][step]);
    const std::vector<float> batched = gpu.decode(slots, next);
    for (int s = 0; s < kSlots; ++s) {
      const std::vector<int32_t> prefix(seqs[size_t(s)].begin(), seqs[size_t(s)].begin() + long(step) + 1);
      const std::vector<float> full = cpu_logits(m, prefix, KvDType::f32);
      const std::vector<float> last(full.end() - vocab, full.end());
      const std::vector<float> mine(batched.begin() + s * vocab, batched.begin() + (s + 1) * vocab);
      EXPECT_LT(relative_error(mine, last), 1e-2) << "slot " << s << " step " << step;
    }
  }
  EXPECT_EQ(gpu.length(0), int64_t(seqs[0].size()));
}

TEST(CudaEngine, GreedySamplingOnTheGpuPicksTheArgmax) {
  HIFP8_REQUIRE_CUDA();
  const Model m = Model::load(tiny_model("llama3"));
  const int64_t vocab = m.config().vocab;
  const std::vector<int32_t> ids = random_ids(8, vocab);
  GpuModel a = GpuModel::load(m, {KvDType::bf16, 1, 32}), b = GpuModel::load(m, {KvDType::bf16, 1, 32});
  a.prefill(0, ids);
  b.prefill(0, ids);
  const int slot[1] = {0};
  int32_t token[1] = {ids.back()};
  for (int step = 0; step < 5; ++step) {
    const std::vector<float> logits = a.decode(slot, token);
    const int32_t expected = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    const std::vector<int32_t> got = b.decode_sample(slot, token, std::vector<SamplingOptions>(1));
    ASSERT_EQ(got.at(0), expected) << "step " << step;
    token[0] = expected;
  }
  // Temperature sampling gives tokens inside the vocabulary (tests/cuda/test_cuda_sampling.cpp checks the draws).
  const std::vector<int32_t> s1 = b.decode_sample(slot, token, std::vector<SamplingOptions>{{1.0f, 40, 0.9f, 42}});
  EXPECT_GE(s1[0], 0);
  EXPECT_LT(s1[0], vocab);
}

// A copy of a tiny MoE model whose every token takes every expert: no discrete choice is left to a
// near tie of router scores (which the GPU's bf16 activations may break the other way), so the GPU's
// experts, routing weights and sums must match the CPU's like a dense model's.
fs::path with_all_experts(const fs::path& dir, const fs::path& out) {
  fs::create_directories(out);
  for (const auto& f : fs::directory_iterator(dir)) fs::copy_file(f.path(), out / f.path().filename());
  nlohmann::json c = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  c["num_experts_per_tok"] = c.contains("num_experts") ? c["num_experts"] : c["num_local_experts"];
  std::ofstream(out / "config.json", std::ios::trunc) << c.dump(2);
  return out;
}

// With the top-k choice, the positions after a route that went the other way differ (attention sees
// that position's keys): most positions agree within 1e-2 on these random tiny models.
void expect_moe_matches(const fs::path& dir, const std::string& what) {
  test::TempDir tmp;
  expect_prefill_matches(with_all_experts(dir, tmp.path() / "all"));
  const Model m = Model::load(dir);
  const std::vector<int32_t> ids = random_ids(40, m.config().vocab);
  GpuModel gpu = GpuModel::load(m, {KvDType::bf16, 1, 64});
  const std::vector<float> got = gpu.prefill(0, ids, true), want = cpu_logits(m, ids, KvDType::f32);
  const auto V = long(m.config().vocab);
  size_t off = 0;
  for (long p = 0; p < long(ids.size()); ++p)
    off += relative_error(std::vector<float>(got.begin() + p * V, got.begin() + (p + 1) * V),
                          std::vector<float>(want.begin() + p * V, want.begin() + (p + 1) * V)) > 1e-2;
  EXPECT_LE(off, ids.size() / 2) << what << ": positions beyond 1e-2 of the CPU logits";
}

TEST(CudaEngine, MixtureOfExpertsMatchesCpu) {
  HIFP8_REQUIRE_CUDA();
  for (const char* arch : {"qwen3_moe", "mixtral"}) {
    expect_moe_matches(tiny_model(arch), arch);
    for (const char* scheme : {"fp8-dynamic", "hif8"}) {
      test::TempDir tmp;
      pipeline::QuantizeCheckpointOptions o;
      o.scheme = scheme;
      pipeline::quantize_checkpoint(tiny_model(arch), tmp.path() / "q", o);
      expect_moe_matches(tmp.path() / "q", std::string(arch) + " " + scheme);
    }
    // Two sequences decoded in one batch equal their prefill on the GPU (same rounding: same routes).
    const Model m = Model::load(tiny_model(arch));
    GpuModel gpu = GpuModel::load(m, {KvDType::bf16, 2, 64});
    const std::vector<int32_t> a = random_ids(12, m.config().vocab), b = random_ids(12, m.config().vocab);
    const std::vector<float> want_a = GpuModel::load(m, {KvDType::bf16, 1, 64}).prefill(0, a);
    gpu.prefill(0, std::vector<int32_t>(a.begin(), a.end() - 1));
    gpu.prefill(1, std::vector<int32_t>(b.begin(), b.end() - 1));
    const int slots[2] = {0, 1};
    const int32_t tokens[2] = {a.back(), b.back()};
    const std::vector<float> got = gpu.decode(slots, tokens);
    EXPECT_LT(relative_error(std::vector<float>(got.begin(), got.begin() + long(m.config().vocab)), want_a), 1e-2) << arch;
  }
}

// Perplexity through Engine::score on the GPU (log-softmax on the device) against the CPU engine, on
// the trained models: the bf16 activations of the GPU move the NLL by far less than 1e-3 relative.
TEST(CudaEngine, ScoresAndPerplexityMatchCpu) {
  HIFP8_REQUIRE_CUDA();
  install_cuda_engine();
  for (const char* name : {"models/stories260K", "models/pd-llama-15M"}) {
    const Model m = Model::load(test::shared_path(name));
    EngineOptions o;
    o.max_context = 256;
    const auto cpu = open_engine(m, o);
    o.device = "cuda";
    const auto gpu = open_engine(m, o);
    const std::vector<int32_t> ids = stories_tokens(256);
    const std::vector<TokenScore> want = cpu->score(0, ids, 1), got = gpu->score(0, ids, 1);
    ASSERT_EQ(got.size(), want.size());
    double nll_cpu = 0, nll_gpu = 0;
    size_t same_argmax = 0;
    for (size_t i = 0; i < got.size(); ++i)
      nll_cpu -= want[i].logprob, nll_gpu -= got[i].logprob, same_argmax += got[i].argmax == want[i].argmax;
    EXPECT_LT(std::fabs(nll_gpu / nll_cpu - 1), 1e-3) << name << ": GPU " << nll_gpu << " CPU " << nll_cpu;
    EXPECT_GT(double(same_argmax), 0.95 * double(got.size())) << name;
    // The device's log-softmax equals the host's over the GPU's own logits.
    const std::vector<float> logits = gpu->prefill(0, ids, true);
    const auto V = size_t(m.config().vocab);
    for (size_t p : {size_t(1), ids.size() / 2, ids.size() - 1}) {
      const float* row = &logits[(p - 1) * V];
      const double mx = *std::max_element(row, row + V);
      double sum = 0;
      for (size_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
      EXPECT_NEAR(got[p - 1].logprob, double(row[size_t(ids[p])]) - mx - std::log(sum), 1e-4) << name << " position " << p;
      EXPECT_EQ(got[p - 1].argmax, std::max_element(row, row + V) - row);
    }
    // KL against the CPU engine's logits as the reference, on the device and on the host.
    const std::vector<float> cpu_logits = cpu->prefill(0, ids, true);
    const std::vector<float> reference(cpu_logits.begin(), cpu_logits.end() - long(V));
    const std::vector<TokenScore> on_gpu = gpu->score(0, ids, 1, reference), on_cpu = cpu->score(0, ids, 1, reference);
    double kl_gpu = 0, kl_cpu = 0;
    for (size_t i = 0; i < on_gpu.size(); ++i) kl_gpu += on_gpu[i].kl, kl_cpu += on_cpu[i].kl;
    EXPECT_LT(kl_gpu / double(on_gpu.size()), 1e-3) << name << ": the two engines' distributions are close";
    EXPECT_NEAR(kl_cpu, 0.0, 1e-9) << name << ": the CPU against itself";
    // Two GPU engines in lockstep (logits kept on the device) give what each gives alone.
    const auto other = open_engine(m, o);
    const auto [paired, reference_own] = gpu->score_against(*other, 0, ids, 1);
    ASSERT_EQ(paired.size(), got.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(paired[i].logprob, got[i].logprob, 1e-5) << name << " position " << i + 1;
      EXPECT_NEAR(reference_own[i].logprob, got[i].logprob, 1e-5) << name << " position " << i + 1;
      EXPECT_NEAR(paired[i].kl, 0.0, 1e-5) << name << ": the same model on both sides";
    }
  }
}

// Calibration statistics gathered on the device against the CPU engine's: per tensor max |x| within
// 2e-2 relative (the GPU sees bf16 activations), the same tensors, the same reservoir rows.
TEST(CudaEngine, ActivationStatisticsMatchCpu) {
  HIFP8_REQUIRE_CUDA();
  install_cuda_engine();
  for (const char* dir : {"stories260K", "qwen3_moe"}) {
    const fs::path path = std::string(dir) == "stories260K" ? test::shared_path("models/stories260K") : tiny_model(dir);
    const Model m = Model::load(path);
    const std::vector<int32_t> ids = std::string(dir) == "stories260K" ? stories_tokens(200) : random_ids(200, m.config().vocab);
    std::map<std::string, ActivationStats> stats[2];
    for (int g = 0; g < 2; ++g) {
      EngineOptions o;
      o.device = g ? "cuda" : "cpu", o.max_context = 256;
      const auto engine = open_engine(m, o);
      StatsCollector c({true, 8});
      engine->collect(&c);
      engine->prefill(0, std::vector<int32_t>(ids.begin(), ids.begin() + 120));
      engine->prefill(0, std::vector<int32_t>(ids.begin() + 120, ids.end()));
      engine->collect(nullptr);
      stats[g] = c.stats();
    }
    // An expert's rows depend on routing, which may differ on a near tie (MoE test above): experts are
    // compared in total (every row goes to experts_per_token of them). Where a layer routed some token
    // differently (its experts' row counts differ), that token's activations differ from there on, so
    // max |x| is compared only up to that layer's router input (random ids hit such a tie in about half
    // the runs: seed 1085072116 flips one in qwen3_moe, and lm_head's max |x| then differs by 30 %).
    std::map<std::string, uint64_t> expert_rows[2];
    for (int g = 0; g < 2; ++g)
      for (const auto& [name, st] : stats[g])
        if (const size_t at = name.find(".experts."); at != std::string::npos) expert_rows[g][name.substr(0, at)] += st.rows;
    EXPECT_EQ(expert_rows[1], expert_rows[0]) << dir;
    const auto layer_of = [](const std::string& name) {  // "model.layers.3.mlp..." -> 3; -1 outside the layers
      const size_t at = name.find("layers.");
      return at == std::string::npos ? -1 : std::atoi(name.c_str() + at + 7);
    };
    int first_flip = std::numeric_limits<int>::max();
    for (const auto& [name, cpu] : stats[0])
      if (name.find(".experts.") != std::string::npos && (!stats[1].count(name) || stats[1].at(name).rows != cpu.rows))
        first_flip = std::min(first_flip, layer_of(name));
    for (const auto& [name, st] : stats[1])
      if (name.find(".experts.") != std::string::npos && !stats[0].count(name)) first_flip = std::min(first_flip, layer_of(name));
    for (const auto& [name, cpu] : stats[0]) {
      if (!stats[1].count(name) && name.find(".experts.") != std::string::npos) continue;  // an expert no GPU row chose
      ASSERT_TRUE(stats[1].count(name)) << name;
      const ActivationStats& gpu = stats[1].at(name);
      if (name.find(".experts.") != std::string::npos && gpu.rows != cpu.rows) continue;
      EXPECT_EQ(gpu.rows, cpu.rows) << name;
      const int layer = layer_of(name);
      const bool downstream = first_flip != std::numeric_limits<int>::max() &&
                              (layer < 0 || layer > first_flip || (layer == first_flip && name.find(".experts.") != std::string::npos));
      if (!downstream) {
        EXPECT_NEAR(gpu.amax(), cpu.amax(), 2e-2 * cpu.amax()) << dir << " " << name;
      }
      uint64_t cpu_count = 0, gpu_count = 0;
      for (uint64_t b : cpu.histogram) cpu_count += b;
      for (uint64_t b : gpu.histogram) gpu_count += b;
      EXPECT_EQ(gpu_count, cpu_count) << name;
      EXPECT_EQ(gpu.samples.size(), cpu.samples.size()) << name;
    }
  }
}

// `eval layers` on the GPU: the trace has the CPU trace's tensors, values within the bf16 error.
TEST(CudaEngine, TraceMatchesCpu) {
  HIFP8_REQUIRE_CUDA();
  install_cuda_engine();
  const Model m = Model::load(test::shared_path("models/stories260K"));
  const std::vector<int32_t> ids = stories_tokens(64);
  std::map<std::string, std::vector<float>> traces[2];
  for (int g = 0; g < 2; ++g) {
    EngineOptions o;
    o.device = g ? "cuda" : "cpu", o.max_context = 64;
    const auto engine = open_engine(m, o);
    engine->trace([&, g](const std::string& name, const float* x, size_t rows, size_t n) {
      traces[g][name].insert(traces[g][name].end(), x, x + rows * n);
    });
    engine->prefill(0, ids, true);
  }
  ASSERT_EQ(traces[0].size(), traces[1].size());
  for (const auto& [name, cpu] : traces[0]) EXPECT_LT(relative_error(traces[1].at(name), cpu), 5e-2) << name;
}

TEST(CudaEngine, RefusesUnsupportedBlocksBadTokensAndAFullCache) {
  HIFP8_REQUIRE_CUDA();
  EXPECT_THROW(GpuModel::load(Model::load(tiny_model("gpt_oss"))), Error);
  EXPECT_THROW(GpuModel::load(Model::load(tiny_model("gemma2"))), Error);
  const Model m = Model::load(tiny_model("llama3"));
  EXPECT_THROW(GpuModel::load(m, {KvDType::f32, 1, 8}), Error);
  GpuModel gpu = GpuModel::load(m, {KvDType::bf16, 1, 8});
  EXPECT_THROW(gpu.prefill(0, std::vector<int32_t>{int32_t(m.config().vocab)}), Error);
  EXPECT_THROW(gpu.prefill(0, std::vector<int32_t>(9, 1)), Error);
  EXPECT_THROW(gpu.prefill(1, std::vector<int32_t>{1}), Error);
  gpu.prefill(0, std::vector<int32_t>(8, 1));
  const int slot[1] = {0};
  const int32_t token[1] = {1};
  EXPECT_THROW(gpu.decode(slot, token), Error);
}

}  // namespace
}  // namespace hifp8::model
