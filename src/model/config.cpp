#include "hifp8/model/config.h"

#include "hifp8/error.h"
#include "hifp8/io/json_fields.h"

namespace hifp8::model {
namespace {

// Sizes beyond these are not a model but a typo or a hostile file (they would overflow the arithmetic
// of shapes long before any allocation could fail politely).
constexpr int64_t kMaxWidth = int64_t{1} << 20, kMaxCount = int64_t{1} << 14, kMaxPositions = int64_t{1} << 26;

// transformers 4 writes rope_theta + rope_scaling; transformers 5 writes rope_parameters.
RopeConfig read_rope(const io::JsonFields& c) {
  RopeConfig r;
  r.theta = c.number("rope_theta", 0, 1e12, true).value_or(r.theta);
  for (const char* key : {"rope_scaling", "rope_parameters"}) {
    const auto s = c.object(key);
    if (!s) continue;
    r.theta = s->number("rope_theta", 0, 1e12, true).value_or(r.theta);
    const std::string type = s->string("rope_type").value_or(s->string("type").value_or("default"));
    if (type == "default") continue;
    if (type != "llama3") throw Error(std::string("config.json: ") + key + " type '" + type + "' is not supported (default, llama3)");
    r.llama3 = true;
    r.factor = s->number("factor", 0, 1e6, true).value_or(8.0);
    r.low_freq_factor = s->number("low_freq_factor", 0, 1e6, true).value_or(1.0);
    r.high_freq_factor = s->number("high_freq_factor", 0, 1e6, true).value_or(4.0);
    r.original_max_positions = s->number("original_max_position_embeddings", 0, double(kMaxPositions), true).value_or(8192);
    // The ramp between the two wavelengths divides by their difference.
    if (r.high_freq_factor <= r.low_freq_factor)
      s->fail("high_freq_factor", "greater than low_freq_factor (" + std::to_string(r.low_freq_factor) + ")");
  }
  return r;
}

}  // namespace

std::optional<Arch> architecture_of(const std::string& name) {
  if (name == "LlamaForCausalLM") return Arch::llama;
  if (name == "MistralForCausalLM") return Arch::mistral;
  if (name == "Qwen2ForCausalLM") return Arch::qwen2;
  if (name == "Qwen3ForCausalLM") return Arch::qwen3;
  if (name == "Qwen3MoeForCausalLM") return Arch::qwen3_moe;
  if (name == "MixtralForCausalLM") return Arch::mixtral;
  return std::nullopt;
}

ModelConfig ModelConfig::from_json(const nlohmann::json& json) {
  const io::JsonFields c(json, "config.json");
  ModelConfig m;
  if (!c.has("architectures") || !c.raw("architectures").is_array() || c.raw("architectures").empty() ||
      !c.raw("architectures")[0].is_string())
    c.fail("architectures", "a list of model class names");
  m.architecture = c.raw("architectures")[0].get<std::string>();
  const std::optional<Arch> arch = architecture_of(m.architecture);
  if (!arch)
    throw Error("architecture '" + m.architecture + "' is not supported (LlamaForCausalLM, MistralForCausalLM, " +
                "Qwen2ForCausalLM, Qwen3ForCausalLM, Qwen3MoeForCausalLM, MixtralForCausalLM)");
  m.arch = *arch;
  m.hidden = c.required_integer("hidden_size", 1, kMaxWidth);
  m.layers = c.required_integer("num_hidden_layers", 1, kMaxCount);
  m.heads = c.required_integer("num_attention_heads", 1, kMaxCount);
  m.kv_heads = c.integer("num_key_value_heads", 1, m.heads).value_or(m.heads);
  m.vocab = c.required_integer("vocab_size", 1, kMaxVocabulary);
  m.head_dim = c.integer("head_dim", 2, kMaxWidth).value_or(m.hidden / m.heads);
  if (m.heads % m.kv_heads != 0) c.fail("num_key_value_heads", "a divisor of num_attention_heads (" + std::to_string(m.heads) + ")");
  if (m.head_dim < 2 || m.head_dim % 2 != 0) c.fail("head_dim", "a positive even number (hidden_size / num_attention_heads if absent)");
  m.max_positions = c.integer("max_position_embeddings", 1, kMaxPositions).value_or(4096);
  m.rms_eps = c.number("rms_norm_eps", 0, 1, true).value_or(1e-6);
  m.rope = read_rope(c);
  m.tie_embeddings = c.boolean("tie_word_embeddings").value_or(false);
  m.qk_norm = m.arch == Arch::qwen3 || m.arch == Arch::qwen3_moe;
  if (m.arch == Arch::mistral || m.arch == Arch::mixtral) m.sliding_window = c.integer("sliding_window", 1, kMaxPositions);
  if (m.arch == Arch::qwen3_moe) {
    // transformers 4 writes num_experts, 5 writes num_local_experts.
    m.experts = c.has("num_experts") ? c.required_integer("num_experts", 1, kMaxCount)
                                     : c.required_integer("num_local_experts", 1, kMaxCount);
    m.experts_per_token = c.required_integer("num_experts_per_tok", 1, m.experts);
    m.expert_intermediate = c.required_integer("moe_intermediate_size", 1, kMaxWidth * 4);
    m.normalize_top_k = c.boolean("norm_topk_prob").value_or(true);
    m.intermediate = c.integer("intermediate_size", 1, kMaxWidth * 4).value_or(m.expert_intermediate);
  } else if (m.arch == Arch::mixtral) {
    m.experts = c.required_integer("num_local_experts", 1, kMaxCount);
    m.experts_per_token = c.required_integer("num_experts_per_tok", 1, m.experts);
    m.expert_intermediate = m.intermediate = c.required_integer("intermediate_size", 1, kMaxWidth * 4);
  } else {
    m.intermediate = c.required_integer("intermediate_size", 1, kMaxWidth * 4);
  }
  if (const auto bos = c.integers("bos_token_id", 0, m.vocab - 1); bos && !bos->empty()) m.bos_token = bos->front();
  m.eos_tokens = c.integers("eos_token_id", 0, m.vocab - 1).value_or(std::vector<int64_t>{});
  return m;
}

}  // namespace hifp8::model
