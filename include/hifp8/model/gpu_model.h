#pragma once
// The engine on a CUDA GPU (libhifp8_cuda): a dense Llama-family model (Llama, Mistral, Qwen2, Qwen3)
// uploaded from a loaded CPU Model. 8-bit weights stay 8-bit on the GPU and are decoded inside the
// matmul (W8A16, tensor cores) for decoding; prefill runs E4M3 weights through cuBLASLt's FP8 GEMM
// when the inputs are quantized (GpuOptions::act_quant), else decodes each 8-bit weight to bf16 into
// a scratch buffer and runs cuBLAS. Float weights are held as bf16. Activations are bf16 into each matmul, the
// residual stream float32. The KV cache (bf16, fp8_e4m3, fp8_e5m2 or hif8 with per position-and-head
// scales, or the checkpoint's k_scale / v_scale) has `max_batch` sequence slots. Decode steps for a
// batch size run as a captured CUDA graph.
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "hifp8/model/activation_stats.h"
#include "hifp8/model/engine.h"
#include "hifp8/model/kv_cache.h"
#include "hifp8/model/model.h"
#include "hifp8/model/sampler.h"

namespace hifp8::model {

struct GpuOptions {
  KvDType kv = KvDType::bf16;  // f32 is not offered on the GPU
  int max_batch = 16;
  int64_t max_positions = 4096;
  // Inputs of 8-bit linears: none (W8A16), dynamic (per token, as the CPU engine: W8A8 through the
  // FP8 tensor cores for E4M3 weights with tensor or channel scales, fake-quantized bf16 inputs for the
  // other formats), automatic (dynamic for those E4M3 weights in passes of more than 8 rows, else none).
  ActQuant act_quant = ActQuant::none;
};

class GpuModel {
 public:
  // Throws Error for MoE architectures, a KV dtype the GPU path lacks, or no CUDA device.
  static GpuModel load(const Model& model, const GpuOptions& options = {});
  GpuModel(GpuModel&&) noexcept;
  GpuModel& operator=(GpuModel&&) noexcept;
  ~GpuModel();

  const ModelConfig& config() const;
  int max_batch() const;
  int64_t length(int slot) const;  // positions held by a sequence slot
  void reset(int slot);            // empties a slot

  // Runs `tokens` for `slot` from its current length. Returns float32 logits of every position
  // ([tokens][vocab]) when all_positions, else of the last one.
  std::vector<float> prefill(int slot, std::span<const int32_t> tokens, bool all_positions = false);
  // Runs `tokens` for `slot` from its length and scores positions [first, tokens.size()) on the
  // device (Engine::score).
  std::vector<TokenScore> score(int slot, std::span<const int32_t> tokens, size_t first,
                                std::span<const float> reference = {});
  // score() of `tokens` on this model (from its slot's length) with `reference`'s distribution (run on
  // the same tokens from reference_slot) as the reference, both kept on the device; second: the
  // reference's own scores.
  std::pair<std::vector<TokenScore>, std::vector<TokenScore>> score_against(GpuModel& reference, int slot,
                                                                            int reference_slot,
                                                                            std::span<const int32_t> tokens, size_t first);
  // Engine::collect and Engine::trace: statistics gathered on the device (of the bf16 activations the
  // GPU multiplies; keys and values of prompt passes with a bf16 cache), traces downloaded.
  void collect(StatsCollector* into);
  void trace(ActivationObserver trace);
  // One token for each of `slots` (distinct), appended at their lengths; logits [slots][vocab].
  std::vector<float> decode(std::span<const int> slots, std::span<const int32_t> tokens);
  // Like decode, but samples on the GPU and returns one token per slot, each with its own options
  // (Engine::decode_sample): only the ids come back to the host, not [slots][vocab] logits.
  std::vector<int32_t> decode_sample(std::span<const int> slots, std::span<const int32_t> tokens,
                                     std::span<const SamplingOptions> sampling);

 private:
  struct Impl;
  explicit GpuModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Makes open_engine (engine.h) open a GpuModel for --device cuda.
void install_cuda_engine();

}  // namespace hifp8::model
