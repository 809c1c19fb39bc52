#pragma once
// The architecture fields of a Hugging Face config.json that the engine needs, for the Llama family:
// Llama (incl. llama3 RoPE scaling), Mistral, Qwen2, Qwen3 and the MoE variants Qwen3-MoE and Mixtral.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hifp8::model {

// Vocabularies larger than this are not a model's but a broken or hostile file's (config.json's
// vocab_size, tokenizer.json's token ids).
inline constexpr int64_t kMaxVocabulary = int64_t{1} << 24;

enum class Arch { llama, mistral, qwen2, qwen3, qwen3_moe, mixtral };

// The engine's architecture for a config.json "architectures" class name, if it runs it.
std::optional<Arch> architecture_of(const std::string& name);

struct RopeConfig {
  double theta = 10000.0;
  // rope_type "llama3": long-wavelength frequencies divided by factor, a smooth ramp in between.
  bool llama3 = false;
  double factor = 1.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
  double original_max_positions = 8192;
};

struct ModelConfig {
  std::string architecture;
  Arch arch = Arch::llama;
  int64_t hidden = 0, intermediate = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0;
  int64_t max_positions = 0;
  double rms_eps = 1e-6;
  RopeConfig rope;
  bool tie_embeddings = false;
  bool qk_norm = false;                        // Qwen3: RMSNorm over each head of q and k before RoPE
  std::optional<int64_t> sliding_window;        // Mistral: attend to the last N positions only
  int64_t experts = 0, experts_per_token = 0;  // MoE; 0 experts: a dense MLP
  int64_t expert_intermediate = 0;
  bool normalize_top_k = true;  // renormalize the chosen experts' router weights to sum to 1
  std::optional<int64_t> bos_token;
  std::vector<int64_t> eos_tokens;

  // Throws Error naming the field for an unknown architecture or a missing/invalid field.
  static ModelConfig from_json(const nlohmann::json& config);
};

}  // namespace hifp8::model
