#pragma once
// The architecture fields of a Hugging Face config.json that the engine needs: the Llama family
// (Llama incl. Llama 3.1/3.2 RoPE scaling, Mistral, Qwen2, Qwen3, the MoE variants Qwen3-MoE and
// Mixtral), Phi-3 (fused projections, LongRoPE), Gemma 2 and Gemma 3 text models ((1 + w) norms
// around attention and MLP, scaled embeddings, soft-capping, alternating local/global attention) and
// GPT-OSS (attention sinks, alternating sliding windows, YaRN, biased experts with clamped SwiGLU).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <vector>

namespace hifp8::model {

// Vocabularies larger than this are not a model's but a broken or hostile file's (config.json's
// vocab_size, tokenizer.json's token ids).
inline constexpr int64_t kMaxVocabulary = int64_t{1} << 24;

enum class Arch { llama, mistral, qwen2, qwen3, qwen3_moe, mixtral, phi3, gemma2, gemma3, gpt_oss };

// The engine's architecture for a config.json "architectures" class name, if it runs it.
std::optional<Arch> architecture_of(const std::string& name);

// Every class name the engines run: the CPU engine runs them all, the GPU engine the Llama-block ones.
struct SupportedArchitecture {
  std::string_view class_name;
  Arch arch;
  bool gpu;
};
std::span<const SupportedArchitecture> supported_architectures();

// RoPE as transformers computes it (modeling_rope_utils): inverse frequencies, and the factor the
// cos/sin tables are multiplied by.
struct RopeConfig {
  enum class Type { standard, linear, llama3, yarn, longrope };
  Type type = Type::standard;
  double theta = 10000.0;
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  double original_max_positions = 8192;                   // llama3, yarn, longrope
  double beta_fast = 32, beta_slow = 1;                   // yarn
  bool truncate = true;                                   // yarn: round the correction range
  std::optional<double> attention_factor;                 // yarn, longrope: else derived from factor
  std::vector<double> short_factor, long_factor;          // longrope, one per frequency
};

enum class Activation { silu, gelu_tanh };

struct ModelConfig {
  std::string architecture;
  Arch arch = Arch::llama;
  int64_t hidden = 0, intermediate = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0;
  int64_t max_positions = 0;
  double rms_eps = 1e-6;
  RopeConfig rope;                     // full-attention layers (all layers when there is no local one)
  std::optional<RopeConfig> local_rope;  // Gemma 3: the sliding-window layers' RoPE
  bool tie_embeddings = false;
  bool qk_norm = false;                // Qwen3, Gemma 3: RMSNorm over each head of q and k before RoPE
  std::optional<int64_t> sliding_window;  // attend to the last N positions, on the layers sliding_layers marks
  std::vector<bool> sliding_layers;       // per layer (all true for Mistral-style models)
  Activation activation = Activation::silu;
  bool gemma_norms = false;            // Gemma: norms scale by (1 + w), and wrap attention and MLP
  double embedding_scale = 1.0;        // Gemma: sqrt(hidden)
  double attention_scale = 0;          // scores multiplier: 1/sqrt(head_dim), Gemma query_pre_attn_scalar^-0.5
  std::optional<double> attention_softcap, final_softcap;  // Gemma 2: cap * tanh(x / cap)
  bool attention_sinks = false;        // GPT-OSS: a learned per-head logit in every softmax
  bool fused_projections = false;      // Phi-3: qkv_proj and gate_up_proj
  int64_t experts = 0, experts_per_token = 0;  // MoE; 0 experts: a dense MLP
  int64_t expert_intermediate = 0;
  bool normalize_top_k = true;  // renormalize the chosen experts' router weights to sum to 1
  bool softmax_after_top_k = false;  // GPT-OSS: top k of the router logits, then softmax over those
  double swiglu_limit = 0;           // GPT-OSS experts: clamped SwiGLU with biases (0: plain SiLU)
  std::optional<int64_t> bos_token;
  std::vector<int64_t> eos_tokens;

  // Throws Error naming the field for an unknown architecture or a missing/invalid field.
  static ModelConfig from_json(const nlohmann::json& config);
};

}  // namespace hifp8::model
